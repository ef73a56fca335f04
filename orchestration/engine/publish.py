"""Sending the engine's messages: only after the transaction that made the rows commits, never before.

Messages go through Celery's current app (the project's app, once Django has loaded it), so the engine
never imports the project's Celery module. If the broker is down the rows still say what to do: the
sweeper sends the work once the broker is back.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import KombuError

from orchestration.choices import Queue
from orchestration.models import Job

logger = logging.getLogger(__name__)

# The two generic tasks every job kind runs on (orchestration/tasks.py registers them by these names).
JOB_ITEMS_TASK = "orchestration.job_items_run"
JOB_POLL_TASK = "orchestration.job_poll"


def publish(task_name: str, args: list, queue: str, countdown: float | None = None) -> None:
    """Send one message now; a broker that is down is logged, not raised (the sweeper repairs it), so the
    person who asked gets their job rather than an error."""
    try:
        current_app.send_task(task_name, args=args, queue=str(queue), countdown=countdown)
    except (KombuError, OSError) as exc:
        logger.warning("could not publish %s%s (%s); the sweeper will send it", task_name, args, exc)


def job_dispatch_items(
    job: Job, item_ids: Sequence[int], *, batch_size: int, countdown: float | None = None
) -> None:
    """Send the items in deliveries of `batch_size` on the job's queue, once the current transaction commits."""
    ids = list(item_ids)
    batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]

    def send() -> None:
        for batch in batches:
            publish(JOB_ITEMS_TASK, [job.pk, batch], job.queue, countdown)

    if batches:
        transaction.on_commit(send)


def job_schedule_poll(job: Job, *, countdown: float) -> bool:
    """Ask for a poll of this job in `countdown` seconds (after commit), unless one is already pending.

    One poll per job is pending at a time: a job whose poll is due later already has one coming.
    """
    now = timezone.now()
    free = Q(poll_scheduled_for__isnull=True) | Q(poll_scheduled_for__lte=now)
    claimed = Job.objects.filter(free, pk=job.pk).update(
        poll_scheduled_for=now + timedelta(seconds=countdown)
    )
    if claimed:
        job_poll_send([job.pk], countdown=countdown)
    return bool(claimed)


def job_poll_send(job_ids: Sequence[int], *, countdown: float) -> None:
    """Send the poll messages of jobs whose poll slot the caller has taken, once the transaction commits."""
    ids = list(job_ids)

    def send() -> None:
        for job_id in ids:
            publish(JOB_POLL_TASK, [job_id], Queue.POLL, countdown)

    if ids:
        transaction.on_commit(send)


def job_poll_release(job_id: int) -> None:
    """The poll that runs now is no longer pending: the next one may be asked for at its end."""
    Job.objects.filter(pk=job_id).update(poll_scheduled_for=None)
