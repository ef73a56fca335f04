"""Asking for a desktop action: the request and every desktop are judged before anything is sent.

The request itself (an unknown action, bad parameters, desktops of another customer, too many, none)
refuses the whole request. Each desktop is then eligible or not; the ineligible ones get items that are
SKIPPED at once with their reason (not failures), audited REFUSED, and counted in `job.result`.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from orchestration.actors import Actor
from orchestration.aws.tagguard import is_partner_managed
from orchestration.aws.workspaces import WorkspaceSnapshots, workspace_snapshots
from orchestration.choices import AuditOutcome
from orchestration.engine.jobs import NewItem
from orchestration.models import AuditEvent, Job
from orchestration.services.accounts import account_access
from orchestration.services.audit import (
    AuditFields,
    audit_event_for_actor,
    audit_event_for_job,
    audit_record_many,
)
from orchestration.services.desktop_actions.actions import (
    ACTIONS,
    ENDED_STATES,
    MODIFY_PARAMS,
    NOT_ELIGIBLE,
    NOT_OURS,
    TAG_GUARD_REFUSED,
    ActionSpec,
    DesktopAction,
    DesktopActionInvalid,
)
from orchestration.services.desktop_actions.runner import DesktopActionRunner
from orchestration.services.desktops import MAX_DESKTOPS_PER_JOB
from tenants.choices import ComputeType, DesktopState, ImageState, RunningMode
from tenants.models import AwsAccount, Bundle, Customer, Desktop

Add = Callable[[str, str], None]


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


def _clean_modify(params: dict, add: Add) -> dict:
    """The properties to change: at least one, each a value WorkSpaces Core takes."""
    given = {name: params[name] for name in MODIFY_PARAMS if params.get(name) not in (None, "")}
    if not given:
        add("params", "Say what to change: compute type, root or user volume size, or running mode.")
    mode = given.get("running_mode")
    if mode == RunningMode.AUTO_STOP:
        add(
            "running_mode",
            "AUTO_STOP is not available for WorkSpaces Core: use MANUAL (billed only while running) or ALWAYS_ON.",
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
    return given


def _clean_migrate(customer: Customer, params: dict, add: Add) -> Bundle | None:
    """The bundle to migrate to: the customer's own, and AVAILABLE."""
    bundle_id = params.get("bundle_id") or ""
    bundle = Bundle.objects.select_related("aws_account").filter(bundle_id=bundle_id).first()
    if not bundle_id:
        add("bundle_id", "Choose the bundle to migrate to.")
    elif bundle is None or bundle.aws_account.customer_id != customer.pk:
        add("bundle_id", f"No bundle {bundle_id} is known for {customer.name}.")
        return None
    elif bundle.state != ImageState.AVAILABLE:
        add("bundle_id", f"Bundle {bundle_id} is {bundle.state}; only an AVAILABLE bundle can be used.")
    return bundle


def _clean_params(spec: ActionSpec, customer: Customer, params: dict, add: Add) -> tuple[dict, Bundle | None]:
    """Check the action's parameters; returns them as stored on the job, and the target bundle."""
    for name in sorted(set(params) - set(spec.params)):
        add(name, f"{spec.name} takes no parameter {name!r}.")
    if spec.name == DesktopAction.MODIFY:
        return _clean_modify(params, add), None
    if spec.name == DesktopAction.MIGRATE:
        bundle = _clean_migrate(customer, params, add)
        return {"bundle_id": params.get("bundle_id") or ""}, bundle
    return {}, None


def _modify_problem(desktop: Desktop, params: dict) -> str:
    """Why a modify would do nothing or shrink a volume, or ""."""
    for name, label in (("root_volume_gib", "root"), ("user_volume_gib", "user")):
        current, wanted = getattr(desktop, name), params.get(name)
        if wanted is not None and current is not None and wanted < current:
            return f"Its {label} volume is {current} GiB; volumes can only grow."
    current_properties = {
        "compute_type": desktop.compute_type,
        "root_volume_gib": desktop.root_volume_gib,
        "user_volume_gib": desktop.user_volume_gib,
        "running_mode": desktop.running_mode,
    }
    if all(current_properties[name] == value for name, value in params.items()):
        return "It already has these properties."
    return ""


def _migrate_problem(desktop: Desktop, bundle: Bundle) -> str:
    if (bundle.aws_account_id, bundle.region) != (desktop.aws_account_id, desktop.region):
        return (
            f"Bundle {bundle.bundle_id} is in account {bundle.aws_account.account_id} {bundle.region}, "
            "not in the desktop's account and region."
        )
    if desktop.bundle_id == bundle.pk:
        return f"It already uses bundle {bundle.bundle_id}."
    return ""


def _ineligible(
    spec: ActionSpec, desktop: Desktop, params: dict, bundle: Bundle | None
) -> tuple[str, str] | None:
    """Why this desktop cannot take the action, as (code, message); None when it can."""
    if not desktop.workspace_id:
        return NOT_ELIGIBLE, "It is not created in AWS yet."
    if not is_partner_managed(desktop.tags or {}):
        return TAG_GUARD_REFUSED, NOT_OURS
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
    problem = ""
    if spec.name == DesktopAction.MODIFY:
        problem = _modify_problem(desktop, params)
    elif spec.name == DesktopAction.MIGRATE and bundle is not None:
        problem = _migrate_problem(desktop, bundle)
    return (NOT_ELIGIBLE, problem) if problem else None


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


def _checked_request(
    actor: Actor, customer: Customer, desktops: Iterable[Desktop], action: str, params: dict
) -> tuple[ActionSpec, dict, Bundle | None, list[Desktop]]:
    """The action, its cleaned parameters, the target bundle and the selected rows; or a refusal (audited)."""
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
    if errors or spec is None:
        _audit_request_refused(actor, customer, spec, selected, errors)
        raise DesktopActionInvalid(errors)
    return spec, params, bundle, selected


def desktop_action_bulk(
    *,
    actor: Actor,
    customer: Customer,
    desktops: Iterable[Desktop],
    action: str,
    params: dict | None = None,
) -> Job:
    """Check the request and every desktop, then write one job with an item per desktop (one transaction).

    Ineligible desktops get items that are SKIPPED at once; tasks are sent after commit for the eligible
    ones, per account and region. Raises `DesktopActionInvalid` before anything is sent when the
    request is wrong or no desktop is eligible.
    """
    spec, params, bundle, selected = _checked_request(actor, customer, desktops, action, dict(params or {}))
    refusals = {desktop.pk: _ineligible(spec, desktop, params, bundle) for desktop in selected}
    refused = [(d, *problem) for d in selected if (problem := refusals[d.pk]) is not None]
    reasons = Counter(message for _, _, message in refused)
    eligible = len(selected) - len(refused)
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
    return DesktopActionRunner.job_create(
        kind=spec.kind,
        actor=actor,
        customer=customer,
        params={"action": spec.name, **params},
        result={"eligible": eligible, "not_eligible": dict(reasons.most_common())},
        items=[
            NewItem(
                desktop=desktop,
                aws_resource_id=desktop.workspace_id or "",
                params={"workspace_id": desktop.workspace_id, "from_state": desktop.state},
                skipped=refusals[desktop.pk],
                # One delivery never straddles two accounts or regions.
                group=(desktop.aws_account_id, desktop.region),
            )
            for desktop in selected
        ],
        audit=lambda job: _refusal_events(actor, customer, spec, refused, job),
    )


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
