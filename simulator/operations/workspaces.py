"""WorkSpaces themselves: CreateWorkspaces, DescribeWorkspaces, ModifyWorkspaceProperties,
ModifyWorkspaceState, MigrateWorkspace, RestoreWorkspace and DescribeWorkspaceSnapshots.
(Start/Stop/Reboot/Rebuild/Terminate are in :mod:`simulator.operations.power`.)
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from moto.moto_api._internal import mock_random

from simulator import errors
from simulator.backend import SimWorkSpacesBackend
from simulator.entities import (
    ADMIN_MAINTENANCE,
    AVAILABLE,
    ERROR,
    PENDING,
    STOPPED,
    TERMINATED,
    TERMINATING,
    UNDEFINED_USER,
    Bundle,
    Workspace,
    tag_dict,
    tag_list,
)
from simulator.operations import policy
from simulator.operations.catalogue import find_bundle
from simulator.operations.context import Handler, RequestContext, new_id
from simulator.operations.paging import page_size, paginate
from simulator.state import STATE

RESTORE_FROM = {AVAILABLE, ERROR, "UNHEALTHY", STOPPED}
MODIFY_FROM = {AVAILABLE, STOPPED}
AUTO_STOP_REFUSED = (
    "The AUTO_STOP running mode is not available for WorkSpaces Core; use MANUAL or ALWAYS_ON."
)
AUTO_STOP_TIMEOUT = "RunningModeAutoStopTimeoutInMinutes"
AUTO_STOP_TIMEOUT_REFUSED = f"{AUTO_STOP_TIMEOUT} applies only to the AUTO_STOP running mode."


def same_user(a: str, b: str) -> bool:
    """Directory user names (sAMAccountName) are case-insensitive."""
    return a.casefold() == b.casefold()


def _failed_create(request: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    return {"WorkspaceRequest": request, "ErrorCode": code, "ErrorMessage": message}


@dataclass
class _Occupied:
    """Who has a live WorkSpace in which directory, read once per CreateWorkspaces call rather than once
    per item (a 10,000-WorkSpace account made each call scan them all 25 times)."""

    users: set[tuple[str, str]]
    names: set[tuple[str, str]]
    live: int

    @classmethod
    def of(cls, backend: SimWorkSpacesBackend) -> _Occupied:
        live = backend.live_workspaces()
        return cls(
            users={(w.directory_id, w.user_name.casefold()) for w in live if w.user_name != UNDEFINED_USER},
            names={(w.directory_id, w.workspace_name) for w in live if w.workspace_name},
            live=len(live),
        )

    def add(self, workspace: Workspace) -> None:
        if workspace.user_name != UNDEFINED_USER:
            self.users.add((workspace.directory_id, workspace.user_name.casefold()))
        if workspace.workspace_name:
            self.names.add((workspace.directory_id, workspace.workspace_name))
        self.live += 1


def _check_create_item(
    backend: SimWorkSpacesBackend, request: dict[str, Any], now: float, occupied: _Occupied
) -> tuple[str, str] | None:
    """Why AWS would refuse this one WorkSpace of a CreateWorkspaces call, or None."""
    directory = backend.sim_directories.get(request["DirectoryId"])
    if directory is None or directory.state(now) != "REGISTERED":
        return "ResourceNotFoundException", f"The directory {request['DirectoryId']} is not registered."
    bundle = find_bundle(backend, request["BundleId"])
    if bundle is None:
        return "ResourceNotFoundException", f"The bundle {request['BundleId']} could not be found."
    properties = request.get("WorkspaceProperties") or {}
    if properties.get("RunningMode") == "AUTO_STOP":
        return "UnsupportedWorkspaceConfigurationException", AUTO_STOP_REFUSED
    if AUTO_STOP_TIMEOUT in properties:
        return "InvalidParameterValuesException", AUTO_STOP_TIMEOUT_REFUSED
    image = backend.sim_images.get(bundle.image_id)
    if image is not None and image.required_tenancy == "DEDICATED" and directory.tenancy != "DEDICATED":
        return (
            "InvalidParameterValuesException",
            f"The bundle {bundle.bundle_id} uses a BYOL image, which needs a directory registered with "
            "DEDICATED tenancy.",
        )
    user = request["UserName"]
    name = request.get("WorkspaceName")
    if user == UNDEFINED_USER and not name:
        return "InvalidParameterValuesException", "A user-decoupled WorkSpace needs a WorkspaceName."
    directory_id = request["DirectoryId"]
    if user != UNDEFINED_USER and (directory_id, user.casefold()) in occupied.users:
        return (
            "ResourceAlreadyExistsException",
            f"The user {user} already has a WorkSpace in this directory.",
        )
    settings = backend.settings
    if settings.unique_workspace_names and name and (directory_id, name) in occupied.names:
        return (
            "ResourceAlreadyExistsException",
            f"A WorkSpace named {name} already exists in this directory.",
        )
    if occupied.live >= settings.workspace_quota:
        return "ResourceLimitExceededException", "The WorkSpaces quota of this account is reached."
    return None


def _allocate_ip(backend: SimWorkSpacesBackend, subnet_id: str | None) -> str:
    network = ipaddress.ip_network("10.0.0.0/24")
    if subnet_id:
        # A subnet deleted behind our back keeps the default range.
        with contextlib.suppress(Exception):
            network = ipaddress.ip_network(backend.ec2.get_subnet(subnet_id).cidr_block)
    offset = 4 + mock_random.randint(0, max(network.num_addresses - 6, 1))
    return str(network.network_address + offset)


def new_workspace(
    backend: SimWorkSpacesBackend, request: dict[str, Any], now: float, bundle: Bundle
) -> Workspace:
    """A PENDING WorkSpace for one create request (stored by the caller)."""
    directory = backend.sim_directories[request["DirectoryId"]]
    properties = {
        "RunningMode": "ALWAYS_ON",
        "RootVolumeSizeGib": int(bundle.root_capacity),
        "UserVolumeSizeGib": int(bundle.user_capacity),
        "ComputeTypeName": bundle.compute,
        **(request.get("WorkspaceProperties") or {}),
    }
    subnet_id = (
        directory.subnet_ids[len(backend.sim_workspaces) % len(directory.subnet_ids)]
        if directory.subnet_ids
        else None
    )
    workspace = Workspace(
        workspace_id=new_id("ws"),
        directory_id=request["DirectoryId"],
        user_name=request["UserName"],
        bundle_id=request["BundleId"],
        workspace_name=request.get("WorkspaceName"),
        subnet_id=subnet_id,
        ip_address=_allocate_ip(backend, subnet_id),
        computer_name=f"WSAMZN-{mock_random.get_random_hex(8).upper()}",
        properties=properties,
        tags=tag_dict(request.get("Tags")),
        created_at=now,
        volume_encryption_key=request.get("VolumeEncryptionKey"),
        user_volume_encryption_enabled=request.get("UserVolumeEncryptionEnabled"),
        root_volume_encryption_enabled=request.get("RootVolumeEncryptionEnabled"),
        sequence=backend.next_sequence(),
    )
    workspace.begin(PENDING, AVAILABLE, STATE.durations.provisioning, now)
    return workspace


def create_workspaces(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    requests = params["Workspaces"]
    for request in requests:
        policy.authorize_create(backend, ctx, request.get("Tags"), "workspace")
    now = backend.settle()
    occupied = _Occupied.of(backend)
    failed, pending = [], []
    for request in requests:
        fault_code = ctx.faults.item_fails()
        if fault_code:
            failed.append(_failed_create(request, fault_code, "The request failed; try again."))
            continue
        problem = _check_create_item(backend, request, now, occupied)
        if problem:
            failed.append(_failed_create(request, *problem))
            continue
        bundle = find_bundle(backend, request["BundleId"])
        assert bundle is not None, "_check_create_item refuses a bundle it cannot find"
        workspace = new_workspace(backend, request, now, bundle)
        backend.sim_workspaces[workspace.workspace_id] = workspace
        occupied.add(workspace)
        pending.append(workspace.to_dict())
    return {"FailedRequests": failed, "PendingRequests": pending}


def describe_workspaces(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    ids, directory_id, bundle_id = (
        params.get("WorkspaceIds"),
        params.get("DirectoryId"),
        params.get("BundleId"),
    )
    if sum(1 for value in (ids, directory_id, bundle_id) if value) > 1:
        raise errors.invalid_parameter(
            "An invalid number of parameters provided with DescribeWorkspaces. Only one of the following "
            "are allowed to be specified: BundleId, DirectoryId, WorkSpaceIds, Filters."
        )
    if params.get("UserName") and not directory_id:
        raise errors.invalid_parameter("The DirectoryId parameter is required when UserName is used.")
    backend.settle()
    found = backend.sim_workspaces.by_ids(ids) if ids else list(backend.sim_workspaces.values())
    if directory_id:
        found = [w for w in found if w.directory_id == directory_id]
    if params.get("UserName"):
        found = [w for w in found if same_user(w.user_name, params["UserName"])]
    if bundle_id:
        found = [w for w in found if w.bundle_id == bundle_id]
    if params.get("WorkspaceName"):
        found = [w for w in found if w.workspace_name == params["WorkspaceName"]]
    page, token = paginate(
        ctx,
        params,
        found,
        key=lambda w: (w.sequence,),
        page_size=page_size(params),
        invalid_token=errors.invalid_parameter,
    )
    return {"Workspaces": [w.to_dict() for w in page], "NextToken": token}


def restore_workspace(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    workspace = backend.get_workspace(params["WorkspaceId"])
    policy.authorize_resource(backend, ctx, "workspace", workspace.workspace_id, workspace.tags)
    if workspace.state not in RESTORE_FROM or workspace.in_transition:
        # The model declares no InvalidResourceState for RestoreWorkspace.
        raise errors.not_supported(
            f"The WorkSpace is {workspace.state}; only an AVAILABLE, ERROR, UNHEALTHY or STOPPED WorkSpace "
            "can be restored."
        )
    if not snapshot_time(workspace, now):
        raise errors.invalid_parameter("The WorkSpace has no snapshot to restore from yet.")
    workspace.end_session(now)
    workspace.begin("RESTORING", AVAILABLE, STATE.durations.restoring, now)
    return {}


def modify_workspace_properties(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    """Volumes, compute type and protocols change over ``modifying``; the running mode at once.

    One piece: the checks run in the order AWS reports them (configuration, then an ongoing change,
    then the state), and the changes they guard follow directly.
    """
    now = backend.settle()
    workspace = backend.get_workspace(params["WorkspaceId"])
    policy.authorize_resource(backend, ctx, "workspace", workspace.workspace_id, workspace.tags)
    changes = params.get("WorkspaceProperties") or {}
    if changes.get("RunningMode") == "AUTO_STOP":
        raise errors.AwsError("UnsupportedWorkspaceConfigurationException", AUTO_STOP_REFUSED)
    if AUTO_STOP_TIMEOUT in changes:
        raise errors.invalid_parameter(AUTO_STOP_TIMEOUT_REFUSED)
    if not changes and not params.get("DataReplication"):
        raise errors.invalid_parameter("No WorkSpace property to modify was given.")
    if workspace.modifications:
        raise errors.AwsError(
            "OperationInProgressException", "A modification of this WorkSpace is in progress."
        )
    if workspace.state not in MODIFY_FROM or workspace.in_transition:
        raise errors.invalid_state(f"The WorkSpace is {workspace.state}; it must be AVAILABLE or STOPPED.")
    modified = []
    for key, resource in (("RootVolumeSizeGib", "ROOT_VOLUME"), ("UserVolumeSizeGib", "USER_VOLUME")):
        if key in changes:
            if changes[key] < workspace.properties.get(key, 0):
                raise errors.invalid_parameter(f"{key} can only be increased.")
            if changes[key] != workspace.properties.get(key):
                modified.append(resource)
    if changes.get("ComputeTypeName") and changes["ComputeTypeName"] != workspace.properties.get(
        "ComputeTypeName"
    ):
        modified.append("COMPUTE_TYPE")
    if "Protocols" in changes and changes["Protocols"] != workspace.properties.get("Protocols"):
        modified.append("PROTOCOL")
    if changes.get("RunningMode") == "MANUAL" and workspace.properties.get("RunningMode") != "MANUAL":
        workspace.idle_since = now if workspace.state == AVAILABLE else None
    workspace.properties.update(changes)
    if modified:
        workspace.modifications = modified
        workspace.modification_ends_at = now + STATE.durations.modifying
    return {}


def modify_workspace_state(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    workspace = backend.get_workspace(params["WorkspaceId"])
    policy.authorize_resource(backend, ctx, "workspace", workspace.workspace_id, workspace.tags)
    wanted = params["WorkspaceState"]
    expected = AVAILABLE if wanted == ADMIN_MAINTENANCE else ADMIN_MAINTENANCE
    if workspace.state != expected or workspace.in_transition:
        raise errors.invalid_state(
            f"The WorkSpace is {workspace.state}; only a WorkSpace in {expected} can be set to {wanted}."
        )
    workspace.set_state(wanted, now)
    return {}


def migrate_workspace(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    source = backend.get_workspace(params["SourceWorkspaceId"])
    policy.authorize_resource(backend, ctx, "workspace", source.workspace_id, source.tags)
    bundle = find_bundle(backend, params["BundleId"])
    if bundle is None:
        raise errors.not_found(f"The bundle {params['BundleId']} could not be found.")
    if bundle.bundle_id == source.bundle_id:
        raise errors.invalid_parameter("The WorkSpace already uses this bundle.")
    if source.in_transition or source.modifications:
        raise errors.AwsError("OperationInProgressException", f"The WorkSpace is {source.state}.")
    if source.state not in MODIFY_FROM:
        # The model declares no InvalidResourceState for MigrateWorkspace.
        raise errors.not_supported(
            f"The WorkSpace is {source.state}; it must be AVAILABLE or STOPPED to migrate."
        )
    request = {
        "DirectoryId": source.directory_id,
        "UserName": source.user_name,
        "BundleId": bundle.bundle_id,
        "WorkspaceName": source.workspace_name,
        "Tags": tag_list(source.tags),
        "WorkspaceProperties": {"RunningMode": source.properties.get("RunningMode", "ALWAYS_ON")},
    }
    target = new_workspace(backend, request, now, bundle)
    backend.sim_workspaces[target.workspace_id] = target
    source.end_session(now)
    source.begin(TERMINATING, TERMINATED, STATE.durations.terminating, now)
    return {"SourceWorkspaceId": source.workspace_id, "TargetWorkspaceId": target.workspace_id}


def snapshot_time(workspace: Workspace, now: float) -> float | None:
    """The latest 12-hourly snapshot since the WorkSpace was first AVAILABLE."""
    if workspace.first_available_at is None:
        return None
    interval = STATE.durations.snapshot_interval or 12 * 3600.0
    elapsed = max(now - workspace.first_available_at, 0.0)
    return workspace.first_available_at + (elapsed // interval) * interval


def describe_workspace_snapshots(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    workspace = backend.get_workspace(params["WorkspaceId"])
    taken = snapshot_time(workspace, now)
    snapshots = [{"SnapshotTime": taken}] if taken else []
    return {"RebuildSnapshots": snapshots, "RestoreSnapshots": list(snapshots)}


OPERATIONS: dict[str, Handler] = {
    "CreateWorkspaces": create_workspaces,
    "DescribeWorkspaces": describe_workspaces,
    "RestoreWorkspace": restore_workspace,
    "ModifyWorkspaceProperties": modify_workspace_properties,
    "ModifyWorkspaceState": modify_workspace_state,
    "MigrateWorkspace": migrate_workspace,
    "DescribeWorkspaceSnapshots": describe_workspace_snapshots,
}
