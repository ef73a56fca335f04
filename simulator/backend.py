"""The simulated WorkSpaces Core backend: moto's WorkSpaces backend, extended to all 35 operations the
control plane uses, with time, the seed guide's rules and tag-based authorization.

Registered in place of moto's own ``workspaces_backends`` (see :func:`install`), so moto's reset and
resource-tagging API see it; moto's EC2, Directory Service, IAM and STS backends are used as they are.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from moto.core.base_backend import BackendDict
from moto.core.resource_tagging import TaggedResource
from moto.ds import ds_backends
from moto.ec2 import ec2_backends
from moto.moto_api._internal import mock_random
from moto.workspaces import models as moto_workspaces_models
from moto.workspaces.models import WorkSpacesBackend

from simulator import errors
from simulator.entities import (
    ADMIN_MAINTENANCE,
    AVAILABLE,
    ERROR,
    PENDING,
    STOPPED,
    STOPPING,
    TERMINATED,
    TERMINATING,
    UNDEFINED_USER,
    AccountModification,
    Bundle,
    RegisteredDirectory,
    Workspace,
    WorkspaceImage,
    tag_dict,
    tag_list,
)
from simulator.faults import CallFaults
from simulator.state import STATE, TAG_KEY, AccountSettings

MAX_TAGS_PER_RESOURCE = 50
DEFAULT_PAGE_SIZE = 25
CIDR_PAGE_SIZE = 5
PRIVATE_RANGES = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
# WorkSpaces' own (AWS-reserved) /16s the management CIDR list never offers.
RESERVED_MANAGEMENT_RANGES = [ipaddress.ip_network(n) for n in ("172.31.0.0/16", "192.168.0.0/16")]
# Root volume bounds for BYOL imports (Windows needs >= 30 GiB; BYOL images are at most 70 GiB).
IMPORT_MIN_ROOT_GIB = 30
IMPORT_MAX_ROOT_GIB = 70
G4DN_COMPUTE = {"GRAPHICS_G4DN", "GRAPHICSPRO_G4DN"}
# States from which AWS accepts each power operation.
START_FROM = {STOPPED}
STOP_FROM = {AVAILABLE, "IMPAIRED", "UNHEALTHY", ERROR}
REBOOT_FROM = {AVAILABLE, "IMPAIRED", "UNHEALTHY", "REBOOTING"}
REBUILD_FROM = {AVAILABLE, ERROR, "UNHEALTHY", STOPPED, "REBOOTING"}
RESTORE_FROM = {AVAILABLE, ERROR, "UNHEALTHY", STOPPED}
MODIFY_FROM = {AVAILABLE, STOPPED}
AMAZON_BUNDLES = (
    ("wsb-amzncore01", "Standard with Windows Server 2022 (BYOP)", "STANDARD", "wsi-amzncore01"),
    ("wsb-amzncore02", "Performance with Windows Server 2022 (BYOP)", "PERFORMANCE", "wsi-amzncore02"),
)


@dataclass
class RequestContext:
    """Who is calling what: the account the credentials map to and the policy that applies."""

    operation: str
    account_id: str
    region: str
    access_key_id: str = ""
    principal_arn: str = ""
    tag_policy_applies: bool = False
    strict_tag_keys: bool = False
    faults: CallFaults = field(default_factory=CallFaults)


def new_id(prefix: str, length: int = 9) -> str:
    return f"{prefix}-{mock_random.get_random_string(length=length, lower_case=True)}"


def _token(operation: str, query: dict[str, Any], offset: int) -> str:
    digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]
    raw = json.dumps({"op": operation, "q": digest, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _token_offset(operation: str, query: dict[str, Any], token: str | None) -> int:
    if not token:
        return 0
    digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["op"] != operation or data["q"] != digest or int(data["o"]) < 0:
            raise ValueError
        return int(data["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.invalid_parameter("The specified pagination token is not valid.") from exc


def paginate(
    operation: str, params: dict[str, Any], items: list[Any], page_size: int
) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the NextToken for the rest (bound to the same query)."""
    query = {k: v for k, v in params.items() if k not in ("NextToken", "Limit", "MaxResults")}
    offset = _token_offset(operation, query, params.get("NextToken"))
    page = items[offset : offset + page_size]
    end = offset + page_size
    return page, (_token(operation, query, end) if end < len(items) else None)


