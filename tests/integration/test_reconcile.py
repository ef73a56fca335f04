"""Reconciliation on a real worker (and beat) against drift made behind our back in the simulator."""

import time

import pytest
from django.core.management import call_command

from orchestration.actors import Actor
from orchestration.choices import JOB_TERMINAL_STATUSES, JobKind
from orchestration.models import Job
from orchestration.services.reconcile import DESKTOP_TAG_CHECKS_PER_RUN, reconcile_start
from tenants.models import Desktop
from tests.factories import JobFactory, JobItemFactory
from tests.integration.conftest import wait_for_job
from tests.integration.world import admin_client

pytestmark = pytest.mark.integration
ACTOR = Actor.system("test")
PARTNER_TAGS = [{"Key": "PartnerManaged", "Value": "true"}]


def make_workspaces(
    simulator, world, users: list[str], *, tagged: bool, running_mode: str = "MANUAL"
) -> list[str]:
    """WorkSpaces the customer made themselves, 25 a call; their ids in the order of `users`."""
    demo = world["demo"]
    client = admin_client(simulator, demo)
    ids = []
    for start in range(0, len(users), 25):
        requests = [
            {
                "DirectoryId": demo["directory_id"],
                "UserName": user,
                "BundleId": world["bundle"].bundle_id,
                "WorkspaceProperties": {"RunningMode": running_mode},
                **({"Tags": PARTNER_TAGS} if tagged else {}),
            }
            for user in users[start : start + 25]
        ]
        made = client.create_workspaces(Workspaces=requests)
        assert not made["FailedRequests"]
        by_user = {w["UserName"]: w["WorkspaceId"] for w in made["PendingRequests"]}
        ids.extend(by_user[user] for user in users[start : start + 25])
    return ids


def _desktop(world, **fields) -> Desktop:
    return Desktop.objects.create(
        aws_account=world["aws_account"],
        region="us-east-1",
        directory=world["directory"],
        bundle=world["bundle"],
        **fields,
    )


def test_drift_is_adopted_listed_marked_and_reported(stack_factory, customer_account, simulator, capsys):
    world = customer_account
    tagged = make_workspaces(simulator, world, ["tara", "tom", "tess"], tagged=True)
    untagged = make_workspaces(simulator, world, ["uma", "ulf"], tagged=False)
    (known_id,) = make_workspaces(simulator, world, ["kim"], tagged=True)
    known = _desktop(world, workspace_id=known_id, user_name="kim", state="PENDING", compute_type="POWER")
    ghost = _desktop(world, workspace_id="ws-0ghost0000", user_name="gus", state="AVAILABLE")
    going = _desktop(world, workspace_id="ws-0going0000", user_name="gil", state="TERMINATING")
    requested = _desktop(world, user_name="rex", state="REQUESTED", workspace_name="wsc-999")
    requested_updated_at = requested.updated_at
    simulator.advance(1300)  # provisioning done
    simulator.clear_calls()
    stack_factory().start()

    call_command("reconcile", "--account", world["aws_account"].account_id, "--wait", "--poll-seconds", "0.2")
    out = capsys.readouterr().out

    job = Job.objects.get(kind=JobKind.RECONCILE)
    assert job.status == "SUCCEEDED"
    report = job.result["regions"]["us-east-1"]["desktops"]
    assert report["adopted"] == sorted(tagged)
    assert [(e["workspace_id"], e["reason"]) for e in report["untracked"]] == [
        (wid, "not tagged PartnerManaged=true") for wid in sorted(untagged)
    ]
    assert report["missing"] == [ghost.workspace_id]
    assert report["terminated"] == [going.workspace_id]
    assert report["counts"]["seen"] == 6 and report["counts"]["updated"] == 1

    for workspace_id in tagged:
        adopted = Desktop.objects.get(workspace_id=workspace_id)
        assert (adopted.state, adopted.tags, adopted.directory, adopted.bundle) == (
            "AVAILABLE",
            {"PartnerManaged": "true"},
            world["directory"],
            world["bundle"],
        )
        assert adopted.computer_name and adopted.ip_address
    assert not Desktop.objects.filter(workspace_id__in=untagged).exists()
    known.refresh_from_db()
    assert (known.state, known.compute_type) == ("AVAILABLE", "STANDARD")
    assert known.ip_address and known.last_synced_at
    ghost.refresh_from_db()
    assert ghost.missing_from_aws_since is not None and ghost.state == "AVAILABLE"
    going.refresh_from_db()
    assert going.state == "TERMINATED" and going.missing_from_aws_since is not None
    requested.refresh_from_db()
    assert (requested.state, requested.updated_at) == ("REQUESTED", requested_updated_at)

    assert f"desktops adopted (3): {', '.join(sorted(tagged))}" in out
    assert f"desktops missing (1): {ghost.workspace_id}" in out
    assert f"desktop untracked: {sorted(untagged)[0]}" in out

    counts = simulator.call_counts(account_id=world["aws_account"].account_id)
    # One page of WorkSpaces; DescribeTags: 1 directory, the onboarded image we had no row for (adopted),
    # 1 bundle, 5 unknown desktops and 1 known one.
    assert counts["DescribeWorkspaces"] == 1
    assert counts["DescribeTags"] == 9
    assert counts["DescribeWorkspaceDirectories"] == 1 and counts["DescribeWorkspaceBundles"] == 1
    assert counts["DescribeWorkspaceImages"] == 1
    images = job.result["regions"]["us-east-1"]["images"]
    assert images["adopted"] == [world["demo"]["image_id"]]
    world["bundle"].refresh_from_db()
    assert world["bundle"].image.image_id == world["demo"]["image_id"]
    assert not any(op.startswith(("Create", "Modify", "Terminate", "Stop", "Delete")) for op in counts)
    print(f"\nFIGURE reconcile desktops=6 {counts}")


