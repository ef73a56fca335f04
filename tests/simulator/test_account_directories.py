"""BYOL account setup (R3), directories (R5, R6) and tags."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.simulator.conftest import PARTNER_TAG, admin_credentials, create_desktops, make_client


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"]


@pytest.fixture
def globex(demo_world):
    return demo_world["accounts"][1]


@pytest.fixture
def gws(simulator, globex):
    return make_client("workspaces", simulator.endpoint_url, admin_credentials(globex))


def test_byol_setup_is_once_only(simulator, globex, gws):
    assert gws.describe_account()["DedicatedTenancySupport"] == "DISABLED"
    assert gws.describe_account_modifications()["AccountModifications"] == []
    cidr = gws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="192.168.0.0/16")
    assert cidr["ManagementCidrRanges"] == []  # AWS keeps 192.168/16 for itself
    chosen = gws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="172.16.0.0/12")[
        "ManagementCidrRanges"
    ][0]
    gws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange=chosen)
    [modification] = gws.describe_account_modifications()["AccountModifications"]
    assert modification["ModificationState"] == "PENDING"
    assert modification["DedicatedTenancyManagementCidrRange"] == chosen
    assert (
        error_code(
            gws.modify_account,
            DedicatedTenancySupport="ENABLED",
            DedicatedTenancyManagementCidrRange="172.20.0.0/16",
        )
        == "InvalidResourceStateException"
    )
    simulator.advance(600)
    account = gws.describe_account()
    assert (account["DedicatedTenancySupport"], account["DedicatedTenancyManagementCidrRange"]) == (
        "ENABLED",
        chosen,
    )
    assert gws.describe_account_modifications()["AccountModifications"][0]["ModificationState"] == "COMPLETED"
    assert (
        error_code(
            gws.modify_account,
            DedicatedTenancySupport="ENABLED",
            DedicatedTenancyManagementCidrRange="172.21.0.0/16",
        )
        == "InvalidResourceStateException"
    )


def test_modify_account_refuses_bad_ranges(simulator, globex, gws):
    assert (
        error_code(
            gws.modify_account,
            DedicatedTenancySupport="ENABLED",
            DedicatedTenancyManagementCidrRange="10.20.0.0/16",
        )
        == "InvalidParameterValuesException"
    )  # globex's VPC
    assert (
        error_code(
            gws.modify_account,
            DedicatedTenancySupport="ENABLED",
            DedicatedTenancyManagementCidrRange="8.8.0.0/16",
        )
        == "InvalidParameterValuesException"
    )
    assert (
        error_code(
            gws.modify_account,
            DedicatedTenancySupport="ENABLED",
            DedicatedTenancyManagementCidrRange="10.0.0.0/8",
        )
        == "ValidationException"
    )
    assert (
        error_code(gws.list_available_management_cidr_ranges, ManagementCidrRangeConstraint="10.1.2.0/24")
        == "InvalidParameterValuesException"
    )


def test_modify_account_needs_byol_eligibility_and_may_fail(simulator, globex, gws):
    simulator.update_account(globex["account_id"], byol_eligible=False)
    assert (
        error_code(
            gws.modify_account,
            DedicatedTenancySupport="ENABLED",
            DedicatedTenancyManagementCidrRange="10.99.0.0/16",
        )
        == "AccessDeniedException"
    )
    simulator.update_account(globex["account_id"], byol_eligible=True, modify_account_outcome="FAILED")
    gws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.99.0.0/16")
    simulator.advance(600)
    [failed] = gws.describe_account_modifications()["AccountModifications"]
    assert failed["ModificationState"] == "FAILED"
    assert failed["ErrorCode"]
    simulator.update_account(globex["account_id"], modify_account_outcome="COMPLETED")
    gws.modify_account(
        DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.99.0.0/16"
    )  # a retry is allowed


def test_register_directory_dedicated_needs_byol(simulator, globex, gws):
    assert (
        error_code(gws.register_workspace_directory, DirectoryId=globex["directory_id"], Tenancy="DEDICATED")
        == "InvalidParameterValuesException"
    )
    result = gws.register_workspace_directory(
        DirectoryId=globex["directory_id"], Tenancy="SHARED", Tags=PARTNER_TAG
    )
    assert result["State"] == "REGISTERED"
    [directory] = gws.describe_workspace_directories()["Directories"]
    assert directory["Tenancy"] == "SHARED"
    assert directory["SubnetIds"] == globex["subnet_ids"]
    assert directory["WorkspaceSecurityGroupId"].startswith("sg-")
    assert directory["DirectoryName"] == "corp.globex.example.com"
    assert (
        error_code(gws.register_workspace_directory, DirectoryId=globex["directory_id"])
        == "ResourceAlreadyExistsException"
    )
    assert (
        error_code(gws.register_workspace_directory, DirectoryId="d-0000000000")
        == "ResourceNotFoundException"
    )


def test_register_directory_checks_subnets(simulator, globex, gws):
    one = globex["subnet_ids"][0]
    assert (
        error_code(gws.register_workspace_directory, DirectoryId=globex["directory_id"], SubnetIds=[one, one])
        == "UnsupportedNetworkConfigurationException"
    )
    assert (
        error_code(
            gws.register_workspace_directory,
            DirectoryId=globex["directory_id"],
            SubnetIds=[one, "subnet-12345678"],
        )
        == "InvalidParameterValuesException"
    )


def test_directory_registration_delay(simulator, globex, gws):
    simulator.set_durations(directory_registration=30)
    assert gws.register_workspace_directory(DirectoryId=globex["directory_id"])["State"] == "REGISTERING"
    simulator.advance(30)
    assert gws.describe_workspace_directories()["Directories"][0]["State"] == "REGISTERED"


@pytest.mark.slow
def test_creation_properties_and_security_group(simulator, acme, ws):
    ec2 = make_client("ec2", simulator.endpoint_url, admin_credentials(acme))
    group = ec2.create_security_group(
        GroupName="rdp", Description="RDP from the gateway", VpcId=acme["vpc_id"]
    )["GroupId"]
    ws.modify_workspace_creation_properties(
        ResourceId=acme["directory_id"],
        WorkspaceCreationProperties={"CustomSecurityGroupId": group, "EnableMaintenanceMode": False},
    )
    [directory] = ws.describe_workspace_directories(DirectoryIds=[acme["directory_id"]])["Directories"]
    assert directory["WorkspaceCreationProperties"]["CustomSecurityGroupId"] == group
    assert directory["WorkspaceCreationProperties"]["EnableMaintenanceMode"] is False
    assert (
        error_code(
            ws.modify_workspace_creation_properties,
            ResourceId=acme["directory_id"],
            WorkspaceCreationProperties={"CustomSecurityGroupId": "sg-12345678"},
        )
        == "InvalidParameterValuesException"
    )
    assert (
        error_code(
            ws.modify_workspace_creation_properties,
            ResourceId="d-0000000000",
            WorkspaceCreationProperties={"EnableInternetAccess": True},
        )
        == "ResourceNotFoundException"
    )


def test_deregister_directory(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    assert (
        error_code(ws.deregister_workspace_directory, DirectoryId=acme["directory_id"])
        == "InvalidResourceStateException"
    )
    ws.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": workspace_id}])
    ws.deregister_workspace_directory(DirectoryId=acme["directory_id"])
    assert ws.describe_workspace_directories()["Directories"] == []
    assert (
        error_code(ws.deregister_workspace_directory, DirectoryId=acme["directory_id"])
        == "ResourceNotFoundException"
    )


def test_tags_on_every_resource_kind(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    for resource_id in (workspace_id, acme["image_id"], acme["bundle_id"], acme["directory_id"]):
        ws.create_tags(ResourceId=resource_id, Tags=[{"Key": "CostCenter", "Value": "42"}])
        tags = {t["Key"]: t["Value"] for t in ws.describe_tags(ResourceId=resource_id)["TagList"]}
        assert tags == {"PartnerManaged": "true", "CostCenter": "42"}
        ws.delete_tags(ResourceId=resource_id, TagKeys=["CostCenter"])
        assert ws.describe_tags(ResourceId=resource_id)["TagList"] == [
            {"Key": "PartnerManaged", "Value": "true"}
        ]
    assert error_code(ws.describe_tags, ResourceId="ws-unknown123") == "ResourceNotFoundException"
    assert (
        error_code(ws.create_tags, ResourceId=workspace_id, Tags=[{"Key": "aws:reserved", "Value": "x"}])
        == "InvalidParameterValuesException"
    )
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    assert error_code(ws.create_tags, ResourceId=workspace_id, Tags=many) == "ResourceLimitExceededException"
