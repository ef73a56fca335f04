"""Pools: warm user-decoupled desktops, handed out in one request, sized by a weekly capacity schedule.

Assignment (`pool_assign`) gives a user the desktop they already hold, or a warm one. The claim is one
row lock taken with SKIP LOCKED plus an UPDATE that only matches an unassigned row, and a partial
unique index lets a user hold one desktop per pool: two requests never share a desktop, whatever runs
them. With none warm it starts a stopped desktop or creates one (below the pool's maximum) for the user
and answers with that job and an estimate; with neither possible it says to wait.

The pool manager (`pools_manage_due`, from beat) makes one POOL_MANAGE job per (pool, window): its one
item plans and orders the pool's changes in a single transaction that also marks the item done, fenced
by the item's lease, so a killed or duplicate delivery orders nothing twice. What it orders are
ordinary desktop jobs (create, start, stop, rebuild, terminate: 25 desktops an AWS call, through the
account's rate limiter), and each decision is an audit event with its reason.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.choices import JOB_TERMINAL_STATUSES, AuditOutcome, JobKind, Queue
from orchestration.engine.jobs import NewItem
from orchestration.engine.runner import JobRunner
from orchestration.failpoints import failpoint
from orchestration.models import AuditEvent, Job, JobItem, ScheduleRun
from orchestration.services.audit import audit_event_for_actor, audit_event_for_job, audit_record_many
from orchestration.services.desktop_actions import DesktopAction, desktop_action_bulk
from orchestration.services.desktops import USER_NAME_PATTERN, DesktopCreateRequest, desktop_create_bulk
from orchestration.services.errors import RequestInvalid
from orchestration.services.schedules import schedule_run_claim, schedule_run_finish, window_start_for
from tenants.choices import UNDEFINED_USER, ConnectionState, DesktopState, RunningMode
from tenants.models import Customer, Desktop, Pool, PoolAction, PoolDesktop, PoolSample

logger = logging.getLogger(__name__)

POOL_SCHEDULE_PREFIX = "pool:"
# Orders per kind of change and per manager run: one AWS call's worth (the batch actions' limit).
POOL_BATCH = 25
# What the answer to a user who must wait says: AWS starts a stopped WorkSpace in a minute or two, and
# takes about twenty minutes to make a new one.
START_ESTIMATE_SECONDS = 120
CREATE_ESTIMATE_SECONDS = 1200
REBUILD_ESTIMATE_SECONDS = 900
# Desktop states on the way to AVAILABLE: they count toward the buffer.
WARMING_STATES = frozenset(
    {
        DesktopState.REQUESTED,
        DesktopState.PENDING,
        DesktopState.STARTING,
        DesktopState.REBUILDING,
        DesktopState.REBOOTING,
    }
)
GONE_STATES = frozenset({DesktopState.TERMINATING, DesktopState.TERMINATED})


class PoolInvalid(RequestInvalid):
    """A pool request that cannot be carried out as it stands."""


class PoolNotAssigned(PoolInvalid):
    """A release for a user who holds no desktop of the pool."""


# ----------------------------------------------------------------------------------------- reading
@dataclass
class PoolCounts:
    """A pool's desktops by what they can do for the next user."""

    size: int = 0
    assigned: int = 0
    warm: int = 0
    warming: int = 0
    stopped: int = 0
    recycling: int = 0
    other: int = 0


def _is_live(desktop: Desktop) -> bool:
    """Still a desktop of the pool: not terminated or on the way, not a refused create, still managed."""
    if desktop.unmanaged_at is not None or desktop.state in GONE_STATES:
        return False
    return not (desktop.state == DesktopState.ERROR and desktop.workspace_id is None)


def _bucket(member: PoolDesktop) -> str:
    """One of assigned, warm, warming, stopped, recycling, other (members that are live)."""
    state = member.desktop.state
    if member.assigned_user:
        return "assigned"
    if member.needs_recycle or member.pending_action == PoolAction.REBUILD:
        return "recycling"
    if member.pending_action == PoolAction.STOP:
        return "other"
    if state == DesktopState.AVAILABLE and not member.pending_action:
        return "warm"
    if state in WARMING_STATES or member.pending_action in (PoolAction.CREATE, PoolAction.START):
        return "warming"
    if state == DesktopState.STOPPED:
        return "stopped"
    return "other"


