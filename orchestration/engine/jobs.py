"""A job and its items, made in one place; a job's status, derived from its items in one place.

`jobs_create` is the one constructor: the job rows, their items and the audit events that go with them
in one transaction and a fixed number of statements however many items (so a sweep can record 10,000
stops in the same SQL as 100), then the deliveries and polls are sent after commit. An item starts
PENDING (sent to a worker), FAILED (refused before any call, with its reason) or WAITING (the caller
already made the AWS call, the poll follows it).
"""

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus, JobStatus, Queue
from orchestration.engine.publish import job_dispatch_items, job_poll_send
from orchestration.engine.rows import rows_insert
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.selectors import JobProgress, job_progress
from tenants.models import Customer, Desktop


@dataclass
class NewItem:
    """One item of a job about to be made.

    `refusal` (code, message): the item is FAILED at once (refused before any AWS call). `skipped` (code,
    reason): the item is SKIPPED at once (the action does not apply to it; not a failure). `waiting`: the
    AWS call was made already; the item starts WAITING with `aws_resource_id`/`aws_request_id`.
    Items with the same `group` are sent together and never share a delivery with another group's.
    """

    params: dict = field(default_factory=dict)
    desktop: Desktop | None = None
    aws_resource_id: str = ""
    aws_request_id: str = ""
    refusal: tuple[str, str] | None = None
    skipped: tuple[str, str] | None = None
    waiting: bool = False
    group: Hashable = None


@dataclass
class NewJob:
    """One job about to be made: who asked, for which customer, and its items."""

    kind: str
    actor: Actor
    customer: Customer
    items: Sequence[NewItem]
    params: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)
    queue: str = ""  # empty: interactive for one item (a person clicked), bulk otherwise
    batch_size: int = 1
    poll_in: float = 0.0  # when waiting items are first polled
    audit: Callable[[Job], Iterable[AuditEvent]] | None = None  # events that name the job, written with it


def job_status_for(progress: JobProgress) -> str | None:
    """The terminal status the items add up to, or None while any item is still in flight."""
    if not progress.total or progress.in_flight:
        return None
    if progress.failed == 0:
        return JobStatus.SUCCEEDED
    if progress.succeeded == 0:
        return JobStatus.FAILED
    return JobStatus.PARTIAL


def _item_row(job: Job, sequence: int, new: NewItem, now: datetime, poll_in: float) -> JobItem:
    item = JobItem(
        job=job,
        sequence=sequence,
        desktop=new.desktop,
        params=new.params,
        aws_resource_id=new.aws_resource_id,
        aws_request_id=new.aws_request_id,
    )
    if new.refusal is not None:
        item.status, item.finished_at = JobItemStatus.FAILED, now
        item.error_code, item.error_message = new.refusal
    elif new.skipped is not None:
        item.status, item.finished_at = JobItemStatus.SKIPPED, now
        item.error_code, item.error_message = new.skipped
    elif new.waiting:
        item.status, item.submitted_at = JobItemStatus.WAITING, now
        item.next_poll_at = now + timedelta(seconds=poll_in)
    return item


def _initial_status(items: Sequence[NewItem]) -> str:
    """PENDING until a worker claims an item; RUNNING if the caller already acted; terminal if nothing is left."""
    open_items = [i for i in items if i.refusal is None and i.skipped is None]
    if any(not i.waiting for i in open_items):
        return JobStatus.PENDING
    if open_items:
        return JobStatus.RUNNING
    failed = sum(1 for i in items if i.refusal is not None)
    skipped = sum(1 for i in items if i.skipped is not None)
    status = job_status_for(JobProgress.of(total=len(items), succeeded=0, failed=failed, skipped=skipped))
    return status or JobStatus.PENDING


