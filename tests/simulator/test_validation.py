"""Server-side validation from the botocore model: list limits, patterns, enums, ranges."""

from __future__ import annotations

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from simulator.model import service_model
from simulator.operations import OPERATIONS
from tests.simulator.conftest import make_client

SEED_OPERATIONS = [
    "CreateTags",
    "DescribeAccount",
    "DescribeAccountModifications",
    "ImportWorkspaceImage",
    "ModifyAccount",
    "ListAvailableManagementCidrRanges",
    "RegisterWorkspaceDirectory",
    "CopyWorkspaceImage",
    "CreateWorkspaceImage",
    "DescribeTags",
    "DescribeWorkspaceBundles",
    "DescribeWorkspaceDirectories",
    "DescribeWorkspaceImagePermissions",
    "DescribeWorkspaceImages",
    "DescribeWorkspaces",
    "DescribeWorkspaceSnapshots",
    "MigrateWorkspace",
    "ModifyWorkspaceCreationProperties",
    "ModifyWorkspaceProperties",
    "ModifyWorkspaceState",
    "RebootWorkspaces",
    "RebuildWorkspaces",
    "RestoreWorkspace",
    "StartWorkspaces",
    "StopWorkspaces",
    "UpdateWorkspaceBundle",
    "UpdateWorkspaceImagePermission",
    "DeleteTags",
    "DeleteWorkspaceBundle",
    "DeleteWorkspaceImage",
    "DeregisterWorkspaceDirectory",
    "TerminateWorkspaces",
    "CreateWorkspaceBundle",
    "CreateWorkspaces",
    "DescribeWorkspacesConnectionStatus",
]

WS_ID = "ws-abcdefgh1"


