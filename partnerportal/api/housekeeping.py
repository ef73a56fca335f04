"""Pruning of Idempotency-Key answers past their lifetime (a client's own next keyed POST prunes only its
own expired keys; a client that stops sending leaves its keys behind until this runs)."""

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from orchestration.services.housekeeping import delete_in_batches
from partnerportal.api.idempotency import KEY_LIFETIME
from partnerportal.api.models import IdempotentRequest


def idempotency_keys_prune(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Delete every client's keys older than their lifetime (24 hours); returns how many."""
    expired = IdempotentRequest.objects.filter(created_at__lt=(now or timezone.now()) - KEY_LIFETIME)
    return delete_in_batches(expired, batch_size=batch_size or settings.HOUSEKEEPING_BATCH_SIZE)
