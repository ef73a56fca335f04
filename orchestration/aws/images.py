"""WorkSpaces image operations and the EC2 AMI read behind an import (seed rules R4, R11).

Creates (import, create from a desktop, copy) carry PartnerManaged=true and return the new image id;
they have no idempotency token, so callers look for an image by its name before making it again.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .calls import aws_call, chunked, request_id_of
from .tagguard import tags_for_create
from .types import AccountAccess

DESCRIBE_IMAGES_IDS_LIMIT = 25
DESCRIBE_IMAGES_PAGE = 25
DESCRIBE_PERMISSIONS_PAGE = 25
# The seed's filters for the AMI picker (R4): HVM machine images that are ready to use.
AMI_PICKER_FILTERS = (
    {"Name": "virtualization-type", "Values": ["hvm"]},
    {"Name": "state", "Values": ["available"]},
    {"Name": "image-type", "Values": ["machine"]},
)


@dataclass(frozen=True)
class Ami:
    """An EC2 AMI with the seed's display columns; `problems` says why it cannot be imported, if it cannot."""

    image_id: str
    name: str
    description: str
    platform_details: str
    ena_support: bool | None
    hypervisor: str
    volume_type: str
    volume_size: int | None
    encrypted: bool
    owner_id: str
    state: str
    image_type: str
    virtualization_type: str
    problems: tuple[str, ...] = ()

    @property
    def importable(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ImageErrorDetail:
    """One entry of an image's ErrorDetails: AWS's code and message for one failed check."""

    code: str
    message: str


@dataclass(frozen=True)
class WorkspaceImage:
    """A WorkSpaces image as DescribeWorkspaceImages reports it."""

    image_id: str
    name: str
    state: str
    description: str = ""
    operating_system_type: str = ""
    required_tenancy: str = ""
    owner_account_id: str = ""
    created: datetime | None = None
    error_code: str = ""
    error_message: str = ""
    error_details: tuple[ImageErrorDetail, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ImageMade:
    """What a create call answered: the new image's id and the request id for the audit log."""

    image_id: str
    request_id: str


def _root_volume(data: dict) -> dict:
    """The EBS mapping of the root device (the one WorkSpaces imports), else the first EBS mapping."""
    mappings = [m for m in data.get("BlockDeviceMappings") or [] if m.get("Ebs")]
    root = data.get("RootDeviceName")
    for mapping in mappings:
        if mapping.get("DeviceName") == root:
            return mapping["Ebs"]
    return mappings[0]["Ebs"] if mappings else {}


def _ami_from_aws(data: dict) -> Ami:
    volume = _root_volume(data)
    return Ami(
        image_id=data.get("ImageId", ""),
        name=data.get("Name", ""),
        description=data.get("Description", ""),
        platform_details=data.get("PlatformDetails", ""),
        ena_support=data.get("EnaSupport"),
        hypervisor=data.get("Hypervisor", ""),
        volume_type=volume.get("VolumeType", ""),
        volume_size=volume.get("VolumeSize"),
        encrypted=bool(volume.get("Encrypted")),
        owner_id=data.get("OwnerId", ""),
        state=data.get("State", ""),
        image_type=data.get("ImageType", ""),
        virtualization_type=data.get("VirtualizationType", ""),
    )


def amis_list(access: AccountAccess) -> list[Ami]:
    """The account's own AMIs that pass the seed's picker filters, every page."""
    params: dict = {"Owners": ["self"], "Filters": list(AMI_PICKER_FILTERS)}
    found: list[Ami] = []
    while True:
        response = aws_call(access, "ec2", "describe_images", **params)
        found.extend(_ami_from_aws(item) for item in response.get("Images", []))
        token = response.get("NextToken")
        if not token:
            return sorted(found, key=lambda ami: (ami.name, ami.image_id))
        params["NextToken"] = token


def ami_get(access: AccountAccess, ami_id: str) -> Ami | None:
    """One AMI the account owns, whatever its state or type; None if it has no such AMI."""
    response = aws_call(
        access,
        "ec2",
        "describe_images",
        Owners=["self"],
        Filters=[{"Name": "image-id", "Values": [ami_id]}],
    )
    images = [_ami_from_aws(item) for item in response.get("Images", [])]
    return next((ami for ami in images if ami.image_id == ami_id), None)


def _image_from_aws(data: dict) -> WorkspaceImage:
    return WorkspaceImage(
        image_id=data.get("ImageId", ""),
        name=data.get("Name", ""),
        state=data.get("State", ""),
        description=data.get("Description") or "",
        operating_system_type=(data.get("OperatingSystem") or {}).get("Type", ""),
        required_tenancy=data.get("RequiredTenancy") or "",
        owner_account_id=data.get("OwnerAccountId") or "",
        created=data.get("Created"),
        error_code=data.get("ErrorCode") or "",
        error_message=data.get("ErrorMessage") or "",
        error_details=tuple(
            ImageErrorDetail(code=d.get("ErrorCode") or "", message=d.get("ErrorMessage") or "")
            for d in data.get("ErrorDetails") or []
        ),
    )


def workspace_image_import(
    access: AccountAccess, *, ami_id: str, ingestion_process: str, name: str, description: str
) -> ImageMade:
    """ImportWorkspaceImage of an AMI, tagged PartnerManaged=true."""
    response = aws_call(
        access,
        "workspaces",
        "import_workspace_image",
        Ec2ImageId=ami_id,
        IngestionProcess=ingestion_process,
        ImageName=name,
        ImageDescription=description,
        Tags=tags_for_create(),
    )
    return ImageMade(image_id=response["ImageId"], request_id=request_id_of(response))


def workspace_image_create(
    access: AccountAccess, *, workspace_id: str, name: str, description: str
) -> ImageMade:
    """CreateWorkspaceImage from an AVAILABLE WorkSpace, tagged PartnerManaged=true."""
    response = aws_call(
        access,
        "workspaces",
        "create_workspace_image",
        WorkspaceId=workspace_id,
        Name=name,
        Description=description,
        Tags=tags_for_create(),
    )
    return ImageMade(image_id=response["ImageId"], request_id=request_id_of(response))


def workspace_image_copy(
    access: AccountAccess, *, source_image_id: str, source_region: str, name: str, description: str = ""
) -> ImageMade:
    """CopyWorkspaceImage into `access.region` (the target) from `source_region`, tagged PartnerManaged=true."""
    params: dict = {
        "Name": name,
        "SourceImageId": source_image_id,
        "SourceRegion": source_region,
        "Tags": tags_for_create(),
    }
    if description:
        params["Description"] = description
    response = aws_call(access, "workspaces", "copy_workspace_image", **params)
    return ImageMade(image_id=response["ImageId"], request_id=request_id_of(response))


def workspace_images_describe(access: AccountAccess, image_ids: Sequence[str]) -> list[WorkspaceImage]:
    """Describe images by id, 25 ids a call."""
    found: list[WorkspaceImage] = []
    for chunk in chunked(list(image_ids), DESCRIBE_IMAGES_IDS_LIMIT):
        response = aws_call(access, "workspaces", "describe_workspace_images", ImageIds=chunk)
        found.extend(_image_from_aws(item) for item in response.get("Images", []))
    return found


def workspace_images_owned(access: AccountAccess) -> Iterator[WorkspaceImage]:
    """Every image the account owns in the region, page by page (25 a page)."""
    params: dict = {"ImageType": "OWNED", "MaxResults": DESCRIBE_IMAGES_PAGE}
    while True:
        response = aws_call(access, "workspaces", "describe_workspace_images", **params)
        yield from (_image_from_aws(item) for item in response.get("Images", []))
        token = response.get("NextToken")
        if not token:
            return
        params["NextToken"] = token


def workspace_image_find(access: AccountAccess, *, name: str) -> WorkspaceImage | None:
    """The owned image named `name` in the region, if AWS has it (names are unique per region)."""
    return next((image for image in workspace_images_owned(access) if image.name == name), None)


def workspace_image_permissions(access: AccountAccess, image_id: str) -> list[str]:
    """The accounts an image is shared with, every page."""
    params: dict = {"ImageId": image_id, "MaxResults": DESCRIBE_PERMISSIONS_PAGE}
    accounts: list[str] = []
    while True:
        response = aws_call(access, "workspaces", "describe_workspace_image_permissions", **params)
        accounts.extend(p["SharedAccountId"] for p in response.get("ImagePermissions", []))
        token = response.get("NextToken")
        if not token:
            return accounts
        params["NextToken"] = token


def workspace_image_permission_update(
    access: AccountAccess, *, image_id: str, account_id: str, allow: bool
) -> str:
    """Share an image with an account (allow) or stop sharing it; returns the request id."""
    response = aws_call(
        access,
        "workspaces",
        "update_workspace_image_permission",
        ImageId=image_id,
        SharedAccountId=account_id,
        AllowCopyImage=allow,
    )
    return request_id_of(response)


def workspace_image_delete(access: AccountAccess, image_id: str) -> str:
    """DeleteWorkspaceImage; returns the request id."""
    return request_id_of(aws_call(access, "workspaces", "delete_workspace_image", ImageId=image_id))


def account_dedicated_tenancy(access: AccountAccess) -> str:
    """DescribeAccount's DedicatedTenancySupport: ENABLED once BYOL is configured, which imports need."""
    response = aws_call(access, "workspaces", "describe_account")
    return response.get("DedicatedTenancySupport") or ""