def pool_members(pool: Pool) -> list[PoolDesktop]:
    """The pool's live desktops with their state, in a fixed order."""
    members = (
        PoolDesktop.objects.filter(pool=pool)
        .annotate(order_finished=_order_finished())
        .select_related("desktop", "desktop__activity")
        .order_by("pk")
    )
    live: list[PoolDesktop] = []
    for member in members:
        if not _is_live(member.desktop) or (
            member.pending_action == PoolAction.TERMINATE and not member.order_finished
        ):
            continue
        if member.order_finished:
            member.pending_action = ""  # the order is done; the mark is cleared by the next manager run
        live.append(member)
    return live


def _order_finished() -> Exists:
    """Whether the job of a pool desktop's pending order has finished."""
    return Exists(Job.objects.filter(pk=OuterRef("pending_job_id"), status__in=JOB_TERMINAL_STATUSES))


def pool_counts(pool: Pool) -> PoolCounts:
    counted = Counter(_bucket(m) for m in pool_members(pool))
    return PoolCounts(size=sum(counted.values()), **counted)


def pool_list(*, customers: QuerySet[Customer] | None = None) -> QuerySet[Pool]:
    pools = Pool.objects.select_related("customer", "aws_account", "directory", "bundle", "power_policy")
    return pools if customers is None else pools.filter(customer__in=customers)


def pool_samples(pool: Pool, *, since: datetime) -> list[PoolSample]:
    return list(PoolSample.objects.filter(pool=pool, taken_at__gte=since).order_by("taken_at"))


# ------------------------------------------------------------------------------------- configuring
def pool_save(*, actor: Actor, pool: Pool) -> Pool:
    """Check and store a new or changed pool (every field's rule and the tenant rules), audited."""
    from django.core.exceptions import ValidationError

    try:
        pool.full_clean()
    except ValidationError as exc:
        raise PoolInvalid({name: list(messages) for name, messages in exc.message_dict.items()}) from exc
    created = pool.pk is None
    with transaction.atomic():
        pool.save()
        audit_record_many(
            [
                audit_event_for_actor(
                    actor,
                    pool.customer,
                    action="PoolCreate" if created else "PoolUpdate",
                    outcome=AuditOutcome.SUCCEEDED,
                    aws_account_id=pool.aws_account.account_id,
                    region=pool.region,
                    target_type="pool",
                    target_id=str(pool.pk),
                    details=_pool_settings(pool),
                )
            ]
        )
    return pool


def _pool_settings(pool: Pool) -> dict:
    return {
        "name": pool.name,
        "min_size": pool.min_size,
        "max_size": pool.max_size,
        "buffer": pool.buffer,
        "time_zone": pool.time_zone,
        "schedule": pool.schedule,
        "persistent": pool.persistent,
        "release_delay_minutes": pool.release_delay_minutes,
        "running_mode": pool.running_mode,
        "enabled": pool.enabled,
    }


# -------------------------------------------------------------------------------------- assignment
@dataclass
class Assignment:
    """The answer to a user: their desktop (`assigned`), one on its way (`pending`, with the job and an
    estimate), or nothing free and no room to make one (`wait`)."""

    status: str
    reason: str
    member: PoolDesktop | None = None
    job: Job | None = None
    estimate_seconds: int = 0
    already_held: bool = False


def _check_user(user_name: str) -> None:
    if (
        not isinstance(user_name, str)
        or user_name == UNDEFINED_USER
        or not USER_NAME_PATTERN.match(user_name)
    ):
        raise PoolInvalid({"user": [f"{str(user_name)[:70]!r} is not a directory user name."]})