class SimWorkSpacesBackend(WorkSpacesBackend):
    """moto's WorkSpaces backend extended with every operation of the seed guide."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.sim_workspaces: dict[str, Workspace] = {}
        self.sim_images: dict[str, WorkspaceImage] = {}
        self.sim_bundles: dict[str, Bundle] = {}
        self.sim_directories: dict[str, RegisteredDirectory] = {}
        self.account_modifications: list[AccountModification] = []

    # ----------------------------------------------------------------- helpers
    @property
    def settings(self) -> AccountSettings:
        return STATE.account(self.account_id)

    @property
    def ec2(self) -> Any:
        return ec2_backends[self.account_id][self.region_name]

    def settle(self) -> float:
        """Bring every resource up to the simulated now; drop long-terminated WorkSpaces."""
        now = STATE.now()
        durations = STATE.durations
        for workspace_id, workspace in list(self.sim_workspaces.items()):
            workspace.settle(now, durations)
            if workspace.is_gone(now, durations):
                del self.sim_workspaces[workspace_id]
        for image in self.sim_images.values():
            image.settle(now)
        return now

    def byol_completed(self, now: float) -> bool:
        return any(m.state(now) == "COMPLETED" for m in self.account_modifications)

    def amazon_bundles(self) -> list[Bundle]:
        created = 1_600_000_000.0
        return [
            Bundle(bundle_id, name, name, "AMAZON", image_id, compute, "80", "50", created, created)
            for bundle_id, name, compute, image_id in AMAZON_BUNDLES
        ]

    def find_bundle(self, bundle_id: str) -> Bundle | None:
        if bundle_id in self.sim_bundles:
            return self.sim_bundles[bundle_id]
        return next((b for b in self.amazon_bundles() if b.bundle_id == bundle_id), None)

    def live_workspaces(self) -> list[Workspace]:
        return [w for w in self.sim_workspaces.values() if w.state not in (TERMINATING, TERMINATED)]

    def _resource_arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:workspaces:{self.region_name}:{self.account_id}:{kind}/{resource_id}"

    def _deny(self, ctx: RequestContext, resource: str, reason: str) -> errors.AwsError:
        return errors.access_denied(
            f"User: {ctx.principal_arn or ctx.access_key_id} is not authorized to perform: "
            f"workspaces:{ctx.operation} on resource: {resource} {reason}"
        )

    def authorize_create(self, ctx: RequestContext, tags: list[dict[str, Any]] | None, kind: str) -> None:
        """aws:RequestTag/PartnerManaged = true (and, if strict, aws:TagKeys = [PartnerManaged])."""
        if not ctx.tag_policy_applies:
            return
        requested = tag_dict(tags)
        resource = self._resource_arn(kind, "*")
        if requested.get(TAG_KEY) != "true":
            raise self._deny(ctx, resource, f"because the request does not carry the tag {TAG_KEY}=true")
        if ctx.strict_tag_keys and set(requested) - {TAG_KEY}:
            raise self._deny(ctx, resource, f"because aws:TagKeys may only contain {TAG_KEY}")

    def authorize_resource(
        self, ctx: RequestContext, kind: str, resource_id: str, tags: dict[str, str]
    ) -> None:
        """aws:ResourceTag/PartnerManaged = true."""
        if ctx.tag_policy_applies and tags.get(TAG_KEY) != "true":
            raise self._deny(
                ctx,
                self._resource_arn(kind, resource_id),
                f"because the resource is not tagged {TAG_KEY}=true",
            )

    def get_workspace(self, workspace_id: str) -> Workspace:
        workspace = self.sim_workspaces.get(workspace_id)
        if workspace is None:
            raise errors.not_found(f"The WorkSpace {workspace_id} could not be found.")
        return workspace

    # ------------------------------------------------------------ WorkSpaces
    def _failed_create(self, request: dict[str, Any], code: str, message: str) -> dict[str, Any]:
        return {"WorkspaceRequest": request, "ErrorCode": code, "ErrorMessage": message}

    def _check_create_item(self, request: dict[str, Any], now: float) -> tuple[str, str] | None:
        directory = self.sim_directories.get(request["DirectoryId"])
        if directory is None or directory.state(now) != "REGISTERED":
            return "ResourceNotFoundException", f"The directory {request['DirectoryId']} is not registered."
        bundle = self.find_bundle(request["BundleId"])
        if bundle is None:
            return "ResourceNotFoundException", f"The bundle {request['BundleId']} could not be found."
        properties = request.get("WorkspaceProperties") or {}
        if properties.get("RunningMode") == "AUTO_STOP":
            return (
                "UnsupportedWorkspaceConfigurationException",
                "The AUTO_STOP running mode is not available for WorkSpaces Core; use MANUAL or ALWAYS_ON.",
            )
        image = self.sim_images.get(bundle.image_id)
        if image is not None and image.required_tenancy == "DEDICATED" and directory.tenancy != "DEDICATED":
            return (
                "InvalidParameterValuesException",
                f"The bundle {bundle.bundle_id} uses a BYOL image, which needs a directory registered with "
                "DEDICATED tenancy.",
            )
        user = request["UserName"]
        if user == UNDEFINED_USER and not request.get("WorkspaceName"):
            return "InvalidParameterValuesException", "A user-decoupled WorkSpace needs a WorkspaceName."
        for existing in self.live_workspaces():
            if existing.directory_id != request["DirectoryId"]:
                continue
            if user != UNDEFINED_USER and existing.user_name == user:
                return (
                    "ResourceAlreadyExistsException",
                    f"The user {user} already has a WorkSpace in this directory.",
                )
            name = request.get("WorkspaceName")
            if name and existing.workspace_name == name:
                return (
                    "ResourceAlreadyExistsException",
                    f"A WorkSpace named {name} already exists in this directory.",
                )
        if len(self.live_workspaces()) >= self.settings.workspace_quota:
            return "ResourceLimitExceededException", "The WorkSpaces quota of this account is reached."
        return None

    def _new_workspace(self, request: dict[str, Any], now: float, bundle: Bundle) -> Workspace:
        directory = self.sim_directories[request["DirectoryId"]]
        properties = {
            "RunningMode": "ALWAYS_ON",
            "RootVolumeSizeGib": int(bundle.root_capacity),
            "UserVolumeSizeGib": int(bundle.user_capacity),
            "ComputeTypeName": bundle.compute,
            **(request.get("WorkspaceProperties") or {}),
        }
        subnet_id = (
            directory.subnet_ids[len(self.sim_workspaces) % len(directory.subnet_ids)]
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
            ip_address=self._allocate_ip(subnet_id),
            computer_name=f"WSAMZN-{mock_random.get_random_hex(8).upper()}",
            properties=properties,
            tags=tag_dict(request.get("Tags")),
            created_at=now,
            volume_encryption_key=request.get("VolumeEncryptionKey"),
            user_volume_encryption_enabled=request.get("UserVolumeEncryptionEnabled"),
            root_volume_encryption_enabled=request.get("RootVolumeEncryptionEnabled"),
        )
        workspace.begin(PENDING, AVAILABLE, STATE.durations.provisioning, now)
        return workspace

    def _allocate_ip(self, subnet_id: str | None) -> str:
        network = ipaddress.ip_network("10.0.0.0/24")
        if subnet_id:
            # A subnet deleted behind our back keeps the default range.
            with contextlib.suppress(Exception):
                network = ipaddress.ip_network(self.ec2.get_subnet(subnet_id).cidr_block)
        offset = 4 + mock_random.randint(0, max(network.num_addresses - 6, 1))
        return str(network.network_address + offset)

    def create_workspaces_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        requests = params["Workspaces"]
        for request in requests:
            self.authorize_create(ctx, request.get("Tags"), "workspace")
        now = self.settle()
        failed, pending = [], []
        for request in requests:
            fault_code = ctx.faults.item_fails()
            if fault_code:
                failed.append(self._failed_create(request, fault_code, "The request failed; try again."))
                continue
            problem = self._check_create_item(request, now)
            if problem:
                failed.append(self._failed_create(request, *problem))
                continue
            bundle = self.find_bundle(request["BundleId"])
            assert bundle is not None, "_check_create_item refuses a bundle it cannot find"
            workspace = self._new_workspace(request, now, bundle)
            self.sim_workspaces[workspace.workspace_id] = workspace
            pending.append(workspace.to_dict())
        return {"FailedRequests": failed, "PendingRequests": pending}

    def describe_workspaces_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
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
        self.settle()
        found = list(self.sim_workspaces.values())
        if ids:
            found = [w for w in found if w.workspace_id in ids]
        if directory_id:
            found = [w for w in found if w.directory_id == directory_id]
        if params.get("UserName"):
            found = [w for w in found if w.user_name.lower() == params["UserName"].lower()]
        if bundle_id:
            found = [w for w in found if w.bundle_id == bundle_id]
        if params.get("WorkspaceName"):
            found = [w for w in found if w.workspace_name == params["WorkspaceName"]]
        page, token = paginate(ctx.operation, params, found, params.get("Limit") or DEFAULT_PAGE_SIZE)
        return {"Workspaces": [w.to_dict() for w in page], "NextToken": token}

    def _batch(
        self,
        ctx: RequestContext,
        ids: list[str],
        allowed_from: set[str] | None,
        apply: Callable[[Workspace, float], None],
        requirement: str,
        accept: Callable[[Workspace], bool] | None = None,
        manual_only: bool = False,
    ) -> dict[str, Any]:
        """Shared shape of Start/Stop/Reboot/Rebuild/Terminate: per-item FailedRequests."""
        now = self.settle()
        for workspace_id in ids:
            if workspace_id in self.sim_workspaces:
                self.authorize_resource(
                    ctx, "workspace", workspace_id, self.sim_workspaces[workspace_id].tags
                )
        failed = []
        for workspace_id in ids:
            fault_code = ctx.faults.item_fails()
            if fault_code:
                failed.append(
                    {
                        "WorkspaceId": workspace_id,
                        "ErrorCode": fault_code,
                        "ErrorMessage": "The request failed; try again.",
                    }
                )
                continue
            workspace = self.sim_workspaces.get(workspace_id)
            if workspace is None:
                failed.append(
                    {
                        "WorkspaceId": workspace_id,
                        "ErrorCode": "ResourceNotFoundException",
                        "ErrorMessage": f"The WorkSpace {workspace_id} could not be found.",
                    }
                )
                continue
            if accept is not None and accept(workspace):
                continue
            if manual_only and workspace.properties.get("RunningMode") == "ALWAYS_ON":
                failed.append(
                    {
                        "WorkspaceId": workspace_id,
                        "ErrorCode": "OperationNotSupportedException",
                        "ErrorMessage": "An ALWAYS_ON WorkSpace cannot be started or stopped; use MANUAL.",
                    }
                )
                continue
            if allowed_from is not None and (workspace.state not in allowed_from or workspace.in_transition):
                failed.append(
                    {
                        "WorkspaceId": workspace_id,
                        "ErrorCode": "InvalidResourceStateException",
                        "ErrorMessage": f"The WorkSpace is {workspace.state}; {requirement}",
                    }
                )
                continue
            apply(workspace, now)
        return {"FailedRequests": failed}

    def start_workspaces_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = [item.get("WorkspaceId", "") for item in params["StartWorkspaceRequests"]]
        durations = STATE.durations

        def start(workspace: Workspace, now: float) -> None:
            workspace.begin("STARTING", AVAILABLE, durations.starting, now)

        return self._batch(
            ctx, ids, START_FROM, start, "only a STOPPED WorkSpace can be started.", manual_only=True
        )

    def stop_workspaces_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = [item.get("WorkspaceId", "") for item in params["StopWorkspaceRequests"]]
        durations = STATE.durations

        def stop(workspace: Workspace, now: float) -> None:
            workspace.end_session(now)
            workspace.begin(STOPPING, STOPPED, durations.stopping, now)

        return self._batch(
            ctx, ids, STOP_FROM, stop, "only an AVAILABLE WorkSpace can be stopped.", manual_only=True
        )

    def reboot_workspaces_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = [item["WorkspaceId"] for item in params["RebootWorkspaceRequests"]]
        durations = STATE.durations

        def reboot(workspace: Workspace, now: float) -> None:
            workspace.end_session(now)
            workspace.begin("REBOOTING", AVAILABLE, durations.rebooting, now)

        return self._batch(ctx, ids, REBOOT_FROM, reboot, "a WorkSpace must be AVAILABLE to reboot.")

    def rebuild_workspaces_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = [item["WorkspaceId"] for item in params["RebuildWorkspaceRequests"]]
        durations = STATE.durations

        def rebuild(workspace: Workspace, now: float) -> None:
            workspace.end_session(now)
            workspace.begin("REBUILDING", AVAILABLE, durations.rebuilding, now)

        return self._batch(
            ctx, ids, REBUILD_FROM, rebuild, "it must be AVAILABLE, ERROR, UNHEALTHY or STOPPED."
        )

    def terminate_workspaces_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = [item["WorkspaceId"] for item in params["TerminateWorkspaceRequests"]]
        durations = STATE.durations

        def terminate(workspace: Workspace, now: float) -> None:
            workspace.end_session(now)
            workspace.begin(TERMINATING, TERMINATED, durations.terminating, now)

        def already_terminating(workspace: Workspace) -> bool:
            # Terminating twice is accepted: a retried terminate must not fail.
            return workspace.state in (TERMINATING, TERMINATED)

        return self._batch(ctx, ids, None, terminate, "", accept=already_terminating)

    def restore_workspace_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        now = self.settle()
        workspace = self.get_workspace(params["WorkspaceId"])
        self.authorize_resource(ctx, "workspace", workspace.workspace_id, workspace.tags)
        if workspace.state not in RESTORE_FROM or workspace.in_transition:
            raise errors.invalid_state(f"The WorkSpace is {workspace.state}; it cannot be restored now.")
        if not self._snapshot_time(workspace, now):
            raise errors.invalid_parameter("The WorkSpace has no snapshot to restore from yet.")
        workspace.end_session(now)
        workspace.begin("RESTORING", AVAILABLE, STATE.durations.restoring, now)
        return {}

    def modify_workspace_properties_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        now = self.settle()
        workspace = self.get_workspace(params["WorkspaceId"])
        self.authorize_resource(ctx, "workspace", workspace.workspace_id, workspace.tags)
        changes = params.get("WorkspaceProperties") or {}
        if changes.get("RunningMode") == "AUTO_STOP":
            raise errors.AwsError(
                "UnsupportedWorkspaceConfigurationException",
                "The AUTO_STOP running mode is not available for WorkSpaces Core; use MANUAL or ALWAYS_ON.",
            )
        if not changes and not params.get("DataReplication"):
            raise errors.invalid_parameter("No WorkSpace property to modify was given.")
        if workspace.modifications:
            raise errors.AwsError(
                "OperationInProgressException", "A modification of this WorkSpace is in progress."
            )
        if workspace.state not in MODIFY_FROM or workspace.in_transition:
            raise errors.invalid_state(
                f"The WorkSpace is {workspace.state}; it must be AVAILABLE or STOPPED."
            )
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

    def modify_workspace_state_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        now = self.settle()
        workspace = self.get_workspace(params["WorkspaceId"])
        self.authorize_resource(ctx, "workspace", workspace.workspace_id, workspace.tags)
        wanted = params["WorkspaceState"]
        expected = AVAILABLE if wanted == ADMIN_MAINTENANCE else ADMIN_MAINTENANCE
        if workspace.state != expected or workspace.in_transition:
            raise errors.invalid_state(
                f"The WorkSpace is {workspace.state}; only a WorkSpace in {expected} can be set to {wanted}."
            )
        workspace.set_state(wanted, now)
        return {}

    def migrate_workspace_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        now = self.settle()
        source = self.get_workspace(params["SourceWorkspaceId"])
        self.authorize_resource(ctx, "workspace", source.workspace_id, source.tags)
        bundle = self.find_bundle(params["BundleId"])
        if bundle is None:
            raise errors.not_found(f"The bundle {params['BundleId']} could not be found.")
        if bundle.bundle_id == source.bundle_id:
            raise errors.invalid_parameter("The WorkSpace already uses this bundle.")
        if source.in_transition or source.modifications:
            raise errors.AwsError("OperationInProgressException", f"The WorkSpace is {source.state}.")
        if source.state not in MODIFY_FROM:
            raise errors.invalid_state(f"The WorkSpace is {source.state}; it must be AVAILABLE or STOPPED.")
        request = {
            "DirectoryId": source.directory_id,
            "UserName": source.user_name,
            "BundleId": bundle.bundle_id,
            "WorkspaceName": source.workspace_name,
            "Tags": tag_list(source.tags),
            "WorkspaceProperties": {"RunningMode": source.properties.get("RunningMode", "ALWAYS_ON")},
        }
        target = self._new_workspace(request, now, bundle)
        self.sim_workspaces[target.workspace_id] = target
        source.end_session(now)
        source.begin(TERMINATING, TERMINATED, STATE.durations.terminating, now)
        return {"SourceWorkspaceId": source.workspace_id, "TargetWorkspaceId": target.workspace_id}

    def _snapshot_time(self, workspace: Workspace, now: float) -> float | None:
        if workspace.first_available_at is None:
            return None
        interval = STATE.durations.snapshot_interval or 12 * 3600.0
        elapsed = max(now - workspace.first_available_at, 0.0)
        return workspace.first_available_at + (elapsed // interval) * interval

    def describe_workspace_snapshots_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        now = self.settle()
        workspace = self.get_workspace(params["WorkspaceId"])
        taken = self._snapshot_time(workspace, now)
        snapshots = [{"SnapshotTime": taken}] if taken else []
        return {"RebuildSnapshots": snapshots, "RestoreSnapshots": list(snapshots)}

    def describe_workspaces_connection_status_op(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.settle()
        found = list(self.sim_workspaces.values())
        if params.get("WorkspaceIds"):
            found = [w for w in found if w.workspace_id in params["WorkspaceIds"]]
        page, token = paginate(ctx.operation, params, found, DEFAULT_PAGE_SIZE)
        return {"WorkspacesConnectionStatus": [w.connection_status(now) for w in page], "NextToken": token}

    # ---------------------------------------------------------------- images
    def _check_new_image_name(self, name: str) -> None:
        if any(image.name == name for image in self.sim_images.values()):
            raise errors.already_exists(
                f"A WorkSpace image named {name} already exists in this Region. Provide a unique name."
            )

    def _ami_volume(self, ami: Any) -> dict[str, Any]:
        mappings = ami.block_device_mappings or [{}]
        return mappings[0].get("Ebs", {})

    def import_workspace_image_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.authorize_create(ctx, params.get("Tags"), "workspaceimage")
        now = self.settle()
        process = params["IngestionProcess"]
        if process.endswith("_BYOP") and not self.settings.byop_enabled:
            raise errors.not_supported(
                f"The ingestion process {process} needs an account enabled for Bring Your Own Protocol."
            )
        self._check_new_image_name(params["ImageName"])
        ami = self.ec2.amis.get(params["Ec2ImageId"])
        if ami is None:
            raise errors.not_found(f"The EC2 image {params['Ec2ImageId']} could not be found.")
        if ami.state != "available":
            raise errors.invalid_parameter(f"The EC2 image {ami.id} is {ami.state}; it must be available.")
        volume = self._ami_volume(ami)
        if volume.get("Encrypted"):
            raise errors.invalid_parameter(
                f"The EC2 image {ami.id} is encrypted; encrypted AMIs are not supported."
            )
        failure = self._import_failure(ami, volume, process, now)
        image = WorkspaceImage(
            image_id=new_id("wsi"),
            name=params["ImageName"],
            description=params["ImageDescription"],
            owner_account_id=self.account_id,
            region=self.region_name,
            created_at=now,
            ready_at=now + STATE.durations.image_import,
            required_tenancy="DEDICATED",
            origin=ami.id,
            ingestion_process=process,
            tags=tag_dict(params.get("Tags")),
            failure=failure,
        )
        self.sim_images[image.image_id] = image
        return {"ImageId": image.image_id}

    def _import_failure(
        self, ami: Any, volume: dict[str, Any], process: str, now: float
    ) -> tuple[str, str, list[dict[str, str]]] | None:
        """What the asynchronous import validation will find (AWS reports it as State ERROR)."""
        details = []
        if not self.byol_completed(now):
            details.append(
                {
                    "ErrorCode": "WorkspacesBYOLAccountDisabled",
                    "ErrorMessage": "The account is not enabled for BYOL: ModifyAccount has not completed.",
                }
            )
        image_type = getattr(ami, "image_type", "machine")
        if image_type != "machine":
            details.append(
                {
                    "ErrorCode": "OSNotSupported",
                    "ErrorMessage": f"The AMI is a {image_type} image, not a machine image.",
                }
            )
        platform = (getattr(ami, "platform_details", None) or getattr(ami, "platform", None) or "").lower()
        if "windows" not in platform:
            details.append(
                {"ErrorCode": "OSNotSupported", "ErrorMessage": "Only Windows client images can be imported."}
            )
        size = int(volume.get("VolumeSize") or 0)
        if size < IMPORT_MIN_ROOT_GIB:
            details.append(
                {
                    "ErrorCode": "InsufficientDiskSpace",
                    "ErrorMessage": f"The root volume is {size} GiB; at least {IMPORT_MIN_ROOT_GIB} GiB is required.",
                }
            )
        elif size > IMPORT_MAX_ROOT_GIB:
            details.append(
                {
                    "ErrorCode": "DiskSizeExceeded",
                    "ErrorMessage": f"The root volume is {size} GiB; at most {IMPORT_MAX_ROOT_GIB} GiB is supported.",
                }
            )
        if not details:
            return None
        message = "; ".join(d["ErrorMessage"] for d in details)
        return (
            "ImageImportValidationFailed",
            f"The image {ami.id} failed import validation: {message}",
            details,
        )

    def create_workspace_image_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.authorize_create(ctx, params.get("Tags"), "workspaceimage")
        now = self.settle()
        workspace = self.get_workspace(params["WorkspaceId"])
        if workspace.state != AVAILABLE or workspace.in_transition:
            raise errors.invalid_state(
                f"The WorkSpace is {workspace.state}; an image needs an AVAILABLE WorkSpace."
            )
        self._check_new_image_name(params["Name"])
        bundle = self.find_bundle(workspace.bundle_id)
        source_image = self.sim_images.get(bundle.image_id) if bundle else None
        image = WorkspaceImage(
            image_id=new_id("wsi"),
            name=params["Name"],
            description=params["Description"],
            owner_account_id=self.account_id,
            region=self.region_name,
            created_at=now,
            ready_at=now + STATE.durations.image_create,
            required_tenancy=source_image.required_tenancy if source_image else "DEFAULT",
            origin=workspace.workspace_id,
            tags=tag_dict(params.get("Tags")),
        )
        self.sim_images[image.image_id] = image
        return {key: value for key, value in image.to_dict().items() if key not in ("ErrorDetails",)}

    def _visible_image(self, image_id: str) -> WorkspaceImage | None:
        """An image this account owns, or one another account shared with it (same Region)."""
        if image_id in self.sim_images:
            return self.sim_images[image_id]
        for backend in all_backends(self.region_name):
            image = backend.sim_images.get(image_id)
            if image is not None and self.account_id in image.shared_with:
                backend.settle()
                return image
        return None

    def copy_workspace_image_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.authorize_create(ctx, params.get("Tags"), "workspaceimage")
        now = self.settle()
        source_backend = backend_for(self.account_id, params["SourceRegion"])
        if source_backend is None:
            raise errors.invalid_parameter(f"The Region {params['SourceRegion']} is not valid.")
        source_backend.settle()
        source = source_backend._visible_image(params["SourceImageId"])
        if source is None:
            raise errors.not_found(
                f"The image {params['SourceImageId']} could not be found in {params['SourceRegion']}."
            )
        if source.state != AVAILABLE:
            raise errors.unavailable(f"The image {source.image_id} is {source.state}; it must be AVAILABLE.")
        self._check_new_image_name(params["Name"])
        image = WorkspaceImage(
            image_id=new_id("wsi"),
            name=params["Name"],
            description=params.get("Description") or source.description,
            owner_account_id=self.account_id,
            region=self.region_name,
            created_at=now,
            ready_at=now + STATE.durations.image_copy,
            required_tenancy=source.required_tenancy,
            os_type=source.os_type,
            origin=source.image_id,
            tags=tag_dict(params.get("Tags")),
        )
        self.sim_images[image.image_id] = image
        return {"ImageId": image.image_id}

    def delete_workspace_image_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.settle()
        image = self.sim_images.get(params["ImageId"])
        if image is None:
            return {}  # AWS answers a delete of an unknown image with success
        self.authorize_resource(ctx, "workspaceimage", image.image_id, image.tags)
        if image.state == PENDING:
            raise errors.invalid_state(
                f"The image {image.image_id} is PENDING; wait until it is AVAILABLE or ERROR."
            )
        used_by = [b.bundle_id for b in self.sim_bundles.values() if b.image_id == image.image_id]
        if used_by:
            raise errors.associated(
                f"The image {image.image_id} is used by the bundle(s) {', '.join(used_by)}."
            )
        del self.sim_images[image.image_id]
        return {}

    def describe_workspace_images_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.settle()
        owned = list(self.sim_images.values())
        shared: list[WorkspaceImage] = []
        for backend in all_backends(self.region_name):
            if backend is self:
                continue
            backend.settle()
            shared.extend(i for i in backend.sim_images.values() if self.account_id in i.shared_with)
        image_type = params.get("ImageType")
        found = owned if image_type == "OWNED" else shared if image_type == "SHARED" else owned + shared
        if params.get("ImageIds"):
            found = [i for i in found if i.image_id in params["ImageIds"]]
        page, token = paginate(ctx.operation, params, found, params.get("MaxResults") or DEFAULT_PAGE_SIZE)
        return {"Images": [i.to_dict() for i in page], "NextToken": token}

    def describe_workspace_image_permissions_op(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.settle()
        image = self.sim_images.get(params["ImageId"])
        if image is None:
            raise errors.not_found(f"The image {params['ImageId']} could not be found.")
        permissions = [{"SharedAccountId": account} for account in image.shared_with]
        page, token = paginate(
            ctx.operation, params, permissions, params.get("MaxResults") or DEFAULT_PAGE_SIZE
        )
        return {"ImageId": image.image_id, "ImagePermissions": page, "NextToken": token}

    def update_workspace_image_permission_op(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.settle()
        image = self.sim_images.get(params["ImageId"])
        if image is None:
            raise errors.not_found(f"The image {params['ImageId']} could not be found.")
        self.authorize_resource(ctx, "workspaceimage", image.image_id, image.tags)
        if image.state != AVAILABLE:
            raise errors.unavailable(f"The image {image.image_id} is {image.state}; it must be AVAILABLE.")
        account = params["SharedAccountId"]
        if account == self.account_id:
            raise errors.invalid_parameter("An image cannot be shared with the account that owns it.")
        if params["AllowCopyImage"] and account not in image.shared_with:
            image.shared_with.append(account)
        if not params["AllowCopyImage"] and account in image.shared_with:
            image.shared_with.remove(account)
        return {}

    # --------------------------------------------------------------- bundles
    @staticmethod
    def _check_storage(root: str, user: str) -> None:
        try:
            root_gib, user_gib = int(root), int(user)
        except ValueError as exc:
            raise errors.invalid_parameter("Storage capacities must be whole numbers of GiB.") from exc
        if root_gib == 80 and user_gib in (10, 50, 100):
            return
        if 175 <= root_gib <= 2000 and 100 <= user_gib <= 2000:
            return
        raise errors.invalid_parameter(
            f"Root {root_gib} GiB with user {user_gib} GiB is not a supported storage combination "
            "(root 80 with user 10, 50 or 100; or root 175-2000 with user 100-2000)."
        )

    def _bundle_image(self, image_id: str, compute: str | None) -> WorkspaceImage:
        image = self._visible_image(image_id)
        if image is None:
            raise errors.not_found(f"The image {image_id} could not be found.")
        if image.state != AVAILABLE:
            raise errors.unavailable(f"The image {image_id} is {image.state}; it must be AVAILABLE.")
        g4dn_image = "G4DN" in (image.ingestion_process or "")
        if compute and g4dn_image != (compute in G4DN_COMPUTE):
            raise errors.invalid_parameter(
                f"The compute type {compute} does not match the image's ingestion process."
            )
        return image

    def create_workspace_bundle_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.authorize_create(ctx, params.get("Tags"), "workspacebundle")
        now = self.settle()
        name = params["BundleName"]
        if any(b.name == name for b in self.sim_bundles.values()):
            raise errors.already_exists(f"A bundle named {name} already exists.")
        compute = params["ComputeType"].get("Name")
        if not compute:
            raise errors.invalid_parameter("ComputeType.Name is required.")
        image = self._bundle_image(params["ImageId"], compute)
        root = (params.get("RootStorage") or {}).get("Capacity", "80")
        user = params["UserStorage"]["Capacity"]
        self._check_storage(root, user)
        bundle = Bundle(
            bundle_id=new_id("wsb"),
            name=name,
            description=params["BundleDescription"],
            owner=self.account_id,
            image_id=image.image_id,
            compute=compute,
            root_capacity=root,
            user_capacity=user,
            created_at=now,
            updated_at=now,
            tags=tag_dict(params.get("Tags")),
        )
        self.sim_bundles[bundle.bundle_id] = bundle
        return {"WorkspaceBundle": bundle.to_dict()}

    def update_workspace_bundle_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        now = self.settle()
        if not params.get("BundleId") or not params.get("ImageId"):
            raise errors.invalid_parameter("BundleId and ImageId are required.")
        bundle = self.sim_bundles.get(params["BundleId"])
        if bundle is None:
            raise errors.not_found(f"The bundle {params['BundleId']} could not be found.")
        self.authorize_resource(ctx, "workspacebundle", bundle.bundle_id, bundle.tags)
        image = self._bundle_image(params["ImageId"], bundle.compute)
        bundle.image_id = image.image_id
        bundle.updated_at = now
        return {}

    def delete_workspace_bundle_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.settle()
        bundle = self.sim_bundles.get(params.get("BundleId") or "")
        if bundle is None:
            raise errors.not_found(f"The bundle {params.get('BundleId')} could not be found.")
        self.authorize_resource(ctx, "workspacebundle", bundle.bundle_id, bundle.tags)
        if any(w.bundle_id == bundle.bundle_id for w in self.live_workspaces()):
            raise errors.associated(f"The bundle {bundle.bundle_id} is used by WorkSpaces.")
        del self.sim_bundles[bundle.bundle_id]
        return {}

    def describe_workspace_bundles_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids, owner = params.get("BundleIds"), params.get("Owner")
        if ids and owner:
            raise errors.invalid_parameter("BundleIds and Owner cannot be combined.")
        if ids:
            found = [b for b in (self.find_bundle(i) for i in ids) if b is not None]
        elif owner == "AMAZON":
            found = self.amazon_bundles()
        elif owner in (None, self.account_id):
            found = list(self.sim_bundles.values())
        else:
            raise errors.invalid_parameter(
                "Owner must be AMAZON, or omitted for the bundles of this account."
            )
        page, token = paginate(ctx.operation, params, found, DEFAULT_PAGE_SIZE)
        return {"Bundles": [b.to_dict() for b in page], "NextToken": token}

    # --------------------------------------------------------------- account
    def available_management_ranges(self, constraint: str) -> list[str]:
        try:
            wanted = ipaddress.ip_network(constraint, strict=False)
        except ValueError as exc:
            raise errors.invalid_parameter(f"{constraint} is not a valid CIDR block.") from exc
        # IPv4 only (as the model's pattern already is): subnet_of an IPv4 range raises TypeError for IPv6.
        if (
            not isinstance(wanted, ipaddress.IPv4Network)
            or wanted.prefixlen > 16
            or not any(wanted.subnet_of(private) for private in PRIVATE_RANGES)
        ):
            raise errors.invalid_parameter(
                "The constraint must be a private (RFC 1918) CIDR block of prefix /16 or shorter."
            )
        used = [ipaddress.ip_network(vpc.cidr_block) for vpc in self.ec2.vpcs.values()]
        used.extend(RESERVED_MANAGEMENT_RANGES)
        used.extend(
            ipaddress.ip_network(m.cidr) for m in self.account_modifications if m.outcome == "COMPLETED"
        )
        return [str(n) for n in wanted.subnets(new_prefix=16) if not any(n.overlaps(u) for u in used)]

    def list_available_management_cidr_ranges_op(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        ranges = self.available_management_ranges(params["ManagementCidrRangeConstraint"])
        page, token = paginate(ctx.operation, params, ranges, params.get("MaxResults") or CIDR_PAGE_SIZE)
        return {"ManagementCidrRanges": page, "NextToken": token}

    def modify_account_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        now = self.settle()
        if params.get("DedicatedTenancySupport") != "ENABLED":
            raise errors.invalid_parameter("DedicatedTenancySupport=ENABLED is required.")
        cidr = params.get("DedicatedTenancyManagementCidrRange")
        if not cidr:
            raise errors.invalid_parameter("DedicatedTenancyManagementCidrRange is required.")
        if not self.settings.byol_eligible:
            raise errors.access_denied(
                "This account is not enabled for BYOL; the customer must enable BYOL first."
            )
        for modification in self.account_modifications:
            if modification.state(now) in ("PENDING", "COMPLETED"):
                raise errors.invalid_state(
                    "The account is already configured for BYOL (or a modification is pending); "
                    "the management CIDR cannot be changed once configured."
                )
        available = set()
        for private in PRIVATE_RANGES:
            available.update(self.available_management_ranges(str(private)))
        if cidr not in available:
            raise errors.invalid_parameter(
                f"The CIDR block {cidr} is not available; use ListAvailableManagementCidrRanges."
            )
        self.account_modifications.append(
            AccountModification(
                cidr=cidr,
                started_at=now,
                completes_at=now + STATE.durations.account_modification,
                outcome=self.settings.modify_account_outcome,
            )
        )
        return {}

    def describe_account_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        now = self.settle()
        completed = [m for m in self.account_modifications if m.state(now) == "COMPLETED"]
        return {
            "DedicatedTenancySupport": "ENABLED" if completed else "DISABLED",
            "DedicatedTenancyManagementCidrRange": completed[-1].cidr if completed else None,
        }

    def describe_account_modifications_op(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.settle()
        newest_first = [m.to_dict(now) for m in reversed(self.account_modifications)]
        page, token = paginate(ctx.operation, params, newest_first, DEFAULT_PAGE_SIZE)
        return {"AccountModifications": page, "NextToken": token}

    # ----------------------------------------------------------- directories
    def register_workspace_directory_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.authorize_create(ctx, params.get("Tags"), "directory")
        now = self.settle()
        directory_id = params.get("DirectoryId")
        if not directory_id:
            raise errors.invalid_parameter("DirectoryId is required for an AWS Directory Service directory.")
        directory = ds_backends[self.account_id][self.region_name].directories.get(directory_id)
        if directory is None:
            raise errors.not_found(f"The directory {directory_id} could not be found.")
        if directory_id in self.sim_directories:
            raise errors.already_exists(f"The directory {directory_id} is already registered.")
        tenancy = params.get("Tenancy") or "SHARED"
        if tenancy == "DEDICATED" and not self.byol_completed(now):
            raise errors.invalid_parameter(
                "DEDICATED tenancy needs an account enabled for BYOL (ModifyAccount COMPLETED)."
            )
        settings = (
            directory.connect_settings
            if directory.directory_type == "ADConnector"
            else directory.vpc_settings
        )
        assert settings is not None, (
            "moto gives an AD Connector connect settings and other directories VPC settings"
        )
        vpc_id = settings["VpcId"]
        subnet_ids = params.get("SubnetIds") or list(settings["SubnetIds"])
        self._check_subnets(subnet_ids, vpc_id)
        security_group_id = self.create_security_group(directory_id, vpc_id)
        directory_type = "AD_CONNECTOR" if directory.directory_type == "ADConnector" else "SIMPLE_AD"
        registered = RegisteredDirectory(
            directory_id=directory_id,
            alias=directory.alias,
            name=directory.name,
            directory_type=directory_type,
            registration_code=f"SLiad+{mock_random.get_random_string(length=6).upper()}",
            subnet_ids=subnet_ids,
            dns_ip_addresses=list(directory.dns_ip_addrs or []),
            security_group_id=security_group_id,
            vpc_id=vpc_id,
            tenancy=tenancy,
            registered_at=now,
            ready_at=now + STATE.durations.directory_registration,
            iam_role_arn=f"arn:aws:iam::{self.account_id}:role/workspaces_DefaultRole",
            enable_self_service=bool(params.get("EnableSelfService")),
            tags=tag_dict(params.get("Tags")),
            creation_properties={
                "EnableInternetAccess": False,
                "UserEnabledAsLocalAdministrator": True,
                "EnableMaintenanceMode": True,
            },
        )
        self.sim_directories[directory_id] = registered
        return {"DirectoryId": directory_id, "State": registered.state(now)}

    def _check_subnets(self, subnet_ids: list[str], vpc_id: str) -> None:
        zones = set()
        for subnet_id in subnet_ids:
            try:
                subnet = self.ec2.get_subnet(subnet_id)
            except Exception as exc:  # moto raises its own InvalidSubnetIdError
                raise errors.invalid_parameter(f"The subnet {subnet_id} could not be found.") from exc
            if subnet.vpc_id != vpc_id:
                raise errors.invalid_parameter(
                    f"The subnet {subnet_id} is not in the directory's VPC {vpc_id}."
                )
            zones.add(subnet.availability_zone)
        if len(subnet_ids) != 2 or len(zones) != 2:
            raise errors.AwsError(
                "UnsupportedNetworkConfigurationException",
                "WorkSpaces needs two subnets in two different Availability Zones.",
            )

    def deregister_workspace_directory_op(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.settle()
        directory = self.sim_directories.get(params["DirectoryId"])
        if directory is None:
            raise errors.not_found(f"The directory {params['DirectoryId']} is not registered.")
        self.authorize_resource(ctx, "directory", directory.directory_id, directory.tags)
        if any(w.directory_id == directory.directory_id for w in self.live_workspaces()):
            raise errors.invalid_state("The directory still has WorkSpaces; terminate them first.")
        # The customer may have deleted the group already.
        with contextlib.suppress(Exception):
            self.ec2.delete_security_group(group_id=directory.security_group_id)
        del self.sim_directories[directory.directory_id]
        return {}

    def describe_workspace_directories_op(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.settle()
        found = list(self.sim_directories.values())
        if params.get("DirectoryIds"):
            found = [d for d in found if d.directory_id in params["DirectoryIds"]]
        if params.get("WorkspaceDirectoryNames"):
            found = [d for d in found if d.name in params["WorkspaceDirectoryNames"]]
        page, token = paginate(ctx.operation, params, found, params.get("Limit") or DEFAULT_PAGE_SIZE)
        return {"Directories": [d.to_dict(now) for d in page], "NextToken": token}

    def modify_workspace_creation_properties_op(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.settle()
        directory = self.sim_directories.get(params["ResourceId"])
        if directory is None:
            raise errors.not_found(f"The directory {params['ResourceId']} is not registered.")
        self.authorize_resource(ctx, "directory", directory.directory_id, directory.tags)
        properties = params["WorkspaceCreationProperties"]
        group_id = properties.get("CustomSecurityGroupId")
        if group_id:
            group = self.ec2.get_security_group_from_id(group_id)
            if group is None:
                raise errors.invalid_parameter(f"The security group {group_id} could not be found.")
            if group.vpc_id != directory.vpc_id:
                raise errors.invalid_parameter(
                    f"The security group {group_id} is not in the directory's VPC."
                )
        directory.creation_properties.update(properties)
        return {}

    # ------------------------------------------------------------------ tags
    def _taggable(self, resource_id: str) -> tuple[str, dict[str, str]]:
        self.settle()
        for kind, store in (
            ("workspace", self.sim_workspaces),
            ("workspaceimage", self.sim_images),
            ("workspacebundle", self.sim_bundles),
            ("directory", self.sim_directories),
        ):
            if resource_id in store:
                return kind, store[resource_id].tags
        raise errors.not_found(f"The resource {resource_id} could not be found.")

    def create_tags_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind, tags = self._taggable(params["ResourceId"])
        new = tag_dict(params["Tags"])
        if ctx.tag_policy_applies:
            if TAG_KEY in new:
                raise self._deny(
                    ctx,
                    self._resource_arn(kind, params["ResourceId"]),
                    f"because the tag {TAG_KEY} is protected",
                )
            self.authorize_resource(ctx, kind, params["ResourceId"], tags)
        if any(key.lower().startswith("aws:") for key in new):
            raise errors.invalid_parameter("Tag keys starting with aws: are reserved.")
        if len(set(tags) | set(new)) > MAX_TAGS_PER_RESOURCE:
            raise errors.limit_exceeded(f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags.")
        tags.update(new)
        return {}

    def delete_tags_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind, tags = self._taggable(params["ResourceId"])
        if ctx.tag_policy_applies:
            if TAG_KEY in params["TagKeys"]:
                raise self._deny(
                    ctx,
                    self._resource_arn(kind, params["ResourceId"]),
                    f"because the tag {TAG_KEY} is protected",
                )
            self.authorize_resource(ctx, kind, params["ResourceId"], tags)
        for key in params["TagKeys"]:
            tags.pop(key, None)
        return {}

    def describe_tags_op(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, tags = self._taggable(params["ResourceId"])
        return {"TagList": tag_list(tags)}

    # ------------------------------------------- moto's resource-tagging API
    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        for kind, store in (
            ("workspace", self.sim_workspaces),
            ("workspaceimage", self.sim_images),
            ("workspacebundle", self.sim_bundles),
            ("directory", self.sim_directories),
        ):
            for resource_id, resource in store.items():
                yield TaggedResource(
                    arn=self._resource_arn(kind, resource_id),
                    tags=dict(resource.tags),
                    resource_type=f"workspaces:{kind}",
                )

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        _, current = self._taggable(arn.split("/")[-1])
        current.update(tags)


OPERATIONS: dict[str, str] = {
    "CreateWorkspaces": "create_workspaces_op",
    "DescribeWorkspaces": "describe_workspaces_op",
    "TerminateWorkspaces": "terminate_workspaces_op",
    "StartWorkspaces": "start_workspaces_op",
    "StopWorkspaces": "stop_workspaces_op",
    "RebootWorkspaces": "reboot_workspaces_op",
    "RebuildWorkspaces": "rebuild_workspaces_op",
    "RestoreWorkspace": "restore_workspace_op",
    "ModifyWorkspaceProperties": "modify_workspace_properties_op",
    "ModifyWorkspaceState": "modify_workspace_state_op",
    "ModifyWorkspaceCreationProperties": "modify_workspace_creation_properties_op",
    "MigrateWorkspace": "migrate_workspace_op",
    "DescribeWorkspaceSnapshots": "describe_workspace_snapshots_op",
    "ImportWorkspaceImage": "import_workspace_image_op",
    "CreateWorkspaceImage": "create_workspace_image_op",
    "CopyWorkspaceImage": "copy_workspace_image_op",
    "DeleteWorkspaceImage": "delete_workspace_image_op",
    "DescribeWorkspaceImages": "describe_workspace_images_op",
    "DescribeWorkspaceImagePermissions": "describe_workspace_image_permissions_op",
    "UpdateWorkspaceImagePermission": "update_workspace_image_permission_op",
    "CreateWorkspaceBundle": "create_workspace_bundle_op",
    "UpdateWorkspaceBundle": "update_workspace_bundle_op",
    "DeleteWorkspaceBundle": "delete_workspace_bundle_op",
    "DescribeWorkspaceBundles": "describe_workspace_bundles_op",
    "DescribeAccount": "describe_account_op",
    "DescribeAccountModifications": "describe_account_modifications_op",
    "ListAvailableManagementCidrRanges": "list_available_management_cidr_ranges_op",
    "ModifyAccount": "modify_account_op",
    "RegisterWorkspaceDirectory": "register_workspace_directory_op",
    "DeregisterWorkspaceDirectory": "deregister_workspace_directory_op",
    "DescribeWorkspaceDirectories": "describe_workspace_directories_op",
    "CreateTags": "create_tags_op",
    "DescribeTags": "describe_tags_op",
    "DeleteTags": "delete_tags_op",
    "DescribeWorkspacesConnectionStatus": "describe_workspaces_connection_status_op",
}

workspaces_backends: BackendDict[SimWorkSpacesBackend] = BackendDict(SimWorkSpacesBackend, "workspaces")


def install() -> None:
    """Put the simulator's backend where moto looks for WorkSpaces (idempotent)."""
    import moto.workspaces as moto_workspaces_package

    # moto only reads backends from it, and ours subclass its WorkSpacesBackend.
    as_moto = cast("BackendDict[WorkSpacesBackend]", workspaces_backends)
    moto_workspaces_models.workspaces_backends = as_moto
    moto_workspaces_package.workspaces_backends = as_moto


def backend_for(account_id: str, region: str) -> SimWorkSpacesBackend | None:
    try:
        return workspaces_backends[account_id][region]
    except KeyError:
        return None


def all_backends(region: str) -> list[SimWorkSpacesBackend]:
    """Every account's backend already created in ``region`` (without creating new ones)."""
    found = []
    for account_backends in list(workspaces_backends.values()):
        backend = dict.get(account_backends, region)
        if backend is not None:
            found.append(backend)
    return found
