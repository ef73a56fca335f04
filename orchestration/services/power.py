"""Idle-timeout stops: MANUAL desktops nobody uses are stopped, by each customer's power policy.

A MANUAL desktop is billed by the hour while AVAILABLE (seed rule R9), so the partner stops it when:
its user has been disconnected for N minutes, nobody has connected for N minutes since it started, or it
is outside the policy's business hours. A desktop with a live session is never stopped.

Session activity has two sources: the partner's gateway posts connect / disconnect / heartbeat events
(`orchestration.services.activity`), and AWS reports DescribeWorkspacesConnectionStatus. The sweep asks
AWS about every candidate except those the gateway reported live within the heartbeat window, 25 ids
a call, right before deciding; it then stops 25 desktops a call. The stops are recorded as one
IDLE_SWEEP job per customer with an item per desktop (WAITING, followed to STOPPED by the same poll as a
stop action), so reconciliation knows which stops were ours from job items.

The sweep fans out per AWS account: the window's claim (one ScheduleRun "idle-sweep" per window) sends
one `orchestration.idle_sweep_account` task per account with candidates onto the periodic queue, so
many workers share a large fleet. Each account's sweep claims its own row ("idle-sweep:<account id>",
same window), so a repeated or duplicated task never stops a desktop twice, and holds an advisory lock
of that name, so a slow sweep of one window and the next window's of the same account never overlap.
An account task lost on the way (the broker down at the claim) costs that account one window: the
next window's claim sends it again.
Its SQL is a fixed number of queries however many desktops the account has: candidates in one query,
then in one transaction activity in one upsert, stopped desktops in one update, jobs, items and audit
events in one insert each.
"""

import logging
import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.connections import (
    CONNECTION_STATUS_IDS_LIMIT,
    ConnectionStatus,
    workspaces_connection_status,
)
from orchestration.aws.errors import AwsError
from orchestration.aws.tagguard import is_partner_managed
from orchestration.aws.types import AccountAccess, FailedItem
from orchestration.aws.workspaces import workspaces_stop
from orchestration.choices import AuditOutcome, JobKind, Queue
from orchestration.engine.jobs import NewItem, NewJob, jobs_create
from orchestration.engine.publish import publish
from orchestration.models import AuditEvent, Job
from orchestration.services.accounts import account_access
from orchestration.services.audit import audit_event_for_job
from orchestration.services.desktop_actions import DesktopAction, DesktopActionRunner
from orchestration.services.schedules import (
    schedule_exclusive,
    schedule_run_claim,
    schedule_run_finish,
    window_start_for,
)
from tenants.choices import ActivitySource, ConnectionState, DesktopState, RunningMode
from tenants.models import DESKTOP_IS_LIVE, Customer, Desktop, DesktopActivity, PowerPolicy

logger = logging.getLogger(__name__)

IDLE_SWEEP_SCHEDULE = "idle-sweep"
# One account's sweep of one window (orchestration/tasks.py registers it by this name).
IDLE_SWEEP_ACCOUNT_TASK = "orchestration.idle_sweep_account"


def idle_sweep_account_schedule(aws_account_id: str) -> str:
    """The claim and lock name of one account's sweeps."""
    return f"{IDLE_SWEEP_SCHEDULE}:{aws_account_id}"


@dataclass(frozen=True)
class SessionFacts:
    """What we know about a desktop's use, merged from both sources."""

    available_since: datetime | None
    connection_state: str
    source: str
    connection_state_at: datetime | None
    last_connected_at: datetime | None
    last_disconnected_at: datetime | None
    last_heartbeat_at: datetime | None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def gateway_reports_live(facts: SessionFacts, now: datetime) -> bool:
    """The gateway said CONNECTED and has been heard from within the heartbeat window."""
    if facts.source != ActivitySource.GATEWAY or facts.connection_state != ConnectionState.CONNECTED:
        return False
    heard = _later(facts.last_heartbeat_at, facts.connection_state_at)
    return heard is not None and now - heard <= timedelta(seconds=settings.SESSION_HEARTBEAT_STALE_SECONDS)