def _assign_event(actor: Actor, pool: Pool, action: str, user: str, member: PoolDesktop | None, reason: str):
    return audit_event_for_actor(
        actor,
        pool.customer,
        action=action,
        outcome=AuditOutcome.SUCCEEDED,
        aws_account_id=pool.aws_account.account_id,
        region=pool.region,
        target_type="pool",
        target_id=str(pool.pk),
        details={
            "user": user,
            "desktop_id": member.desktop_id if member else None,
            "workspace_id": member.desktop.workspace_id if member else None,
            "reason": reason,
        },
    )


def pool_assign(*, actor: Actor, pool: Pool, user_name: str, now: datetime | None = None) -> Assignment:
    """The user's desktop of this pool: the one they hold, a warm one, or one on its way."""
    _check_user(user_name)
    if not pool.enabled:
        raise PoolInvalid({"pool": [f"Pool {pool.name!r} is disabled: enable it before assigning desktops."]})
    now = now or timezone.now()
    held = _held(pool, user_name)
    if held is not None:
        return _answer_for_held(actor, pool, held)
    try:
        with transaction.atomic():
            return _assign_new(actor, pool, user_name, now)
    except IntegrityError:
        # The same user's other request won the race: theirs is the desktop it got.
        held = _held(pool, user_name)
        if held is None:
            raise
        return _answer_for_held(actor, pool, held)


def _held(pool: Pool, user_name: str) -> PoolDesktop | None:
    return PoolDesktop.objects.select_related("desktop").filter(pool=pool, assigned_user=user_name).first()


def _answer_for_held(actor: Actor, pool: Pool, member: PoolDesktop) -> Assignment:
    state = member.desktop.state
    if state == DesktopState.AVAILABLE and not member.pending_action:
        return Assignment("assigned", "the desktop this user holds", member, already_held=True)
    if member.pending_action:
        job = Job.objects.filter(pk=member.pending_job_id).first() if member.pending_job_id else None
        estimate = {
            PoolAction.CREATE: CREATE_ESTIMATE_SECONDS,
            PoolAction.REBUILD: REBUILD_ESTIMATE_SECONDS,
        }.get(PoolAction(member.pending_action), START_ESTIMATE_SECONDS)
        return Assignment(
            "pending",
            f"the user's desktop is {member.get_pending_action_display().lower()}",
            member,
            job,
            estimate,
            already_held=True,
        )
    if state == DesktopState.STOPPED and pool.running_mode == RunningMode.MANUAL:
        with transaction.atomic():
            locked = PoolDesktop.objects.select_for_update().select_related("desktop").get(pk=member.pk)
            if locked.pending_action:
                return _answer_for_held(actor, pool, locked)
            job = _start(
                actor, pool, [locked], reason=f"{locked.assigned_user} asked for their stopped desktop"
            )
        return Assignment(
            "pending",
            "starting the user's stopped desktop",
            locked,
            job,
            START_ESTIMATE_SECONDS,
            already_held=True,
        )
    return Assignment(
        "pending", f"the user's desktop is {state}", member, None, START_ESTIMATE_SECONDS, already_held=True
    )


def _free(pool: Pool) -> QuerySet[PoolDesktop]:
    """Unassigned desktops no order is under way for: none, or its job has finished (the manager's next
    run clears the mark; a user need not wait for it)."""
    return PoolDesktop.objects.filter(
        Q(pending_action="") | (~Q(pending_action=PoolAction.TERMINATE) & _order_finished()),
        pool=pool,
        assigned_user__isnull=True,
        needs_recycle=False,
        desktop__unmanaged_at__isnull=True,
        desktop__workspace_id__isnull=False,
    )


def _claim(pool: Pool, state: str, user_name: str, now: datetime) -> PoolDesktop | None:
    """Take one free desktop in `state` for the user: rows another request holds are skipped, and the
    UPDATE matches only a row still unassigned."""
    member = (
        _free(pool)
        .filter(desktop__state=state)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("desktop")
        .order_by("pk")
        .first()
    )
    if member is None:
        return None
    taken = PoolDesktop.objects.filter(pk=member.pk, assigned_user__isnull=True).update(
        assigned_user=user_name,
        assigned_at=now,
        pending_action="",
        pending_job_id=None,
        pending_since=None,
        updated_at=now,
    )
    if not taken:
        return None
    member.assigned_user, member.assigned_at = user_name, now
    member.pending_action, member.pending_job_id, member.pending_since = "", None, None
    return member


