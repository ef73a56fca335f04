"""Desktop actions end to end: a real worker and beat, Redis, PostgreSQL and the simulator server.

The customer's tag-based authorization policy is on in every test (the strict case); the stop/start
test also runs with it off. Each test prints the call counts it measured.
"""

from collections import Counter

import pytest

from orchestration.actors import Actor
from orchestration.aws.calls import aws_call
from orchestration.aws.tagguard import tags_for_create
from orchestration.aws.types import AccountAccess, WorkspaceSpec
from orchestration.aws.workspaces import workspaces_create_batch
from orchestration.models import AuditEvent, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.desktop_actions import (
    DesktopActionInvalid,
    desktop_action_bulk,
    desktop_snapshots,
)
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from tenants.models import Bundle, Desktop
from tests.integration.conftest import wait_for_job

pytestmark = pytest.mark.integration
ACTOR = Actor.system("action test")
TAGS = {"PartnerManaged": "true"}
MUTATIONS = {
    "StartWorkspaces",
    "StopWorkspaces",
    "RebootWorkspaces",
    "RebuildWorkspaces",
    "RestoreWorkspace",
    "ModifyWorkspaceProperties",
    "ModifyWorkspaceState",
    "MigrateWorkspace",
    "TerminateWorkspaces",
}


@pytest.fixture
def world(customer_account, simulator):
    """The onboarded customer, with the seed's tag policy enforced on our role."""
    simulator.set_tag_enforcement(customer_account["aws_account"].account_id, True)
    return customer_account


def _make_desktops(world, simulator, count: int, *, prefix: str = "act", running_mode: str = "MANUAL"):
    """WorkSpaces made through the partner role (tagged), AVAILABLE, with our rows (faster than a job)."""
    access = account_access(world["aws_account"], region=world["directory"].region)
    specs = [
        WorkspaceSpec(
            directory_id=world["directory"].directory_id,
            user_name=f"{prefix}{n:03d}",
            bundle_id=world["bundle"].bundle_id,
            workspace_name=f"wsc-{prefix}-{n:03d}",
            running_mode=running_mode,
        )
        for n in range(count)
    ]
    made = {}
    for start in range(0, count, 25):
        made.update(workspaces_create_batch(access, specs[start : start + 25]).created)
    simulator.advance(1300)  # provisioning is over
    desktops = Desktop.objects.bulk_create(
        Desktop(
            aws_account=world["aws_account"],
            region=world["directory"].region,
            directory=world["directory"],
            bundle=world["bundle"],
            workspace_id=made[spec.workspace_name].workspace_id,
            user_name=spec.user_name,
            workspace_name=spec.workspace_name,
            state="AVAILABLE",
            running_mode=running_mode,
            compute_type="STANDARD",
            root_volume_gib=80,
            user_volume_gib=50,
            tags=TAGS,
        )
        for spec in specs
    )
    simulator.clear_calls()
    return desktops


def _act(world, desktops, action: str, params=None):
    return desktop_action_bulk(
        actor=ACTOR, customer=world["customer"], desktops=desktops, action=action, params=params
    )


def _mutation_counts(simulator) -> dict[str, int]:
    return {op: n for op, n in simulator.call_counts().items() if op in MUTATIONS}


def _sim_state(simulator, desktop) -> str:
    return simulator.workspace(desktop.workspace_id)["State"]