def facts_with_aws_status(facts: SessionFacts, status: ConnectionStatus) -> SessionFacts:
    """Merge AWS's report: its LastKnownUserConnectionTimestamp is when a user was last seen connected,
    which for a DISCONNECTED desktop is when the session ended."""
    last_seen = status.last_user_connection_at
    if status.state == ConnectionState.CONNECTED:
        last_seen = _later(last_seen, status.checked_at)
    disconnected_at = facts.last_disconnected_at
    if status.state == ConnectionState.DISCONNECTED and last_seen is not None:
        disconnected_at = _later(disconnected_at, last_seen)
    return SessionFacts(
        available_since=facts.available_since,
        connection_state=status.state,
        source=ActivitySource.AWS,
        connection_state_at=status.checked_at or facts.connection_state_at,
        last_connected_at=_later(facts.last_connected_at, last_seen),
        last_disconnected_at=disconnected_at,
        last_heartbeat_at=facts.last_heartbeat_at,
    )


def within_business_hours(schedule: dict, now: datetime) -> bool:
    """Whether `now` falls in one of the policy's weekly windows (in the policy's time zone)."""
    local = now.astimezone(zoneinfo.ZoneInfo(schedule.get("timezone") or "UTC"))
    for window in schedule.get("windows", []):
        start, end = time.fromisoformat(window["start"]), time.fromisoformat(window["end"])
        if local.weekday() in window.get("days", []) and start <= local.time() < end:
            return True
    return False


def idle_stop_reason(policy: PowerPolicy, facts: SessionFacts, now: datetime) -> str:
    """Why this desktop should be stopped now, or "" if it should keep running."""
    if facts.connection_state == ConnectionState.CONNECTED and (
        facts.source == ActivitySource.AWS or gateway_reports_live(facts, now)
    ):
        return ""
    if policy.stop_after_disconnect_minutes and facts.last_disconnected_at is not None:
        connected_since = facts.last_connected_at and facts.last_connected_at > facts.last_disconnected_at
        idle = now - facts.last_disconnected_at
        if not connected_since and idle >= timedelta(minutes=policy.stop_after_disconnect_minutes):
            return f"disconnected for {int(idle.total_seconds() // 60)} minutes (policy {policy.name!r}: {policy.stop_after_disconnect_minutes})"
    if policy.stop_after_no_session_minutes and facts.available_since is not None:
        used = facts.last_connected_at is not None and facts.last_connected_at >= facts.available_since
        running = now - facts.available_since
        if not used and running >= timedelta(minutes=policy.stop_after_no_session_minutes):
            return f"no session in {int(running.total_seconds() // 60)} minutes since it started (policy {policy.name!r}: {policy.stop_after_no_session_minutes})"
    if policy.schedule.get("windows") and not within_business_hours(policy.schedule, now):
        return f"outside business hours (policy {policy.name!r})"
    return ""


def _facts_of(desktop: Desktop) -> SessionFacts:
    activity = getattr(desktop, "activity", None)
    if activity is None:
        return SessionFacts(desktop.state_changed_at, ConnectionState.UNKNOWN, "", None, None, None, None)
    return SessionFacts(
        available_since=desktop.state_changed_at,
        connection_state=activity.connection_state,
        source=activity.source,
        connection_state_at=activity.connection_state_at,
        last_connected_at=activity.last_connected_at,
        last_disconnected_at=activity.last_disconnected_at,
        last_heartbeat_at=activity.last_heartbeat_at,
    )


@dataclass
class SweepReport:
    """What one sweep saw and did; kept on its ScheduleRun."""

    candidates: int = 0
    untagged_skipped: int = 0
    live_by_gateway: int = 0
    checked_with_aws: int = 0
    connected: int = 0
    to_stop: int = 0
    stopped: int = 0
    stop_failed: int = 0
    connection_status_calls: int = 0
    stop_calls: int = 0
    errors: list[str] = field(default_factory=list)