def _assign_new(actor: Actor, pool: Pool, user_name: str, now: datetime) -> Assignment:
    member = _claim(pool, DesktopState.AVAILABLE, user_name, now)
    if member is not None:
        audit_record_many([_assign_event(actor, pool, "PoolAssign", user_name, member, "a warm desktop")])
        return Assignment("assigned", "a warm desktop", member)
    if pool.running_mode == RunningMode.MANUAL:
        member = _claim(pool, DesktopState.STOPPED, user_name, now)
        if member is not None:
            reason = f"no warm desktop: starting a stopped one for {user_name}"
            job = _start(actor, pool, [member], reason=reason)
            audit_record_many([_assign_event(actor, pool, "PoolAssign", user_name, member, reason)])
            return Assignment("pending", reason, member, job, START_ESTIMATE_SECONDS)
    # Making one: the pool row's lock makes the size check and the create one step per pool.
    Pool.objects.select_for_update().filter(pk=pool.pk).first()
    size = len(pool_members(pool))
    if size >= pool.max_size:
        reason = f"every desktop is taken and the pool is at its maximum of {pool.max_size}"
        return Assignment("wait", reason)
    reason = f"no warm or stopped desktop: creating one for {user_name}"
    job, members = _create(actor, pool, 1, now, assigned_user=user_name, reason=reason)
    audit_record_many([_assign_event(actor, pool, "PoolAssign", user_name, members[0], reason)])
    return Assignment("pending", reason, members[0], job, CREATE_ESTIMATE_SECONDS)


def pool_release(
    *, actor: Actor, pool: Pool, user_name: str, reason: str = "released on request"
) -> PoolDesktop:
    """Take the user's desktop back: a non-persistent pool rebuilds it before anyone else gets it, and a
    persistent one too, since it held that user's files."""
    _check_user(user_name)
    with transaction.atomic():
        member = (
            PoolDesktop.objects.select_for_update()
            .select_related("desktop")
            .filter(pool=pool, assigned_user=user_name)
            .first()
        )
        if member is None:
            raise PoolNotAssigned({"user": [f"{user_name} holds no desktop of pool {pool.name!r}."]})
        _release([member], timezone.now())
        audit_record_many([_assign_event(actor, pool, "PoolRelease", user_name, member, reason)])
    return member


def _release(members: list[PoolDesktop], now: datetime) -> None:
    PoolDesktop.objects.filter(pk__in=[m.pk for m in members]).update(
        assigned_user=None, assigned_at=None, needs_recycle=True, updated_at=now
    )
    for member in members:
        member.assigned_user, member.assigned_at, member.needs_recycle = None, None, True


# --------------------------------------------------------------------------- orders (desktop jobs)
def _mark(members: list[PoolDesktop], action: str, job: Job, now: datetime) -> None:
    PoolDesktop.objects.filter(pk__in=[m.pk for m in members]).update(
        pending_action=action, pending_job_id=job.pk, pending_since=now, updated_at=now
    )
    for member in members:
        member.pending_action, member.pending_job_id, member.pending_since = action, job.pk, now


def _act(actor: Actor, pool: Pool, members: list[PoolDesktop], action: str, pending: str) -> Job:
    job = desktop_action_bulk(
        actor=actor, customer=pool.customer, desktops=[m.desktop for m in members], action=action
    )
    _mark(members, pending, job, timezone.now())
    return job


def _start(actor: Actor, pool: Pool, members: list[PoolDesktop], *, reason: str) -> Job:
    return _act(actor, pool, members, DesktopAction.START, PoolAction.START)


