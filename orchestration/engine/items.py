"""Every change of a job item's status: claim, wait, succeed, fail, retry later, poison.

Each change is batch-shaped: it takes a list of items and issues one UPDATE however many there are (per
item values, such as the AWS ids a create returned, go in the same statement: `rows.rows_update`). Each takes
the audit events that describe it and writes them in the same transaction as the state they describe.
Runners call these (through `JobRunner`); nothing else writes `JobItem.status`.
"""

import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from orchestration.aws import ratelimit
from orchestration.choices import JobItemStatus, JobStatus
from orchestration.engine.heartbeat import heartbeat_ensure, worker_id
from orchestration.engine.publish import job_dispatch_items
from orchestration.engine.rows import rows_update
from orchestration.models import AuditEvent, Job, JobItem

POISON_CODE = "PoisonMessage"
# A claimed item is RUNNING; one whose AWS work was accepted is WAITING until a poll settles it.
ACTIVE = (JobItemStatus.RUNNING, JobItemStatus.WAITING)


class DeliveryRefused(Exception):
    """Raised out of a runner when no item of the delivery can ever be sent, whatever retries happen (an
    account awaiting its role): the items it still holds fail with `code` and `message`."""

    code: str
    message: str


# What a runner records on an item from AWS's answer; the engine writes these with the status.
RECORDED_FIELDS = ("aws_resource_id", "aws_request_id", "submitted_at")


class LeaseLost(Exception):
    """This delivery's items were taken from it (its worker was thought dead): it must not write or call."""


@dataclass(frozen=True)
class Claim:
    """What one delivery got: the items now leased to it, and how many it failed as poison instead."""

    items: list[JobItem]
    poisoned: int


def items_claim(*, job_id: int, item_ids: Sequence[int]) -> Claim:
    """Lease the claimable items among `item_ids` to the caller; items past their attempts fail as poison.

    Claimable: PENDING, or RUNNING with an expired lease (its task died). Rows another task is claiming
    right now are skipped, not waited for. The job becomes RUNNING with its first claim. The claim
    records the worker process (its heartbeat renews the lease) and a token of this delivery: every
    later write of the items checks it, so a delivery whose items were re-claimed cannot write.
    """
    heartbeat_ensure()
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.JOB_ITEM_LEASE_SECONDS)
    token, claimer = uuid.uuid4(), worker_id()
    with transaction.atomic():
        candidates = list(
            JobItem.objects.select_for_update(skip_locked=True)
            .filter(job_id=job_id, pk__in=list(item_ids))
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
                    "(each time its worker died or it ran past its time limit)."
                ),
                lease_expires_at=None,
                claimed_by="",
                lease_token=None,
                finished_at=now,
                updated_at=now,
            )
        if claimed:
            JobItem.objects.filter(pk__in=[item.pk for item in claimed]).update(
                status=JobItemStatus.RUNNING,
                attempts=F("attempts") + 1,
                lease_expires_at=lease_until,
                claimed_by=claimer,
                lease_token=token,
                updated_at=now,
            )
            for item in claimed:
                item.status = JobItemStatus.RUNNING
                item.attempts += 1
                item.lease_expires_at = lease_until
                item.claimed_by, item.lease_token = claimer, token
            Job.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
                status=JobStatus.RUNNING, started_at=now
            )
    return Claim(items=claimed, poisoned=len(poisoned))


