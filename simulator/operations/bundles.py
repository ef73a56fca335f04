"""Bundles: CreateWorkspaceBundle (image + compute + a storage combination AWS accepts), Update, Delete
and DescribeWorkspaceBundles (the account's own, or Amazon's public catalogue).
"""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.backend import SimWorkSpacesBackend
from simulator.entities import AVAILABLE, Bundle, WorkspaceImage, tag_dict
from simulator.operations import policy
from simulator.operations.catalogue import AMAZON_OWNER, amazon_bundles, find_bundle
from simulator.operations.context import Handler, RequestContext, new_id
from simulator.operations.images import visible_image
from simulator.operations.paging import page_size, paginate

G4DN_COMPUTE = {"GRAPHICS_G4DN", "GRAPHICSPRO_G4DN"}


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


def _bundle_image(backend: SimWorkSpacesBackend, image_id: str, compute: str | None) -> WorkspaceImage:
    image = visible_image(backend, image_id)
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


def create_workspace_bundle(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    policy.authorize_create(backend, ctx, params.get("Tags"), "workspacebundle")
    now = backend.settle()
    name = params["BundleName"]
    if any(b.name == name for b in backend.sim_bundles.values()):
        raise errors.already_exists(f"A bundle named {name} already exists.")
    compute = params["ComputeType"].get("Name")
    if not compute:
        raise errors.invalid_parameter("ComputeType.Name is required.")
    image = _bundle_image(backend, params["ImageId"], compute)
    root = (params.get("RootStorage") or {}).get("Capacity", "80")
    user = params["UserStorage"]["Capacity"]
    _check_storage(root, user)
    bundle = Bundle(
        bundle_id=new_id("wsb"),
        name=name,
        description=params["BundleDescription"],
        owner=backend.account_id,
        image_id=image.image_id,
        compute=compute,
        root_capacity=root,
        user_capacity=user,
        created_at=now,
        updated_at=now,
        tags=tag_dict(params.get("Tags")),
        sequence=backend.next_sequence(),
    )
    backend.sim_bundles[bundle.bundle_id] = bundle
    return {"WorkspaceBundle": bundle.to_dict()}


def update_workspace_bundle(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    if not params.get("BundleId") or not params.get("ImageId"):
        raise errors.invalid_parameter("BundleId and ImageId are required.")
    bundle = backend.sim_bundles.get(params["BundleId"])
    if bundle is None:
        raise errors.not_found(f"The bundle {params['BundleId']} could not be found.")
    policy.authorize_resource(backend, ctx, "workspacebundle", bundle.bundle_id, bundle.tags)
    image = _bundle_image(backend, params["ImageId"], bundle.compute)
    bundle.image_id = image.image_id
    bundle.updated_at = now
    return {}


def delete_workspace_bundle(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    backend.settle()
    bundle = backend.sim_bundles.get(params.get("BundleId") or "")
    if bundle is None:
        raise errors.not_found(f"The bundle {params.get('BundleId')} could not be found.")
    policy.authorize_resource(backend, ctx, "workspacebundle", bundle.bundle_id, bundle.tags)
    if any(w.bundle_id == bundle.bundle_id for w in backend.live_workspaces()):
        raise errors.associated(f"The bundle {bundle.bundle_id} is used by WorkSpaces.")
    del backend.sim_bundles[bundle.bundle_id]
    return {}


def describe_workspace_bundles(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    ids, owner = params.get("BundleIds"), params.get("Owner")
    if ids and owner:
        raise errors.invalid_parameter("BundleIds and Owner cannot be combined.")
    if ids:
        found = [b for b in (find_bundle(backend, i) for i in ids) if b is not None]
    elif owner in ("AMAZON", AMAZON_OWNER):
        found = amazon_bundles()
    elif owner in (None, backend.account_id):
        found = list(backend.sim_bundles.values())
    else:
        raise errors.invalid_parameter("Owner must be AMAZON, or omitted for the bundles of this account.")
    page, token = paginate(
        ctx,
        params,
        found,
        # Amazon's catalogue first, then the account's own bundles in creation order.
        key=lambda b: (int(b.owner != AMAZON_OWNER), b.sequence),
        page_size=page_size(params),
        invalid_token=errors.invalid_parameter,
    )
    return {"Bundles": [b.to_dict() for b in page], "NextToken": token}


OPERATIONS: dict[str, Handler] = {
    "CreateWorkspaceBundle": create_workspace_bundle,
    "UpdateWorkspaceBundle": update_workspace_bundle,
    "DeleteWorkspaceBundle": delete_workspace_bundle,
    "DescribeWorkspaceBundles": describe_workspace_bundles,
}