def _create(
    actor: Actor, pool: Pool, count: int, now: datetime, *, assigned_user: str | None = None, reason: str
) -> tuple[Job, list[PoolDesktop]]:
    """`count` new user-decoupled desktops of the pool, as one create job; their pool rows in the same
    transaction, so a recount (a redelivered manager run) sees them at once."""
    job = desktop_create_bulk(
        actor=actor,
        request=DesktopCreateRequest(
            customer=pool.customer,
            aws_account=pool.aws_account,
            directory=pool.directory,
            bundle=pool.bundle,
            running_mode=pool.running_mode,
            count=count,
        ),
    )
    desktop_ids = list(
        JobItem.objects.filter(job=job).order_by("sequence").values_list("desktop_id", flat=True)
    )
    members = PoolDesktop.objects.bulk_create(
        PoolDesktop(
            pool=pool,
            desktop_id=desktop_id,
            aws_account_id=pool.aws_account_id,
            assigned_user=assigned_user,
            assigned_at=now if assigned_user else None,
            image_id=pool_image_id(pool),
            pending_action=PoolAction.CREATE,
            pending_job_id=job.pk,
            pending_since=now,
        )
        for desktop_id in desktop_ids
    )
    desktops = Desktop.objects.in_bulk([m.desktop_id for m in members])
    for member in members:
        member.desktop = desktops[member.desktop_id]
    return job, members


# ------------------------------------------------------------------------------------ the manager
def pool_schedule_name(pool: Pool) -> str:
    return f"{POOL_SCHEDULE_PREFIX}{pool.pk}"


def pools_manage_due(*, now: datetime | None = None) -> dict:
    """Beat's tick: one manager job per enabled pool and window; a second tick in the window does nothing."""
    now = now or timezone.now()
    window = window_start_for(now, settings.POOL_MANAGE_INTERVAL_SECONDS)
    started = []
    for pool in Pool.objects.filter(enabled=True, customer__is_active=True).select_related("customer"):
        with transaction.atomic():
            run = schedule_run_claim(schedule=pool_schedule_name(pool), window_start=window)
            if run is None:
                continue
            job = PoolManageRunner.job_create(
                actor=Actor.schedule(pool_schedule_name(pool)),
                customer=pool.customer,
                queue=Queue.PERIODIC,
                params={"pool_id": pool.pk, "window_start": window.isoformat()},
                items=[NewItem(params={"pool_id": pool.pk, "window_start": window.isoformat()})],
            )
            run.job = job
            run.save(update_fields=["job", "updated_at"])
        started.append(job.pk)
    return {"window_start": window.isoformat(), "jobs": started}


@dataclass
class PoolPlan:
    """What one manager run decided for a pool, and why."""

    min_size: int
    buffer: int
    window: dict | None
    target_size: int
    counts: PoolCounts
    finished: list[PoolDesktop] = field(default_factory=list)
    releases: list[tuple[PoolDesktop, str, str]] = field(default_factory=list)
    rebuild: list[PoolDesktop] = field(default_factory=list)
    update: list[PoolDesktop] = field(default_factory=list)
    start: list[PoolDesktop] = field(default_factory=list)
    stop: list[PoolDesktop] = field(default_factory=list)
    terminate: list[PoolDesktop] = field(default_factory=list)
    create: int = 0
    reasons: dict[str, str] = field(default_factory=dict)


def _release_due(pool: Pool, member: PoolDesktop, now: datetime) -> str:
    """Why a non-persistent pool takes this desktop back now (its user disconnected long enough), or ""."""
    if pool.persistent or not member.assigned_user or member.assigned_at is None:
        return ""
    activity = getattr(member.desktop, "activity", None)
    if activity is None or activity.connection_state != ConnectionState.DISCONNECTED:
        return ""
    gone = activity.last_disconnected_at
    if gone is None or gone < member.assigned_at:
        return ""
    if activity.last_connected_at is not None and activity.last_connected_at > gone:
        return ""
    if now - gone < timedelta(minutes=pool.release_delay_minutes):
        return ""
    return f"{member.assigned_user} disconnected at {gone:%Y-%m-%d %H:%M} UTC, {pool.release_delay_minutes} minutes' release delay passed"


def pool_image_id(pool: Pool) -> str:
    """The image the pool's bundle makes desktops from now ("" when the bundle names none)."""
    image = pool.bundle.image if pool.bundle.image_id else None
    return image.image_id if image is not None else ""


