"""WorkSpaces operations on desktops, chunked to the service model's limits, returning dataclasses."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from .calls import aws_call, chunked, request_id_of
from .tagguard import tags_for_create
from .types import (
    AccountAccess,
    BatchActionResult,
    CreateWorkspacesResult,
    FailedItem,
    Workspace,
    WorkspaceSpec,
)

CREATE_WORKSPACES_LIMIT = 25
DESCRIBE_WORKSPACES_IDS_LIMIT = 25
# Start, Stop, Reboot and Terminate each take 25 WorkSpaces a call; Rebuild takes one.
BATCH_ACTION_LIMIT = 25
REBUILD_LIMIT = 1
UNDEFINED_USER = "[UNDEFINED]"


@dataclass(frozen=True)
class WorkspaceModification:
    """One entry of a WorkSpace's ModificationStates: which resource, and how its change is going."""

    resource: str
    state: str


@dataclass(frozen=True)
class DescribedWorkspace(Workspace):
    """A Workspace as described, with the property changes still under way (ModificationStates)."""

    modifications: tuple[WorkspaceModification, ...] = ()
    request_id: str = ""  # of the DescribeWorkspaces call that reported it (for the audit of an adoption)


@dataclass(frozen=True)
class CallResult:
    """The outcome of a single-WorkSpace mutation that answers nothing but its request id."""

    request_id: str


@dataclass(frozen=True)
class MigrateResult:
    """MigrateWorkspace's answer: the new WorkSpace replaces the source, which terminates."""

    request_id: str
    source_workspace_id: str
    target_workspace_id: str


@dataclass(frozen=True)
class WorkspaceSnapshots:
    """When the snapshots a rebuild or a restore would use were taken, newest first."""

    rebuild: tuple[datetime, ...]
    restore: tuple[datetime, ...]


def _workspace_from_aws(data: dict, request_id: str = "") -> DescribedWorkspace:
    properties = data.get("WorkspaceProperties") or {}
    return DescribedWorkspace(
        request_id=request_id,
        workspace_id=data.get("WorkspaceId", ""),
        directory_id=data.get("DirectoryId", ""),
        user_name=data.get("UserName", ""),
        state=data.get("State", ""),
        bundle_id=data.get("BundleId", ""),
        workspace_name=data.get("WorkspaceName", ""),
        computer_name=data.get("ComputerName", ""),
        ip_address=data.get("IpAddress", ""),
        running_mode=properties.get("RunningMode", ""),
        compute_type=properties.get("ComputeTypeName", ""),
        root_volume_gib=properties.get("RootVolumeSizeGib"),
        user_volume_gib=properties.get("UserVolumeSizeGib"),
        error_code=data.get("ErrorCode", ""),
        error_message=data.get("ErrorMessage", ""),
        modifications=tuple(
            WorkspaceModification(resource=entry.get("Resource", ""), state=entry.get("State", ""))
            for entry in data.get("ModificationStates") or []
        ),
    )


def _create_request(spec: WorkspaceSpec) -> dict:
    properties: dict = {"RunningMode": spec.running_mode}
    if spec.compute_type:
        properties["ComputeTypeName"] = spec.compute_type
    if spec.root_volume_gib:
        properties["RootVolumeSizeGib"] = spec.root_volume_gib
    if spec.user_volume_gib:
        properties["UserVolumeSizeGib"] = spec.user_volume_gib
    return {
        "DirectoryId": spec.directory_id,
        "UserName": spec.user_name,
        "BundleId": spec.bundle_id,
        "WorkspaceName": spec.workspace_name,
        "WorkspaceProperties": properties,
        "Tags": tags_for_create(spec.tags),
    }


def _match_created(specs: Sequence[WorkspaceSpec], made: Sequence[Workspace]) -> dict[str, Workspace]:
    """Pair each made WorkSpace with its spec: by name where AWS echoes it, else by user, else in order."""
    by_name = {spec.workspace_name: spec for spec in specs}
    matched: dict[str, Workspace] = {}
    leftovers: list[Workspace] = []
    for workspace in made:
        if workspace.workspace_name in by_name:
            matched[workspace.workspace_name] = workspace
        else:
            leftovers.append(workspace)
    unmatched_specs = [spec for spec in specs if spec.workspace_name not in matched]
    for workspace in leftovers:
        spec = next(
            (
                s
                for s in unmatched_specs
                if s.user_name == workspace.user_name and s.user_name != UNDEFINED_USER
            ),
            None,
        ) or next((s for s in unmatched_specs if s.user_name == workspace.user_name), None)
        if spec is not None:
            unmatched_specs.remove(spec)
            matched[spec.workspace_name] = workspace
    return matched


