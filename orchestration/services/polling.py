"""What every poll runner shares around its own AWS look: take the job's items whose poll is due, and
afterwards ask for the next poll while any item still waits and derive the job's status."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from orchestration.choices import JobItemStatus
from orchestration.models import Job, JobItem
from orchestration.services.jobs import job_refresh_status, job_schedule_poll


def poll_items_due(*, job_id: int, interval: float, related: str = "") -> list[JobItem]:
    """The job's WAITING items whose poll is due, locked (skipping those another poll holds), with their next
    poll moved `interval` seconds on so an overlapping poll does not ask AWS about them again.

    `related` is a select_related path (only the item's own row is locked then).
    """
    now = timezone.now()
    with transaction.atomic():
        due_items = JobItem.objects.filter(job_id=job_id, status=JobItemStatus.WAITING, next_poll_at__lte=now)
        if related:
            due = list(due_items.select_for_update(skip_locked=True, of=("self",)).select_related(related))
        else:
            due = list(due_items.select_for_update(skip_locked=True))
        JobItem.objects.filter(pk__in=[i.pk for i in due]).update(
            next_poll_at=now + timedelta(seconds=interval), updated_at=now
        )
    return due


def poll_while_waiting(job: Job, *, interval: float) -> None:
    """After a run or a poll: the next poll in `interval` seconds while any item still waits, then the job's
    status from its items."""
    if JobItem.objects.filter(job_id=job.pk, status=JobItemStatus.WAITING).exists():
        job_schedule_poll(job, countdown=interval)
    job_refresh_status(job_id=job.pk)
