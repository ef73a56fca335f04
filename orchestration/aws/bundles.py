"""WorkSpaces bundles (R7, R11): create from an image, point at a new image, delete, list."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .calls import aws_call, chunked, request_id_of
from .tagguard import tags_for_create
from .types import AccountAccess

DESCRIBE_BUNDLES_IDS_LIMIT = 25


@dataclass(frozen=True)
class WorkspaceBundle:
    """A bundle as DescribeWorkspaceBundles (or CreateWorkspaceBundle) reports it."""

    bundle_id: str
    name: str
    owner: str = ""
    description: str = ""
    image_id: str = ""
    compute_type: str = ""
    root_volume_gib: int | None = None
    user_volume_gib: int | None = None
    state: str = ""


@dataclass(frozen=True)
class BundleCreated:
    """The bundle CreateWorkspaceBundle made, and the request id to audit."""

    bundle: WorkspaceBundle
    request_id: str


def _capacity(storage: dict | None) -> int | None:
    value = (storage or {}).get("Capacity")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _bundle_from_aws(data: dict) -> WorkspaceBundle:
    return WorkspaceBundle(
        bundle_id=data.get("BundleId", ""),
        name=data.get("Name", ""),
        owner=data.get("Owner", ""),
        description=data.get("Description", ""),
        image_id=data.get("ImageId", ""),
        compute_type=(data.get("ComputeType") or {}).get("Name", ""),
        root_volume_gib=_capacity(data.get("RootStorage")),
        user_volume_gib=_capacity(data.get("UserStorage")),
        state=data.get("State", ""),
    )


def bundles_list(access: AccountAccess) -> Iterator[WorkspaceBundle]:
    """Every bundle the account owns (no Owner: the account's own, not Amazon's), page by page."""
    params: dict = {}
    while True:
        response = aws_call(access, "workspaces", "describe_workspace_bundles", **params)
        yield from (_bundle_from_aws(item) for item in response.get("Bundles", []))
        token = response.get("NextToken")
        if not token:
            return
        params["NextToken"] = token


def bundles_describe(access: AccountAccess, bundle_ids: Sequence[str]) -> list[WorkspaceBundle]:
    """Bundles by id, 25 ids a call; unknown ids are simply absent."""
    found: list[WorkspaceBundle] = []
    for chunk in chunked(list(bundle_ids), DESCRIBE_BUNDLES_IDS_LIMIT):
        response = aws_call(access, "workspaces", "describe_workspace_bundles", BundleIds=chunk)
        found.extend(_bundle_from_aws(item) for item in response.get("Bundles", []))
    return found


def bundle_find_by_name(access: AccountAccess, name: str) -> WorkspaceBundle | None:
    """The account's bundle called `name` (names are unique per account): how a lost create is found."""
    return next((bundle for bundle in bundles_list(access) if bundle.name == name), None)


def bundle_create(
    access: AccountAccess,
    *,
    name: str,
    description: str,
    image_id: str,
    compute_type: str,
    root_volume_gib: int,
    user_volume_gib: int,
) -> BundleCreated:
    """CreateWorkspaceBundle, tagged PartnerManaged=true."""
    response = aws_call(
        access,
        "workspaces",
        "create_workspace_bundle",
        BundleName=name,
        BundleDescription=description,
        ImageId=image_id,
        ComputeType={"Name": compute_type},
        RootStorage={"Capacity": str(root_volume_gib)},
        UserStorage={"Capacity": str(user_volume_gib)},
        Tags=tags_for_create(),
    )
    return BundleCreated(
        bundle=_bundle_from_aws(response.get("WorkspaceBundle") or {}), request_id=request_id_of(response)
    )


def bundle_update_image(access: AccountAccess, bundle_id: str, image_id: str) -> str:
    """UpdateWorkspaceBundle: new desktops of this bundle start from `image_id`; returns the request id."""
    response = aws_call(access, "workspaces", "update_workspace_bundle", BundleId=bundle_id, ImageId=image_id)
    return request_id_of(response)


def bundle_delete(access: AccountAccess, bundle_id: str) -> str:
    """DeleteWorkspaceBundle; returns the request id."""
    response = aws_call(access, "workspaces", "delete_workspace_bundle", BundleId=bundle_id)
    return request_id_of(response)
