"""What the API keeps of its own: the first answer to each Idempotency-Key."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from tenants.models import ApiToken


class IdempotentRequest(models.Model):
    """One client's (token's or person's) use of one Idempotency-Key, and the answer it got.

    The unique constraints make the database pick one winner among concurrent requests with the same key:
    the others wait on the winner's uncommitted row, then read its answer.
    """

    token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token", "key"],
                condition=models.Q(token__isnull=False),
                name="idempotency_key_per_token",
            ),
            models.UniqueConstraint(
                fields=["user", "key"],
                condition=models.Q(user__isnull=False),
                name="idempotency_key_per_user",
            ),
            models.CheckConstraint(
                condition=models.Q(token__isnull=False, user__isnull=True)
                | models.Q(token__isnull=True, user__isnull=False),
                name="idempotency_key_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'in progress'})"
