"""Paging at the model's page sizes with NextToken."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.simulator.conftest import admin_credentials, create_desktops, make_client


def test_describe_workspaces_returns_at_most_25_per_page(simulator, acme, ws):
    created = create_desktops(ws, acme, 60)
    assert simulator.call_counts()["CreateWorkspaces"] == 3  # ceil(60 / 25)
    first = ws.describe_workspaces()
    assert len(first["Workspaces"]) == 25
    second = ws.describe_workspaces(NextToken=first["NextToken"])
    third = ws.describe_workspaces(NextToken=second["NextToken"])
    assert len(second["Workspaces"]) == 25
    assert len(third["Workspaces"]) == 10
    assert "NextToken" not in third
    seen = [w["WorkspaceId"] for page in (first, second, third) for w in page["Workspaces"]]
    assert seen == created


def test_limit_and_paginator(simulator, acme, ws):
    create_desktops(ws, acme, 12)
    page = ws.describe_workspaces(Limit=5)
    assert len(page["Workspaces"]) == 5
    pages = list(ws.get_paginator("describe_workspaces").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["Workspaces"]) for p in pages] == [5, 5, 2]


def test_a_token_belongs_to_its_query(simulator, acme, ws):
    create_desktops(ws, acme, 30)
    token = ws.describe_workspaces()["NextToken"]
    with pytest.raises(ClientError) as raised:
        ws.describe_workspaces(DirectoryId=acme["directory_id"], NextToken=token)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValuesException"
    with pytest.raises(ClientError) as raised:
        ws.describe_workspaces(NextToken="garbage")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValuesException"


def test_connection_status_pages_by_25(simulator, acme, ws):
    create_desktops(ws, acme, 30)
    first = ws.describe_workspaces_connection_status()
    assert len(first["WorkspacesConnectionStatus"]) == 25
    rest = ws.describe_workspaces_connection_status(NextToken=first["NextToken"])
    assert len(rest["WorkspacesConnectionStatus"]) == 5


def test_management_cidr_ranges_page_by_max_results(simulator, acme, ws):
    first = ws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="10.0.0.0/8")
    assert len(first["ManagementCidrRanges"]) == 5
    ranges = [
        cidr
        for page in ws.get_paginator("list_available_management_cidr_ranges").paginate(
            ManagementCidrRangeConstraint="10.0.0.0/8", PaginationConfig={"PageSize": 5}
        )
        for cidr in page["ManagementCidrRanges"]
    ]
    assert all(cidr.endswith("/16") for cidr in ranges)
    assert "10.10.0.0/16" not in ranges  # acme's VPC
    assert acme["management_cidr"] not in ranges  # in use once configured
    assert len(ranges) == 256 - 2  # globex's VPC is in another account


def test_images_and_bundles_and_directories_page(simulator, acme, ws):
    for index in range(27):
        ws.copy_workspace_image(
            Name=f"copy-{index}", SourceImageId=acme["image_id"], SourceRegion="us-east-1"
        )
    pages = list(ws.get_paginator("describe_workspace_images").paginate())
    assert [len(p["Images"]) for p in pages] == [25, 3]
    assert len(ws.describe_workspace_images(MaxResults=10)["Images"]) == 10
    for index in range(26):
        ws.create_workspace_bundle(
            BundleName=f"b{index}",
            BundleDescription="d",
            ImageId=acme["image_id"],
            ComputeType={"Name": "STANDARD"},
            UserStorage={"Capacity": "50"},
        )
    pages = list(ws.get_paginator("describe_workspace_bundles").paginate())
    assert [len(p["Bundles"]) for p in pages] == [25, 2]
    assert len(ws.describe_workspace_directories(Limit=1)["Directories"]) == 1


def test_items_that_drop_out_between_pages_do_not_hide_live_ones(simulator, acme, ws):
    """A token points after the last item it returned, not at a position."""
    created = create_desktops(ws, acme, 8)
    simulator.advance(1200)
    first = ws.describe_workspaces(Limit=4)
    assert [w["WorkspaceId"] for w in first["Workspaces"]] == created[:4]
    # The first page's WorkSpaces are terminated and drop out of Describe before the next page is read.
    ws.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": i} for i in created[:4]])
    simulator.advance(300 + 3600)
    rest = ws.describe_workspaces(Limit=4, NextToken=first["NextToken"])
    assert [w["WorkspaceId"] for w in rest["Workspaces"]] == created[4:]
    assert "NextToken" not in rest


def test_items_made_between_pages_appear_once(simulator, acme, ws):
    created = create_desktops(ws, acme, 6)
    first = ws.describe_workspaces(Limit=3)
    more = create_desktops(ws, acme, 2, prefix="late")
    seen = [w["WorkspaceId"] for w in first["Workspaces"]]
    token = first.get("NextToken")
    while token:
        page = ws.describe_workspaces(Limit=3, NextToken=token)
        seen.extend(w["WorkspaceId"] for w in page["Workspaces"])
        token = page.get("NextToken")
    assert seen == created + more


def test_a_token_belongs_to_its_account(simulator, demo_world_ready):
    acme, globex = demo_world_ready["accounts"]
    acme_ws = make_client("workspaces", simulator.endpoint_url, admin_credentials(acme))
    globex_ws = make_client("workspaces", simulator.endpoint_url, admin_credentials(globex))
    create_desktops(acme_ws, acme, 30)
    create_desktops(globex_ws, globex, 30)
    token = acme_ws.describe_workspaces()["NextToken"]
    with pytest.raises(ClientError) as raised:
        globex_ws.describe_workspaces(NextToken=token)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValuesException"
    assert len(acme_ws.describe_workspaces(NextToken=token)["Workspaces"]) == 5


def test_a_token_cannot_be_edited_or_used_for_another_operation(simulator, acme, ws):
    create_desktops(ws, acme, 30)
    token = ws.describe_workspaces()["NextToken"]
    payload, _, signature = token.partition(".")
    edited = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    for bad in (edited, payload, token + "0"):
        with pytest.raises(ClientError) as raised:
            ws.describe_workspaces(NextToken=bad)
        assert raised.value.response["Error"]["Code"] == "InvalidParameterValuesException"
    with pytest.raises(ClientError) as raised:
        ws.describe_workspaces_connection_status(NextToken=token)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValuesException"