def _write(
    items: Sequence[JobItem],
    *,
    allowed_from: Iterable[str],
    values: dict[str, Any],
    recorded: Sequence[str] = (),
    audit: Iterable[AuditEvent] = (),
) -> int:
    """One UPDATE of these items (those still in `allowed_from`) and their audit events, in one transaction.

    Items a delivery claimed (they carry its lease token) are written only while that delivery still
    holds them: if any was taken from it, nothing is written and LeaseLost is raised (the caller's
    transaction, with whatever it wrote beside, rolls back). The objects are brought up to date too,
    so the caller can go on using them.
    """
    events = list(audit)
    updated = 0
    tokens = {item.lease_token for item in items if item.lease_token is not None}
    with transaction.atomic(savepoint=False):
        if items:
            fields = dict(values)
            if tokens:
                fields.update(claimed_by="", lease_token=None)
            rows = JobItem.objects.filter(pk__in=[item.pk for item in items], status__in=list(allowed_from))
            if tokens:
                # The fence: a RUNNING item is this delivery's only while it keeps our token.
                rows = rows.filter(~Q(status=JobItemStatus.RUNNING) | Q(lease_token__in=tokens))
            # Each item's own AWS ids and errors go in the same UPDATE (… FROM (VALUES …)), not a CASE each.
            updated = rows_update(rows, items, recorded, values=fields) if recorded else rows.update(**fields)
            if tokens and updated < len(items):
                raise LeaseLost(
                    f"{len(items) - updated} of {len(items)} items were re-claimed by another delivery"
                )
        if events:
            AuditEvent.objects.bulk_create(events)
    if tokens:
        for item in items:
            item.claimed_by, item.lease_token = "", None
    for item in items:
        for name, value in values.items():
            if not hasattr(value, "resolve_expression"):
                setattr(item, name, value)
    return updated


def items_mark_submitted(items: Sequence[JobItem]) -> None:
    """Record that the call for these items is about to be sent: a later delivery looks before it sends.

    Fenced: if another delivery took any of the items, LeaseLost is raised and nothing is sent.
    """
    now = timezone.now()
    rows = JobItem.objects.filter(pk__in=[item.pk for item in items])
    tokens = {item.lease_token for item in items if item.lease_token is not None}
    with transaction.atomic():
        if tokens:
            rows = rows.filter(status=JobItemStatus.RUNNING, lease_token__in=tokens)
        marked = rows.update(submitted_at=now, updated_at=now)
        if tokens and marked < len(items):
            raise LeaseLost(f"{len(items) - marked} of {len(items)} items were re-claimed before the call")
    for item in items:
        item.submitted_at = now
    budget = ratelimit.current_budget()
    if budget is not None:  # a delivery paused before this call goes out may forget this mark
        budget.mark([item.pk for item in items])


def items_found_absent(items: Sequence[JobItem]) -> None:
    """These submitted items were looked for in AWS and are not there after their call could have landed:
    if the delivery pauses before calling again, they lose their `submitted` mark with the unsent ones,
    so the next delivery calls rather than looks again."""
    budget = ratelimit.current_budget()
    if budget is not None:
        budget.found_absent([item.pk for item in items])


def items_abandon(items: Sequence[JobItem]) -> int:
    """A delivery that cannot finish (its soft time limit, an unexpected error) lets go of the items it
    still holds: they stay RUNNING and submitted, their lease ends now, and the sweeper sends them
    again; the next delivery looks for what this one's calls made before it calls again."""
    tokens = {item.lease_token for item in items if item.lease_token is not None}
    if not tokens:
        return 0
    now = timezone.now()
    return JobItem.objects.filter(
        pk__in=[item.pk for item in items], status=JobItemStatus.RUNNING, lease_token__in=tokens
    ).update(lease_expires_at=now, claimed_by="", lease_token=None, updated_at=now)


def items_wait(
    items: Sequence[JobItem],
    *,
    poll_in: float,
    audit: Iterable[AuditEvent] = (),
    answered_at: Mapping[int, datetime] | None = None,
) -> int:
    """AWS accepted the work: the items wait for a poll in `poll_in` seconds, counted from when AWS answered
    each item's call (`answered_at`, by item id) if given, else from now.

    The AWS ids and submitted mark set on each item object (RECORDED_FIELDS) are written with the status.
    """
    now = timezone.now()
    for item in items:
        item.submitted_at = item.submitted_at or now
    values: dict[str, Any] = {"status": JobItemStatus.WAITING, "lease_expires_at": None, "updated_at": now}
    recorded: tuple[str, ...] = RECORDED_FIELDS
    if answered_at:
        for item in items:
            item.next_poll_at = answered_at.get(item.pk, now) + timedelta(seconds=poll_in)
        recorded = (*RECORDED_FIELDS, "next_poll_at")
    else:
        values["next_poll_at"] = now + timedelta(seconds=poll_in)
    return _write(items, allowed_from=ACTIVE, values=values, recorded=recorded, audit=audit)


