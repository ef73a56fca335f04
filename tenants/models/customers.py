"""Customers (tenants) and the users who belong to them."""

from django.conf import settings
from django.db import models

from tenants.choices import MembershipRole


class Customer(models.Model):
    """A tenant: one organisation whose AWS accounts the partner manages. Deactivated, never deleted."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True, help_text="Short name used in role session names.")
    is_active = models.BooleanField(default=True)
    require_two_factor = models.BooleanField(
        default=False,
        help_text="Its users must sign in with a second factor (an authenticator app or a recovery code).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerMembership(models.Model):
    """Links a customer user to the one customer they belong to, with their role there."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_membership"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=MembershipRole.choices, default=MembershipRole.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=MembershipRole.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer} ({self.role})"


class StaffCustomerLimit(models.Model):
    """Limits a partner staff user (an account manager) to some customers; staff without one see all."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_limit"
    )
    customers = models.ManyToManyField(Customer, blank=True, related_name="+")

    class Meta:
        verbose_name = "staff customer limit"

    def __str__(self) -> str:
        return f"{self.user} limited to {self.customers.count()} customers"
