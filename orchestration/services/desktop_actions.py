"""Actions on existing desktops, for one desktop or thousands: each request is one job, one item a desktop.

Start, stop, reboot, rebuild, restore, modify properties, admin maintenance on/off, migrate to another
bundle, terminate. Everything is judged before any AWS call, in two layers:

- The request itself: an unknown action, bad parameters (AUTO_STOP, an unknown compute type, a bundle
  of another customer), desktops of another customer (S1), more than 5,000 desktops, an empty
  selection. Any of these refuses the whole request with `DesktopActionInvalid`; nothing is written
  but one REFUSED audit event.
- Each desktop: not yet created in AWS, missing from AWS, terminated, in a state the action cannot
  start from, ALWAYS_ON for start/stop, a volume that would shrink, already on the target bundle
  (`NotEligible`), or not tagged PartnerManaged=true (`TagGuardRefused`, S5). A selection where some
  desktops are not eligible still goes ahead for the eligible ones, as the person expects: the job has
  an item for every desktop, the ineligible items are FAILED at once with their reason and audited
  REFUSED, and `job.result` counts them by reason. If no desktop is eligible, the request is refused
  as a whole (the refusals are still audited).

Only eligible desktops cost calls: per account and region, ceil(N/25) Start/Stop/Reboot/Terminate calls
(items are dispatched per account and region, 25 to a delivery) and one call per desktop for rebuild,
restore, modify, admin maintenance and migrate. A poll then describes the desktops (25 ids a call)
until each reaches the action's target state, and copies what AWS reports onto our rows.

Per-item FailedRequests: transient codes retry just those items, permanent ones fail them with AWS's
code and message. Throttling never fails an item. Every item is marked submitted before its call, and a
later delivery of a submitted item (its worker died, or the answer was lost) looks at AWS first: a
desktop already STOPPING, REBUILDING, RESTORING…, or the migrated WorkSpace found by directory and user,
is adopted instead of called again. Rebuild, restore and migrate are not idempotent, so for them this
is what keeps a lost answer from doing the work twice.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Unpack

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.calls import chunked
from orchestration.aws.errors import (
    AwsAccessDenied,
    AwsError,
    AwsExpiredCredentials,
    AwsThrottled,
    base_code,
    is_transient_item_code,
)
from orchestration.aws.tagguard import PARTNER_TAG_KEY, PARTNER_TAG_VALUE, is_partner_managed
from orchestration.aws.types import AccountAccess, BatchActionResult, FailedItem
from orchestration.aws.workspaces import (
    BATCH_ACTION_LIMIT,
    DescribedWorkspace,
    WorkspaceSnapshots,
    workspace_migrate,
    workspace_modify_properties,
    workspace_modify_state,
    workspace_restore,
    workspace_snapshots,
    workspaces_describe,
    workspaces_list,
    workspaces_reboot,
    workspaces_rebuild,
    workspaces_start,
    workspaces_stop,
    workspaces_terminate,
)
from orchestration.choices import AuditOutcome, JobItemStatus, JobKind, Queue
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.audit import (
    AuditFields,
    AuditResult,
    audit_event_for_actor,
    audit_event_for_job,
    audit_record_many,
)
from orchestration.services.desktops import MAX_DESKTOPS_PER_JOB
from orchestration.services.errors import RequestInvalid
from orchestration.services.jobs import (
    items_claim,
    items_release,
    job_dispatch_items,
    job_refresh_status,
    job_schedule_poll,
)
from orchestration.services.polling import poll_items_due, poll_while_waiting
from tenants.choices import (
    UNDEFINED_USER,
    ComputeType,
    DesktopState,
    ImageState,
    RunningMode,
    VerificationStatus,
)
from tenants.models import AwsAccount, Bundle, Customer, Desktop

NOT_ELIGIBLE = "NotEligible"
TAG_GUARD_REFUSED = "TagGuardRefused"
# A desktop that has not reached its target state this long after the call is given up on.
ACTION_WAIT_LIMIT = timedelta(hours=6)
ENDED_STATES = frozenset({DesktopState.TERMINATING, DesktopState.TERMINATED})
# States that end an action badly, unless the desktop was already in them when it was asked for.
FAILURE_STATES: frozenset[str] = frozenset(
    {DesktopState.ERROR, DesktopState.SUSPENDED, DesktopState.TERMINATING, DesktopState.TERMINATED}
)
MODIFY_PARAMS = ("compute_type", "root_volume_gib", "user_volume_gib", "running_mode")


class DesktopAction(StrEnum):
    """What can be done to a selection of desktops (the names the admin, command and API use)."""

    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    REBUILD = "rebuild"
    RESTORE = "restore"
    MODIFY = "modify"
    MAINTENANCE_ON = "maintenance-on"
    MAINTENANCE_OFF = "maintenance-off"
    MIGRATE = "migrate"
    TERMINATE = "terminate"


@dataclass(frozen=True)
class ActionSpec:
    """How one action is checked, called and followed.

    `from_states`: where AWS accepts it (None: any live state). `accepted_states`: what a desktop shows
    once AWS took the action: a redelivered item already there is adopted, not called again, and for an
    idempotent action a repeat refused as InvalidResourceState counts as done. `interim_state`: what our
    row says from the accepted call until the poll reads AWS.
    """

    name: str
    kind: str
    operation: str
    verb: str
    from_states: frozenset[str] | None
    done_states: frozenset[str] = frozenset()
    accepted_states: frozenset[str] = frozenset()
    interim_state: str = ""
    per_call: int = 1
    manual_only: bool = False
    idempotent: bool = True
    params: tuple[str, ...] = ()


def _states(*states: str) -> frozenset[str]:
    return frozenset(states)


S = DesktopState
ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            name=DesktopAction.START,
            kind=JobKind.DESKTOP_START,
            operation="StartWorkspaces",
            verb="start",
            from_states=_states(S.STOPPED),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.STARTING, S.AVAILABLE),
            interim_state=S.STARTING,
            per_call=BATCH_ACTION_LIMIT,
            manual_only=True,
        ),
        ActionSpec(
            name=DesktopAction.STOP,
            kind=JobKind.DESKTOP_STOP,
            operation="StopWorkspaces",
            verb="stop",
            from_states=_states(S.AVAILABLE, S.IMPAIRED, S.UNHEALTHY, S.ERROR),
            done_states=_states(S.STOPPED),
            accepted_states=_states(S.STOPPING, S.STOPPED),
            interim_state=S.STOPPING,
            per_call=BATCH_ACTION_LIMIT,
            manual_only=True,
        ),
        ActionSpec(
            name=DesktopAction.REBOOT,
            kind=JobKind.DESKTOP_REBOOT,
            operation="RebootWorkspaces",
            verb="reboot",
            from_states=_states(S.AVAILABLE, S.IMPAIRED, S.UNHEALTHY, S.REBOOTING),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.REBOOTING),
            interim_state=S.REBOOTING,
            per_call=BATCH_ACTION_LIMIT,
        ),
        ActionSpec(
            name=DesktopAction.REBUILD,
            kind=JobKind.DESKTOP_REBUILD,
            operation="RebuildWorkspaces",
            verb="rebuild",
            from_states=_states(S.AVAILABLE, S.ERROR, S.UNHEALTHY, S.STOPPED, S.REBOOTING),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.REBUILDING),
            interim_state=S.REBUILDING,
            idempotent=False,
        ),
        ActionSpec(
            name=DesktopAction.RESTORE,
            kind=JobKind.DESKTOP_RESTORE,
            operation="RestoreWorkspace",
            verb="restore",
            from_states=_states(S.AVAILABLE, S.ERROR, S.UNHEALTHY, S.STOPPED),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.RESTORING),
            interim_state=S.RESTORING,
            idempotent=False,
        ),
        ActionSpec(
            name=DesktopAction.MODIFY,
            kind=JobKind.DESKTOP_MODIFY,
            operation="ModifyWorkspaceProperties",
            verb="modify",
            from_states=_states(S.AVAILABLE, S.STOPPED),
            params=MODIFY_PARAMS,
        ),
        ActionSpec(
            name=DesktopAction.MAINTENANCE_ON,
            kind=JobKind.DESKTOP_MAINTENANCE,
            operation="ModifyWorkspaceState",
            verb="put in admin maintenance",
            from_states=_states(S.AVAILABLE),
            done_states=_states(S.ADMIN_MAINTENANCE),
            accepted_states=_states(S.ADMIN_MAINTENANCE),
            interim_state=S.ADMIN_MAINTENANCE,
        ),
        ActionSpec(
            name=DesktopAction.MAINTENANCE_OFF,
            kind=JobKind.DESKTOP_MAINTENANCE,
            operation="ModifyWorkspaceState",
            verb="take out of admin maintenance",
            from_states=_states(S.ADMIN_MAINTENANCE),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.AVAILABLE),
            interim_state=S.AVAILABLE,
        ),
        ActionSpec(
            name=DesktopAction.MIGRATE,
            kind=JobKind.DESKTOP_MIGRATE,
            operation="MigrateWorkspace",
            verb="migrate",
            from_states=_states(S.AVAILABLE, S.STOPPED),
            done_states=_states(S.AVAILABLE),
            interim_state=S.PENDING,
            idempotent=False,
            params=("bundle_id",),
        ),
        ActionSpec(
            name=DesktopAction.TERMINATE,
            kind=JobKind.DESKTOP_TERMINATE,
            operation="TerminateWorkspaces",
            verb="terminate",
            from_states=None,
            done_states=_states(S.TERMINATED),
            accepted_states=_states(S.TERMINATING, S.TERMINATED),
            interim_state=S.TERMINATING,
            per_call=BATCH_ACTION_LIMIT,
        ),
    )
}

_BATCH_CALLS: dict[str, Callable[[AccountAccess, Sequence[str]], list[BatchActionResult]]] = {
    DesktopAction.START: workspaces_start,
    DesktopAction.STOP: workspaces_stop,
    DesktopAction.REBOOT: workspaces_reboot,
    DesktopAction.REBUILD: workspaces_rebuild,
    DesktopAction.TERMINATE: workspaces_terminate,
}


class DesktopActionInvalid(RequestInvalid):
    """A desktop action that cannot be sent to AWS as it stands."""


# ---------------------------------------------------------------------------------------------- entry


def desktop_action_targets(
    *,
    aws_account: AwsAccount,
    workspace_ids: Sequence[str] = (),
    directory_id: str = "",
    state: str = "",
) -> list[Desktop]:
    """The desktops a script names: by WorkSpace id (each must be ours), or every live one of a directory.

    A WorkSpace id we have no record of is refused: it may exist in AWS, but this control plane does
    not manage it until reconciliation has looked at it.
    """
    if bool(workspace_ids) == bool(directory_id):
        raise DesktopActionInvalid({"desktops": ["Name the desktops by WorkSpace ids or by a directory."]})
    if state and state not in DesktopState.values:
        raise DesktopActionInvalid({"state": [f"Unknown desktop state {state!r}."]})
    desktops = Desktop.objects.filter(aws_account=aws_account).select_related("aws_account__customer")
    if directory_id:
        desktops = desktops.filter(directory__directory_id=directory_id, workspace_id__isnull=False).exclude(
            state=DesktopState.TERMINATED
        )
        if state:
            desktops = desktops.filter(state=state)
        return list(desktops.order_by("workspace_id"))
    wanted = list(dict.fromkeys(workspace_ids))
    found = list(desktops.filter(workspace_id__in=wanted))
    unknown = [wid for wid in wanted if wid not in {d.workspace_id for d in found}]
    if unknown:
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        raise DesktopActionInvalid(
            {
                "workspace_ids": [
                    f"{', '.join(unknown[:20])}{more}: not managed by this control plane in account "
                    f"{aws_account.account_id}; run reconcile first."
                ]
            }
        )
    return [d for d in found if not state or d.state == state]


def _clean_params(spec: ActionSpec, customer: Customer, params: dict, add) -> tuple[dict, Bundle | None]:
    """Check the action's parameters; returns them as stored on the job, and the target bundle."""
    unknown = sorted(set(params) - set(spec.params))
    for name in unknown:
        add(name, f"{spec.name} takes no parameter {name!r}.")
    clean: dict = {}
    bundle = None
    if spec.name == DesktopAction.MODIFY:
        given = {name: params[name] for name in MODIFY_PARAMS if params.get(name) not in (None, "")}
        if not given:
            add("params", "Say what to change: compute type, root or user volume size, or running mode.")
        mode = given.get("running_mode")
        if mode == RunningMode.AUTO_STOP:
            add(
                "running_mode",
                "AUTO_STOP is not available for WorkSpaces Core: use MANUAL (billed only while running) "
                "or ALWAYS_ON.",
            )
        elif mode is not None and mode not in (RunningMode.MANUAL, RunningMode.ALWAYS_ON):
            add("running_mode", f"Unknown running mode {mode!r}: use MANUAL or ALWAYS_ON.")
        compute = given.get("compute_type")
        if compute is not None and compute not in ComputeType.values:
            add("compute_type", f"Unknown compute type {compute!r}.")
        for name in ("root_volume_gib", "user_volume_gib"):
            value = given.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                add(name, "A volume size is a whole number of GiB, at least 1.")
        clean = given
    elif spec.name == DesktopAction.MIGRATE:
        bundle_id = params.get("bundle_id") or ""
        bundle = Bundle.objects.select_related("aws_account").filter(bundle_id=bundle_id).first()
        if not bundle_id:
            add("bundle_id", "Choose the bundle to migrate to.")
        elif bundle is None or bundle.aws_account.customer_id != customer.pk:
            add("bundle_id", f"No bundle {bundle_id} is known for {customer.name}.")
            bundle = None
        elif bundle.state != ImageState.AVAILABLE:
            add("bundle_id", f"Bundle {bundle_id} is {bundle.state}; only an AVAILABLE bundle can be used.")
        clean = {"bundle_id": bundle_id}
    return clean, bundle