def items_succeed(items: Sequence[JobItem], *, audit: Iterable[AuditEvent] = ()) -> int:
    """The items are done (their AWS ids were recorded when AWS took the work)."""
    now = timezone.now()
    return _write(
        items,
        allowed_from=ACTIVE,
        values={
            "status": JobItemStatus.SUCCEEDED,
            "lease_expires_at": None,
            "next_poll_at": None,
            "finished_at": now,
            "updated_at": now,
        },
        audit=audit,
    )


def items_fail(items: Sequence[JobItem], *, code: str, message: str, audit: Iterable[AuditEvent] = ()) -> int:
    """The items failed for good, all for the same reason (AWS's code and message, or ours)."""
    for item in items:
        item.error_code, item.error_message = code, message
    return items_fail_each(items, audit=audit)


def items_fail_each(items: Sequence[JobItem], *, audit: Iterable[AuditEvent] = ()) -> int:
    """The items failed for good, each with the `error_code` and `error_message` set on its object."""
    now = timezone.now()
    return _write(
        items,
        allowed_from=ACTIVE,
        values={
            "status": JobItemStatus.FAILED,
            "lease_expires_at": None,
            "next_poll_at": None,
            "finished_at": now,
            "updated_at": now,
        },
        recorded=("error_code", "error_message", *RECORDED_FIELDS),
        audit=audit,
    )


def retry_delay(retries: int) -> float:
    """Seconds before the next delivery of an item given back `retries` times before: full jitter over
    an exponentially growing ceiling, capped (AWS's recommended shape)."""
    ceiling = min(settings.JOB_RETRY_MAX_SECONDS, settings.JOB_RETRY_BASE_SECONDS * 2 ** min(retries, 30))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


def items_retry_later(
    job: Job,
    items: Sequence[JobItem],
    *,
    batch_size: int,
    count_attempt: bool,
    forget_submission: bool = False,
    not_before: float = 0.0,
    audit: Iterable[AuditEvent] = (),
) -> float:
    """Give running items back to PENDING and send them again after a backoff; returns the delay.

    `count_attempt=False` when AWS declined to act (throttling): the delivery does not use up one of the
    item's attempts. `forget_submission` when AWS said it did not act on the call: the next delivery
    calls again rather than looking for what the call made. `not_before`: the least delay, in seconds.
    """
    if not items:
        _write([], allowed_from=(), values={}, audit=audit)
        return 0.0
    delay = max(not_before, retry_delay(max(item.retries for item in items)))
    values: dict[str, Any] = {
        "status": JobItemStatus.PENDING,
        "lease_expires_at": None,
        "retries": F("retries") + 1,
        "updated_at": timezone.now(),
    }
    if not count_attempt:
        values["attempts"] = F("attempts") - 1
    if forget_submission:
        values["submitted_at"] = None
    _write(items, allowed_from=(JobItemStatus.RUNNING,), values=values, audit=audit)
    for item in items:
        item.retries += 1
    job_dispatch_items(job, [item.pk for item in items], batch_size=batch_size, countdown=delay)
    return delay


