"""Directories: RegisterWorkspaceDirectory, DeregisterWorkspaceDirectory, DescribeWorkspaceDirectories
and ModifyWorkspaceCreationProperties, on top of moto's Directory Service and EC2.
"""

from __future__ import annotations

import contextlib
from typing import Any

from moto.ds import ds_backends
from moto.moto_api._internal import mock_random

from simulator import errors
from simulator.backend import SimWorkSpacesBackend
from simulator.entities import RegisteredDirectory, tag_dict
from simulator.operations import policy
from simulator.operations.account import byol_completed
from simulator.operations.context import Handler, RequestContext
from simulator.operations.paging import page_size, paginate
from simulator.state import STATE


def _check_subnets(backend: SimWorkSpacesBackend, subnet_ids: list[str], vpc_id: str) -> None:
    zones = set()
    for subnet_id in subnet_ids:
        try:
            subnet = backend.ec2.get_subnet(subnet_id)
        except Exception as exc:  # moto raises its own InvalidSubnetIdError
            raise errors.invalid_parameter(f"The subnet {subnet_id} could not be found.") from exc
        if subnet.vpc_id != vpc_id:
            raise errors.invalid_parameter(f"The subnet {subnet_id} is not in the directory's VPC {vpc_id}.")
        zones.add(subnet.availability_zone)
    if len(subnet_ids) != 2 or len(zones) != 2:
        raise errors.AwsError(
            "UnsupportedNetworkConfigurationException",
            "WorkSpaces needs two subnets in two different Availability Zones.",
        )


def register_workspace_directory(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    policy.authorize_create(backend, ctx, params.get("Tags"), "directory")
    now = backend.settle()
    directory_id = params.get("DirectoryId")
    if not directory_id:
        raise errors.invalid_parameter("DirectoryId is required for an AWS Directory Service directory.")
    directory = ds_backends[backend.account_id][backend.region_name].directories.get(directory_id)
    if directory is None:
        raise errors.not_found(f"The directory {directory_id} could not be found.")
    if directory_id in backend.sim_directories:
        raise errors.already_exists(f"The directory {directory_id} is already registered.")
    tenancy = params.get("Tenancy") or "SHARED"
    if tenancy == "DEDICATED" and not byol_completed(backend, now):
        raise errors.invalid_parameter(
            "DEDICATED tenancy needs an account enabled for BYOL (ModifyAccount COMPLETED)."
        )
    connector = directory.directory_type == "ADConnector"
    settings = directory.connect_settings if connector else directory.vpc_settings
    assert settings is not None, (
        "moto gives an AD Connector connect settings and other directories VPC settings"
    )
    vpc_id = settings["VpcId"]
    subnet_ids = params.get("SubnetIds") or list(settings["SubnetIds"])
    _check_subnets(backend, subnet_ids, vpc_id)
    security_group_id = backend.create_security_group(directory_id, vpc_id)
    registered = RegisteredDirectory(
        directory_id=directory_id,
        alias=directory.alias,
        name=directory.name,
        directory_type="AD_CONNECTOR" if connector else "SIMPLE_AD",
        registration_code=f"SLiad+{mock_random.get_random_string(length=6).upper()}",
        subnet_ids=subnet_ids,
        dns_ip_addresses=list(directory.dns_ip_addrs or []),
        security_group_id=security_group_id,
        vpc_id=vpc_id,
        tenancy=tenancy,
        registered_at=now,
        ready_at=now + STATE.durations.directory_registration,
        iam_role_arn=f"arn:aws:iam::{backend.account_id}:role/workspaces_DefaultRole",
        enable_self_service=bool(params.get("EnableSelfService")),
        tags=tag_dict(params.get("Tags")),
        creation_properties={
            "EnableInternetAccess": False,
            "UserEnabledAsLocalAdministrator": True,
            "EnableMaintenanceMode": True,
        },
        sequence=backend.next_sequence(),
    )
    backend.sim_directories[directory_id] = registered
    return {"DirectoryId": directory_id, "State": registered.state(now)}


def deregister_workspace_directory(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    backend.settle()
    directory = backend.sim_directories.get(params["DirectoryId"])
    if directory is None:
        raise errors.not_found(f"The directory {params['DirectoryId']} is not registered.")
    policy.authorize_resource(backend, ctx, "directory", directory.directory_id, directory.tags)
    if any(w.directory_id == directory.directory_id for w in backend.live_workspaces()):
        raise errors.invalid_state("The directory still has WorkSpaces; terminate them first.")
    # The customer may have deleted the group already.
    with contextlib.suppress(Exception):
        backend.ec2.delete_security_group(group_id=directory.security_group_id)
    del backend.sim_directories[directory.directory_id]
    return {}


def describe_workspace_directories(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    found = list(backend.sim_directories.values())
    if params.get("DirectoryIds"):
        found = [d for d in found if d.directory_id in params["DirectoryIds"]]
    if params.get("WorkspaceDirectoryNames"):
        found = [d for d in found if d.name in params["WorkspaceDirectoryNames"]]
    page, token = paginate(
        ctx,
        params,
        found,
        key=lambda d: (d.sequence,),
        page_size=page_size(params),
        invalid_token=errors.invalid_parameter,
    )
    return {"Directories": [d.to_dict(now) for d in page], "NextToken": token}


def modify_workspace_creation_properties(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    backend.settle()
    directory = backend.sim_directories.get(params["ResourceId"])
    if directory is None:
        raise errors.not_found(f"The directory {params['ResourceId']} is not registered.")
    policy.authorize_resource(backend, ctx, "directory", directory.directory_id, directory.tags)
    properties = params["WorkspaceCreationProperties"]
    group_id = properties.get("CustomSecurityGroupId")
    if group_id:
        group = backend.ec2.get_security_group_from_id(group_id)
        if group is None:
            raise errors.invalid_parameter(f"The security group {group_id} could not be found.")
        if group.vpc_id != directory.vpc_id:
            raise errors.invalid_parameter(f"The security group {group_id} is not in the directory's VPC.")
    directory.creation_properties.update(properties)
    return {}


OPERATIONS: dict[str, Handler] = {
    "RegisterWorkspaceDirectory": register_workspace_directory,
    "DeregisterWorkspaceDirectory": deregister_workspace_directory,
    "DescribeWorkspaceDirectories": describe_workspace_directories,
    "ModifyWorkspaceCreationProperties": modify_workspace_creation_properties,
}