def _ineligible(
    spec: ActionSpec, desktop: Desktop, params: dict, bundle: Bundle | None
) -> tuple[str, str] | None:
    """Why this desktop cannot take the action, as (code, message); None when it can."""
    if not desktop.workspace_id:
        return NOT_ELIGIBLE, "It is not created in AWS yet."
    if not is_partner_managed(desktop.tags or {}):
        return (
            TAG_GUARD_REFUSED,
            f"It is not tagged {PARTNER_TAG_KEY}={PARTNER_TAG_VALUE}: it was not made by this control plane, "
            "so it is not ours to change.",
        )
    if desktop.missing_from_aws_since:
        return NOT_ELIGIBLE, "AWS no longer reports it; run reconcile first."
    if desktop.state in ENDED_STATES:
        return NOT_ELIGIBLE, f"It is {desktop.state}."
    if spec.from_states is not None and desktop.state not in spec.from_states:
        needs = " or ".join(sorted(spec.from_states))
        return NOT_ELIGIBLE, f"It is {desktop.state}; {spec.verb} needs {needs}."
    if spec.manual_only and desktop.running_mode != RunningMode.MANUAL:
        return (
            NOT_ELIGIBLE,
            f"It runs {desktop.running_mode}: only MANUAL desktops are started and stopped "
            "(change its running mode first).",
        )
    if spec.name == DesktopAction.MODIFY:
        for name, label in (("root_volume_gib", "root"), ("user_volume_gib", "user")):
            current, wanted = getattr(desktop, name), params.get(name)
            if wanted is not None and current is not None and wanted < current:
                return NOT_ELIGIBLE, f"Its {label} volume is {current} GiB; volumes can only grow."
        current = {
            "compute_type": desktop.compute_type,
            "root_volume_gib": desktop.root_volume_gib,
            "user_volume_gib": desktop.user_volume_gib,
            "running_mode": desktop.running_mode,
        }
        if all(current[name] == value for name, value in params.items()):
            return NOT_ELIGIBLE, "It already has these properties."
    if spec.name == DesktopAction.MIGRATE and bundle is not None:
        if (bundle.aws_account_id, bundle.region) != (desktop.aws_account_id, desktop.region):
            return (
                NOT_ELIGIBLE,
                f"Bundle {bundle.bundle_id} is in account {bundle.aws_account.account_id} {bundle.region}, "
                "not in the desktop's account and region.",
            )
        if desktop.bundle_id == bundle.pk:
            return NOT_ELIGIBLE, f"It already uses bundle {bundle.bundle_id}."
    return None