def _rolling_update(
    pool: Pool, counts: PoolCounts, buckets: dict[str, list[PoolDesktop]], plan: PoolPlan
) -> list[PoolDesktop]:
    """Free desktops made from an older image than the bundle's, to rebuild now: stopped ones first, and
    never more out of service at once than the pool's max-unavailable share (released desktops being
    rebuilt count too). Assigned ones are rebuilt when they are released."""
    current = pool_image_id(pool)
    if not current:
        return []
    free = buckets.get("stopped", []) + buckets.get("warm", [])
    outdated = [m for m in free if m.image_id and m.image_id != current]
    allowed = max(1, counts.size * pool.max_unavailable_percent // 100)
    out_of_service = counts.recycling  # released or updated desktops waiting for, or in, a rebuild
    budget = max(0, allowed - out_of_service)
    chosen = outdated[: min(budget, POOL_BATCH)]
    if chosen:
        plan.reasons["update"] = (
            f"{len(outdated)} free desktops run an older image than the bundle's {current}; rebuilding "
            f"{len(chosen)}: at most {allowed} ({pool.max_unavailable_percent}% of {counts.size}) out of "
            f"service at once, {out_of_service} already are"
        )
    return chosen


def pool_plan(pool: Pool, now: datetime) -> PoolPlan:
    """The pool's target from its schedule, and the changes that move it there (none to an assigned
    desktop, never below the minimum or above the maximum, at most POOL_BATCH of each kind)."""
    members = pool_members(pool)
    pending_jobs = {m.pending_job_id for m in members if m.pending_job_id}
    done_jobs = set(
        Job.objects.filter(pk__in=pending_jobs, status__in=JOB_TERMINAL_STATUSES).values_list("pk", flat=True)
    )
    finished = [m for m in members if m.pending_job_id in done_jobs]
    for member in finished:
        member.pending_action, member.pending_job_id, member.pending_since = "", None, None
    releases = [(m, m.assigned_user or "", why) for m in members if (why := _release_due(pool, m, now))]
    for member, _, _ in releases:
        member.assigned_user, member.assigned_at, member.needs_recycle = None, None, True
    min_size, buffer, window = pool.capacity_at(now)
    min_size, buffer = min(min_size, pool.max_size), min(buffer, pool.max_size)
    buckets: dict[str, list[PoolDesktop]] = {}
    for member in members:
        buckets.setdefault(_bucket(member), []).append(member)
    counts = PoolCounts(size=len(members), **{k: len(v) for k, v in buckets.items()})
    target = min(pool.max_size, max(min_size, counts.assigned + buffer))
    plan = PoolPlan(min_size, buffer, window, target, counts, finished=finished, releases=releases)
    where = f"window {window['start']}–{window['end']}" if window else "outside the schedule's windows"
    recycling = [m for m in buckets.get("recycling", []) if not m.pending_action]
    plan.rebuild = [
        m for m in recycling if m.desktop.state in (DesktopState.AVAILABLE, DesktopState.STOPPED)
    ][:POOL_BATCH]
    if plan.rebuild:
        plan.reasons["rebuild"] = (
            f"{len(plan.rebuild)} released desktops are rebuilt before anyone else gets them"
        )
    plan.update = _rolling_update(pool, counts, buckets, plan)
    # Rebuilt desktops (released or updated) come back warm: they count toward the buffer.
    ready = counts.warm + counts.warming + len(plan.rebuild)
    need = buffer - ready
    stopped = [m for m in buckets.get("stopped", []) if m not in plan.update]
    if need > 0 and pool.running_mode == RunningMode.MANUAL:
        plan.start = stopped[: min(need, POOL_BATCH)]
        need -= len(plan.start)
        if plan.start:
            plan.reasons["start"] = (
                f"buffer {buffer} ({where}) but {ready} warm or warming: starting stopped desktops"
            )
    room = pool.max_size - counts.size
    plan.create = max(0, min(room, POOL_BATCH, max(need, min_size - counts.size)))
    if plan.create:
        plan.reasons["create"] = (
            f"target {target} (min {min_size}, buffer {buffer}, {counts.assigned} assigned; {where}); "
            f"{counts.size} desktops, {ready + len(plan.start)} warm or warming"
        )
    extra = counts.size - target
    warm = [m for m in buckets.get("warm", []) if m not in plan.update]
    # Warm desktops beyond the buffer may go; stopped spare ones go first; never an assigned one.
    surplus_warm = min(len(warm), max(0, counts.warm + counts.warming - buffer))
    if extra > 0:
        spare = [m for m in stopped if m not in plan.start] + warm[:surplus_warm]
        plan.terminate = spare[: min(extra, POOL_BATCH, max(0, counts.size - min_size))]
        if plan.terminate:
            plan.reasons["terminate"] = (
                f"{counts.size} desktops above the target of {target} (min {min_size}, buffer {buffer}, "
                f"{counts.assigned} assigned; {where})"
            )
    warm_left = [m for m in warm if m not in plan.terminate]
    surplus = surplus_warm - (len(warm) - len(warm_left))
    if surplus > 0 and pool.running_mode == RunningMode.MANUAL:
        plan.stop = warm_left[: min(surplus, POOL_BATCH)]
        plan.reasons["stop"] = (
            f"{len(warm_left)} warm desktops for a buffer of {buffer} ({where}): stopping the rest "
            "(MANUAL desktops are billed while running)"
        )
    return plan


class PoolManageRunner(JobRunner):
    """One manager run of one pool: plan, order and record in one transaction with the item's success.

    The item's success is fenced by its lease: a delivery whose item was taken over rolls everything
    back, and the next delivery plans again from what is committed, so it never orders a desktop twice.
    """

    kinds = (JobKind.POOL_MANAGE,)

    def run(self, items: list[JobItem]) -> None:
        for item in items:
            self._manage(item)

    def _manage(self, item: JobItem) -> None:
        # The run decides for its window; a late delivery decides for the moment it runs.
        now = max(timezone.now(), datetime.fromisoformat(item.params["window_start"]))
        with transaction.atomic():
            pool = (
                Pool.objects.select_for_update(of=("self",))
                .select_related("customer", "aws_account", "directory", "bundle")
                .filter(pk=item.params["pool_id"])
                .first()
            )
            if pool is None or not pool.enabled:
                self.succeed([item])
                return
            plan = pool_plan(pool, now)
            events = self._carry_out(pool, plan, now)
            counts = pool_counts(pool)
            PoolSample.objects.create(
                pool=pool,
                taken_at=now,
                size=counts.size,
                assigned=counts.assigned,
                warm=counts.warm,
                stopped=counts.stopped,
                target=plan.target_size,
            )
            Job.objects.filter(pk=self.job.pk).update(
                result={"pool_id": pool.pk, "target": plan.target_size, **vars(counts)}
            )
            # A fault test kills the worker here: the orders are written, not committed.
            failpoint("pool_manage.before_commit")
            self.succeed([item], audit=events)

    def _carry_out(self, pool: Pool, plan: PoolPlan, now: datetime) -> list[AuditEvent]:
        actor = Actor.schedule(pool_schedule_name(pool))
        events: list[AuditEvent] = []
        if plan.finished:
            PoolDesktop.objects.filter(pk__in=[m.pk for m in plan.finished]).update(
                pending_action="", pending_job_id=None, pending_since=None, updated_at=now
            )
        if plan.releases:
            _release([m for m, _, _ in plan.releases], now)
            for member, user, why in plan.releases:
                events.append(self._decision(pool, "PoolRelease", why, [member], user=user))
        orders = (
            ("rebuild", plan.rebuild, DesktopAction.REBUILD, PoolAction.REBUILD),
            ("update", plan.update, DesktopAction.REBUILD, PoolAction.REBUILD),
            ("start", plan.start, DesktopAction.START, PoolAction.START),
            ("stop", plan.stop, DesktopAction.STOP, PoolAction.STOP),
            ("terminate", plan.terminate, DesktopAction.TERMINATE, PoolAction.TERMINATE),
        )
        for name, members, action, pending in orders:
            if not members:
                continue
            try:
                job = _act(actor, pool, members, action, pending)
            except RequestInvalid as refused:
                events.append(
                    self._decision(pool, f"Pool{name.title()}", plan.reasons[name], members, refused=refused)
                )  # refused before any AWS call (e.g. a desktop no longer tagged as ours)
                continue
            if name in ("rebuild", "update"):
                # A rebuild takes the bundle's current image.
                PoolDesktop.objects.filter(pk__in=[m.pk for m in members]).update(
                    needs_recycle=False, image_id=pool_image_id(pool)
                )
            action_name = "PoolImageUpdate" if name == "update" else f"Pool{name.title()}"
            events.append(self._decision(pool, action_name, plan.reasons[name], members, job=job))
        if plan.create:
            try:
                job, made = _create(actor, pool, plan.create, now, reason=plan.reasons["create"])
            except RequestInvalid as refused:
                events.append(self._decision(pool, "PoolCreate", plan.reasons["create"], [], refused=refused))
            else:
                events.append(self._decision(pool, "PoolScaleUp", plan.reasons["create"], made, job=job))
        return events

    def _decision(
        self,
        pool: Pool,
        action: str,
        reason: str,
        desktops: list[PoolDesktop],
        *,
        job: Job | None = None,
        refused: RequestInvalid | None = None,
        user: str | None = None,
    ) -> AuditEvent:
        details: dict = {
            "reason": reason,
            "pool": pool.name,
            "desktop_ids": [m.desktop_id for m in desktops],
            "count": len(desktops),
        }
        if job is not None:
            details["job_id"] = job.pk
        if user:
            details["user"] = user
        return audit_event_for_job(
            self.job,
            action=action,
            outcome=AuditOutcome.REFUSED if refused else AuditOutcome.SUCCEEDED,
            aws_account_id=pool.aws_account.account_id,
            region=pool.region,
            target_type="pool",
            target_id=str(pool.pk),
            error_message=str(refused) if refused else "",
            details=details,
        )

    def settle(self, job: Job) -> dict:
        """The window's run is finished with the job: FAILED (and tried again next window) if the item failed."""
        run = ScheduleRun.objects.filter(job=job, finished_at__isnull=True).first()
        failed = job.items.exclude(error_code="").values_list("error_message", flat=True).first()
        if run is not None:
            schedule_run_finish(run, result=dict(job.result or {}), error=failed or "")
        return {}


# ---------------------------------------------------------------------------------- for the pages
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CHART_POINTS = 288


@dataclass
class PoolOverview:
    """What a pool's page shows: counts, what applies now, the week as a grid, the last 24 hours."""

    pool: Pool
    counts: PoolCounts
    min_now: int
    buffer_now: int
    window_now: dict | None
    # Per day: (day name, 24 cells of (min, buffer, in a window)).
    grid: list[tuple[str, list[tuple[int, int, bool]]]]
    chart: dict


def pool_overview(pool: Pool, *, now: datetime | None = None) -> PoolOverview:
    now = now or timezone.now()
    min_now, buffer_now, window_now = pool.capacity_at(now)
    grid = []
    for day, name in enumerate(DAY_NAMES):
        cells = []
        for hour in range(24):
            cell = (pool.min_size, pool.buffer, False)
            for window in pool.schedule or []:
                if day in window["days"] and window["start"] <= f"{hour:02d}:00" < window["end"]:
                    cell = (window["min"], window["buffer"], True)
            cells.append(cell)
        grid.append((name, cells))
    samples = pool_samples(pool, since=now - timedelta(hours=24))
    samples = samples[:: max(1, len(samples) // CHART_POINTS)]  # a run a minute is more than a chart shows
    chart = {
        "labels": [sample.taken_at.strftime("%H:%M") for sample in samples],
        "size": [sample.size for sample in samples],
        "assigned": [sample.assigned for sample in samples],
        "warm": [sample.warm for sample in samples],
        "title": f"{pool.name}: desktops and assignments, last 24 hours (UTC)",
    }
    return PoolOverview(pool, pool_counts(pool), min_now, buffer_now, window_now, grid, chart)
