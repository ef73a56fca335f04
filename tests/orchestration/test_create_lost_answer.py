"""A CreateWorkspaces that answers after the client's read timeout (issue 11, items 1 and 3), driven in
the test process against the simulator's late-answer fault: no duplicate, no FAILED item whose desktop
exists, the lost answer audited UNKNOWN, what the lookup finds adopted with its request id, an extra
WorkSpace of the same name terminated, and reconciliation linking a WorkSpace whose item gave up.
"""

import time
from collections import Counter

import pytest

from orchestration.actors import Actor
from orchestration.aws.sessions import forget_all_sessions
from orchestration.aws.workspaces import workspaces_list
from orchestration.models import AuditEvent, Job
from orchestration.services.accounts import account_access
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from orchestration.services.jobs import job_items_run
from orchestration.services.reconcile import reconcile_region
from tenants.models import Desktop
from tests.integration.world import admin_client, aws_runs_fast, onboard_demo_customer

# Committed rows (the late call lands while the test runs) and a real onboarding: slower than a unit test.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]
LATE_SECONDS = 3.0


@pytest.fixture
def acme(simulator, settings):
    """An onboarded customer whose client gives up reading after 1 s (the simulator answers in 3 s)."""
    settings.AWS_READ_TIMEOUT = 1.0
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    settings.AWS_BACKOFF_BASE, settings.AWS_BACKOFF_MAX = 0.001, 0.002
    settings.JOB_CREATE_IN_FLIGHT_SECONDS = 60.0
    forget_all_sessions()
    world = onboard_demo_customer(simulator, name="Acme", slug="acme")
    aws_runs_fast(simulator)
    yield world
    forget_all_sessions()


def _create(world, count: int) -> Job:
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    return desktop_create_bulk(
        actor=Actor.system("test"), request=DesktopCreateRequest(**fields, count=count)
    )


def _deliver(job: Job) -> None:
    """One delivery of the job's unfinished items, as the next message (or the sweeper's) would run it."""
    job_items_run(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))


def _census(world) -> Counter:
    """Live WorkSpaces per name, as AWS lists them."""
    access = account_access(world["aws_account"], region=world["directory"].region)
    return Counter(
        w.workspace_name
        for w in workspaces_list(access, directory_id=world["directory"].directory_id)
        if w.state not in ("TERMINATING", "TERMINATED")
    )


def _until_landed(world, count: int) -> None:
    """Wait for the late create to take effect in AWS (a deadline, not a measured time)."""
    deadline = time.monotonic() + 30
    while sum(_census(world).values()) < count:
        assert time.monotonic() < deadline, "the late CreateWorkspaces never took effect"
        time.sleep(0.2)


def _lose_the_answer(simulator, world, job: Job) -> None:
    """The first delivery's create answers after the client gave up: its items go back, submitted."""
    simulator.clear_calls()
    simulator.schedule_fault("CreateWorkspaces", "late_answer", seconds=LATE_SECONDS)
    _deliver(job)
    assert set(job.items.values_list("status", flat=True)) == {"PENDING"}
    assert all(job.items.values_list("submitted_at", flat=True))


def test_a_create_answered_late_is_waited_for_then_adopted_never_made_twice(simulator, acme):
    job = _create(acme, 3)
    _lose_the_answer(simulator, acme, job)
    lost = AuditEvent.objects.get(job=job, action="CreateWorkspaces")
    assert (lost.outcome, lost.error_code) == ("UNKNOWN", "ConnectionError")
    assert len(lost.details["workspace_names"]) == 3

    # The retry comes while the first call is still in flight: it looks, finds nothing, and waits.
    _deliver(job)
    assert len(simulator.calls("CreateWorkspaces")) == 1
    assert set(job.items.values_list("status", flat=True)) == {"PENDING"}

    _until_landed(acme, 3)
    _deliver(job)  # the next look finds what the first call made
    assert len(simulator.calls("CreateWorkspaces")) == 1
    census = _census(acme)
    assert sorted(census.values()) == [1, 1, 1]
    items = list(job.items.select_related("desktop"))
    assert {i.status for i in items} == {"WAITING"}
    assert all(i.aws_resource_id == i.desktop.workspace_id for i in items)
    adopted = AuditEvent.objects.filter(job=job, action="CreateWorkspaces", outcome="SUCCEEDED")
    assert sorted(adopted.values_list("target_id", flat=True)) == sorted(i.aws_resource_id for i in items)
    assert all(e.aws_request_id and e.details["adopted"] for e in adopted)


