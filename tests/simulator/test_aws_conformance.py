"""Points where the simulator differed from the botocore service model, AWS's documented behaviour or
moto's own WorkSpaces tests, each fixed and pinned here.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from simulator.model import service_model
from tests.simulator.conftest import PARTNER_TAG, create_desktops, make_client


def code_of(call, **kwargs) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"]


def test_a_second_live_workspace_with_the_same_name_is_accepted(simulator, acme, ws):
    """AWS documents no unique WorkspaceName: a duplicate must be visible, not refused."""
    request = {
        "DirectoryId": acme["directory_id"],
        "UserName": "[UNDEFINED]",
        "BundleId": acme["bundle_id"],
        "WorkspaceName": "pool-7",
        "Tags": PARTNER_TAG,
    }
    first = ws.create_workspaces(Workspaces=[request])
    again = ws.create_workspaces(Workspaces=[request])
    assert first["FailedRequests"] == again["FailedRequests"] == []
    named = [w for w in ws.describe_workspaces()["Workspaces"] if w["WorkspaceName"] == "pool-7"]
    assert len(named) == 2
    assert len({w["WorkspaceId"] for w in named}) == 2


def test_unique_names_are_a_switch_for_tests_off_by_default(simulator, acme, ws):
    assert simulator.account(acme["account_id"])["unique_workspace_names"] is False
    simulator.update_account(acme["account_id"], unique_workspace_names=True)
    request = {
        "DirectoryId": acme["directory_id"],
        "UserName": "[UNDEFINED]",
        "BundleId": acme["bundle_id"],
        "WorkspaceName": "pool-8",
    }
    assert ws.create_workspaces(Workspaces=[request])["FailedRequests"] == []
    [failed] = ws.create_workspaces(Workspaces=[request])["FailedRequests"]
    assert failed["ErrorCode"] == "ResourceAlreadyExistsException"


def test_directory_user_names_are_case_insensitive(simulator, acme, ws):
    create_desktops(ws, acme, 1, prefix="cli")  # user cli0
    base = {"DirectoryId": acme["directory_id"], "BundleId": acme["bundle_id"]}
    result = ws.create_workspaces(Workspaces=[{**base, "UserName": "CLI0"}, {**base, "UserName": "Cli0"}])
    assert [f["ErrorCode"] for f in result["FailedRequests"]] == ["ResourceAlreadyExistsException"] * 2
    assert result["PendingRequests"] == []
    [found] = ws.describe_workspaces(DirectoryId=acme["directory_id"], UserName="CLI0")["Workspaces"]
    assert found["UserName"] == "cli0"
    # The same user in another directory is another person's desktop as far as this rule goes.
    globex_like = ws.create_workspaces(Workspaces=[{**base, "UserName": "cli1"}])
    assert globex_like["FailedRequests"] == []


@pytest.mark.parametrize("mode", ["ALWAYS_ON", "MANUAL"])
def test_an_auto_stop_timeout_is_refused_outside_auto_stop(simulator, acme, ws, mode):
    request = {
        "DirectoryId": acme["directory_id"],
        "UserName": "alice",
        "BundleId": acme["bundle_id"],
        "WorkspaceProperties": {"RunningMode": mode, "RunningModeAutoStopTimeoutInMinutes": 60},
    }
    [failed] = ws.create_workspaces(Workspaces=[request])["FailedRequests"]
    assert failed["ErrorCode"] == "InvalidParameterValuesException"
    assert "RunningModeAutoStopTimeoutInMinutes" in failed["ErrorMessage"]
    assert ws.describe_workspaces()["Workspaces"] == []

    [workspace_id] = create_desktops(ws, acme, 1)
    simulator.advance(1200)
    changes = {"RunningMode": mode, "RunningModeAutoStopTimeoutInMinutes": 120}
    assert (
        code_of(ws.modify_workspace_properties, WorkspaceId=workspace_id, WorkspaceProperties=changes)
        == "InvalidParameterValuesException"
    )
    [described] = ws.describe_workspaces(WorkspaceIds=[workspace_id])["Workspaces"]
    assert "RunningModeAutoStopTimeoutInMinutes" not in described["WorkspaceProperties"]
    assert described["WorkspaceProperties"]["RunningMode"] == "MANUAL"


def test_directories_carry_access_saml_and_certificate_properties(simulator, acme, ws):
    [directory] = ws.describe_workspace_directories()["Directories"]
    access = directory["WorkspaceAccessProperties"]
    devices = set(service_model().shape_for("WorkspaceAccessProperties").members) - {"AccessEndpointConfig"}
    assert set(access) == devices
    assert access["DeviceTypeWindows"] == access["DeviceTypeOsx"] == "ALLOW"
    assert access["DeviceTypeWeb"] == access["DeviceTypeLinux"] == "DENY"
    assert directory["SamlProperties"]["Status"] == "DISABLED"
    assert directory["CertificateBasedAuthProperties"] == {"Status": "DISABLED"}


def test_amazon_public_bundles_can_be_listed_and_used(simulator, acme, ws):
    amazon = ws.describe_workspace_bundles(Owner="AMAZON")["Bundles"]
    by_id = {b["BundleId"]: b for b in amazon}
    assert len(amazon) >= 5
    value = by_id["wsb-bh8rsxt14"]  # the bundle moto's own WorkSpaces tests create WorkSpaces with
    assert (value["Owner"], value["ComputeType"]["Name"]) == ("Amazon", "VALUE")
    assert (value["RootStorage"]["Capacity"], value["UserStorage"]["Capacity"]) == ("80", "10")
    assert {b["ComputeType"]["Name"] for b in amazon} >= {"VALUE", "STANDARD", "PERFORMANCE"}
    assert ws.describe_workspace_bundles(BundleIds=["wsb-bh8rsxt14"])["Bundles"] == [value]
    assert ws.describe_workspace_bundles()["Bundles"][0]["BundleId"] == acme["bundle_id"]  # own only
    # moto's tests create a WorkSpace with it in a SHARED directory.
    ws.deregister_workspace_directory(DirectoryId=acme["directory_id"])
    ws.register_workspace_directory(DirectoryId=acme["directory_id"], Tenancy="SHARED")
    result = ws.create_workspaces(
        Workspaces=[
            {"DirectoryId": acme["directory_id"], "UserName": "Administrator", "BundleId": "wsb-bh8rsxt14"}
        ]
    )
    assert result["FailedRequests"] == []
    assert result["PendingRequests"][0]["WorkspaceProperties"]["ComputeTypeName"] == "VALUE"


def test_moto_reset_also_forgets_the_simulator_accounts(simulator, acme, ws):
    create_desktops(ws, acme, 2)
    simulator.set_faults(throttle_rate=0.5)
    assert [a["account_id"] for a in simulator.accounts()] == ["111111111111", "222222222222"]
    reset_url = f"{simulator.endpoint_url}/moto-api/reset"
    request = urllib.request.Request(reset_url, data=b"", method="POST")  # noqa: S310 - the local simulator
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert json.loads(response.read()) == {"status": "ok"}
    assert simulator.accounts() == []
    assert simulator.faults()["throttle_rate"] == 0.0
    assert simulator.credentials() == []
    # The account's resources are gone too, and its id is a plain (unregistered) account again.
    assert simulator.account(acme["account_id"])["registered"] is False
    default_ws = make_client("workspaces", simulator.endpoint_url)
    assert default_ws.describe_workspaces()["Workspaces"] == []