@pytest.mark.parametrize("enforced", [True, False], ids=["tag-policy-on", "tag-policy-off"])
def test_60_desktops_stop_in_3_calls_then_start_in_3(stack_factory, world, simulator, enforced):
    simulator.set_tag_enforcement(world["aws_account"].account_id, enforced)
    stack = stack_factory().start()
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    created = wait_for_job(
        desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=60)), stack
    )
    assert created.status == "SUCCEEDED"
    desktops = list(Desktop.objects.filter(job_items__job=created))
    simulator.clear_calls()

    stop = wait_for_job(_act(world, desktops, "stop"), stack)
    assert (stop.status, stop.queue) == ("SUCCEEDED", "bulk")
    requests = simulator.requests("StopWorkspaces")
    assert sorted(len(r["StopWorkspaceRequests"]) for r in requests) == [10, 25, 25]
    assert {_sim_state(simulator, d) for d in desktops[:10]} == {"STOPPED"}
    assert set(Desktop.objects.filter(pk__in=[d.pk for d in desktops]).values_list("state", flat=True)) == {
        "STOPPED"
    }
    events = AuditEvent.objects.filter(job=stop, action="StopWorkspaces", outcome="SUCCEEDED")
    assert sorted(events.values_list("target_id", flat=True)) == sorted(d.workspace_id for d in desktops)
    assert all(events.values_list("aws_request_id", flat=True))
    stop_describes = simulator.call_counts().get("DescribeWorkspaces", 0)
    simulator.clear_calls()

    start = wait_for_job(_act(world, desktops, "start"), stack)
    assert start.status == "SUCCEEDED"
    assert len(simulator.requests("StartWorkspaces")) == 3
    assert {_sim_state(simulator, d) for d in desktops[:10]} == {"AVAILABLE"}
    print(
        f"\nFIGURE desktop_stop_start n=60 tag_policy={enforced} StopWorkspaces=3 StartWorkspaces=3 "
        f"DescribeWorkspaces(stop)={stop_describes} "
        f"DescribeWorkspaces(start)={simulator.call_counts().get('DescribeWorkspaces', 0)}"
    )


def test_reboot_30_desktops_in_2_calls(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 30)
    stack = stack_factory().start()
    job = wait_for_job(_act(world, desktops, "reboot"), stack)
    assert job.status == "SUCCEEDED"
    assert _mutation_counts(simulator) == {"RebootWorkspaces": 2}
    assert {_sim_state(simulator, d) for d in desktops} == {"AVAILABLE"}
    print(f"\nFIGURE desktop_reboot n=30 RebootWorkspaces=2 calls={simulator.call_counts()}")


def test_rebuild_one_desktop_interactively_and_three_in_three_calls(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 4)
    stack = stack_factory().start()
    one = wait_for_job(_act(world, desktops[:1], "rebuild"), stack)
    assert (one.status, one.queue) == ("SUCCEEDED", "interactive")
    assert _mutation_counts(simulator) == {"RebuildWorkspaces": 1}
    simulator.clear_calls()
    three = wait_for_job(_act(world, desktops[1:], "rebuild"), stack)
    assert (three.status, three.queue) == ("SUCCEEDED", "bulk")
    requests = simulator.requests("RebuildWorkspaces")
    assert [len(r["RebuildWorkspaceRequests"]) for r in requests] == [1, 1, 1]
    print("\nFIGURE desktop_rebuild n=1 RebuildWorkspaces=1 queue=interactive; n=3 RebuildWorkspaces=3")


def test_a_rebuild_whose_answer_was_lost_is_not_sent_twice(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 1)
    simulator.schedule_fault("RebuildWorkspaces", "lose_response")
    stack = stack_factory().start()
    job = wait_for_job(_act(world, desktops, "rebuild"), stack)
    assert job.status == "SUCCEEDED"
    assert _mutation_counts(simulator) == {"RebuildWorkspaces": 1}
    item = JobItem.objects.get(job=job)
    assert item.attempts == 2  # the second delivery looked, saw REBUILDING, and adopted
    event = AuditEvent.objects.get(job=job, outcome="SUCCEEDED")
    assert event.details["adopted"] is True
    print(f"\nFIGURE rebuild_lost_response RebuildWorkspaces=1 deliveries={item.attempts}")


def test_modify_compute_type_running_mode_and_volume(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 2)
    stack = stack_factory().start()
    params = {"compute_type": "PERFORMANCE", "running_mode": "ALWAYS_ON", "user_volume_gib": 100}
    job = wait_for_job(_act(world, desktops, "modify", params), stack)
    assert job.status == "SUCCEEDED"
    assert _mutation_counts(simulator) == {"ModifyWorkspaceProperties": 2}
    for desktop in desktops:
        seen = simulator.workspace(desktop.workspace_id)["WorkspaceProperties"]
        assert (seen["ComputeTypeName"], seen["RunningMode"], seen["UserVolumeSizeGib"]) == (
            "PERFORMANCE",
            "ALWAYS_ON",
            100,
        )
        desktop.refresh_from_db()
        assert (desktop.compute_type, desktop.running_mode, desktop.user_volume_gib) == (
            "PERFORMANCE",
            "ALWAYS_ON",
            100,
        )
    print("\nFIGURE desktop_modify n=2 ModifyWorkspaceProperties=2")


