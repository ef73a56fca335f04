"""The job engine: rows are the truth, tasks claim items with leases, a sweeper repairs what got lost.

A task gets ids only. It claims its items with a conditional update under row locks (nothing claimed:
someone else has them or they are done, so it returns), does one step, records AWS ids first, and is
safe to run twice. Messages are sent only after the transaction that made the rows commits.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from kombu.exceptions import KombuError

from orchestration.choices import (
    JOB_TERMINAL_STATUSES,
    JobItemStatus,
    JobKind,
    JobStatus,
    Queue,
)
from orchestration.models import Job, JobItem
from orchestration.selectors import job_progress
from partnerportal.celery import app as celery_app

logger = logging.getLogger(__name__)

POISON_CODE = "PoisonMessage"


JOB_ITEMS_TASK = "orchestration.job_items_run"
JOB_POLL_TASK = "orchestration.job_poll"


@dataclass(frozen=True)
class JobKindRoute:
    """Which task runs a kind's items, how many at once, and which task polls AWS for it.

    Kinds on the generic tasks name their services by dotted path (`run_items`, `run_poll`): the task
    imports the service when it runs, so the engine never imports the workflows.
    """

    batch_task: str
    batch_size: int
    poll_task: str = ""
    run_items: str = ""
    run_poll: str = ""


def _generic(module: str, batch_size: int, *, items: str, poll: str = "") -> JobKindRoute:
    return JobKindRoute(
        batch_task=JOB_ITEMS_TASK,
        batch_size=batch_size,
        poll_task=JOB_POLL_TASK if poll else "",
        run_items=f"orchestration.services.{module}.{items}",
        run_poll=f"orchestration.services.{module}.{poll}" if poll else "",
    )


_DESKTOP_ACTION = {"items": "desktop_action_items_run", "poll": "desktop_action_poll_run"}

ROUTES: dict[str, JobKindRoute] = {
    JobKind.DESKTOP_CREATE: JobKindRoute(
        batch_task="orchestration.desktop_create_batch",
        batch_size=25,
        poll_task="orchestration.desktop_create_poll",
    ),
    # Power and terminate calls take 25 desktops; the per-desktop calls loop inside one task.
    JobKind.DESKTOP_START: _generic("desktop_actions", 25, **_DESKTOP_ACTION),
    JobKind.DESKTOP_STOP: _generic("desktop_actions", 25, **_DESKTOP_ACTION),
    JobKind.DESKTOP_REBOOT: _generic("desktop_actions", 25, **_DESKTOP_ACTION),
    JobKind.DESKTOP_TERMINATE: _generic("desktop_actions", 25, **_DESKTOP_ACTION),
    JobKind.DESKTOP_REBUILD: _generic("desktop_actions", 25, **_DESKTOP_ACTION),
    JobKind.DESKTOP_RESTORE: _generic("desktop_actions", 25, **_DESKTOP_ACTION),
    JobKind.DESKTOP_MODIFY: _generic("desktop_actions", 25, **_DESKTOP_ACTION),
    JobKind.DESKTOP_MAINTENANCE: _generic("desktop_actions", 25, **_DESKTOP_ACTION),
    JobKind.DESKTOP_MIGRATE: _generic("desktop_actions", 25, **_DESKTOP_ACTION),
    JobKind.IMAGE_IMPORT: _generic("images", 1, items="image_import_items_run", poll="image_poll_run"),
    JobKind.IMAGE_CREATE: _generic("images", 1, items="image_create_items_run", poll="image_poll_run"),
    JobKind.IMAGE_COPY: _generic("images", 1, items="image_copy_items_run", poll="image_poll_run"),
    JobKind.ACCOUNT_BYOL_SETUP: _generic("byol", 1, items="byol_setup_items_run", poll="byol_setup_poll_run"),
    JobKind.DIRECTORY_REGISTER: _generic(
        "directories", 1, items="directory_register_items_run", poll="directory_register_poll_run"
    ),
    JobKind.RECONCILE: _generic("reconcile", 1, items="reconcile_items_run"),
}


def job_items_run(*, job_id: int, item_ids: list[int]) -> None:
    """Run one delivery of a generic kind's items through the service its route names."""
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    if kind is None:
        return  # the job was deleted while its message waited: nothing to do
    import_string(ROUTES[kind].run_items)(job_id=job_id, item_ids=item_ids)


def job_poll(*, job_id: int) -> None:
    """Run one poll of a generic kind through the service its route names."""
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    if kind is None or not ROUTES[kind].run_poll:
        return
    import_string(ROUTES[kind].run_poll)(job_id=job_id)


def _send(task_name: str, args: list, queue: str, countdown: float | None = None) -> None:
    """Publish after commit; if the broker is down the rows still say what to do, so the sweeper sends
    it once the broker is back, and the person who asked gets their job rather than an error."""
    try:
        celery_app.send_task(task_name, args=args, queue=queue, countdown=countdown)
    except (KombuError, OSError) as exc:
        logger.warning("could not publish %s%s (%s); the sweeper will send it", task_name, args, exc)


def job_dispatch_items(job: Job, item_ids: list[int], *, countdown: float | None = None) -> None:
    """Send batch tasks for these items once the current transaction commits (never before)."""
    route = ROUTES[job.kind]
    batches = [item_ids[i : i + route.batch_size] for i in range(0, len(item_ids), route.batch_size)]

    def send() -> None:
        for batch in batches:
            _send(route.batch_task, [job.pk, batch], job.queue, countdown)

    transaction.on_commit(send)