def workspaces_create_batch(access: AccountAccess, specs: Sequence[WorkspaceSpec]) -> CreateWorkspacesResult:
    """One CreateWorkspaces call for at most 25 desktops, every one tagged PartnerManaged=true."""
    if not 1 <= len(specs) <= CREATE_WORKSPACES_LIMIT:
        raise ValueError(f"CreateWorkspaces takes 1 to {CREATE_WORKSPACES_LIMIT} desktops, not {len(specs)}")
    response = aws_call(
        access, "workspaces", "create_workspaces", Workspaces=[_create_request(spec) for spec in specs]
    )
    made = [_workspace_from_aws(item) for item in response.get("PendingRequests", [])]
    failed: dict[str, FailedItem] = {}
    for entry in response.get("FailedRequests", []):
        request = entry.get("WorkspaceRequest", {})
        key = request.get("WorkspaceName", "")
        failed[key] = FailedItem(
            key=key, code=entry.get("ErrorCode", ""), message=entry.get("ErrorMessage", "")
        )
    return CreateWorkspacesResult(
        request_id=request_id_of(response), created=_match_created(specs, made), failed=failed
    )


def workspaces_describe(access: AccountAccess, workspace_ids: Sequence[str]) -> list[DescribedWorkspace]:
    """Describe WorkSpaces by id, 25 ids a call."""
    found: list[DescribedWorkspace] = []
    for chunk in chunked(list(workspace_ids), DESCRIBE_WORKSPACES_IDS_LIMIT):
        response = aws_call(access, "workspaces", "describe_workspaces", WorkspaceIds=chunk)
        found.extend(_workspace_from_aws(item) for item in response.get("Workspaces", []))
    return found


def workspaces_describe_by_id(
    access: AccountAccess, workspace_ids: Sequence[str]
) -> dict[str, DescribedWorkspace]:
    """What AWS reports of these WorkSpaces, by WorkSpace id; one it does not know is left out."""
    return {w.workspace_id: w for w in workspaces_describe(access, workspace_ids)}


def workspaces_list(
    access: AccountAccess, *, directory_id: str = "", user_name: str = "", workspace_name: str = ""
) -> Iterator[DescribedWorkspace]:
    """Every WorkSpace matching the filters, page by page (25 a page)."""
    params: dict = {"Limit": DESCRIBE_WORKSPACES_IDS_LIMIT}
    if directory_id:
        params["DirectoryId"] = directory_id
    if user_name:
        params["UserName"] = user_name
    if workspace_name:
        params["WorkspaceName"] = workspace_name
    while True:
        response = aws_call(access, "workspaces", "describe_workspaces", **params)
        request_id = request_id_of(response)
        yield from (_workspace_from_aws(item, request_id) for item in response.get("Workspaces", []))
        token = response.get("NextToken")
        if not token:
            return
        params["NextToken"] = token


def workspaces_named(
    access: AccountAccess, *, directory_id: str, workspace_name: str
) -> list[DescribedWorkspace]:
    """Every live WorkSpace named `workspace_name` in the directory, paged (AWS promises no unique name)."""
    return [
        workspace
        for workspace in workspaces_list(access, directory_id=directory_id, workspace_name=workspace_name)
        if workspace.workspace_name == workspace_name and workspace.state not in ("TERMINATING", "TERMINATED")
    ]


def _batch_action(
    access: AccountAccess, operation: str, list_key: str, limit: int, workspace_ids: Sequence[str]
) -> list[BatchActionResult]:
    """One call per `limit` ids; AWS's per-item FailedRequests are kept apart from the accepted ids."""
    results = []
    for chunk in chunked(list(workspace_ids), limit):
        response = aws_call(
            access, "workspaces", operation, **{list_key: [{"WorkspaceId": wid} for wid in chunk]}
        )
        failed = {
            entry["WorkspaceId"]: FailedItem(
                key=entry["WorkspaceId"],
                code=entry.get("ErrorCode", ""),
                message=entry.get("ErrorMessage", ""),
            )
            for entry in response.get("FailedRequests", [])
        }
        results.append(
            BatchActionResult(
                request_id=request_id_of(response),
                succeeded=[wid for wid in chunk if wid not in failed],
                failed=failed,
            )
        )
    return results


def workspaces_start(access: AccountAccess, workspace_ids: Sequence[str]) -> list[BatchActionResult]:
    return _batch_action(
        access, "start_workspaces", "StartWorkspaceRequests", BATCH_ACTION_LIMIT, workspace_ids
    )


