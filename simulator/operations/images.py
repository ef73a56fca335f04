"""WorkSpaces images: ImportWorkspaceImage (BYOL AMIs with an asynchronous validation), Create, Copy,
Delete, DescribeWorkspaceImages, and sharing with other accounts (image permissions).
"""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.backend import SimWorkSpacesBackend, all_backends, backend_for
from simulator.entities import AVAILABLE, PENDING, WorkspaceImage, tag_dict
from simulator.operations import policy
from simulator.operations.account import byol_completed
from simulator.operations.catalogue import find_bundle
from simulator.operations.context import Handler, RequestContext, new_id
from simulator.operations.paging import page_size, paginate
from simulator.state import STATE

# Root volume bounds for BYOL imports (Windows needs >= 30 GiB; BYOL images are at most 70 GiB).
IMPORT_MIN_ROOT_GIB = 30
IMPORT_MAX_ROOT_GIB = 70


def _check_new_image_name(backend: SimWorkSpacesBackend, name: str) -> None:
    if any(image.name == name for image in backend.sim_images.values()):
        raise errors.already_exists(
            f"A WorkSpace image named {name} already exists in this Region. Provide a unique name."
        )


def _ami_volume(ami: Any) -> dict[str, Any]:
    mappings = ami.block_device_mappings or [{}]
    return mappings[0].get("Ebs", {})


def _import_failure(
    backend: SimWorkSpacesBackend, ami: Any, volume: dict[str, Any], now: float
) -> tuple[str, str, list[dict[str, str]]] | None:
    """What the asynchronous import validation will find (AWS reports it as State ERROR)."""
    details = []
    if not byol_completed(backend, now):
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
    return ("ImageImportValidationFailed", f"The image {ami.id} failed import validation: {message}", details)