def _job_row(new: NewJob, now: datetime) -> Job:
    status = _initial_status(new.items)
    return Job(
        kind=new.kind,
        customer=new.customer,
        queue=new.queue or (Queue.INTERACTIVE if len(new.items) == 1 else Queue.BULK),
        requested_by_kind=new.actor.kind,
        requested_by_user_id=new.actor.user_id,
        requested_by_label=new.actor.label,
        total_items=len(new.items),
        params=new.params,
        result=new.result,
        status=status,
        started_at=now if status != JobStatus.PENDING else None,
        finished_at=now if status in JOB_TERMINAL_STATUSES else None,
        # A new job's poll slot is free: items that start waiting take it in the same INSERT.
        poll_scheduled_for=now + timedelta(seconds=new.poll_in)
        if any(i.waiting for i in new.items)
        else None,
    )


def jobs_create(new_jobs: Sequence[NewJob]) -> list[Job]:
    """Make the jobs, their items and their audit events in one transaction; send work after commit.

    Statements: one INSERT of jobs, the items' ids and one COPY of them (on PostgreSQL; one INSERT
    elsewhere), one INSERT of audit events (if any), however many jobs and items; jobs whose items start
    waiting have their first poll sent after commit.
    """
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        jobs = Job.objects.bulk_create(_job_row(new, now) for new in new_jobs)
        # Ids, then one COPY, for any number of items: a fixed two statements (1,000 items in ~60 % of an
        # INSERT's time).
        rows = rows_insert(
            JobItem,
            [
                _item_row(job, n, item, now, new.poll_in)
                for job, new in zip(jobs, new_jobs, strict=True)
                for n, item in enumerate(new.items)
            ],
            copy_from_rows=1,
        )
        events = [
            event for job, new in zip(jobs, new_jobs, strict=True) if new.audit for event in new.audit(job)
        ]
        if events:
            AuditEvent.objects.bulk_create(events)
        rows_left = iter(rows)
        for job, new in zip(jobs, new_jobs, strict=True):
            groups: dict[Hashable, list[int]] = {}
            for new_item in new.items:
                row = next(rows_left)
                if row.status == JobItemStatus.PENDING:
                    groups.setdefault(new_item.group, []).append(row.pk)
            for item_ids in groups.values():
                job_dispatch_items(job, item_ids, batch_size=new.batch_size)
            if job.poll_scheduled_for is not None:
                job_poll_send([job.pk], countdown=new.poll_in)
    return jobs


def job_create(
    *,
    kind: str,
    actor: Actor,
    customer: Customer,
    items: Sequence[NewItem],
    params: dict | None = None,
    result: dict | None = None,
    queue: str = "",
    batch_size: int = 1,
    audit: Callable[[Job], Iterable[AuditEvent]] | None = None,
) -> Job:
    """One job with its items (see `jobs_create`); runners call it through `JobRunner.job_create`."""
    (job,) = jobs_create(
        [
            NewJob(
                kind=kind,
                actor=actor,
                customer=customer,
                items=items,
                params=params or {},
                result=result or {},
                queue=queue,
                batch_size=batch_size,
                poll_in=settings.JOB_POLL_INTERVAL_SECONDS,
                audit=audit,
            )
        ]
    )
    return job


def job_refresh_status(*, job_id: int, settle: Callable[[Job], dict] | None = None) -> Job:
    """Derive the job's status from its items: finished when every item is; PARTIAL when some failed.

    When the job finishes, `settle` (the runner's) gives what goes into its result, written with the
    status under the job's row lock, so it is settled exactly once.
    """
    job = Job.objects.select_related("customer").get(pk=job_id)
    if job.status in JOB_TERMINAL_STATUSES:
        return job
    status = job_status_for(job_progress(job=job))
    if status is None:
        return job
    with transaction.atomic():
        locked = Job.objects.select_for_update().select_related("customer").get(pk=job_id)
        if locked.status in JOB_TERMINAL_STATUSES:
            return locked
        locked.status, locked.finished_at = status, timezone.now()
        locked.result = {**(locked.result or {}), **(settle(locked) if settle else {})}
        Job.objects.filter(pk=job_id).update(
            status=locked.status, finished_at=locked.finished_at, result=locked.result
        )
    return locked