def workspaces_stop(access: AccountAccess, workspace_ids: Sequence[str]) -> list[BatchActionResult]:
    return _batch_action(
        access, "stop_workspaces", "StopWorkspaceRequests", BATCH_ACTION_LIMIT, workspace_ids
    )


def workspaces_reboot(access: AccountAccess, workspace_ids: Sequence[str]) -> list[BatchActionResult]:
    return _batch_action(
        access, "reboot_workspaces", "RebootWorkspaceRequests", BATCH_ACTION_LIMIT, workspace_ids
    )


def workspaces_rebuild(access: AccountAccess, workspace_ids: Sequence[str]) -> list[BatchActionResult]:
    return _batch_action(
        access, "rebuild_workspaces", "RebuildWorkspaceRequests", REBUILD_LIMIT, workspace_ids
    )


def workspaces_terminate(access: AccountAccess, workspace_ids: Sequence[str]) -> list[BatchActionResult]:
    return _batch_action(
        access, "terminate_workspaces", "TerminateWorkspaceRequests", BATCH_ACTION_LIMIT, workspace_ids
    )


def workspace_modify_properties(
    access: AccountAccess,
    workspace_id: str,
    *,
    running_mode: str = "",
    compute_type: str = "",
    root_volume_gib: int | None = None,
    user_volume_gib: int | None = None,
) -> CallResult:
    """ModifyWorkspaceProperties with only the properties given: the others stay as they are."""
    properties: dict = {}
    if running_mode:
        properties["RunningMode"] = running_mode
    if compute_type:
        properties["ComputeTypeName"] = compute_type
    if root_volume_gib is not None:
        properties["RootVolumeSizeGib"] = root_volume_gib
    if user_volume_gib is not None:
        properties["UserVolumeSizeGib"] = user_volume_gib
    if not properties:
        raise ValueError("ModifyWorkspaceProperties needs at least one property to change")
    response = aws_call(
        access,
        "workspaces",
        "modify_workspace_properties",
        WorkspaceId=workspace_id,
        WorkspaceProperties=properties,
    )
    return CallResult(request_id=request_id_of(response))


def workspace_modify_state(access: AccountAccess, workspace_id: str, state: str) -> CallResult:
    """ModifyWorkspaceState: AVAILABLE <-> ADMIN_MAINTENANCE."""
    response = aws_call(
        access, "workspaces", "modify_workspace_state", WorkspaceId=workspace_id, WorkspaceState=state
    )
    return CallResult(request_id=request_id_of(response))


def workspace_restore(access: AccountAccess, workspace_id: str) -> CallResult:
    """RestoreWorkspace from its latest snapshot; not idempotent, so never retried here on a lost answer."""
    response = aws_call(access, "workspaces", "restore_workspace", WorkspaceId=workspace_id)
    return CallResult(request_id=request_id_of(response))


def workspace_migrate(access: AccountAccess, workspace_id: str, bundle_id: str) -> MigrateResult:
    """MigrateWorkspace to another bundle: AWS makes a new WorkSpace and terminates the source."""
    response = aws_call(
        access, "workspaces", "migrate_workspace", SourceWorkspaceId=workspace_id, BundleId=bundle_id
    )
    return MigrateResult(
        request_id=request_id_of(response),
        source_workspace_id=response.get("SourceWorkspaceId", workspace_id),
        target_workspace_id=response["TargetWorkspaceId"],
    )


def workspace_snapshots(access: AccountAccess, workspace_id: str) -> WorkspaceSnapshots:
    """DescribeWorkspaceSnapshots (a read): the snapshots a rebuild and a restore would use."""
    response = aws_call(access, "workspaces", "describe_workspace_snapshots", WorkspaceId=workspace_id)

    def times(key: str) -> tuple[datetime, ...]:
        taken = [entry["SnapshotTime"] for entry in response.get(key) or [] if entry.get("SnapshotTime")]
        return tuple(sorted(taken, reverse=True))

    return WorkspaceSnapshots(rebuild=times("RebuildSnapshots"), restore=times("RestoreSnapshots"))


def resource_tags(access: AccountAccess, resource_id: str) -> dict[str, str]:
    """A WorkSpaces resource's tags (DescribeTags), for the tag guard."""
    response = aws_call(access, "workspaces", "describe_tags", ResourceId=resource_id)
    return {tag["Key"]: tag.get("Value", "") for tag in response.get("TagList", [])}
