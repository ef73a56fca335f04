"""Following desktop actions: has each desktop reached the action's target state, per AWS's report?"""

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from orchestration.aws.workspaces import DescribedWorkspace
from orchestration.engine.rows import rows_update
from orchestration.models import JobItem
from orchestration.services.desktop_actions.actions import (
    ACTION_WAIT_LIMIT,
    FAILURE_STATES,
    MODIFY_PARAMS,
    ActionSpec,
    DesktopAction,
)
from orchestration.services.desktop_rows import REPORTED_FIELDS, desktop_apply_reported
from tenants.choices import DesktopState
from tenants.models import Desktop

if TYPE_CHECKING:
    from orchestration.services.desktop_actions.runner import DesktopActionRunner

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


def settle_reported(
    runner: "DesktopActionRunner", items: list[JobItem], reported: Mapping[str, DescribedWorkspace]
) -> None:
    """Copy AWS's report onto the desktops; items whose desktop finished the action succeed or fail."""
    now = timezone.now()
    with transaction.atomic():
        _settle_waiting(runner, runner.still_waiting(items), reported, now=now)


def _settle_waiting(
    runner: "DesktopActionRunner",
    items: list[JobItem],
    reported: Mapping[str, DescribedWorkspace],
    *,
    now: datetime,
) -> None:
    """settle_reported for the items no overlapping poll settled first (their rows locked by the caller)."""
    changed: list[Desktop] = []
    succeeded: list[JobItem] = []
    failed: list[JobItem] = []
    for item in items:
        desktop = runner.desktop(item)
        workspace = reported.get(item.aws_resource_id)
        if workspace is not None:
            desktop_apply_reported(desktop, workspace, now=now)
            changed.append(desktop)
        verdict, code, message = poll_verdict(
            runner.spec,
            runner.job.params,
            workspace,
            from_state=item.params.get("from_state", ""),
            submitted_at=item.submitted_at,
            now=now,
        )
        if verdict == DONE:
            succeeded.append(item)
            if workspace is None:  # a terminated WorkSpace AWS has stopped listing
                desktop.state = DesktopState.TERMINATED
                desktop.state_changed_at = desktop.last_synced_at = desktop.updated_at = now
                changed.append(desktop)
        elif verdict == FAILED:
            item.error_code, item.error_message = code, message
            failed.append(item)
    rows_update(Desktop.objects.all(), changed, REPORTED_FIELDS)
    runner.succeed(succeeded)
    runner.fail_each(failed)