def error_of(call, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value


def test_every_seed_operation_is_implemented_and_in_the_model():
    assert set(SEED_OPERATIONS) <= set(OPERATIONS)
    assert set(OPERATIONS) <= set(service_model().operation_names)


def test_26_workspaces_in_one_create_is_a_validation_error(simulator, default_ws):
    requests = [
        {"DirectoryId": "d-1234567890", "UserName": f"u{i}", "BundleId": "wsb-abcdefgh1"} for i in range(26)
    ]
    error = error_of(default_ws.create_workspaces, Workspaces=requests)
    assert error.response["Error"]["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 25" in error.response["Error"]["Message"]
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("start_workspaces", {"StartWorkspaceRequests": [{"WorkspaceId": WS_ID}] * 26}),
        ("stop_workspaces", {"StopWorkspaceRequests": [{"WorkspaceId": WS_ID}] * 26}),
        ("reboot_workspaces", {"RebootWorkspaceRequests": [{"WorkspaceId": WS_ID}] * 26}),
        ("terminate_workspaces", {"TerminateWorkspaceRequests": [{"WorkspaceId": WS_ID}] * 26}),
        ("rebuild_workspaces", {"RebuildWorkspaceRequests": [{"WorkspaceId": WS_ID}] * 2}),
        ("describe_workspaces", {"WorkspaceIds": [WS_ID] * 26}),
        ("describe_workspaces", {"Limit": 26}),
        ("describe_workspaces_connection_status", {"WorkspaceIds": [WS_ID] * 26}),
        ("describe_workspace_images", {"MaxResults": 26}),
        ("describe_workspace_images", {"ImageIds": ["wsi-abcdefgh1"] * 26}),
        ("describe_workspace_bundles", {"BundleIds": ["wsb-abcdefgh1"] * 26}),
        ("describe_workspace_directories", {"DirectoryIds": ["d-1234567890"] * 26}),
        ("describe_workspace_directories", {"Limit": 26}),
        ("describe_workspace_image_permissions", {"ImageId": "wsi-abcdefgh1", "MaxResults": 26}),
        (
            "list_available_management_cidr_ranges",
            {"ManagementCidrRangeConstraint": "10.0.0.0/8", "MaxResults": 6},
        ),
        (
            "register_workspace_directory",
            {"DirectoryId": "d-1234567890", "SubnetIds": ["subnet-12345678"] * 3},
        ),
        (
            "import_workspace_image",
            {
                "Ec2ImageId": "ami-12345678",
                "IngestionProcess": "BYOL_REGULAR_BYOP",
                "ImageName": "n",
                "ImageDescription": "d",
                "Applications": ["Microsoft_Office_2016"] * 6,
            },
        ),
    ],
)
def test_model_maxima_are_enforced(simulator, default_ws, method, kwargs):
    error = error_of(getattr(default_ws, method), **kwargs)
    assert error.response["Error"]["Code"] == "ValidationException"
    assert "failed to satisfy constraint" in error.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("method", "kwargs", "fragment"),
    [
        ("describe_workspaces", {"WorkspaceIds": ["i-notaworkspace"]}, "regular expression pattern"),
        ("describe_workspaces", {"DirectoryId": "d-XYZ0000000"}, "regular expression pattern"),
        ("restore_workspace", {"WorkspaceId": "ws-UPPER1234"}, "regular expression pattern"),
        (
            "import_workspace_image",
            {
                "Ec2ImageId": "ami-12345678",
                "IngestionProcess": "BYOL_REGULAR_BYOP",
                "ImageName": "bad name with spaces!",
                "ImageDescription": "d",
            },
            "regular expression pattern",
        ),
        (
            "modify_account",
            {"DedicatedTenancySupport": "ENABLED", "DedicatedTenancyManagementCidrRange": "10.1.0.0/24"},
            "pattern",
        ),
        (
            "create_workspaces",
            {
                "Workspaces": [
                    {
                        "DirectoryId": "d-1234567890",
                        "UserName": "u",
                        "BundleId": "wsb-abcdefgh1",
                        "WorkspaceProperties": {"RunningMode": "SOMETIMES"},
                    }
                ]
            },
            "enum value set",
        ),
        ("modify_workspace_state", {"WorkspaceId": WS_ID, "WorkspaceState": "STOPPED"}, "enum value set"),
    ],
)
def test_patterns_and_enums_are_enforced(simulator, default_ws, method, kwargs, fragment):
    error = error_of(getattr(default_ws, method), **kwargs)
    assert error.response["Error"]["Code"] == "ValidationException"
    assert fragment in error.response["Error"]["Message"]


def test_minimum_lengths_and_required_members_are_enforced_server_side(simulator):
    # botocore checks these on the client; switch that off to reach the server as another SDK would.
    client = make_client(
        "workspaces",
        simulator.endpoint_url,
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
    )
    error = error_of(client.create_workspaces, Workspaces=[])
    assert "greater than or equal to 1" in error.response["Error"]["Message"]
    error = error_of(client.create_workspaces, Workspaces=[{"UserName": "u", "BundleId": "wsb-abcdefgh1"}])
    assert "Member must not be null" in error.response["Error"]["Message"]
    assert "workspaces.1.member.directoryId" in error.response["Error"]["Message"]
    error = error_of(client.describe_workspaces, Limit=0)
    assert error.response["Error"]["Code"] == "ValidationException"


def test_several_violations_are_listed_together(simulator, default_ws):
    error = error_of(default_ws.describe_workspaces, WorkspaceIds=["bad"], Limit=99)
    assert error.response["Error"]["Message"].startswith("2 validation errors detected")


def test_describe_workspaces_filters_cannot_be_combined(simulator, default_ws):
    error = error_of(default_ws.describe_workspaces, DirectoryId="d-1234567890", BundleId="wsb-abcdefgh1")
    assert error.response["Error"]["Code"] == "InvalidParameterValuesException"
    error = error_of(default_ws.describe_workspaces, UserName="alice")
    assert error.response["Error"]["Code"] == "InvalidParameterValuesException"


def test_unimplemented_operation_says_so(simulator, default_ws):
    error = error_of(default_ws.describe_ip_groups)
    assert error.response["Error"]["Code"] == "NotImplemented"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 501