def items_hand_back(
    job: Job, items: Sequence[JobItem], *, batch_size: int, nothing_made: Sequence[int], delay: float
) -> int:
    """A delivery paused by its account's rate limit gives back the items it still holds: PENDING again at
    no attempt's cost, sent again in `delay` seconds; returns how many. Those known to have nothing in
    AWS (`nothing_made`: their call never went out or was only throttled, or a look-up found nothing)
    lose their `submitted` mark, so the next delivery calls rather than looks; the others keep it
    (their call may have gone out)."""
    now = timezone.now()
    values: dict[str, Any] = {
        "status": JobItemStatus.PENDING,
        "lease_expires_at": None,
        "attempts": F("attempts") - 1,
        "updated_at": now,
    }
    unsent = set(nothing_made)
    with transaction.atomic():
        handed = _write(
            [i for i in items if i.pk in unsent],
            allowed_from=(JobItemStatus.RUNNING,),
            values={**values, "submitted_at": None},
        )
        handed += _write(
            [i for i in items if i.pk not in unsent], allowed_from=(JobItemStatus.RUNNING,), values=values
        )
    job_dispatch_items(job, [item.pk for item in items], batch_size=batch_size, countdown=delay)
    return handed


def items_poll_again(items: Sequence[JobItem], *, delay: float) -> int:
    """Those of these items still WAITING are due for a poll again in `delay` seconds (a poll cut short)."""
    now = timezone.now()
    return JobItem.objects.filter(pk__in=[i.pk for i in items], status=JobItemStatus.WAITING).update(
        next_poll_at=now + timedelta(seconds=delay), updated_at=now
    )


def items_still_waiting(items: Sequence[JobItem]) -> list[JobItem]:
    """Lock these items (inside the caller's transaction) and keep those still WAITING.

    Two polls of one job can overlap when one outlasts the poll interval; the later-committing one may
    carry an older AWS report. Only what is still waiting may be settled, so an old report never
    overwrites the desktop a newer one already finished.
    """
    waiting = set(
        JobItem.objects.select_for_update()
        .filter(pk__in=[item.pk for item in items], status=JobItemStatus.WAITING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [item for item in items if item.pk in waiting]


def poll_items_due(
    *, job_id: int, interval: float, related: str = "", limit: int | None = None
) -> list[JobItem]:
    """The job's WAITING items whose poll is due (the `limit` first due), locked (skipping those another
    poll holds), with their next poll moved `interval` seconds on so an overlapping poll does not ask AWS
    about them again.

    `related` is a select_related path (only the item's own row is locked then).
    """
    now = timezone.now()
    with transaction.atomic():
        due_items = JobItem.objects.filter(
            job_id=job_id, status=JobItemStatus.WAITING, next_poll_at__lte=now
        ).order_by("next_poll_at", "pk")
        if related:
            due_items = due_items.select_for_update(skip_locked=True, of=("self",)).select_related(related)
        else:
            due_items = due_items.select_for_update(skip_locked=True)
        due = list(due_items if limit is None else due_items[:limit])
        if due:
            JobItem.objects.filter(pk__in=[i.pk for i in due]).update(
                next_poll_at=now + timedelta(seconds=interval), updated_at=now
            )
    return due


CANCELLED_CODE = "Cancelled"


def items_cancel_unsent(*, job_id: int, message: str) -> list[JobItem]:
    """Fail the job's items that no delivery has claimed and no call has been sent for (PENDING, never
    submitted), in one UPDATE; returns them. Items a delivery holds are left to finish: their call may
    be on its way to AWS. A delivery claiming at the same moment either waits for this UPDATE (and then
    finds the items FAILED) or holds the rows first (and this UPDATE no longer matches them)."""
    now = timezone.now()
    cancellable = JobItem.objects.filter(
        job_id=job_id, status=JobItemStatus.PENDING, submitted_at__isnull=True
    )
    with transaction.atomic(savepoint=False):
        ids = list(cancellable.select_for_update(skip_locked=True).values_list("pk", flat=True))
        JobItem.objects.filter(pk__in=ids, status=JobItemStatus.PENDING).update(
            status=JobItemStatus.FAILED,
            error_code=CANCELLED_CODE,
            error_message=message,
            lease_expires_at=None,
            next_poll_at=None,
            finished_at=now,
            updated_at=now,
        )
        return list(JobItem.objects.filter(pk__in=ids).select_related("desktop"))