def _default_policies(aws_account_id: str | None = None) -> dict[int, PowerPolicy]:
    """Each active customer's default policy (of the one account's customer when given), by customer."""
    policies = PowerPolicy.objects.filter(is_default=True, customer__is_active=True)
    if aws_account_id is not None:
        policies = policies.filter(customer__aws_accounts__account_id=aws_account_id)
    return {p.customer_id: p for p in policies}


def _candidate_rows(defaults: dict[int, PowerPolicy]) -> QuerySet[Desktop]:
    """MANUAL, AVAILABLE desktops of active customers with a policy of their own or a customer default."""
    return (
        Desktop.objects.filter(
            DESKTOP_IS_LIVE,
            unmanaged_at__isnull=True,  # released or forgotten: not ours to stop
            state=DesktopState.AVAILABLE,
            running_mode=RunningMode.MANUAL,
            workspace_id__isnull=False,
            aws_account__customer__is_active=True,
        )
        .filter(Q(power_policy__isnull=False) | Q(aws_account__customer_id__in=list(defaults)))
        # A pool's spare desktops are the pool manager's to power (orchestration/services/pools.py).
        .filter(Q(pool_membership__isnull=True) | Q(pool_membership__assigned_user__isnull=False))
    )


def _candidates(aws_account_id: str | None = None) -> tuple[list[Desktop], dict[int, PowerPolicy]]:
    """The candidates (of one account when given) with what they need to decide, in two queries."""
    defaults = _default_policies(aws_account_id)
    rows = _candidate_rows(defaults)
    if aws_account_id is not None:
        rows = rows.filter(aws_account__account_id=aws_account_id)
    desktops = list(
        rows.select_related("power_policy", "activity", "aws_account__customer").order_by(
            "aws_account_id", "region", "pk"
        )
    )
    return desktops, defaults


def _candidate_accounts() -> list[str]:
    """The AWS accounts with at least one candidate, in two queries whatever the fleet's size."""
    return list(
        _candidate_rows(_default_policies())
        .order_by("aws_account__account_id")
        .values_list("aws_account__account_id", flat=True)
        .distinct()
    )


def _workspace_id(desktop: Desktop) -> str:
    """A candidate's WorkSpace id: `_candidates` takes only desktops AWS has made."""
    assert desktop.workspace_id is not None, f"desktop {desktop.pk} has no WorkSpace id"
    return desktop.workspace_id


def idle_sweep_run(*, now: datetime | None = None) -> dict:
    """The window's claim: one account sweep task per account with candidates, on the periodic queue.

    A second call in the same window does nothing (F6). The accounts' sweeps decide as of `now`, the
    claim's time: one that runs late is conservative (it never stops a desktop before its policy says).
    """
    now = now or timezone.now()
    window = window_start_for(now, settings.IDLE_SWEEP_INTERVAL_SECONDS)
    run = schedule_run_claim(schedule=IDLE_SWEEP_SCHEDULE, window_start=window)
    if run is None:
        return {"claimed": False, "window_start": window.isoformat()}
    accounts = _candidate_accounts()
    for aws_account_id in accounts:
        publish(IDLE_SWEEP_ACCOUNT_TASK, [aws_account_id, now.isoformat()], Queue.PERIODIC)
    result = {"claimed": True, "window_start": window.isoformat(), "accounts": len(accounts)}
    schedule_run_finish(run, result=result)
    return result


