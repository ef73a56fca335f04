"""WorkSpaces directories (R5, R6, R10) and the Directory Service directories that could be registered."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .calls import aws_call, chunked, request_id_of
from .tagguard import tags_for_create
from .types import AccountAccess

DESCRIBE_DIRECTORIES_LIMIT = 25
REGISTER_SUBNETS_LIMIT = 2


@dataclass(frozen=True)
class WorkspaceDirectory:
    """A directory registered with WorkSpaces, as DescribeWorkspaceDirectories reports it."""

    directory_id: str
    state: str
    name: str = ""
    alias: str = ""
    directory_type: str = ""
    tenancy: str = ""
    subnet_ids: tuple[str, ...] = ()
    registration_code: str = ""
    workspace_security_group_id: str = ""
    custom_security_group_id: str = ""
    maintenance_mode_enabled: bool | None = None


@dataclass(frozen=True)
class ServiceDirectory:
    """A Directory Service directory (ds:DescribeDirectories): a candidate for registration."""

    directory_id: str
    name: str
    directory_type: str
    stage: str
    vpc_id: str = ""
    subnet_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class DirectoryRegistration:
    """What RegisterWorkspaceDirectory answered: the state it started in, and its request id."""

    directory_id: str
    state: str
    request_id: str


def _directory_from_aws(data: dict) -> WorkspaceDirectory:
    properties = data.get("WorkspaceCreationProperties") or {}
    return WorkspaceDirectory(
        directory_id=data.get("DirectoryId", ""),
        state=data.get("State", ""),
        name=data.get("DirectoryName", ""),
        alias=data.get("Alias", ""),
        directory_type=data.get("DirectoryType", ""),
        tenancy=data.get("Tenancy", ""),
        subnet_ids=tuple(data.get("SubnetIds") or ()),
        registration_code=data.get("RegistrationCode", ""),
        workspace_security_group_id=data.get("WorkspaceSecurityGroupId", ""),
        custom_security_group_id=properties.get("CustomSecurityGroupId", ""),
        maintenance_mode_enabled=properties.get("EnableMaintenanceMode"),
    )


def directories_list(access: AccountAccess) -> Iterator[WorkspaceDirectory]:
    """Every directory registered with WorkSpaces in the account and region, 25 a page."""
    params: dict = {"Limit": DESCRIBE_DIRECTORIES_LIMIT}
    while True:
        response = aws_call(access, "workspaces", "describe_workspace_directories", **params)
        yield from (_directory_from_aws(item) for item in response.get("Directories", []))
        token = response.get("NextToken")
        if not token:
            return
        params["NextToken"] = token


def directories_describe(access: AccountAccess, directory_ids: Sequence[str]) -> list[WorkspaceDirectory]:
    """Registered directories by id, 25 ids a call; ids WorkSpaces does not know are simply absent."""
    found: list[WorkspaceDirectory] = []
    for chunk in chunked(list(directory_ids), DESCRIBE_DIRECTORIES_LIMIT):
        params: dict = {"DirectoryIds": chunk, "Limit": DESCRIBE_DIRECTORIES_LIMIT}
        while True:
            response = aws_call(access, "workspaces", "describe_workspace_directories", **params)
            found.extend(_directory_from_aws(item) for item in response.get("Directories", []))
            token = response.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
    return found


def service_directories_list(access: AccountAccess) -> list[ServiceDirectory]:
    """The account's Directory Service directories (registered with WorkSpaces or not), all pages."""
    found: list[ServiceDirectory] = []
    params: dict = {}
    while True:
        response = aws_call(access, "ds", "describe_directories", **params)
        for item in response.get("DirectoryDescriptions", []):
            network = item.get("VpcSettings") or item.get("ConnectSettings") or {}
            found.append(
                ServiceDirectory(
                    directory_id=item.get("DirectoryId", ""),
                    name=item.get("Name", ""),
                    directory_type=item.get("Type", ""),
                    stage=item.get("Stage", ""),
                    vpc_id=network.get("VpcId", ""),
                    subnet_ids=tuple(network.get("SubnetIds") or ()),
                    availability_zones=tuple(network.get("AvailabilityZones") or ()),
                )
            )
        token = response.get("NextToken")
        if not token:
            return found
        params["NextToken"] = token


def directory_register(
    access: AccountAccess, *, directory_id: str, subnet_ids: Sequence[str], tenancy: str
) -> DirectoryRegistration:
    """RegisterWorkspaceDirectory with the tenancy given and PartnerManaged=true; no subnets: the directory's."""
    if len(subnet_ids) > REGISTER_SUBNETS_LIMIT:
        raise ValueError(f"RegisterWorkspaceDirectory takes at most {REGISTER_SUBNETS_LIMIT} subnets")
    params: dict = {"DirectoryId": directory_id, "Tenancy": tenancy, "Tags": tags_for_create()}
    if subnet_ids:
        params["SubnetIds"] = list(subnet_ids)
    response = aws_call(access, "workspaces", "register_workspace_directory", **params)
    return DirectoryRegistration(
        directory_id=response.get("DirectoryId", directory_id),
        state=response.get("State", ""),
        request_id=request_id_of(response),
    )


def directory_deregister(access: AccountAccess, directory_id: str) -> str:
    """DeregisterWorkspaceDirectory; returns the request id."""
    response = aws_call(access, "workspaces", "deregister_workspace_directory", DirectoryId=directory_id)
    return request_id_of(response)


def directory_modify_creation_properties(
    access: AccountAccess,
    directory_id: str,
    *,
    custom_security_group_id: str | None = None,
    enable_maintenance_mode: bool | None = None,
) -> str:
    """ModifyWorkspaceCreationProperties with only the properties given; returns the request id."""
    properties: dict = {}
    if custom_security_group_id is not None:
        properties["CustomSecurityGroupId"] = custom_security_group_id
    if enable_maintenance_mode is not None:
        properties["EnableMaintenanceMode"] = enable_maintenance_mode
    if not properties:
        raise ValueError("ModifyWorkspaceCreationProperties needs at least one property")
    response = aws_call(
        access,
        "workspaces",
        "modify_workspace_creation_properties",
        ResourceId=directory_id,
        WorkspaceCreationProperties=properties,
    )
    return request_id_of(response)
