"""Pruning of rows nothing needs any more: finished schedule runs past their retention.

Deletes go in batches of a bounded `DELETE ... WHERE id IN (SELECT id ... LIMIT n)`, so no statement
holds many row locks or runs long, and beat's claims on new windows never wait behind a prune.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from orchestration.models import ScheduleRun


def delete_in_batches(queryset: QuerySet, *, batch_size: int) -> int:
    """Delete the rows of `queryset` one bounded statement at a time; returns how many went."""
    model = queryset.model
    deleted = 0
    while True:
        batch = queryset.order_by("pk").values("pk")[:batch_size]
        # A model without cascades or signals deletes in one statement (Django's fast delete).
        count, _ = model._default_manager.filter(pk__in=batch).delete()
        deleted += count
        if count < batch_size:
            return deleted


def schedule_runs_prunable(now: datetime) -> QuerySet[ScheduleRun]:
    """Finished runs whose window started before the retention; a run still under way is always kept."""
    cutoff = now - timedelta(days=settings.SCHEDULE_RUN_RETENTION_DAYS)
    return ScheduleRun.objects.filter(window_start__lt=cutoff, finished_at__isnull=False)


def schedule_runs_prune(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Delete finished schedule runs older than SCHEDULE_RUN_RETENTION_DAYS; returns how many."""
    return delete_in_batches(
        schedule_runs_prunable(now or timezone.now()),
        batch_size=batch_size or settings.HOUSEKEEPING_BATCH_SIZE,
    )