def test_auto_stop_and_shrinking_volumes_are_refused_with_no_call(world, simulator):
    desktops = _make_desktops(world, simulator, 2)
    before = simulator.call_counts()
    with pytest.raises(DesktopActionInvalid, match="AUTO_STOP is not available"):
        _act(world, desktops, "modify", {"running_mode": "AUTO_STOP"})
    with pytest.raises(DesktopActionInvalid, match="volumes can only grow"):
        _act(world, desktops, "modify", {"root_volume_gib": 50})
    assert simulator.call_counts() == before
    assert AuditEvent.objects.filter(outcome="REFUSED", action="ModifyWorkspaceProperties").count() == 3


def test_admin_maintenance_on_then_off(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 3)
    stack = stack_factory().start()
    on = wait_for_job(_act(world, desktops, "maintenance-on"), stack)
    assert on.status == "SUCCEEDED"
    assert {_sim_state(simulator, d) for d in desktops} == {"ADMIN_MAINTENANCE"}
    with pytest.raises(DesktopActionInvalid, match="It is ADMIN_MAINTENANCE; stop needs"):
        _act(world, desktops, "stop")
    off = wait_for_job(_act(world, desktops, "maintenance-off"), stack)
    assert off.status == "SUCCEEDED"
    assert {_sim_state(simulator, d) for d in desktops} == {"AVAILABLE"}
    requests = simulator.requests("ModifyWorkspaceState")
    assert Counter(r["WorkspaceState"] for r in requests) == {"ADMIN_MAINTENANCE": 3, "AVAILABLE": 3}
    print("\nFIGURE desktop_maintenance n=3 ModifyWorkspaceState=3+3")


def _second_bundle(world) -> Bundle:
    access = account_access(world["aws_account"], region=world["directory"].region)
    response = aws_call(
        access,
        "workspaces",
        "create_workspace_bundle",
        BundleName="acme-performance",
        BundleDescription="Performance desktops",
        ImageId=world["demo"]["image_id"],
        ComputeType={"Name": "PERFORMANCE"},
        UserStorage={"Capacity": "50"},
        RootStorage={"Capacity": "80"},
        Tags=tags_for_create(),
    )
    return Bundle.objects.create(
        aws_account=world["aws_account"],
        region=world["directory"].region,
        bundle_id=response["WorkspaceBundle"]["BundleId"],
        name="acme-performance",
        compute_type="PERFORMANCE",
        root_volume_gib=80,
        user_volume_gib=50,
        tags=TAGS,
    )


def test_migrate_to_a_second_bundle_even_after_a_lost_answer(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 2)
    old_ids = {d.pk: d.workspace_id for d in desktops}
    target = _second_bundle(world)
    simulator.clear_calls()
    simulator.schedule_fault("MigrateWorkspace", "lose_response")  # the first one happens, its answer is lost
    stack = stack_factory().start()
    job = wait_for_job(_act(world, desktops, "migrate", {"bundle_id": target.bundle_id}), stack)
    assert job.status == "SUCCEEDED"
    assert _mutation_counts(simulator) == {"MigrateWorkspace": 2}
    for desktop in desktops:
        desktop.refresh_from_db()
        assert desktop.workspace_id != old_ids[desktop.pk] and desktop.bundle == target
        seen = simulator.workspace(desktop.workspace_id)
        assert (seen["BundleId"], seen["State"], seen["Tags"].get("PartnerManaged")) == (
            target.bundle_id,
            "AVAILABLE",
            "true",
        )
        assert simulator.workspace(old_ids[desktop.pk])["State"] in ("TERMINATING", "TERMINATED")
        event = AuditEvent.objects.get(job=job, target_id=old_ids[desktop.pk], outcome="SUCCEEDED")
        assert event.details["source_workspace_id"] == old_ids[desktop.pk]
        assert event.details["target_workspace_id"] == desktop.workspace_id
    adopted = AuditEvent.objects.filter(job=job, details__adopted=True).count()
    assert adopted == 1
    print(f"\nFIGURE desktop_migrate n=2 MigrateWorkspace=2 adopted_after_lost_answer={adopted}")