def test_pages_of_25_and_a_bounded_round_robin_of_tag_checks(stack_factory, customer_account, simulator):
    world = customer_account
    total = DESKTOP_TAG_CHECKS_PER_RUN + 10
    make_workspaces(simulator, world, [f"user{n:03d}" for n in range(total)], tagged=True)
    stack = stack_factory().start()
    account = world["aws_account"]
    runs = []
    for _ in range(3):
        simulator.clear_calls()
        job = wait_for_job(reconcile_start(actor=ACTOR, aws_account=account), stack)
        assert job.status == "SUCCEEDED"
        report = job.result["regions"]["us-east-1"]["desktops"]
        counts = simulator.call_counts(account_id=account.account_id)
        runs.append((report["counts"], counts["DescribeWorkspaces"], counts["DescribeTags"]))

    pages = -(-total // 25)
    # Run 1 adopts every desktop and the onboarded image (one DescribeTags each); later runs check 100
    # desktop tags, round robin; the directory and the bundle are checked every run.
    assert [r[0]["adopted"] for r in runs] == [total, 0, 0]
    assert [r[1] for r in runs] == [pages] * 3
    assert [r[0]["tags_checked"] for r in runs] == [0, DESKTOP_TAG_CHECKS_PER_RUN, DESKTOP_TAG_CHECKS_PER_RUN]
    assert [r[2] for r in runs] == [total + 3, DESKTOP_TAG_CHECKS_PER_RUN + 2, DESKTOP_TAG_CHECKS_PER_RUN + 2]
    print(
        f"\nFIGURE reconcile desktops={total} DescribeWorkspaces/run={pages} DescribeTags/run={[r[2] for r in runs]}"
    )


def test_aws_stopping_a_manual_desktop_and_a_lost_tag_are_reported(
    stack_factory, customer_account, simulator
):
    world = customer_account
    left_alone, stopped_by_us = make_workspaces(simulator, world, ["ann", "ben"], tagged=True)
    (untagged_later,) = make_workspaces(simulator, world, ["cal"], tagged=True, running_mode="ALWAYS_ON")
    simulator.advance(1300)
    stack = stack_factory().start()
    account = world["aws_account"]
    first = wait_for_job(reconcile_start(actor=ACTOR, aws_account=account), stack)
    assert first.result["regions"]["us-east-1"]["desktops"]["counts"]["adopted"] == 3

    ours = Desktop.objects.get(workspace_id=stopped_by_us)
    JobItemFactory(job=JobFactory(kind=JobKind.DESKTOP_STOP, customer=world["customer"]), desktop=ours)
    client = admin_client(simulator, world["demo"])
    client.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": stopped_by_us}])
    client.delete_tags(ResourceId=untagged_later, TagKeys=["PartnerManaged"])
    simulator.advance(48 * 3600 + 600)  # the 48-hour rule stops the MANUAL desktop left running
    assert simulator.workspace(left_alone)["State"] == "STOPPED"

    second = wait_for_job(reconcile_start(actor=ACTOR, aws_account=account), stack)
    report = second.result["regions"]["us-east-1"]["desktops"]
    assert report["stopped_by_aws"] == [left_alone]
    assert report["lost_tag"] == [untagged_later]
    assert second.result["summary"]["stopped_by_aws"] == 1 and second.result["summary"]["lost_tag"] == 1
    assert Desktop.objects.get(workspace_id=left_alone).state == "STOPPED"
    assert Desktop.objects.get(workspace_id=untagged_later).tags == {}


def test_a_region_aws_refuses_is_reported_failed(stack_factory, customer_account, simulator):
    simulator.schedule_fault("DescribeWorkspaceDirectories", "error", code="AccessDeniedException")
    stack = stack_factory().start()
    job = wait_for_job(reconcile_start(actor=ACTOR, aws_account=customer_account["aws_account"]), stack)
    assert job.status == "FAILED"
    assert job.result["regions"]["us-east-1"]["error"]["code"] == "AccessDeniedException"
    assert job.items.get().error_code == "AccessDeniedException"
    assert job.result["summary"]["regions_failed"] == 1


def test_beat_reconciles_every_verified_account_one_job_at_a_time(stack_factory, customer_account, simulator):
    account = customer_account["aws_account"]
    account.verification_status = "VERIFIED"
    account.save()
    make_workspaces(simulator, customer_account, ["bea"], tagged=True)
    stack = stack_factory({"RECONCILE_INTERVAL_SECONDS": "1"}).start()
    deadline = time.monotonic() + 90
    finished: list[Job] = []
    while time.monotonic() < deadline and len(finished) < 2:
        jobs = list(Job.objects.filter(kind=JobKind.RECONCILE))
        assert sum(1 for j in jobs if j.status not in JOB_TERMINAL_STATUSES) <= 1
        finished = [j for j in jobs if j.status in JOB_TERMINAL_STATUSES]
        stack.supervise()
        time.sleep(0.2)
    assert len(finished) >= 2, stack.logs()
    assert {(j.status, j.requested_by_kind, j.requested_by_label, j.queue) for j in finished} == {
        ("SUCCEEDED", "SCHEDULE", "reconcile", "periodic")
    }
    assert Desktop.objects.filter(aws_account=account).count() == 1
