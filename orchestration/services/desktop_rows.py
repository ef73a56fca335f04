"""The one mapping from what AWS reports of a WorkSpace to our Desktop row.

Desktop creation's poll, the desktop actions' poll and reconciliation all copy AWS's report through
here. AWS is the truth: a field AWS reports empty is empty on our row (a WorkSpace that lost its IP
address has none, rather than keeping one that may now belong to another desktop). Only where AWS
leaves a value out of its answer (running mode, compute type, volume sizes) does our row keep its own.
"""

from datetime import datetime

from orchestration.aws.types import Workspace
from tenants.choices import DesktopState, RunningMode
from tenants.models import AwsAccount, Bundle, Desktop, Directory

# What a report may change, for bulk_update of rows that took `desktop_apply_reported`.
REPORTED_FIELDS = (
    "state",
    "state_changed_at",
    "computer_name",
    "ip_address",
    "running_mode",
    "compute_type",
    "root_volume_gib",
    "user_volume_gib",
    "error_code",
    "error_message",
    "missing_from_aws_since",
    "stopped_by_aws_at",
    "last_synced_at",
    "updated_at",
)


# While a desktop is in these, a stop AWS made on its own still stands.
STOPPED_STATES = (DesktopState.STOPPING, DesktopState.STOPPED)


def desktop_reported_changes(desktop: Desktop, workspace: Workspace, *, now: datetime) -> dict[str, object]:
    """What differs between our row and AWS's report, as field → new value (an update's keywords)."""
    reported = {
        "state": workspace.state or desktop.state,
        "computer_name": workspace.computer_name,
        "ip_address": workspace.ip_address or None,
        "running_mode": workspace.running_mode or desktop.running_mode,
        "compute_type": workspace.compute_type or desktop.compute_type,
        "root_volume_gib": workspace.root_volume_gib or desktop.root_volume_gib,
        "user_volume_gib": workspace.user_volume_gib or desktop.user_volume_gib,
        "error_code": workspace.error_code,
        "error_message": workspace.error_message,
    }
    changes: dict[str, object] = {
        name: value for name, value in reported.items() if getattr(desktop, name) != value
    }
    if "state" in changes:
        changes["state_changed_at"] = now
    if desktop.missing_from_aws_since is not None:
        changes["missing_from_aws_since"] = None  # AWS reports it again
    if desktop.stopped_by_aws_at is not None and reported["state"] not in STOPPED_STATES:
        changes["stopped_by_aws_at"] = None  # running again (or gone): AWS's stop is over
    return changes


def desktop_apply_reported(desktop: Desktop, workspace: Workspace, *, now: datetime) -> None:
    """Bring the row object up to AWS's report (not saved: save with REPORTED_FIELDS)."""
    for name, value in desktop_reported_changes(desktop, workspace, now=now).items():
        setattr(desktop, name, value)
    desktop.last_synced_at = desktop.updated_at = now


def desktop_from_workspace(
    workspace: Workspace,
    *,
    aws_account: AwsAccount,
    region: str,
    directory: Directory,
    bundle: Bundle | None,
    tags: dict[str, str],
    now: datetime,
) -> Desktop:
    """A new row (not saved) for a WorkSpace we had none for: reconciliation's adoption."""
    desktop = Desktop(
        aws_account=aws_account,
        region=region,
        directory=directory,
        bundle=bundle,
        workspace_id=workspace.workspace_id,
        user_name=workspace.user_name,
        workspace_name=workspace.workspace_name,
        running_mode=RunningMode.MANUAL,
        tags=tags,
    )
    desktop_apply_reported(desktop, workspace, now=now)
    desktop.state_changed_at = now
    return desktop
