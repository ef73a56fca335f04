"""The fixture gives a working endpoint in a clean state, whatever ran before; reset forgets everything.

Each test sets up what it checks, so they pass alone, in any order and under pytest-xdist (where each
worker process has its own simulator).
"""

from __future__ import annotations

import pytest

from tests.simulator.conftest import create_desktops, make_client


def dirty_everything(simulator, world) -> None:
    """Leave behind every kind of state a test can make: resources, an account, faults, calls, time."""
    acme = world["accounts"][0]
    ws = make_client(
        "workspaces",
        simulator.endpoint_url,
        {
            "aws_access_key_id": acme["admin_access_key_id"],
            "aws_secret_access_key": acme["admin_secret_access_key"],
        },
    )
    create_desktops(ws, acme, 2)
    simulator.create_customer_account("999999999999", name="leftover", tag_enforcement=True)
    simulator.set_faults(seed=5, throttle_rate=0.5)
    simulator.schedule_fault("DescribeWorkspaces", "error", code="InternalFailure", count=3)
    simulator.set_durations(provisioning=5)
    simulator.advance(3600)


def assert_clean(simulator) -> None:
    assert simulator.accounts() == []
    assert simulator.call_counts() == {}
    faults = simulator.faults()
    assert (faults["throttle_rate"], faults["scheduled"], faults["operations"]) == (0.0, [], {})
    assert simulator.durations()["provisioning"] == 1200
    assert simulator.clock()["time_scale"] == 0
    before = simulator.now()
    default_ws = make_client("workspaces", simulator.endpoint_url)
    assert default_ws.describe_workspaces()["Workspaces"] == []
    assert simulator.now() == before  # frozen: the clock moves only when a test advances it
    assert simulator.call_counts() == {"DescribeWorkspaces": 1}


@pytest.mark.parametrize("leave_behind", ["resources, faults and time", "the same again"])
def test_the_fixture_starts_clean(simulator, leave_behind):
    """Whichever instance runs second checks that the fixture undid what the first one left."""
    assert_clean(simulator)
    dirty_everything(simulator, simulator.create_demo_world(ready=True))


def test_reset_forgets_everything(simulator):
    dirty_everything(simulator, simulator.create_demo_world(ready=True))
    simulator.reset(seed=0, time_scale=0)
    assert_clean(simulator)


@pytest.mark.slow
def test_a_fleet_world_makes_onboarded_accounts_numbered_on_across_calls(simulator):
    first = simulator.create_fleet_world(2)["accounts"]
    second = simulator.create_fleet_world(1)["accounts"]
    names = [a["name"] for a in first + second]
    assert names == ["fleet-001", "fleet-002", "fleet-003"]
    assert len({a["account_id"] for a in first + second}) == 3
    for account in first + second:
        assert account["bundle_id"].startswith("wsb-") and account["directory_id"].startswith("d-")
        ws = make_client(
            "workspaces",
            simulator.endpoint_url,
            {
                "aws_access_key_id": account["admin_access_key_id"],
                "aws_secret_access_key": account["admin_secret_access_key"],
            },
        )
        (directory,) = ws.describe_workspace_directories()["Directories"]
        assert directory["DirectoryId"] == account["directory_id"] and directory["State"] == "REGISTERED"