def test_restore_from_the_latest_snapshot_shown_to_staff(stack_factory, world, simulator, client):
    from tests.factories import StaffUserFactory

    desktops = _make_desktops(world, simulator, 2)
    simulator.advance(12 * 3600)  # an automatic snapshot is taken every 12 hours
    snapshots = desktop_snapshots(desktop=desktops[0])
    assert len(snapshots.restore) == 1 and len(snapshots.rebuild) == 1
    client.force_login(StaffUserFactory(username="ops"))
    page = client.get(f"/admin/tenants/desktop/{desktops[0].pk}/snapshots/")
    assert page.status_code == 200 and b"Restore" in page.content
    assert snapshots.restore[0].strftime("%Y-%m-%d %H:%M").encode() in page.content
    # Two reads, one per look (a call refused as ExpiredToken after the 12 hours is retried, not counted).
    answered = [c for c in simulator.calls("DescribeWorkspaceSnapshots") if not c.get("error_code")]
    assert len(answered) == 2
    simulator.clear_calls()
    stack = stack_factory().start()
    job = wait_for_job(_act(world, desktops, "restore"), stack)
    assert job.status == "SUCCEEDED"
    assert _mutation_counts(simulator) == {"RestoreWorkspace": 2}
    print("\nFIGURE desktop_restore n=2 RestoreWorkspace=2")


def test_terminate_30_desktops_in_2_calls(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 30)
    stack = stack_factory().start()
    job = wait_for_job(_act(world, desktops, "terminate"), stack)
    assert job.status == "SUCCEEDED"
    assert _mutation_counts(simulator) == {"TerminateWorkspaces": 2}
    assert {_sim_state(simulator, d) for d in desktops} == {"TERMINATED"}
    assert set(Desktop.objects.filter(pk__in=[d.pk for d in desktops]).values_list("state", flat=True)) == {
        "TERMINATED"
    }
    print("\nFIGURE desktop_terminate n=30 TerminateWorkspaces=2")


def test_transient_failed_items_are_retried_alone(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 30)
    simulator.schedule_fault("StopWorkspaces", "failed_items", code="ResourceUnavailableException")
    stack = stack_factory().start()
    job = wait_for_job(_act(world, desktops, "stop"), stack)
    assert job.status == "SUCCEEDED"
    requests = simulator.requests("StopWorkspaces")
    sent = Counter(entry["WorkspaceId"] for r in requests for entry in r["StopWorkspaceRequests"])
    assert len(requests) == 3 and len(sent) == 30 and max(sent.values()) == 2

    def ids(request) -> set[str]:
        return {entry["WorkspaceId"] for entry in request["StopWorkspaceRequests"]}

    # The first call's items all failed: one later call re-sends exactly those, and nothing else. The
    # retry waits a jittered backoff, so it may come before or after the other delivery's call.
    retried = {wid for wid, n in sent.items() if n == 2}
    assert retried == ids(requests[0]) and retried in (ids(requests[1]), ids(requests[2]))
    print(f"\nFIGURE failed_items_transient n=30 StopWorkspaces={len(requests)} retried_alone={len(retried)}")


def test_permanent_failed_items_fail_just_those_with_aws_words(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 30)
    simulator.schedule_fault("StopWorkspaces", "failed_items", code="InvalidResourceStateException")
    stack = stack_factory().start()
    job = wait_for_job(_act(world, desktops, "stop"), stack)
    assert job.status == "PARTIAL"
    failed = JobItem.objects.filter(job=job, status="FAILED")
    assert set(failed.values_list("error_code", flat=True)) == {"InvalidResourceStateException"}
    assert failed.count() in (5, 25)  # whichever delivery's call drew the fault
    assert len(simulator.requests("StopWorkspaces")) == 2  # permanent failures are not retried
    assert AuditEvent.objects.filter(job=job, outcome="FAILED").count() == failed.count()
    print(f"\nFIGURE failed_items_permanent n=30 failed={failed.count()} StopWorkspaces=2")


def test_a_throttling_storm_fails_no_item_and_keeps_the_call_floor(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 30)
    simulator.set_faults(seed=10, throttle_rate=0.4)  # with this seed the first two terminates are throttled
    stack = stack_factory().start()
    job = wait_for_job(_act(world, desktops, "terminate"), stack, timeout=180)
    calls = simulator.calls("TerminateWorkspaces")
    throttled = sum(1 for c in calls if c.get("error_code") == "ThrottlingException")
    assert job.status == "SUCCEEDED"
    assert JobItem.objects.filter(job=job, status="FAILED").count() == 0
    assert throttled > 0
    assert len(calls) - throttled == 2  # throttled calls were never executed: ceil(30/25) still holds
    print(f"\nFIGURE action_throttle_storm rate=0.4 n=30 terminate_accepted=2 throttled={throttled}")


