"""The fixture gives a working endpoint and resets between tests."""

from tests.simulator.conftest import create_desktops


def test_reset_between_tests_first(simulator, acme, ws):
    assert len(create_desktops(ws, acme, 2)) == 2


def test_reset_between_tests_second(simulator, default_ws):
    assert default_ws.describe_workspaces()["Workspaces"] == []
    assert simulator.call_counts() == {"DescribeWorkspaces": 1}
