"""Fault injection (deterministic by seed), the lost-response fault, call counters and recorded requests."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.simulator.conftest import PARTNER_TAG, create_desktops, make_client


def outcomes(client, calls: int) -> list[str]:
    found = []
    for _ in range(calls):
        try:
            client.describe_workspaces()
            found.append("ok")
        except ClientError as error:
            found.append(error.response["Error"]["Code"])
    return found


def test_throttling_rate(simulator, default_ws):
    simulator.set_faults(seed=1, throttle_rate=0.4)
    seen = outcomes(default_ws, 100)
    assert set(seen) == {"ok", "ThrottlingException"}
    assert 25 <= seen.count("ThrottlingException") <= 55
    throttled = [c for c in simulator.calls("DescribeWorkspaces") if c["fault"] == "throttle"]
    assert {c["status"] for c in throttled} == {400}


@pytest.mark.slow
def test_same_seed_same_fault_sequence_and_another_seed_differs(simulator, default_ws):
    config = {
        "throttle_rate": 0.2,
        "error_rate": 0.2,
        "error_codes": ["ResourceUnavailableException", "InternalFailure", "ServiceUnavailable"],
    }
    simulator.set_faults(seed=7, **config)
    first = outcomes(default_ws, 40)
    simulator.set_faults(seed=7, **config)
    assert outcomes(default_ws, 40) == first
    simulator.reset(seed=7)
    simulator.set_faults(**config)
    assert outcomes(default_ws, 40) == first
    simulator.set_faults(seed=8, **config)
    assert outcomes(default_ws, 40) != first
    assert "ThrottlingException" in first
    assert len(set(first)) >= 3  # ok, throttled and at least one transient error code


def test_transient_errors_have_their_http_status(simulator, default_ws):
    statuses = {}
    for code in ("ResourceUnavailableException", "InternalFailure", "ServiceUnavailable"):
        simulator.schedule_fault("DescribeWorkspaces", "error", code=code)
        with pytest.raises(ClientError) as raised:
            default_ws.describe_workspaces()
        statuses[code] = raised.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert statuses == {
        "ResourceUnavailableException": 400,
        "InternalFailure": 500,
        "ServiceUnavailable": 503,
    }


def test_per_operation_rules_override_the_default(simulator, acme, ws):
    simulator.set_faults(throttle_rate=0.0, operations={"StartWorkspaces": {"throttle_rate": 1.0}})
    ws.describe_workspaces()
    with pytest.raises(ClientError) as raised:
        ws.start_workspaces(StartWorkspaceRequests=[{"WorkspaceId": "ws-abcdefgh1"}])
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"


def test_other_services_are_faulted_only_when_named(simulator, acme):
    simulator.set_faults(
        throttle_rate=1.0,
        operations={"sts:AssumeRole": {"error_rate": 1.0, "error_codes": ["InternalFailure"]}},
    )
    ec2 = make_client("ec2", simulator.endpoint_url)
    ec2.describe_vpcs()
    sts = make_client("sts", simulator.endpoint_url)
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn=acme["role_arn"], RoleSessionName="partner", ExternalId=acme["external_id"])
    assert raised.value.response["Error"]["Code"] == "InternalFailure"


def test_failed_item_rate_fails_a_fraction_of_batch_items(simulator, acme, ws):
    simulator.set_faults(
        seed=3,
        operations={
            "CreateWorkspaces": {
                "failed_item_rate": 0.3,
                "failed_item_codes": ["InternalFailure", "InvalidResourceStateException"],
            }
        },
    )
    requests = [
        {
            "DirectoryId": acme["directory_id"],
            "UserName": f"u{i}",
            "BundleId": acme["bundle_id"],
            "Tags": PARTNER_TAG,
        }
        for i in range(25)
    ]
    result = ws.create_workspaces(Workspaces=requests)
    failed, pending = result["FailedRequests"], result["PendingRequests"]
    assert len(failed) + len(pending) == 25
    assert 2 <= len(failed) <= 15
    assert {f["ErrorCode"] for f in failed} <= {"InternalFailure", "InvalidResourceStateException"}
    assert len(ws.describe_workspaces(DirectoryId=acme["directory_id"], Limit=25)["Workspaces"]) == len(
        pending
    )


def test_scheduled_failed_items_for_power_operations(simulator, acme, ws):
    ids = create_desktops(ws, acme, 3)
    simulator.advance(1200)
    simulator.schedule_fault("StopWorkspaces", "failed_items", code="ResourceUnavailableException")
    result = ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": i} for i in ids])
    assert [f["ErrorCode"] for f in result["FailedRequests"]] == ["ResourceUnavailableException"] * 3
    assert ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": i} for i in ids])["FailedRequests"] == []


def test_lost_response_performs_the_operation(simulator, acme, ws):
    simulator.schedule_fault("CreateWorkspaces", "lose_response")
    request = {
        "DirectoryId": acme["directory_id"],
        "UserName": "alice",
        "BundleId": acme["bundle_id"],
        "Tags": PARTNER_TAG,
    }
    with pytest.raises(ClientError) as raised:
        ws.create_workspaces(Workspaces=[request])
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # The client must adopt what was made: find it by DirectoryId + UserName.
    [made] = ws.describe_workspaces(DirectoryId=acme["directory_id"], UserName="alice")["Workspaces"]
    assert made["State"] == "PENDING"
    retry = ws.create_workspaces(Workspaces=[request])
    assert retry["FailedRequests"][0]["ErrorCode"] == "ResourceAlreadyExistsException"
    [record] = simulator.calls("CreateWorkspaces")[:1]
    assert record["fault"] == "lose_response"


def test_lose_response_rate(simulator, acme, ws):
    simulator.set_faults(seed=5, operations={"CreateTags": {"lose_response_rate": 1.0}})
    with pytest.raises(ClientError):
        ws.create_tags(ResourceId=acme["bundle_id"], Tags=[{"Key": "Applied", "Value": "yes"}])
    tags = {t["Key"] for t in ws.describe_tags(ResourceId=acme["bundle_id"])["TagList"]}
    assert "Applied" in tags


def test_scheduled_expired_token_and_wildcard(simulator, default_ws):
    simulator.schedule_fault("*", "expired_token", count=2)
    assert outcomes(default_ws, 3) == ["ExpiredTokenException", "ExpiredTokenException", "ok"]


def test_latency(simulator, default_ws):
    simulator.set_faults(latency_ms=150)
    started = time.monotonic()
    default_ws.describe_workspaces()
    assert time.monotonic() - started >= 0.15
    simulator.clear_faults()
    started = time.monotonic()
    default_ws.describe_workspaces()
    assert time.monotonic() - started < 0.15


def test_counters_and_recorded_requests(simulator, acme, ws):
    create_desktops(ws, acme, 30, WorkspaceProperties={"RunningMode": "ALWAYS_ON"})
    ws.describe_workspaces()
    counts = simulator.call_counts()
    assert counts["CreateWorkspaces"] == 2
    assert counts["DescribeWorkspaces"] == 1
    bodies = simulator.requests("CreateWorkspaces")
    assert [len(b["Workspaces"]) for b in bodies] == [25, 5]
    first = bodies[0]["Workspaces"][0]
    assert first["Tags"] == PARTNER_TAG
    assert first["WorkspaceProperties"]["RunningMode"] == "ALWAYS_ON"
    assert simulator.calls("CreateWorkspaces", limit=1)[0]["request"]["Workspaces"][0]["UserName"] == "user25"
    simulator.clear_calls()
    assert simulator.call_counts() == {}


def test_bad_fault_settings_are_refused(simulator):
    from simulator.control import SimulatorControlError

    with pytest.raises(SimulatorControlError):
        simulator.set_faults(throttle_rate=2)
    with pytest.raises(SimulatorControlError):
        simulator.set_faults(unknown_knob=1)


@pytest.mark.slow
def test_a_per_account_rate_limit_throttles_calls_beyond_its_bucket_and_refills_by_the_second(
    simulator, default_ws, ws
):
    simulator.set_rate_limit(1, burst=3)
    assert outcomes(default_ws, 6) == ["ok"] * 3 + ["ThrottlingException"] * 3
    # Another account has a bucket of its own.
    assert outcomes(ws, 3) == ["ok"] * 3
    time.sleep(1.1)
    assert outcomes(default_ws, 2) == ["ok", "ThrottlingException"]
    limit = simulator.rate_limit()
    assert limit["throttled"] == {"123456789012": 4} and limit["throttled_total"] == 4
    throttled = [c for c in simulator.calls("DescribeWorkspaces") if c["fault"] == "throttle"]
    assert len(throttled) == 4 and {c["error_code"] for c in throttled} == {"ThrottlingException"}
    # Off again: nothing is throttled.
    simulator.set_rate_limit(0)
    assert outcomes(default_ws, 5) == ["ok"] * 5