def test_a_stop_whose_answer_was_lost_is_recognised_as_done(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 3)
    simulator.schedule_fault("StopWorkspaces", "lose_response")
    stack = stack_factory().start()
    job = wait_for_job(_act(world, desktops, "stop"), stack)
    assert job.status == "SUCCEEDED"
    # boto3 retried the idempotent call; AWS refused it as the desktops were already STOPPING.
    assert len(simulator.requests("StopWorkspaces")) == 2
    assert {_sim_state(simulator, d) for d in desktops} == {"STOPPED"}


def _untagged_workspace(world, simulator) -> Desktop:
    """A WorkSpace the customer's own admin made without our tag, and our record of it (no tags)."""
    demo = world["demo"]
    admin = AccountAccess(
        account_id=demo["account_id"],
        region=demo["region"],
        auth_mode="ACCESS_KEYS",
        access_key_id=demo["admin_access_key_id"],
        secret_access_key=demo["admin_secret_access_key"],
    )
    response = aws_call(
        admin,
        "workspaces",
        "create_workspaces",
        Workspaces=[
            {
                "DirectoryId": demo["directory_id"],
                "UserName": "ceo",
                "BundleId": world["bundle"].bundle_id,
                "WorkspaceProperties": {"RunningMode": "MANUAL"},
            }
        ],
    )
    workspace_id = response["PendingRequests"][0]["WorkspaceId"]
    simulator.advance(1300)
    return Desktop.objects.create(
        aws_account=world["aws_account"],
        region=demo["region"],
        directory=world["directory"],
        workspace_id=workspace_id,
        user_name="ceo",
        state="AVAILABLE",
        running_mode="MANUAL",
        tags={},
    )


def test_an_untagged_workspace_is_never_touched(stack_factory, world, simulator):
    untagged = _untagged_workspace(world, simulator)
    tagged = _make_desktops(world, simulator, 1)
    with pytest.raises(DesktopActionInvalid, match="not tagged PartnerManaged=true"):
        _act(world, [untagged], "terminate")
    assert _mutation_counts(simulator) == {}
    refused = AuditEvent.objects.get(target_id=untagged.workspace_id)
    assert (refused.outcome, refused.error_code, refused.action) == (
        "REFUSED",
        "TagGuardRefused",
        "TerminateWorkspaces",
    )

    stack = stack_factory().start()
    job = wait_for_job(_act(world, [untagged, *tagged], "stop"), stack)
    assert job.status == "SUCCEEDED"  # the untagged one was skipped, not failed: nothing went wrong
    skipped = JobItem.objects.get(job=job, desktop=untagged)
    assert (skipped.status, skipped.error_code) == ("SKIPPED", "TagGuardRefused")
    sent = [
        e["WorkspaceId"] for r in simulator.requests("StopWorkspaces") for e in r["StopWorkspaceRequests"]
    ]
    assert sent == [tagged[0].workspace_id]
    assert _sim_state(simulator, untagged) == "AVAILABLE"
    print("\nFIGURE tag_guard untagged_mutation_calls=0")


def test_the_tag_guard_holds_again_when_the_item_runs(stack_factory, world, simulator):
    desktops = _make_desktops(world, simulator, 2)
    job = _act(world, desktops, "reboot")
    # Reconciliation found the tag gone after the job was made, before any worker ran it.
    Desktop.objects.filter(pk=desktops[0].pk).update(tags={})
    stack = stack_factory().start()
    job = wait_for_job(job, stack)
    assert job.status == "PARTIAL"
    assert JobItem.objects.get(job=job, desktop=desktops[0]).error_code == "TagGuardRefused"
    sent = [
        e["WorkspaceId"] for r in simulator.requests("RebootWorkspaces") for e in r["RebootWorkspaceRequests"]
    ]
    assert sent == [desktops[1].workspace_id]
    assert AuditEvent.objects.get(job=job, outcome="REFUSED").target_id == desktops[0].workspace_id
