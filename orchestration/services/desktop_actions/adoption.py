"""Looking before calling again: a submitted item's earlier call may have been made already.

A desktop already STOPPING, REBUILDING, RESTORING…, or the migrated WorkSpace found by directory and user,
is adopted instead of called again. Rebuild, restore and migrate are not idempotent, so for them this is
what keeps a lost answer from doing the work twice.
"""

from typing import TYPE_CHECKING

from orchestration.aws.errors import AwsError, base_code
from orchestration.aws.types import AccountAccess, FailedItem
from orchestration.aws.workspaces import workspaces_describe, workspaces_list
from orchestration.choices import AuditOutcome
from orchestration.models import JobItem
from orchestration.services.desktop_actions.actions import ENDED_STATES, DesktopAction
from tenants.choices import UNDEFINED_USER

if TYPE_CHECKING:
    from orchestration.services.desktop_actions.runner import DesktopActionRunner


def look_before_calling_again(
    runner: "DesktopActionRunner", access: AccountAccess, items: list[JobItem]
) -> list[JobItem]:
    """Submitted items may have been done already: adopt those, return the ones still to call."""
    spec = runner.spec
    submitted = [i for i in items if i.submitted_at is not None]
    if not submitted or (spec.name != DesktopAction.MIGRATE and not spec.accepted_states):
        return items
    done: set[int] = set()
    if spec.name == DesktopAction.MIGRATE:
        done = {item.pk for item in submitted if adopt_migration(runner, access, item)}
    else:
        states = {
            w.workspace_id: w.state
            for w in workspaces_describe(access, [i.aws_resource_id for i in submitted])
        }
        for item in submitted:
            state = states.get(item.aws_resource_id)
            if state in spec.accepted_states:
                runner.accepted([item], access, request_id="", details={"adopted": True, "state": state})
                done.add(item.pk)
    return [i for i in items if i.pk not in done]


def already_done(
    runner: "DesktopActionRunner", access: AccountAccess, refused: list[tuple[JobItem, FailedItem]]
) -> dict[int, str]:
    """Desktops AWS refused as being in the wrong state, but that are where the action takes them.

    That is what a repeated call after a lost response, or a stale local state, looks like.
    """
    spec = runner.spec
    if not spec.idempotent or not spec.accepted_states:
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
        if states.get(item.aws_resource_id) in spec.accepted_states
    }


def adopt_migration(runner: "DesktopActionRunner", access: AccountAccess, item: JobItem) -> bool:
    """Find the WorkSpace an earlier MigrateWorkspace made (same directory and user, the new bundle).

    True when the item is settled: adopted, or failed because the source is gone and nothing replaced it.
    """
    desktop = runner.desktop(item)
    source_id = item.aws_resource_id
    bundle_id = runner.job.params["bundle_id"]
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
        runner.accepted(
            [item],
            access,
            request_id="",
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
        event = runner.event(
            item,
            access,
            outcome=AuditOutcome.FAILED,
            error_code="MigrationTargetNotFound",
            error_message=message,
        )
        runner.fail([item], "MigrationTargetNotFound", message, audit=[event])
        return True
    return False
