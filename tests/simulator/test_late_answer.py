"""The late-answer fault: a call stays in flight for N wall seconds and takes effect only at the end, so
a client that timed out and retried, or read the state meanwhile, saw nothing yet.
"""

from __future__ import annotations

import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from simulator.control import SimulatorControlError
from tests.simulator.conftest import PARTNER_TAG, admin_credentials, make_client

LATE_SECONDS = 4.0
CLIENT_TIMEOUT = 1.0


def wait_until_answered(simulator, operation: str, count: int) -> list[dict]:
    """The recorded calls of ``operation`` once ``count`` of them have answered (a deadline, no assertion on time)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        calls = simulator.calls(operation)
        if sum(1 for call in calls if call.get("status")) >= count:
            return calls
        time.sleep(0.1)
    raise AssertionError(f"{operation} never answered {count} time(s)")


def decoupled(account: dict, name: str) -> dict:
    return {
        "DirectoryId": account["directory_id"],
        "UserName": "[UNDEFINED]",
        "BundleId": account["bundle_id"],
        "WorkspaceName": name,
        "Tags": PARTNER_TAG,
    }


def impatient_client(simulator, account: dict, attempts: int):
    config = Config(
        read_timeout=CLIENT_TIMEOUT,
        connect_timeout=5,
        retries={"total_max_attempts": attempts, "mode": "standard"},
    )
    return make_client("workspaces", simulator.endpoint_url, admin_credentials(account), config=config)


@pytest.mark.slow
def test_the_effect_lands_at_the_end_of_the_delay(simulator, acme, ws):
    simulator.schedule_fault("CreateWorkspaces", "late_answer", seconds=LATE_SECONDS)
    with pytest.raises(ReadTimeoutError):
        impatient_client(simulator, acme, attempts=1).create_workspaces(
            Workspaces=[decoupled(acme, "late-1")]
        )
    # The client gave up; the call is still in flight and has made nothing yet.
    assert ws.describe_workspaces()["Workspaces"] == []
    [in_flight] = simulator.calls("CreateWorkspaces")
    assert in_flight.get("status") is None
    assert in_flight["late_answer_seconds"] == LATE_SECONDS
    [answered] = wait_until_answered(simulator, "CreateWorkspaces", 1)
    assert (answered["status"], answered["fault"]) == (200, "late_answer")
    [made] = ws.describe_workspaces()["Workspaces"]
    assert made["WorkspaceName"] == "late-1"
    assert simulator.health()["ok"]  # the answer nobody read did not hurt the server


@pytest.mark.slow
def test_a_retry_during_the_delay_makes_a_duplicate_that_describe_shows(simulator, acme, ws):
    """What a client that retries a timed-out CreateWorkspaces gets from AWS, which has no idempotency token."""
    simulator.schedule_fault("CreateWorkspaces", "late_answer", seconds=LATE_SECONDS)
    answer = impatient_client(simulator, acme, attempts=2).create_workspaces(
        Workspaces=[decoupled(acme, "pool-1")]
    )
    assert answer["FailedRequests"] == []  # the retry's answer
    assert len(ws.describe_workspaces()["Workspaces"]) == 1  # only the retry's WorkSpace so far
    calls = wait_until_answered(simulator, "CreateWorkspaces", 2)
    assert [call["fault"] for call in calls] == ["late_answer", None]
    named = [w for w in ws.describe_workspaces()["Workspaces"] if w["WorkspaceName"] == "pool-1"]
    assert len(named) == 2


def test_a_rate_of_late_answers_per_operation(simulator, acme, ws):
    simulator.set_faults(
        operations={"DescribeWorkspaces": {"late_answer_rate": 1.0, "late_answer_seconds": 0.2}}
    )
    assert ws.describe_workspaces()["Workspaces"] == []
    ws.describe_workspace_bundles()
    [late] = simulator.calls("DescribeWorkspaces")
    assert (late["fault"], late["late_answer_seconds"], late["status"]) == ("late_answer", 0.2, 200)
    [on_time] = simulator.calls("DescribeWorkspaceBundles")
    assert on_time["fault"] is None and "late_answer_seconds" not in on_time


def test_late_answers_leave_the_other_fault_draws_where_they_were(simulator, default_ws):
    def throttled(count: int) -> list[bool]:
        seen = []
        for _ in range(count):
            try:
                default_ws.describe_workspaces()
                seen.append(False)
            except ClientError as error:
                seen.append(error.response["Error"]["Code"] == "ThrottlingException")
        return seen

    simulator.set_faults(seed=3, throttle_rate=0.4)
    without = throttled(20)
    simulator.set_faults(seed=3, throttle_rate=0.4, late_answer_rate=0.5, late_answer_seconds=0.01)
    assert throttled(20) == without
    assert any(call["fault"] == "late_answer" for call in simulator.calls("DescribeWorkspaces"))


def test_a_late_answer_needs_its_delay(simulator):
    with pytest.raises(SimulatorControlError):
        simulator.schedule_fault("CreateWorkspaces", "late_answer")
    with pytest.raises(SimulatorControlError):
        simulator.set_faults(late_answer_rate=0.5)
    plan = simulator.schedule_fault("CreateWorkspaces", "late_answer", seconds=40, count=2)
    assert plan["scheduled"] == [
        {
            "operation": "CreateWorkspaces",
            "kind": "late_answer",
            "code": None,
            "remaining": 2,
            "seconds": 40.0,
        }
    ]