def test_a_create_found_twice_keeps_one_and_terminates_the_extra(simulator, acme):
    job = _create(acme, 1)
    _lose_the_answer(simulator, acme, job)
    _until_landed(acme, 1)
    desktop = Desktop.objects.get(job_items__job=job)
    # Someone else (a second control plane, an earlier version of this one) made one more of that name.
    admin_client(simulator, acme["demo"]).create_workspaces(
        Workspaces=[
            {
                "DirectoryId": acme["directory"].directory_id,
                "UserName": "[UNDEFINED]",
                "BundleId": acme["bundle"].bundle_id,
                "WorkspaceName": desktop.workspace_name,
                "Tags": [{"Key": "PartnerManaged", "Value": "true"}],
            }
        ]
    )
    assert _census(acme)[desktop.workspace_name] == 2
    _deliver(job)
    assert _census(acme)[desktop.workspace_name] == 1
    desktop.refresh_from_db()
    terminated = AuditEvent.objects.get(job=job, action="TerminateWorkspaces")
    assert terminated.outcome == "SUCCEEDED" and terminated.aws_request_id
    assert terminated.target_id != desktop.workspace_id
    assert terminated.details == {"duplicate_of": desktop.workspace_name}


def test_an_item_whose_window_passed_with_nothing_found_is_created_again(simulator, acme, settings):
    job = _create(acme, 2)
    simulator.clear_calls()
    simulator.schedule_fault("CreateWorkspaces", "error", code="InternalFailure")  # nothing was made
    _deliver(job)
    lost = AuditEvent.objects.get(job=job, action="CreateWorkspaces")
    assert (lost.outcome, lost.error_code) == ("UNKNOWN", "InternalFailure") and lost.aws_request_id
    settings.JOB_CREATE_IN_FLIGHT_SECONDS = 0
    _deliver(job)
    assert len(simulator.calls("CreateWorkspaces")) == 2
    assert set(job.items.values_list("status", flat=True)) == {"WAITING"}
    assert sorted(_census(acme).values()) == [1, 1]


def test_reconciliation_links_the_workspace_of_an_item_that_gave_up_without_its_id(simulator, acme, settings):
    job = _create(acme, 1)
    _lose_the_answer(simulator, acme, job)
    settings.JOB_ITEM_MAX_ATTEMPTS = 1
    _deliver(job)  # given up (poison) before the late create landed: the item never learns the id
    item = job.items.select_related("desktop").get()
    assert item.status == "FAILED" and item.desktop.workspace_id is None
    _until_landed(acme, 1)
    account, region = acme["aws_account"], acme["directory"].region
    report = reconcile_region(
        aws_account=account, region=region, access=account_access(account, region=region)
    )
    desktops = report["desktops"]
    assert desktops["counts"]["linked"] == 1 and desktops["in_flight"] == [] and desktops["adopted"] == []
    desktop = Desktop.objects.get(pk=item.desktop.pk)
    assert desktop.workspace_id == desktops["linked"][0]
    assert Desktop.objects.filter(aws_account=account).count() == 1  # linked, not a second row
    event = AuditEvent.objects.get(
        action="CreateWorkspaces", outcome="SUCCEEDED", target_id=desktop.workspace_id
    )
    assert event.aws_request_id and event.details["found_by"] == "reconciliation"
