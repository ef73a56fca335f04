"""WorkSpaces through time: creation, power operations, rebuild/restore, termination, the 48 h idle stop."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.simulator.conftest import PARTNER_TAG, create_desktops, states


def test_create_is_pending_then_available_after_the_provisioning_delay(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    [described] = ws.describe_workspaces(WorkspaceIds=[workspace_id])["Workspaces"]
    assert described["State"] == "PENDING"
    assert "IpAddress" not in described
    simulator.advance(1199)
    assert states(ws, [workspace_id]) == ["PENDING"]
    simulator.advance(1)
    [described] = ws.describe_workspaces(WorkspaceIds=[workspace_id])["Workspaces"]
    assert described["State"] == "AVAILABLE"
    assert described["IpAddress"].startswith("10.10.")
    assert described["SubnetId"] in acme["subnet_ids"]
    assert described["WorkspaceProperties"] == {
        "RunningMode": "MANUAL",
        "RootVolumeSizeGib": 80,
        "UserVolumeSizeGib": 50,
        "ComputeTypeName": "STANDARD",
    }


def test_durations_are_configurable(simulator, acme, ws):
    simulator.set_durations(provisioning=60)
    [workspace_id] = create_desktops(ws, acme, 1)
    simulator.advance(60)
    assert states(ws, [workspace_id]) == ["AVAILABLE"]


def test_time_scale_speeds_up_transitions(simulator, acme, ws):
    simulator.set_durations(provisioning=30)
    simulator.set_time_scale(3600)  # one wall millisecond is 3.6 simulated seconds
    [workspace_id] = create_desktops(ws, acme, 1)
    import time

    deadline = time.monotonic() + 5
    while states(ws, [workspace_id]) != ["AVAILABLE"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert states(ws, [workspace_id]) == ["AVAILABLE"]


def test_stop_start_reboot_rebuild_restore_terminate(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    simulator.advance(1200)
    steps = [
        (
            ws.stop_workspaces,
            {"StopWorkspaceRequests": [{"WorkspaceId": workspace_id}]},
            "STOPPING",
            "STOPPED",
            60,
        ),
        (
            ws.start_workspaces,
            {"StartWorkspaceRequests": [{"WorkspaceId": workspace_id}]},
            "STARTING",
            "AVAILABLE",
            90,
        ),
        (
            ws.reboot_workspaces,
            {"RebootWorkspaceRequests": [{"WorkspaceId": workspace_id}]},
            "REBOOTING",
            "AVAILABLE",
            120,
        ),
        (
            ws.rebuild_workspaces,
            {"RebuildWorkspaceRequests": [{"WorkspaceId": workspace_id}]},
            "REBUILDING",
            "AVAILABLE",
            1800,
        ),
        (ws.restore_workspace, {"WorkspaceId": workspace_id}, "RESTORING", "AVAILABLE", 900),
        (
            ws.terminate_workspaces,
            {"TerminateWorkspaceRequests": [{"WorkspaceId": workspace_id}]},
            "TERMINATING",
            "TERMINATED",
            300,
        ),
    ]
    for call, kwargs, during, after, duration in steps:
        result = call(**kwargs)
        assert result.get("FailedRequests", []) == []
        assert states(ws, [workspace_id]) == [during]
        simulator.advance(duration)
        assert states(ws, [workspace_id]) == [after]
    simulator.advance(3600)  # terminated WorkSpaces drop out of Describe after a while
    assert states(ws, [workspace_id]) == ["GONE"]


def test_power_operations_in_the_wrong_state_fail_per_item(simulator, acme, ws):
    ids = create_desktops(ws, acme, 2)
    simulator.advance(1200)
    ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": ids[0]}])
    result = ws.start_workspaces(StartWorkspaceRequests=[{"WorkspaceId": i} for i in ids])
    # ids[0] is STOPPING (in transition), ids[1] is AVAILABLE: neither can start.
    assert [f["ErrorCode"] for f in result["FailedRequests"]] == ["InvalidResourceStateException"] * 2
    result = ws.stop_workspaces(
        StopWorkspaceRequests=[{"WorkspaceId": ids[1]}, {"WorkspaceId": "ws-unknown123"}]
    )
    assert result["FailedRequests"] == [
        {
            "WorkspaceId": "ws-unknown123",
            "ErrorCode": "ResourceNotFoundException",
            "ErrorMessage": "The WorkSpace ws-unknown123 could not be found.",
        }
    ]


def test_always_on_workspaces_cannot_be_stopped(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1, WorkspaceProperties={"RunningMode": "ALWAYS_ON"})
    simulator.advance(1200)
    result = ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": workspace_id}])
    assert result["FailedRequests"][0]["ErrorCode"] == "OperationNotSupportedException"


def test_terminate_twice_is_accepted(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    for _ in range(2):
        result = ws.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": workspace_id}])
        assert result["FailedRequests"] == []


def test_manual_workspace_left_available_48_hours_is_stopped(simulator, acme, ws):
    manual, always_on = (
        create_desktops(ws, acme, 1)[0],
        create_desktops(ws, acme, 1, prefix="on", WorkspaceProperties={"RunningMode": "ALWAYS_ON"})[0],
    )
    simulator.advance(1200)
    simulator.advance(48 * 3600 - 1)
    assert states(ws, [manual, always_on]) == ["AVAILABLE", "AVAILABLE"]
    simulator.advance(1)
    assert states(ws, [manual, always_on]) == ["STOPPING", "AVAILABLE"]
    simulator.advance(60)
    assert states(ws, [manual, always_on]) == ["STOPPED", "AVAILABLE"]
    assert simulator.workspace(manual)["AutoStoppedAt"] is not None


def test_auto_stop_is_refused_on_create_and_modify(simulator, acme, ws):
    request = {
        "DirectoryId": acme["directory_id"],
        "UserName": "alice",
        "BundleId": acme["bundle_id"],
        "WorkspaceProperties": {"RunningMode": "AUTO_STOP"},
    }
    result = ws.create_workspaces(Workspaces=[request])
    assert result["PendingRequests"] == []
    [failed] = result["FailedRequests"]
    assert failed["ErrorCode"] == "UnsupportedWorkspaceConfigurationException"
    assert failed["WorkspaceRequest"]["UserName"] == "alice"

    [workspace_id] = create_desktops(ws, acme, 1)
    simulator.advance(1200)
    with pytest.raises(ClientError) as raised:
        ws.modify_workspace_properties(
            WorkspaceId=workspace_id, WorkspaceProperties={"RunningMode": "AUTO_STOP"}
        )
    assert raised.value.response["Error"]["Code"] == "UnsupportedWorkspaceConfigurationException"


def test_create_refuses_duplicates_unknown_directory_and_nameless_decoupled(simulator, acme, ws):
    create_desktops(ws, acme, 1, prefix="alice")
    base = {"DirectoryId": acme["directory_id"], "BundleId": acme["bundle_id"]}
    result = ws.create_workspaces(
        Workspaces=[
            {**base, "UserName": "alice0"},
            {**base, "UserName": "[UNDEFINED]"},
            {**base, "UserName": "bob", "DirectoryId": "d-0000000000"},
            {**base, "UserName": "carol", "BundleId": "wsb-nosuchbundle"},
            {**base, "UserName": "[UNDEFINED]", "WorkspaceName": "pool-1"},
        ]
    )
    assert [f["ErrorCode"] for f in result["FailedRequests"]] == [
        "ResourceAlreadyExistsException",
        "InvalidParameterValuesException",
        "ResourceNotFoundException",
        "ResourceNotFoundException",
    ]
    assert [p["WorkspaceName"] for p in result["PendingRequests"]] == ["pool-1"]


def test_byol_bundle_needs_a_dedicated_directory(simulator, acme, ws):
    ws.deregister_workspace_directory(DirectoryId=acme["directory_id"])
    ws.register_workspace_directory(DirectoryId=acme["directory_id"], Tenancy="SHARED")
    result = ws.create_workspaces(
        Workspaces=[{"DirectoryId": acme["directory_id"], "UserName": "u", "BundleId": acme["bundle_id"]}]
    )
    assert result["FailedRequests"][0]["ErrorCode"] == "InvalidParameterValuesException"
    amazon = {"DirectoryId": acme["directory_id"], "UserName": "u", "BundleId": "wsb-bh8rsxt14"}
    assert ws.create_workspaces(Workspaces=[amazon])["FailedRequests"] == []


def test_modify_properties_and_state(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    with pytest.raises(ClientError) as raised:
        ws.modify_workspace_properties(
            WorkspaceId=workspace_id, WorkspaceProperties={"ComputeTypeName": "POWER"}
        )
    assert raised.value.response["Error"]["Code"] == "InvalidResourceStateException"  # still PENDING
    simulator.advance(1200)
    ws.modify_workspace_properties(
        WorkspaceId=workspace_id, WorkspaceProperties={"ComputeTypeName": "POWER", "UserVolumeSizeGib": 100}
    )
    [described] = ws.describe_workspaces(WorkspaceIds=[workspace_id])["Workspaces"]
    assert described["WorkspaceProperties"]["ComputeTypeName"] == "POWER"
    assert {m["Resource"] for m in described["ModificationStates"]} == {"USER_VOLUME", "COMPUTE_TYPE"}
    with pytest.raises(ClientError) as raised:
        ws.modify_workspace_properties(
            WorkspaceId=workspace_id, WorkspaceProperties={"RunningMode": "ALWAYS_ON"}
        )
    assert raised.value.response["Error"]["Code"] == "OperationInProgressException"
    simulator.advance(600)
    [described] = ws.describe_workspaces(WorkspaceIds=[workspace_id])["Workspaces"]
    assert "ModificationStates" not in described
    with pytest.raises(ClientError) as raised:
        ws.modify_workspace_properties(
            WorkspaceId=workspace_id, WorkspaceProperties={"UserVolumeSizeGib": 50}
        )
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValuesException"

    ws.modify_workspace_state(WorkspaceId=workspace_id, WorkspaceState="ADMIN_MAINTENANCE")
    assert states(ws, [workspace_id]) == ["ADMIN_MAINTENANCE"]
    rebooted = ws.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": workspace_id}])
    assert rebooted["FailedRequests"][0]["ErrorCode"] == "InvalidResourceStateException"
    with pytest.raises(ClientError) as raised:
        ws.modify_workspace_state(WorkspaceId=workspace_id, WorkspaceState="ADMIN_MAINTENANCE")
    assert raised.value.response["Error"]["Code"] == "InvalidResourceStateException"
    ws.modify_workspace_state(WorkspaceId=workspace_id, WorkspaceState="AVAILABLE")
    assert states(ws, [workspace_id]) == ["AVAILABLE"]


def test_migrate_makes_a_new_workspace_and_terminates_the_source(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    simulator.advance(1200)
    new_bundle = ws.create_workspace_bundle(
        BundleName="bigger",
        BundleDescription="performance",
        ImageId=acme["image_id"],
        ComputeType={"Name": "PERFORMANCE"},
        UserStorage={"Capacity": "100"},
        RootStorage={"Capacity": "80"},
        Tags=PARTNER_TAG,
    )["WorkspaceBundle"]["BundleId"]
    result = ws.migrate_workspace(SourceWorkspaceId=workspace_id, BundleId=new_bundle)
    target = result["TargetWorkspaceId"]
    assert result["SourceWorkspaceId"] == workspace_id
    assert states(ws, [workspace_id, target]) == ["TERMINATING", "PENDING"]
    [described] = ws.describe_workspaces(WorkspaceIds=[target])["Workspaces"]
    assert described["BundleId"] == new_bundle
    assert described["UserName"] == "user0"
    with pytest.raises(ClientError) as raised:
        ws.migrate_workspace(SourceWorkspaceId=target, BundleId="wsb-nosuchbundle")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_snapshots_every_12_hours_and_restore_needs_one(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    assert ws.describe_workspace_snapshots(WorkspaceId=workspace_id)["RestoreSnapshots"] == []
    simulator.advance(1200)
    first = ws.describe_workspace_snapshots(WorkspaceId=workspace_id)["RestoreSnapshots"][0]["SnapshotTime"]
    simulator.advance(13 * 3600)
    later = ws.describe_workspace_snapshots(WorkspaceId=workspace_id)
    assert (later["RebuildSnapshots"][0]["SnapshotTime"] - first).total_seconds() == 12 * 3600
    with pytest.raises(ClientError) as raised:
        ws.describe_workspace_snapshots(WorkspaceId="ws-unknown123")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_describe_by_directory_user_name_and_bundle(simulator, acme, ws):
    create_desktops(ws, acme, 3)
    by_user = ws.describe_workspaces(DirectoryId=acme["directory_id"], UserName="user1")["Workspaces"]
    assert [w["UserName"] for w in by_user] == ["user1"]
    assert len(ws.describe_workspaces(BundleId=acme["bundle_id"])["Workspaces"]) == 3
    assert ws.describe_workspaces(DirectoryId="d-0000000000")["Workspaces"] == []