def _refusal_events(
    actor: Actor,
    customer: Customer,
    spec: ActionSpec,
    refused: list[tuple[Desktop, str, str]],
    job: Job | None,
) -> list[AuditEvent]:
    events = []
    for desktop, code, message in refused:
        fields: AuditFields = {
            "action": spec.operation,
            "outcome": AuditOutcome.REFUSED,
            "aws_account_id": desktop.aws_account.account_id,
            "region": desktop.region,
            "target_type": "desktop",
            "target_id": desktop.workspace_id or f"desktop {desktop.pk}",
            "error_code": code,
            "error_message": message,
            "details": {"desktop_id": desktop.pk, "action": spec.name},
        }
        events.append(
            audit_event_for_job(job, **fields) if job else audit_event_for_actor(actor, customer, **fields)
        )
    return events


def desktop_action_bulk(
    *,
    actor: Actor,
    customer: Customer,
    desktops: Iterable[Desktop],
    action: str,
    params: dict | None = None,
) -> Job:
    """Check the request and every desktop, then write one job with an item per desktop (one transaction).

    Ineligible desktops get items that are FAILED at once; tasks are sent after commit for the eligible
    ones, per account and region. Raises `DesktopActionInvalid` before anything is sent when the
    request is wrong or no desktop is eligible.
    """
    params = dict(params or {})
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    spec = ACTIONS.get(action)
    pks = list(dict.fromkeys(d.pk for d in desktops))
    selected = list(
        Desktop.objects.select_related("aws_account__customer", "bundle")
        .filter(pk__in=pks)
        .order_by("aws_account_id", "region", "workspace_id", "pk")
    )
    bundle = None
    if spec is None:
        add("action", f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
    else:
        params, bundle = _clean_params(spec, customer, params, add)
    if not selected:
        add("desktops", "Select at least one desktop.")
    elif len(selected) > MAX_DESKTOPS_PER_JOB:
        add("desktops", f"One request acts on at most {MAX_DESKTOPS_PER_JOB} desktops, not {len(selected)}.")
    foreign = [d for d in selected if d.aws_account.customer_id != customer.pk]
    if foreign:
        add("desktops", f"{len(foreign)} of the selected desktops belong to another customer.")
    if errors:
        _audit_request_refused(actor, customer, spec, selected, errors)
        raise DesktopActionInvalid(errors)
    assert spec is not None  # an unknown action was refused above

    refused: list[tuple[Desktop, str, str]] = []
    eligible: list[Desktop] = []
    for desktop in selected:
        problem = _ineligible(spec, desktop, params, bundle)
        if problem:
            refused.append((desktop, *problem))
        else:
            eligible.append(desktop)
    reasons = Counter(message for _, _, message in refused)
    if not eligible:
        audit_record_many(_refusal_events(actor, customer, spec, refused, None))
        summary = "; ".join(f"{count}: {message}" for message, count in reasons.most_common())
        raise DesktopActionInvalid(
            {
                "desktops": [
                    f"None of the {len(selected)} selected desktops is eligible to {spec.verb}. {summary}"
                ]
            }
        )

    refused_by_pk = {desktop.pk: (code, message) for desktop, code, message in refused}
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(
            kind=spec.kind,
            customer=customer,
            queue=Queue.INTERACTIVE if len(selected) == 1 else Queue.BULK,
            requested_by_kind=actor.kind,
            requested_by_user_id=actor.user_id,
            requested_by_label=actor.label,
            total_items=len(selected),
            params={"action": spec.name, **params},
            result={"eligible": len(eligible), "not_eligible": dict(reasons.most_common())},
        )
        items = JobItem.objects.bulk_create(
            _new_item(job, n, desktop, refused_by_pk.get(desktop.pk), now)
            for n, desktop in enumerate(selected)
        )
        audit_record_many(_refusal_events(actor, customer, spec, refused, job))
        groups: dict[tuple[int, str], list[int]] = {}
        for item, desktop in zip(items, selected, strict=True):
            if item.status == JobItemStatus.PENDING:
                groups.setdefault((desktop.aws_account_id, desktop.region), []).append(item.pk)
        # One dispatch per account and region, so no delivery of 25 straddles two of them.
        for item_ids in groups.values():
            job_dispatch_items(job, item_ids)
    return job


def _new_item(job: Job, sequence: int, desktop: Desktop, refusal: tuple[str, str] | None, now) -> JobItem:
    item = JobItem(
        job=job,
        sequence=sequence,
        desktop=desktop,
        aws_resource_id=desktop.workspace_id or "",
        params={"workspace_id": desktop.workspace_id, "from_state": desktop.state},
    )
    if refusal:
        item.status, item.finished_at = JobItemStatus.FAILED, now
        item.error_code, item.error_message = refusal
    return item


def _audit_request_refused(
    actor: Actor, customer: Customer, spec: ActionSpec | None, selected: list[Desktop], errors: dict
) -> None:
    ours = [d for d in selected if d.aws_account.customer_id == customer.pk]
    target = (ours[0].workspace_id or f"desktop {ours[0].pk}") if len(ours) == 1 else f"{len(ours)} desktops"
    audit_record_many(
        [
            audit_event_for_actor(
                actor,
                customer,
                action=spec.operation if spec else "DesktopAction",
                outcome=AuditOutcome.REFUSED,
                target_type="desktop",
                target_id=target,
                error_code="InvalidRequest",
                error_message=str(DesktopActionInvalid(errors)),
                details={"workspace_ids": [d.workspace_id for d in ours[:100]], "errors": errors},
            )
        ]
    )


def desktop_action_summary(*, job: Job) -> str:
    """One sentence for people: which job, how many desktops it acts on, which were not and why."""
    spec = ACTIONS[job.params["action"]]
    eligible = job.result.get("eligible", job.total_items)
    text = f"Job {job.pk} will {spec.verb} {eligible} desktop{'s' if eligible != 1 else ''}."
    reasons: dict[str, int] = job.result.get("not_eligible") or {}
    if reasons:
        listed = "; ".join(f"{count}: {message}" for message, count in reasons.items())
        text += f" {sum(reasons.values())} not eligible ({listed})"
    return text


def desktop_snapshots(*, desktop: Desktop) -> WorkspaceSnapshots:
    """The snapshots AWS keeps for a desktop (a read, shown to staff; restore uses the latest)."""
    if not desktop.workspace_id:
        raise DesktopActionInvalid({"desktop": ["It is not created in AWS yet, so it has no snapshots."]})
    access = account_access(desktop.aws_account, region=desktop.region)
    return workspace_snapshots(access, desktop.workspace_id)


# -------------------------------------------------------------------------------------------- running


def _retry_delay() -> float:
    """How long items given back for a retry wait before their next delivery."""
    return max(1.0, settings.AWS_BACKOFF_BASE * 4)


@dataclass
class _Delivery:
    """One delivery of a job's items: the desktops it touches and the audit events it has to write."""

    job: Job
    spec: ActionSpec
    desktops: dict[int, Desktop]
    bundle: Bundle | None = None
    audit: list[AuditEvent] = field(default_factory=list)
    waiting: bool = False
    settled: set[int] = field(default_factory=set)  # items this delivery already moved on

    def desktop(self, item: JobItem) -> Desktop:
        # Items whose desktop row is gone are failed as orphans before any of their desktops is asked for.
        assert item.desktop_id is not None, f"job item {item.pk} has no desktop"
        return self.desktops[item.desktop_id]

    def event(
        self,
        item: JobItem,
        access: AccountAccess,
        *,
        outcome: str,
        details: dict | None = None,
        **fields: Unpack[AuditResult],
    ) -> None:
        self.audit.append(
            audit_event_for_job(
                self.job,
                action=self.spec.operation,
                outcome=outcome,
                aws_account_id=access.account_id,
                region=access.region,
                target_type="desktop",
                target_id=item.params.get("workspace_id") or item.aws_resource_id,
                details={"desktop_id": item.desktop_id, "action": self.spec.name, **(details or {})},
                **fields,
            )
        )

    def fail(self, items: list[JobItem], code: str, message: str) -> None:
        now = timezone.now()
        self.settled.update(i.pk for i in items)
        JobItem.objects.filter(pk__in=[i.pk for i in items]).update(
            status=JobItemStatus.FAILED,
            error_code=code,
            error_message=message,
            lease_expires_at=None,
            next_poll_at=None,
            finished_at=now,
            updated_at=now,
        )

    def retry_later(self, items: list[JobItem], *, count_attempt: bool) -> None:
        items_release(items, count_attempt=count_attempt)
        job_dispatch_items(self.job, [i.pk for i in items], countdown=_retry_delay())

    def unmark_submitted(self, items: list[JobItem]) -> None:
        """AWS did not act on these: their next delivery calls rather than looks."""
        JobItem.objects.filter(pk__in=[i.pk for i in items]).update(submitted_at=None)

    def handle_error(self, access: AccountAccess, items: list[JobItem], error: AwsError) -> None:
        """A call failed as a whole: what may work later is retried later, the rest fails with AWS's words."""
        if isinstance(error, AwsThrottled | AwsExpiredCredentials) or error.retryable:
            # Throttling costs no attempt (nothing happened); anything else may hide a success, so it counts.
            throttled = isinstance(error, AwsThrottled)
            if throttled:
                self.unmark_submitted(items)
            self.retry_later(items, count_attempt=not throttled)
        else:
            self.call_failed(access, items, error)

    def accepted(
        self,
        item: JobItem,
        access: AccountAccess,
        request_id: str,
        *,
        target_workspace_id: str = "",
        details: dict | None = None,
        audit: bool = True,
    ) -> None:
        """AWS took the action for this desktop: record it at once; the poll follows it from here."""
        now = timezone.now()
        desktop = self.desktop(item)
        changes: dict = {"updated_at": now}
        if self.spec.interim_state:
            changes.update(state=self.spec.interim_state, state_changed_at=now)
        if target_workspace_id:
            changes.update(
                workspace_id=target_workspace_id, bundle=self.bundle, computer_name="", ip_address=None
            )
        with transaction.atomic():
            Desktop.objects.filter(pk=desktop.pk).update(**changes)
            JobItem.objects.filter(pk=item.pk).update(
                status=JobItemStatus.WAITING,
                aws_resource_id=target_workspace_id or item.aws_resource_id,
                aws_request_id=request_id or item.aws_request_id,
                submitted_at=item.submitted_at or now,
                lease_expires_at=None,
                next_poll_at=now + timedelta(seconds=settings.JOB_POLL_INTERVAL_SECONDS),
                updated_at=now,
            )
        self.waiting = True
        self.settled.add(item.pk)
        if audit:
            self.event(
                item, access, outcome=AuditOutcome.SUCCEEDED, aws_request_id=request_id, details=details or {}
            )

    # ------------------------------------------------------------------------------- one account+region

    def run_group(self, items: list[JobItem]) -> None:
        first = self.desktop(items[0])
        access = account_access(first.aws_account, region=first.region, job_id=self.job.pk)
        # The tag guard holds at call time too: tags may have changed since the job was made.
        untagged = [i for i in items if not is_partner_managed(self.desktop(i).tags or {})]
        if untagged:
            message = (
                f"It is not tagged {PARTNER_TAG_KEY}={PARTNER_TAG_VALUE}: it was not made by this control "
                "plane, so it is not ours to change."
            )
            self.fail(untagged, TAG_GUARD_REFUSED, message)
            for item in untagged:
                self.event(
                    item,
                    access,
                    outcome=AuditOutcome.REFUSED,
                    error_code=TAG_GUARD_REFUSED,
                    error_message=message,
                )
        items = [i for i in items if i not in untagged]
        try:
            items = self.look_before_calling_again(access, items)
        except AwsError as error:
            self.handle_error(access, [i for i in items if i.pk not in self.settled], error)
            return
        chunks = list(chunked(items, self.spec.per_call))
        for n, chunk in enumerate(chunks):
            JobItem.objects.filter(pk__in=[i.pk for i in chunk]).update(submitted_at=timezone.now())
            try:
                failures = self.call(access, chunk)
            except AwsError as error:
                if error.retryable or isinstance(error, AwsExpiredCredentials):
                    # This chunk and the ones after it wait together; none of them was accepted.
                    self.handle_error(access, [i for c in chunks[n:] for i in c], error)
                    return
                self.handle_error(access, chunk, error)
                continue
            if failures:
                self.item_failures(access, failures)

    def call(self, access: AccountAccess, chunk: list[JobItem]) -> list[tuple[JobItem, FailedItem, str]]:
        """Make the call for these items; record the accepted ones and return the per-item failures."""
        spec = self.spec
        ids = [i.aws_resource_id for i in chunk]
        if spec.name in _BATCH_CALLS:
            failures = []
            for result in _BATCH_CALLS[spec.name](access, ids):
                for item in chunk:
                    failed = result.failed.get(item.aws_resource_id)
                    if failed is not None:
                        failures.append((item, failed, result.request_id))
                    elif item.aws_resource_id in result.succeeded:
                        self.accepted(item, access, result.request_id)
            return failures
        (item,) = chunk
        params = self.job.params
        try:
            if spec.name == DesktopAction.MIGRATE:
                migrated = workspace_migrate(access, item.aws_resource_id, params["bundle_id"])
                self.accepted(
                    item,
                    access,
                    migrated.request_id,
                    target_workspace_id=migrated.target_workspace_id,
                    details={
                        "source_workspace_id": migrated.source_workspace_id,
                        "target_workspace_id": migrated.target_workspace_id,
                        "bundle_id": params["bundle_id"],
                    },
                )
                return []
            if spec.name == DesktopAction.RESTORE:
                answer = workspace_restore(access, item.aws_resource_id)
            elif spec.name == DesktopAction.MODIFY:
                answer = workspace_modify_properties(
                    access,
                    item.aws_resource_id,
                    **{name: params[name] for name in MODIFY_PARAMS if name in params},
                )
            else:
                (state,) = spec.done_states
                answer = workspace_modify_state(access, item.aws_resource_id, state)
        except AwsError as error:
            if error.retryable or isinstance(error, AwsExpiredCredentials):
                raise
            return [
                (
                    item,
                    FailedItem(key=item.aws_resource_id, code=error.code, message=error.message),
                    error.request_id,
                )
            ]
        self.accepted(item, access, answer.request_id)
        return []

    def item_failures(self, access: AccountAccess, failures: list[tuple[JobItem, FailedItem, str]]) -> None:
        """Per-desktop refusals: transient ones are retried alone, permanent ones fail with AWS's words."""
        retry = [item for item, failed, _ in failures if is_transient_item_code(failed.code)]
        already = self.already_done(
            access, [(item, failed) for item, failed, _ in failures if item not in retry]
        )
        for item, failed, request_id in failures:
            self.event(
                item,
                access,
                outcome=AuditOutcome.FAILED,
                aws_request_id=request_id,
                error_code=failed.code,
                error_message=failed.message,
                details={"desktop_already": already[item.pk]} if item.pk in already else {},
            )
            if item.pk in already:
                self.accepted(item, access, request_id, audit=False)
            elif item not in retry:
                self.fail([item], failed.code, failed.message)
            if failed.code.startswith(("AccessDenied", "UnauthorizedOperation")):
                self.flag_account(access, failed.code, failed.message)
        if retry:
            self.unmark_submitted(retry)
            self.retry_later(retry, count_attempt=False)

    def already_done(
        self, access: AccountAccess, refused: list[tuple[JobItem, FailedItem]]
    ) -> dict[int, str]:
        """Desktops AWS refused as being in the wrong state, but that are where the action takes them.

        That is what a repeated call after a lost response, or a stale local state, looks like.
        """
        if not self.spec.idempotent or not self.spec.accepted_states:
            return {}
        candidates = [
            item for item, failed in refused if base_code(failed.code).startswith("InvalidResourceState")
        ]
        if not candidates:
            return {}
        try:
            reported = workspaces_describe(access, [i.aws_resource_id for i in candidates])
        except AwsError:
            return {}  # they fail with AWS's own refusal, which is true as far as we can tell
        states = {w.workspace_id: w.state for w in reported}
        return {
            item.pk: states[item.aws_resource_id]
            for item in candidates
            if states.get(item.aws_resource_id) in self.spec.accepted_states
        }

    def call_failed(self, access: AccountAccess, items: list[JobItem], error: AwsError) -> None:
        """A whole call failed for good: each of its desktops fails with AWS's code and message."""
        self.fail(items, error.code, error.message)
        for item in items:
            self.event(
                item,
                access,
                outcome=AuditOutcome.FAILED,
                aws_request_id=error.request_id,
                error_code=error.code,
                error_message=error.message,
            )
        if isinstance(error, AwsAccessDenied):
            self.flag_account(access, error.code, error.message)

    def flag_account(self, access: AccountAccess, code: str, message: str) -> None:
        AwsAccount.objects.filter(account_id=access.account_id).update(
            verification_status=VerificationStatus.FAILED, verification_message=f"{code}: {message}"
        )

    def look_before_calling_again(self, access: AccountAccess, items: list[JobItem]) -> list[JobItem]:
        """Submitted items may have been done already: adopt those, return the ones still to call."""
        submitted = [i for i in items if i.submitted_at is not None]
        if not submitted or (self.spec.name != DesktopAction.MIGRATE and not self.spec.accepted_states):
            return items
        done: set[int] = set()
        if self.spec.name == DesktopAction.MIGRATE:
            for item in submitted:
                if self.adopt_migration(access, item):
                    done.add(item.pk)
        else:
            states = {
                w.workspace_id: w.state
                for w in workspaces_describe(access, [i.aws_resource_id for i in submitted])
            }
            for item in submitted:
                if states.get(item.aws_resource_id) in self.spec.accepted_states:
                    self.accepted(
                        item, access, "", details={"adopted": True, "state": states[item.aws_resource_id]}
                    )
                    done.add(item.pk)
        return [i for i in items if i.pk not in done]

    def adopt_migration(self, access: AccountAccess, item: JobItem) -> bool:
        """Find the WorkSpace an earlier MigrateWorkspace made (same directory and user, the new bundle)."""
        desktop = self.desktop(item)
        source_id = item.aws_resource_id
        bundle_id = self.job.params["bundle_id"]
        if desktop.user_name != UNDEFINED_USER:
            candidates = workspaces_list(
                access, directory_id=desktop.directory.directory_id, user_name=desktop.user_name
            )
        elif desktop.workspace_name:
            candidates = workspaces_list(
                access, directory_id=desktop.directory.directory_id, workspace_name=desktop.workspace_name
            )
        else:
            candidates = iter(())
        target = next(
            (
                w
                for w in candidates
                if w.workspace_id != source_id and w.bundle_id == bundle_id and w.state not in ENDED_STATES
            ),
            None,
        )
        if target is not None:
            self.accepted(
                item,
                access,
                "",
                target_workspace_id=target.workspace_id,
                details={
                    "adopted": True,
                    "source_workspace_id": source_id,
                    "target_workspace_id": target.workspace_id,
                    "bundle_id": bundle_id,
                },
            )
            return True
        source = workspaces_describe(access, [source_id])
        if not source or source[0].state in ENDED_STATES:
            # The source is going but its replacement cannot be found: calling again could not help.
            message = (
                f"The source WorkSpace {source_id} is {source[0].state if source else 'gone'} but no new "
                f"WorkSpace on bundle {bundle_id} was found for it; run reconcile."
            )
            self.fail([item], "MigrationTargetNotFound", message)
            self.event(
                item,
                access,
                outcome=AuditOutcome.FAILED,
                error_code="MigrationTargetNotFound",
                error_message=message,
            )
            return True
        return False


def desktop_action_items_run(*, job_id: int, item_ids: list[int]) -> None:
    """One delivery of up to 25 items: tag guard, then the action's calls per account and region."""
    items = items_claim(job_id=job_id, item_ids=item_ids)
    if not items:
        return
    job = Job.objects.select_related("customer").get(pk=job_id)
    spec = ACTIONS[job.params["action"]]
    desktops = {
        d.pk: d
        for d in Desktop.objects.select_related("aws_account__customer", "directory", "bundle").filter(
            pk__in=[i.desktop_id for i in items if i.desktop_id]
        )
    }
    bundle = None
    if spec.name == DesktopAction.MIGRATE:
        bundle = Bundle.objects.filter(bundle_id=job.params["bundle_id"]).first()
    delivery = _Delivery(job=job, spec=spec, desktops=desktops, bundle=bundle)
    orphans = [i for i in items if i.desktop_id not in desktops]
    if orphans:
        delivery.fail(orphans, "DesktopGone", "The desktop's record was deleted before the action ran.")
    groups: dict[tuple[int, str], list[JobItem]] = {}
    for item in items:
        if item.desktop_id in desktops:
            desktop = desktops[item.desktop_id]
            groups.setdefault((desktop.aws_account_id, desktop.region), []).append(item)
    for group in groups.values():
        delivery.run_group(group)
    audit_record_many(delivery.audit)
    if delivery.waiting:
        job_schedule_poll(job, countdown=settings.JOB_POLL_INTERVAL_SECONDS)
    job_refresh_status(job_id=job.pk)


# ------------------------------------------------------------------------------------------------ poll

DONE, FAILED, WAIT = "done", "failed", "wait"


def poll_verdict(
    spec: ActionSpec,
    job_params: dict,
    workspace: DescribedWorkspace | None,
    *,
    from_state: str,
    submitted_at: datetime | None,
    now: datetime,
) -> tuple[str, str, str]:
    """Whether a desktop has finished the action: (DONE | FAILED | WAIT, error code, error message)."""
    if workspace is None:
        if spec.name == DesktopAction.TERMINATE:
            return DONE, "", ""
        if spec.name != DesktopAction.MIGRATE:  # a new WorkSpace may lag in Describe; an old one does not
            return FAILED, "WorkspaceGone", "AWS no longer reports this WorkSpace."
    elif spec.name == DesktopAction.MODIFY:
        failed = [m.resource for m in workspace.modifications if m.state == "UPDATE_FAILED"]
        if failed:
            return FAILED, "ModificationFailed", f"AWS could not change {', '.join(failed)}."
        if (
            not workspace.modifications
            and workspace.state in (DesktopState.AVAILABLE, DesktopState.STOPPED)
            and _properties_match(job_params, workspace)
        ):
            return DONE, "", ""
    elif workspace.state in spec.done_states:
        return DONE, "", ""
    if (
        workspace is not None
        and workspace.state in FAILURE_STATES - spec.accepted_states
        and workspace.state != from_state
    ):
        return (
            FAILED,
            workspace.error_code or f"Workspace{workspace.state.title()}",
            workspace.error_message or f"The desktop went to {workspace.state}.",
        )
    if submitted_at is not None and now - submitted_at > ACTION_WAIT_LIMIT:
        return FAILED, "GaveUpWaiting", f"The desktop did not finish within {ACTION_WAIT_LIMIT}."
    return WAIT, "", ""


def _properties_match(job_params: dict, workspace: DescribedWorkspace) -> bool:
    reported = {
        "compute_type": workspace.compute_type,
        "root_volume_gib": workspace.root_volume_gib,
        "user_volume_gib": workspace.user_volume_gib,
        "running_mode": workspace.running_mode,
    }
    return all(reported[name] == job_params[name] for name in MODIFY_PARAMS if name in job_params)


def _copy_reported(desktop: Desktop, workspace: DescribedWorkspace, now) -> None:
    """Our row takes what AWS reports."""
    if desktop.state != workspace.state:
        desktop.state, desktop.state_changed_at = workspace.state, now
    desktop.running_mode = workspace.running_mode or desktop.running_mode
    desktop.compute_type = workspace.compute_type or desktop.compute_type
    desktop.root_volume_gib = workspace.root_volume_gib or desktop.root_volume_gib
    desktop.user_volume_gib = workspace.user_volume_gib or desktop.user_volume_gib
    desktop.computer_name = workspace.computer_name or desktop.computer_name
    desktop.ip_address = workspace.ip_address or desktop.ip_address
    desktop.error_code, desktop.error_message = workspace.error_code, workspace.error_message
    desktop.last_synced_at = desktop.updated_at = now


REPORTED_FIELDS = [
    "state",
    "state_changed_at",
    "running_mode",
    "compute_type",
    "root_volume_gib",
    "user_volume_gib",
    "computer_name",
    "ip_address",
    "error_code",
    "error_message",
    "last_synced_at",
    "updated_at",
]


def desktop_action_poll_run(*, job_id: int) -> None:
    """Describe the job's waiting desktops (25 ids a call) and settle those that reached their target."""
    due = poll_items_due(
        job_id=job_id, interval=settings.JOB_POLL_INTERVAL_SECONDS, related="desktop__aws_account__customer"
    )
    job = Job.objects.select_related("customer").get(pk=job_id)
    spec = ACTIONS[job.params["action"]]
    delivery = _Delivery(job=job, spec=spec, desktops={i.desktop.pk: i.desktop for i in due if i.desktop})
    orphans = [i for i in due if i.desktop is None]
    if orphans:
        delivery.fail(orphans, "DesktopGone", "The desktop's record was deleted while the action ran.")
    groups: dict[tuple[int, str], list[JobItem]] = {}
    for item in due:
        if item.desktop is not None:
            groups.setdefault((item.desktop.aws_account_id, item.desktop.region), []).append(item)
    for group in groups.values():
        desktop = delivery.desktop(group[0])
        access = account_access(desktop.aws_account, region=desktop.region, job_id=job.pk)
        try:
            reported = {
                w.workspace_id: w for w in workspaces_describe(access, [i.aws_resource_id for i in group])
            }
        except AwsError as error:
            if not (error.retryable or isinstance(error, AwsExpiredCredentials)):
                delivery.fail(group, error.code, error.message)
            continue  # otherwise the next poll asks again
        _settle(delivery, group, reported, timezone.now())
    poll_while_waiting(job, interval=settings.JOB_POLL_INTERVAL_SECONDS)


def _settle(
    delivery: _Delivery, items: list[JobItem], reported: Mapping[str, DescribedWorkspace], now
) -> None:
    changed: list[Desktop] = []
    succeeded: list[int] = []
    for item in items:
        desktop = delivery.desktop(item)
        workspace = reported.get(item.aws_resource_id)
        if workspace is not None:
            _copy_reported(desktop, workspace, now)
            changed.append(desktop)
        verdict, code, message = poll_verdict(
            delivery.spec,
            delivery.job.params,
            workspace,
            from_state=item.params.get("from_state", ""),
            submitted_at=item.submitted_at,
            now=now,
        )
        if verdict == DONE:
            succeeded.append(item.pk)
            if workspace is None:  # a terminated WorkSpace AWS has stopped listing
                desktop.state, desktop.state_changed_at, desktop.last_synced_at = (
                    DesktopState.TERMINATED,
                    now,
                    now,
                )
                desktop.updated_at = now
                changed.append(desktop)
        elif verdict == FAILED:
            delivery.fail([item], code, message)
    Desktop.objects.bulk_update(changed, REPORTED_FIELDS)
    JobItem.objects.filter(pk__in=succeeded).update(
        status=JobItemStatus.SUCCEEDED, next_poll_at=None, finished_at=now, updated_at=now
    )
