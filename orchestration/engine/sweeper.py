"""The sweeper: beat's backstop for lost work (a dead worker's lease, a message Redis lost, a lost poll)."""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus
from orchestration.engine.heartbeat import workers_stale
from orchestration.engine.jobs import job_refresh_status
from orchestration.engine.publish import job_dispatch_items, job_schedule_poll
from orchestration.engine.runner import JobRunner
from orchestration.models import Job, JobItem, WorkerHeartbeat

logger = logging.getLogger(__name__)


def jobs_sweep(runner_for: Callable[[str], type[JobRunner]]) -> dict[str, int]:
    """Re-send items whose lease expired, whose worker stopped beating or whose message never arrived,
    and revive overdue polls.

    Run by beat every few seconds to a minute; safe to run concurrently with itself and with workers.
    """
    now = timezone.now()
    lost_before = now - timedelta(seconds=settings.JOB_LOST_MESSAGE_SECONDS)
    # Items held by a worker process that stopped beating are free now, whatever their lease says.
    dead_workers = workers_stale(now=now)
    poll_overdue_before = now - timedelta(seconds=max(settings.JOB_POLL_INTERVAL_SECONDS * 2, 5))
    resent = revived_polls = 0
    for job in Job.objects.exclude(status__in=JOB_TERMINAL_STATUSES).select_related("customer"):
        runner = runner_for(job.kind)
        with transaction.atomic():
            stranded = list(
                JobItem.objects.select_for_update(skip_locked=True)
                .filter(job=job)
                .filter(
                    Q(status=JobItemStatus.RUNNING, lease_expires_at__lt=now)
                    | Q(status=JobItemStatus.RUNNING, claimed_by__in=dead_workers)
                    | Q(status=JobItemStatus.PENDING, updated_at__lt=lost_before)
                )
                .values_list("pk", flat=True)
            )
            if stranded:
                # Back to PENDING, touched: the next sweep does not send them again while this message is
                # queued (an expired lease would otherwise stay expired), and the token is gone, so a late
                # write from the old delivery is refused (the fence in engine/items.py).
                JobItem.objects.filter(pk__in=stranded).update(
                    status=JobItemStatus.PENDING,
                    lease_expires_at=None,
                    claimed_by="",
                    lease_token=None,
                    updated_at=now,
                )
                job_dispatch_items(job, stranded, batch_size=runner.items_per_delivery(job.kind))
                resent += len(stranded)
            overdue_poll = runner.polls and (
                JobItem.objects.filter(
                    job=job, status=JobItemStatus.WAITING, next_poll_at__lt=poll_overdue_before
                ).exists()
            )
            if overdue_poll and job_schedule_poll(job, countdown=0):
                revived_polls += 1
        job_refresh_status(job_id=job.pk, settle=runner(job).settle)
    if dead_workers:
        # Their items were freed above (or had finished): the rows only made later sweeps look again.
        WorkerHeartbeat.objects.filter(worker__in=dead_workers).exclude(
            worker__in=JobItem.objects.filter(status=JobItemStatus.RUNNING).values("claimed_by")
        ).delete()
    if resent or revived_polls:
        logger.info("sweep re-sent %d items and revived %d polls", resent, revived_polls)
    return {"resent_items": resent, "revived_polls": revived_polls}
