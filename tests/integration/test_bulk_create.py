"""Bulk desktop creation end to end: a real worker and beat, Redis, PostgreSQL, the simulator server."""

import pytest

from orchestration.actors import Actor
from orchestration.models import AuditEvent, JobItem
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from tenants.models import Desktop
from tests.integration.conftest import wait_for_job

pytestmark = pytest.mark.integration


def _request(world, **overrides) -> DesktopCreateRequest:
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    return DesktopCreateRequest(**{**fields, **overrides})


def test_100_desktops_cost_4_create_calls_all_tagged_and_manual(stack_factory, customer_account, simulator):
    stack = stack_factory().start()
    job = desktop_create_bulk(actor=Actor.system("test"), request=_request(customer_account, count=100))
    job = wait_for_job(job, stack)

    assert job.status == "SUCCEEDED"
    creates = simulator.requests("CreateWorkspaces")
    assert len(creates) == 4
    sent = [workspace for request in creates for workspace in request["Workspaces"]]
    assert len(sent) == 100
    for workspace in sent:
        assert {"Key": "PartnerManaged", "Value": "true"} in workspace["Tags"]
        assert workspace["WorkspaceProperties"]["RunningMode"] == "MANUAL"
    # Read back from the simulator, not from our rows.
    desktops = list(Desktop.objects.filter(job_items__job=job))
    assert len({d.workspace_id for d in desktops}) == 100
    for desktop in desktops[:10]:
        seen = simulator.workspace(desktop.workspace_id)
        assert seen["Tags"].get("PartnerManaged") == "true"
        assert seen["WorkspaceProperties"]["RunningMode"] == "MANUAL"
        assert seen["State"] == "AVAILABLE"
    assert {d.state for d in desktops} == {"AVAILABLE"}
    assert AuditEvent.objects.filter(job=job, action="CreateWorkspaces", outcome="SUCCEEDED").count() == 100
    assert all(e.aws_request_id for e in AuditEvent.objects.filter(job=job))
    describe_calls = len(simulator.calls("DescribeWorkspaces"))
    print(f"\nFIGURE bulk_create n=100 CreateWorkspaces=4 DescribeWorkspaces={describe_calls}")


def test_user_assigned_desktops_and_always_on(stack_factory, customer_account, simulator):
    stack = stack_factory().start()
    users = [f"user{n:02d}" for n in range(30)]
    job = desktop_create_bulk(
        actor=Actor.system("test"),
        request=_request(customer_account, user_names=users, running_mode="ALWAYS_ON"),
    )
    job = wait_for_job(job, stack)
    assert job.status == "SUCCEEDED"
    creates = simulator.requests("CreateWorkspaces")
    assert sorted(len(r["Workspaces"]) for r in creates) == [5, 25]
    assert sorted(w["UserName"] for r in creates for w in r["Workspaces"]) == users
    assert {w["WorkspaceProperties"]["RunningMode"] for r in creates for w in r["Workspaces"]} == {
        "ALWAYS_ON"
    }
    assert JobItem.objects.filter(job=job, attempts=1).count() == 30