def idle_sweep_account_run(*, aws_account_id: str, now: datetime) -> dict:
    """One account's sweep of the window `now` falls in: once per account and window, however often asked."""
    window = window_start_for(now, settings.IDLE_SWEEP_INTERVAL_SECONDS)
    schedule = idle_sweep_account_schedule(aws_account_id)
    head = {"aws_account_id": aws_account_id, "window_start": window.isoformat()}
    run = schedule_run_claim(schedule=schedule, window_start=window)
    if run is None:
        return {"claimed": False, **head}
    with schedule_exclusive(schedule) as alone:
        if not alone:
            # The account's sweep still running reads these desktops; the next window looks again.
            result = {"claimed": True, **head, "skipped": "a sweep is running"}
            schedule_run_finish(run, result=result)
            return result
        report = idle_sweep(now=now, aws_account_id=aws_account_id)
    result = {"claimed": True, **head, **report.__dict__}
    schedule_run_finish(run, result=result, error="; ".join(report.errors))
    return result


@dataclass(frozen=True)
class _Stop:
    """One StopWorkspaces outcome for one desktop: accepted (`failed` None) or refused by AWS."""

    desktop: Desktop
    access: AccountAccess
    request_id: str
    reason: str
    failed: FailedItem | None = None


class IdleSweepRunner(DesktopActionRunner):
    """The idle sweep's stops: the sweep makes the calls itself and records each stop as a WAITING item;
    from there it is a stop action (the same poll follows each desktop to STOPPED)."""

    kinds = (JobKind.IDLE_SWEEP,)


def idle_sweep(*, now: datetime, aws_account_id: str | None = None) -> SweepReport:
    """Decide and stop, over one account (every account without one): a fixed number of queries,
    ceil(n/25) AWS calls per kind and region."""
    report = SweepReport()
    desktops, defaults = _candidates(aws_account_id)
    report.candidates = len(desktops)
    groups: dict[tuple[int, str], list[Desktop]] = defaultdict(list)
    for desktop in desktops:
        if not is_partner_managed(desktop.tags):
            report.untagged_skipped += 1  # not ours to stop (S5)
            continue
        groups[(desktop.aws_account_id, desktop.region)].append(desktop)
    activity_rows: list[DesktopActivity] = []
    stops: list[_Stop] = []
    for group in groups.values():
        stops.extend(_sweep_group(group, defaults, now, report, activity_rows))
    report.stopped = sum(1 for stop in stops if stop.failed is None)
    report.stop_failed = len(stops) - report.stopped
    _record(stops, activity_rows, now)
    if report.stopped or report.errors:
        logger.info("idle sweep stopped %d of %d candidates", report.stopped, report.candidates)
    return report


def _sweep_group(
    group: list[Desktop],
    defaults: dict[int, PowerPolicy],
    now: datetime,
    report: SweepReport,
    activity_rows: list[DesktopActivity],
) -> list[_Stop]:
    """One account and region: ask AWS who is connected, decide, stop those to stop (25 a call)."""
    account = group[0].aws_account
    access = account_access(account, region=group[0].region)
    facts = {d.pk: _facts_of(d) for d in group}
    ask_aws = [d for d in group if not gateway_reports_live(facts[d.pk], now)]
    report.live_by_gateway += len(group) - len(ask_aws)
    try:
        statuses = {
            s.workspace_id: s
            for s in workspaces_connection_status(access, [_workspace_id(d) for d in ask_aws])
        }
    except AwsError as error:
        report.errors.append(f"{account.account_id}/{group[0].region}: {error}")
        return []
    report.connection_status_calls += math.ceil(len(ask_aws) / CONNECTION_STATUS_IDS_LIMIT)
    report.checked_with_aws += len(ask_aws)
    reasons: dict[str, str] = {}
    to_stop: dict[str, Desktop] = {}
    for desktop in ask_aws:
        status = statuses.get(_workspace_id(desktop))
        if status is None:
            continue  # AWS no longer reports it; reconciliation deals with that
        merged = facts_with_aws_status(facts[desktop.pk], status)
        activity_rows.append(_activity_row(desktop, merged))
        if merged.connection_state == ConnectionState.CONNECTED:
            report.connected += 1
            continue
        reason = idle_stop_reason(
            desktop.power_policy or defaults[desktop.aws_account.customer_id], merged, now
        )
        if reason:
            reasons[_workspace_id(desktop)] = reason
            to_stop[_workspace_id(desktop)] = desktop
    report.to_stop += len(to_stop)
    try:
        results = workspaces_stop(access, list(to_stop))
    except AwsError as error:
        report.errors.append(f"{account.account_id}/{group[0].region}: {error}")
        results = []
    report.stop_calls += len(results)
    return [
        _Stop(to_stop[wid], access, result.request_id, reasons[wid], failed=result.failed.get(wid))
        for result in results
        for wid in [*result.succeeded, *result.failed]
    ]