def job_schedule_poll(job: Job, *, countdown: float) -> None:
    """Ask the kind's poll task to look at AWS again after `countdown` seconds (after commit).

    One poll per job is pending at a time: while one is due later, the request is already covered.
    """
    route = ROUTES[job.kind]
    if not route.poll_task:
        return
    now = timezone.now()
    claimed = (
        Job.objects.filter(pk=job.pk)
        .filter(Q(poll_scheduled_for__isnull=True) | Q(poll_scheduled_for__lte=now))
        .update(poll_scheduled_for=now + timedelta(seconds=countdown))
    )
    if claimed:
        transaction.on_commit(lambda: _send(route.poll_task, [job.pk], Queue.POLL, countdown))


def items_claim(*, job_id: int, item_ids: list[int]) -> list[JobItem]:
    """Lease the claimable items among `item_ids` to the caller; items past their attempts fail as poison.

    Claimable: PENDING, or RUNNING with an expired lease (its task died). Rows another task is claiming
    right now are skipped, not waited for.
    """
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.JOB_ITEM_LEASE_SECONDS)
    with transaction.atomic():
        candidates = list(
            JobItem.objects.select_for_update(skip_locked=True)
            .filter(job_id=job_id, pk__in=item_ids)
            .filter(
                Q(status=JobItemStatus.PENDING) | Q(status=JobItemStatus.RUNNING, lease_expires_at__lt=now)
            )
            .order_by("sequence")
        )
        poisoned = [item for item in candidates if item.attempts >= settings.JOB_ITEM_MAX_ATTEMPTS]
        claimed = [item for item in candidates if item.attempts < settings.JOB_ITEM_MAX_ATTEMPTS]
        if poisoned:
            JobItem.objects.filter(pk__in=[item.pk for item in poisoned]).update(
                status=JobItemStatus.FAILED,
                error_code=POISON_CODE,
                error_message=(
                    f"Gave up after {settings.JOB_ITEM_MAX_ATTEMPTS} deliveries that never finished "
                    "(the worker died each time)."
                ),
                lease_expires_at=None,
                finished_at=now,
                updated_at=now,
            )
        if claimed:
            JobItem.objects.filter(pk__in=[item.pk for item in claimed]).update(
                status=JobItemStatus.RUNNING,
                attempts=F("attempts") + 1,
                lease_expires_at=lease_until,
                updated_at=now,
            )
            for item in claimed:
                item.status = JobItemStatus.RUNNING
                item.attempts += 1
                item.lease_expires_at = lease_until
        Job.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING, started_at=now
        )
    if poisoned:
        job_refresh_status(job_id=job_id)
    return claimed


def items_release(items: list[JobItem], *, count_attempt: bool) -> None:
    """Give items back to PENDING for a later delivery; throttling does not use up an attempt."""
    update: dict = {"status": JobItemStatus.PENDING, "lease_expires_at": None, "updated_at": timezone.now()}
    if not count_attempt:
        update["attempts"] = F("attempts") - 1
    JobItem.objects.filter(pk__in=[item.pk for item in items], status=JobItemStatus.RUNNING).update(**update)


def job_refresh_status(*, job_id: int) -> Job:
    """Derive the job's status from its items: finished when every item is; PARTIAL when some failed."""
    job = Job.objects.get(pk=job_id)
    if job.status in JOB_TERMINAL_STATUSES:
        return job
    progress = job_progress(job=job)
    if progress.total and progress.in_flight == 0:
        if progress.failed == 0:
            status = JobStatus.SUCCEEDED
        elif progress.succeeded == 0:
            status = JobStatus.FAILED
        else:
            status = JobStatus.PARTIAL
        updated = (
            Job.objects.filter(pk=job_id)
            .exclude(status__in=JOB_TERMINAL_STATUSES)
            .update(status=status, finished_at=timezone.now())
        )
        if updated:
            job.status = status
    return job


def jobs_sweep() -> dict[str, int]:
    """Repair lost work: re-send items whose lease expired or whose message never arrived, revive polls.

    Run by beat every few seconds to a minute; safe to run concurrently with itself and with workers.
    """
    now = timezone.now()
    lost_before = now - timedelta(seconds=settings.JOB_LOST_MESSAGE_SECONDS)
    poll_overdue_before = now - timedelta(seconds=max(settings.JOB_POLL_INTERVAL_SECONDS * 2, 5))
    resent = revived_polls = 0
    active_jobs = Job.objects.exclude(status__in=JOB_TERMINAL_STATUSES).filter(kind__in=list(ROUTES))
    for job in active_jobs.select_related("customer"):
        with transaction.atomic():
            stranded = list(
                JobItem.objects.select_for_update(skip_locked=True)
                .filter(job=job)
                .filter(
                    Q(status=JobItemStatus.RUNNING, lease_expires_at__lt=now)
                    | Q(status=JobItemStatus.PENDING, updated_at__lt=lost_before)
                )
                .values_list("pk", flat=True)
            )
            if stranded:
                # Touch them so the next sweep does not send them again while this message is queued.
                JobItem.objects.filter(pk__in=stranded).update(updated_at=now)
                job_dispatch_items(job, stranded)
                resent += len(stranded)
            overdue_poll = JobItem.objects.filter(
                job=job, status=JobItemStatus.WAITING, next_poll_at__lt=poll_overdue_before
            ).exists()
            if overdue_poll:
                job_schedule_poll(job, countdown=0)
                revived_polls += 1
        job_refresh_status(job_id=job.pk)
    if resent or revived_polls:
        logger.info("sweep re-sent %d items and revived %d polls", resent, revived_polls)
    return {"resent_items": resent, "revived_polls": revived_polls}