def import_workspace_image(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    policy.authorize_create(backend, ctx, params.get("Tags"), "workspaceimage")
    now = backend.settle()
    process = params["IngestionProcess"]
    if process.endswith("_BYOP") and not backend.settings.byop_enabled:
        raise errors.not_supported(
            f"The ingestion process {process} needs an account enabled for Bring Your Own Protocol."
        )
    _check_new_image_name(backend, params["ImageName"])
    ami = backend.ec2.amis.get(params["Ec2ImageId"])
    if ami is None:
        raise errors.not_found(f"The EC2 image {params['Ec2ImageId']} could not be found.")
    if ami.state != "available":
        raise errors.invalid_parameter(f"The EC2 image {ami.id} is {ami.state}; it must be available.")
    volume = _ami_volume(ami)
    if volume.get("Encrypted"):
        raise errors.invalid_parameter(
            f"The EC2 image {ami.id} is encrypted; encrypted AMIs are not supported."
        )
    image = WorkspaceImage(
        image_id=new_id("wsi"),
        name=params["ImageName"],
        description=params["ImageDescription"],
        owner_account_id=backend.account_id,
        region=backend.region_name,
        created_at=now,
        ready_at=now + STATE.durations.image_import,
        required_tenancy="DEDICATED",
        origin=ami.id,
        ingestion_process=process,
        tags=tag_dict(params.get("Tags")),
        failure=_import_failure(backend, ami, volume, now),
        sequence=backend.next_sequence(),
    )
    backend.sim_images[image.image_id] = image
    return {"ImageId": image.image_id}


def create_workspace_image(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    policy.authorize_create(backend, ctx, params.get("Tags"), "workspaceimage")
    now = backend.settle()
    workspace = backend.get_workspace(params["WorkspaceId"])
    if workspace.state != AVAILABLE or workspace.in_transition:
        raise errors.invalid_state(
            f"The WorkSpace is {workspace.state}; an image needs an AVAILABLE WorkSpace."
        )
    _check_new_image_name(backend, params["Name"])
    bundle = find_bundle(backend, workspace.bundle_id)
    source_image = backend.sim_images.get(bundle.image_id) if bundle else None
    image = WorkspaceImage(
        image_id=new_id("wsi"),
        name=params["Name"],
        description=params["Description"],
        owner_account_id=backend.account_id,
        region=backend.region_name,
        created_at=now,
        ready_at=now + STATE.durations.image_create,
        required_tenancy=source_image.required_tenancy if source_image else "DEFAULT",
        origin=workspace.workspace_id,
        tags=tag_dict(params.get("Tags")),
        sequence=backend.next_sequence(),
    )
    backend.sim_images[image.image_id] = image
    return {key: value for key, value in image.to_dict().items() if key not in ("ErrorDetails",)}


def visible_image(backend: SimWorkSpacesBackend, image_id: str) -> WorkspaceImage | None:
    """An image this account owns, or one another account shared with it (same Region)."""
    if image_id in backend.sim_images:
        return backend.sim_images[image_id]
    for other in all_backends(backend.region_name):
        image = other.sim_images.get(image_id)
        if image is not None and backend.account_id in image.shared_with:
            other.settle()
            return image
    return None


def copy_workspace_image(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    policy.authorize_create(backend, ctx, params.get("Tags"), "workspaceimage")
    now = backend.settle()
    source_backend = backend_for(backend.account_id, params["SourceRegion"])
    if source_backend is None:
        raise errors.invalid_parameter(f"The Region {params['SourceRegion']} is not valid.")
    source_backend.settle()
    source = visible_image(source_backend, params["SourceImageId"])
    if source is None:
        raise errors.not_found(
            f"The image {params['SourceImageId']} could not be found in {params['SourceRegion']}."
        )
    if source.state != AVAILABLE:
        raise errors.unavailable(f"The image {source.image_id} is {source.state}; it must be AVAILABLE.")
    _check_new_image_name(backend, params["Name"])
    image = WorkspaceImage(
        image_id=new_id("wsi"),
        name=params["Name"],
        description=params.get("Description") or source.description,
        owner_account_id=backend.account_id,
        region=backend.region_name,
        created_at=now,
        ready_at=now + STATE.durations.image_copy,
        required_tenancy=source.required_tenancy,
        os_type=source.os_type,
        origin=source.image_id,
        tags=tag_dict(params.get("Tags")),
        sequence=backend.next_sequence(),
    )
    backend.sim_images[image.image_id] = image
    return {"ImageId": image.image_id}


def delete_workspace_image(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    backend.settle()
    image = backend.sim_images.get(params["ImageId"])
    if image is None:
        return {}  # AWS answers a delete of an unknown image with success
    policy.authorize_resource(backend, ctx, "workspaceimage", image.image_id, image.tags)
    if image.state == PENDING:
        raise errors.invalid_state(
            f"The image {image.image_id} is PENDING; wait until it is AVAILABLE or ERROR."
        )
    used_by = [b.bundle_id for b in backend.sim_bundles.values() if b.image_id == image.image_id]
    if used_by:
        raise errors.associated(f"The image {image.image_id} is used by the bundle(s) {', '.join(used_by)}.")
    del backend.sim_images[image.image_id]
    return {}


def describe_workspace_images(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    backend.settle()
    owned = list(backend.sim_images.values())
    shared: list[WorkspaceImage] = []
    for other in all_backends(backend.region_name):
        if other is backend:
            continue
        other.settle()
        shared.extend(i for i in other.sim_images.values() if backend.account_id in i.shared_with)
    image_type = params.get("ImageType")
    found = owned if image_type == "OWNED" else shared if image_type == "SHARED" else owned + shared
    if params.get("ImageIds"):
        found = [i for i in found if i.image_id in params["ImageIds"]]
    page, token = paginate(
        ctx,
        params,
        found,
        # Owned images first, then each sharing account's in its creation order.
        key=lambda i: (int(i.owner_account_id != backend.account_id), i.owner_account_id, i.sequence),
        page_size=page_size(params),
        invalid_token=errors.validation,  # the model declares no InvalidParameterValues here
    )
    return {"Images": [i.to_dict() for i in page], "NextToken": token}


def describe_workspace_image_permissions(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    backend.settle()
    image = backend.sim_images.get(params["ImageId"])
    if image is None:
        raise errors.not_found(f"The image {params['ImageId']} could not be found.")
    permissions = [{"SharedAccountId": account} for account in image.shared_with]
    page, token = paginate(
        ctx,
        params,
        permissions,
        key=lambda permission: (permission["SharedAccountId"],),
        page_size=page_size(params),
        invalid_token=errors.invalid_parameter,
    )
    return {"ImageId": image.image_id, "ImagePermissions": page, "NextToken": token}


def update_workspace_image_permission(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    backend.settle()
    image = backend.sim_images.get(params["ImageId"])
    if image is None:
        raise errors.not_found(f"The image {params['ImageId']} could not be found.")
    policy.authorize_resource(backend, ctx, "workspaceimage", image.image_id, image.tags)
    if image.state != AVAILABLE:
        raise errors.unavailable(f"The image {image.image_id} is {image.state}; it must be AVAILABLE.")
    account = params["SharedAccountId"]
    if account == backend.account_id:
        raise errors.invalid_parameter("An image cannot be shared with the account that owns it.")
    if params["AllowCopyImage"] and account not in image.shared_with:
        image.shared_with.append(account)
    if not params["AllowCopyImage"] and account in image.shared_with:
        image.shared_with.remove(account)
    return {}


OPERATIONS: dict[str, Handler] = {
    "ImportWorkspaceImage": import_workspace_image,
    "CreateWorkspaceImage": create_workspace_image,
    "CopyWorkspaceImage": copy_workspace_image,
    "DeleteWorkspaceImage": delete_workspace_image,
    "DescribeWorkspaceImages": describe_workspace_images,
    "DescribeWorkspaceImagePermissions": describe_workspace_image_permissions,
    "UpdateWorkspaceImagePermission": update_workspace_image_permission,
}
