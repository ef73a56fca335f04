"""What we know about a desktop beyond AWS's state: its state history, its sessions, and API tokens."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models

from tenants.choices import ConnectionState, DesktopState

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


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A customer's token for machine clients (the partner's gateway or broker), scoped to that customer.

    The token is shown once when made; we keep only its SHA-256 (the secret is 256 random bits, so a
    fast hash is enough). `key_id` finds the row without revealing anything.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["customer__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="api_token_name_per_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.name} ({self.key_id})"

    @classmethod
    def issue(cls, *, customer: Customer, name: str, created_by=None) -> tuple["ApiToken", str]:
        """Make a token; returns the row and the plaintext, which is never stored or shown again."""
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        token = cls.objects.create(
            customer=customer,
            name=name,
            key_id=key_id,
            secret_hash=_hash_secret(secret),
            created_by=created_by,
        )
        return token, f"{API_TOKEN_PREFIX}_{key_id}_{secret}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, _hash_secret(secret))
