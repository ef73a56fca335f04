"""Scriptable user sessions for DescribeWorkspacesConnectionStatus (idle logic)."""

from __future__ import annotations

from tests.simulator.conftest import create_desktops


def status(ws, workspace_id):
    return ws.describe_workspaces_connection_status(WorkspaceIds=[workspace_id])[
        "WorkspacesConnectionStatus"
    ][0]


def test_connected_then_disconnected(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    assert status(ws, workspace_id)["ConnectionState"] == "UNKNOWN"  # still PENDING
    simulator.advance(1200)
    fresh = status(ws, workspace_id)
    assert fresh["ConnectionState"] == "DISCONNECTED"
    assert "LastKnownUserConnectionTimestamp" not in fresh
    simulator.set_connection(workspace_id, "CONNECTED")
    connected_at = simulator.now()
    simulator.advance(1800)
    now_status = status(ws, workspace_id)
    assert now_status["ConnectionState"] == "CONNECTED"
    assert now_status["LastKnownUserConnectionTimestamp"] == now_status["ConnectionStateCheckTimestamp"]
    simulator.set_connection(workspace_id, "DISCONNECTED")
    disconnected_at = simulator.now()
    simulator.advance(3600)
    idle = status(ws, workspace_id)
    assert idle["ConnectionState"] == "DISCONNECTED"
    assert abs(idle["LastKnownUserConnectionTimestamp"].timestamp() - disconnected_at.timestamp()) < 1
    assert idle["LastKnownUserConnectionTimestamp"] > connected_at
    assert (
        idle["ConnectionStateCheckTimestamp"] - idle["LastKnownUserConnectionTimestamp"]
    ).total_seconds() >= 3600


def test_scripted_timeline_and_stop_ends_the_session(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    simulator.advance(1200)
    simulator.script_connections(
        workspace_id, [(600, "CONNECTED"), (4200, "DISCONNECTED"), (7200, "CONNECTED")]
    )
    assert status(ws, workspace_id)["ConnectionState"] == "DISCONNECTED"
    simulator.advance(600)
    assert status(ws, workspace_id)["ConnectionState"] == "CONNECTED"
    simulator.advance(3600)
    assert status(ws, workspace_id)["ConnectionState"] == "DISCONNECTED"
    simulator.advance(3000)
    assert status(ws, workspace_id)["ConnectionState"] == "CONNECTED"
    ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": workspace_id}])
    stopped = status(ws, workspace_id)
    assert stopped["ConnectionState"] == "UNKNOWN"
    simulator.advance(60)
    ws.start_workspaces(StartWorkspaceRequests=[{"WorkspaceId": workspace_id}])
    simulator.advance(90)
    assert status(ws, workspace_id)["ConnectionState"] == "DISCONNECTED"