def _record(stops: list[_Stop], activity_rows: list[DesktopActivity], now: datetime) -> None:
    """Everything the sweep learned and did, in one transaction and a fixed number of statements."""
    by_customer: dict[int, list[_Stop]] = defaultdict(list)
    for stop in stops:
        by_customer[stop.desktop.aws_account.customer_id].append(stop)
    with transaction.atomic():
        if activity_rows:
            DesktopActivity.objects.bulk_create(
                activity_rows,
                update_conflicts=True,
                unique_fields=["desktop"],
                update_fields=[
                    "connection_state",
                    "connection_state_at",
                    "last_connected_at",
                    "last_disconnected_at",
                    "source",
                    "updated_at",
                ],
            )
        stopped_ids = [stop.desktop.pk for stop in stops if stop.failed is None]
        if stopped_ids:
            Desktop.objects.filter(pk__in=stopped_ids, state=DesktopState.AVAILABLE).update(
                state=DesktopState.STOPPING, state_changed_at=now, updated_at=now
            )
        jobs_create(
            [_stop_job(group[0].desktop.aws_account.customer, group) for group in by_customer.values()]
        )


def _stop_job(customer: Customer, stops: list[_Stop]) -> NewJob:
    """One customer's stops of this sweep, as a job: an item per desktop, WAITING for STOPPED when AWS
    took the stop, FAILED with AWS's words when it did not."""
    return NewJob(
        kind=JobKind.IDLE_SWEEP,
        actor=Actor.schedule(IDLE_SWEEP_SCHEDULE),
        customer=customer,
        queue=Queue.PERIODIC,
        batch_size=IdleSweepRunner.items_per_delivery(JobKind.IDLE_SWEEP),
        poll_in=settings.JOB_POLL_INTERVAL_SECONDS,
        params={"action": DesktopAction.STOP},
        items=[
            NewItem(
                desktop=stop.desktop,
                aws_resource_id=_workspace_id(stop.desktop),
                aws_request_id=stop.request_id,
                params={
                    "workspace_id": stop.desktop.workspace_id,
                    "from_state": DesktopState.AVAILABLE,
                    "reason": stop.reason,
                },
                waiting=stop.failed is None,
                refusal=(stop.failed.code, stop.failed.message) if stop.failed else None,
            )
            for stop in stops
        ],
        audit=lambda job: [_stop_event(job, stop) for stop in stops],
    )


def _activity_row(desktop: Desktop, facts: SessionFacts) -> DesktopActivity:
    return DesktopActivity(
        desktop=desktop,
        connection_state=facts.connection_state,
        connection_state_at=facts.connection_state_at,
        last_connected_at=facts.last_connected_at,
        last_disconnected_at=facts.last_disconnected_at,
        last_heartbeat_at=facts.last_heartbeat_at,
        source=facts.source,
    )


def _stop_event(job: Job, stop: _Stop) -> AuditEvent:
    return audit_event_for_job(
        job,
        action="StopWorkspaces",
        outcome=AuditOutcome.FAILED if stop.failed else AuditOutcome.SUCCEEDED,
        aws_account_id=stop.access.account_id,
        region=stop.access.region,
        target_type="desktop",
        target_id=_workspace_id(stop.desktop),
        aws_request_id=stop.request_id,
        error_code=stop.failed.code if stop.failed else "",
        error_message=stop.failed.message if stop.failed else "",
        details={"reason": stop.reason, "user_name": stop.desktop.user_name, "idle_sweep": True},
    )
