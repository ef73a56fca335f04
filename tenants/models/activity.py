"""What we know about a desktop beyond AWS's state: its state history, its sessions, and API tokens."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models

from tenants.choices import ConnectionState, DesktopState, TokenScope

from .customers import Customer
from .resources import Desktop

API_TOKEN_PREFIX = "wsc"  # noqa: S105 - a label, not a secret


class DesktopStateChange(models.Model):
    """One change of a desktop's state, written by a database trigger on every insert or update.

    Usage metering reads it: a MANUAL desktop is billed by the hour while AVAILABLE. The trigger sees
    every write, whatever code path made it (bulk updates included), so the history has no gaps.
    """

    desktop = models.ForeignKey(Desktop, on_delete=models.CASCADE, related_name="state_changes")
    state = models.CharField(max_length=20, choices=DesktopState.choices)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["desktop_id", "changed_at", "id"]
        indexes = [models.Index(fields=["desktop", "changed_at"], name="desktop_state_change_time")]

    def __str__(self) -> str:
        return f"{self.desktop_id} {self.state} at {self.changed_at:%Y-%m-%d %H:%M:%S}"


class DesktopActivity(models.Model):
    """The latest session activity of a desktop, from AWS's connection status and the gateway's events.

    Kept apart from Desktop so frequent session events never contend with job workers' updates.
    """

    desktop = models.OneToOneField(Desktop, on_delete=models.CASCADE, related_name="activity")
    connection_state = models.CharField(
        max_length=12, choices=ConnectionState.choices, default=ConnectionState.UNKNOWN
    )
    connection_state_at = models.DateTimeField(null=True, blank=True)
    last_connected_at = models.DateTimeField(null=True, blank=True)
    last_disconnected_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, blank=True, help_text="Who reported it last: AWS or GATEWAY.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "desktop activity"

    def __str__(self) -> str:
        return f"{self.desktop_id} {self.connection_state}"


def default_token_scopes() -> list[str]:
    """A token made without saying what for may read and send session events (the gateway's use)."""
    return [TokenScope.READ, TokenScope.OPERATE]


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A token for machine clients: a customer's (the partner's gateway or broker for that customer) or a
    partner staff member's (automation across customers, with that person's rights).

    Its scopes cap what it may do (tenants.access); it may expire. The token is shown once when made; we
    keep only its SHA-256 (the secret is 256 random bits, so a fast hash is enough). `key_id` finds the
    row without revealing anything.
    """

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="api_tokens"
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="A partner staff token acts for this person, across the customers they see.",
    )
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=default_token_scopes, help_text="read, operate and/or admin.")
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Refused from this moment on.")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["customer__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="api_token_name_per_customer"),
            models.UniqueConstraint(fields=["staff_user", "name"], name="api_token_name_per_staff_user"),
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False, staff_user__isnull=True)
                | models.Q(customer__isnull=True, staff_user__isnull=False),
                name="api_token_customer_or_staff",
            ),
        ]

    def __str__(self) -> str:
        owner = self.customer or f"staff {self.staff_user}"
        return f"{owner}: {self.name} ({self.key_id})"

    @classmethod
    def issue(
        cls,
        *,
        name: str,
        customer: Customer | None = None,
        staff_user=None,
        scopes: list[str] | None = None,
        expires_at=None,
        created_by_id: int | None = None,
    ) -> tuple["ApiToken", str]:
        """Make a token; returns the row and the plaintext, which is never stored or shown again."""
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        token = cls.objects.create(
            customer=customer,
            staff_user=staff_user,
            name=name,
            scopes=list(scopes) if scopes is not None else default_token_scopes(),
            key_id=key_id,
            secret_hash=_hash_secret(secret),
            expires_at=expires_at,
            created_by_id=created_by_id,
        )
        return token, f"{API_TOKEN_PREFIX}_{key_id}_{secret}"

    def is_usable(self, now) -> bool:
        """Not revoked, not expired, and its owner still active."""
        if self.revoked_at is not None or (self.expires_at is not None and self.expires_at <= now):
            return False
        if self.customer is not None:
            return self.customer.is_active
        return self.staff_user is not None and self.staff_user.is_active and self.staff_user.is_staff

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, _hash_secret(secret))
