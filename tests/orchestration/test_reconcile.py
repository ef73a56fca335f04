"""Reconciliation without AWS: one job per account, the tag-check rotation, drift rules, the report."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.types import Workspace
from orchestration.choices import JobKind
from orchestration.models import Job
from orchestration.services.reconcile import (
    ReconcileInvalid,
    _changes,
    _stopped_by_us,
    reconcile_all,
    reconcile_report_lines,
    reconcile_start,
    reconcile_summary,
    tag_check_batch,
)
from tests.factories import (
    AwsAccountFactory,
    BundleFactory,
    CustomerFactory,
    DesktopFactory,
    JobFactory,
    JobItemFactory,
)

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def test_tag_checks_rotate_so_every_desktop_is_checked_and_the_longest_unchecked_go_first():
    pks = list(range(1, 11))
    cursor, checked = 0, []
    for _ in range(3):
        batch = tag_check_batch(pks, cursor, 4)
        checked.append(batch)
        cursor = batch[-1]
    assert checked == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 1, 2]]
    assert tag_check_batch([3, 7], 5, 100) == [7, 3]
    assert tag_check_batch([], 5, 100) == []


def test_one_reconciliation_per_account_at_a_time_one_item_per_region():
    account = AwsAccountFactory(regions=["us-east-1", "eu-west-1"])
    job = reconcile_start(actor=ACTOR, aws_account=account)
    assert (job.kind, job.queue, job.total_items) == (JobKind.RECONCILE, "bulk", 2)
    assert sorted(item.params["region"] for item in job.items.all()) == ["eu-west-1", "us-east-1"]
    assert reconcile_start(actor=ACTOR, aws_account=account, regions=["eu-west-1"]) == job
    Job.objects.filter(pk=job.pk).update(status="SUCCEEDED")
    second = reconcile_start(actor=ACTOR, aws_account=account, regions=["eu-west-1"])
    assert second != job and second.total_items == 1


def test_regions_outside_the_account_are_refused():
    account = AwsAccountFactory()
    with pytest.raises(ReconcileInvalid) as excinfo:
        reconcile_start(actor=ACTOR, aws_account=account, regions=["ap-south-1"])
    assert excinfo.value.errors == {"regions": ["Not regions of this account: ap-south-1."]}
    assert not Job.objects.exists()


def test_reconcile_all_starts_one_job_per_verified_account_of_an_active_customer():
    verified = [AwsAccountFactory(verification_status="VERIFIED") for _ in range(2)]
    AwsAccountFactory(verification_status="UNVERIFIED")
    AwsAccountFactory(verification_status="VERIFIED", customer=CustomerFactory(is_active=False))
    assert reconcile_all() == 2
    jobs = Job.objects.filter(kind=JobKind.RECONCILE)
    assert sorted(j.params["aws_account_id"] for j in jobs) == sorted(a.account_id for a in verified)
    assert {(j.requested_by_kind, j.requested_by_label, j.queue) for j in jobs} == {
        ("SCHEDULE", "reconcile", "periodic")
    }
    assert reconcile_all() == 0  # both still running
    assert jobs.count() == 2


def test_changes_copy_what_aws_reports_and_keep_what_it_leaves_out():
    desktop = DesktopFactory(
        state="AVAILABLE", compute_type="STANDARD", root_volume_gib=80, user_volume_gib=50
    )
    other_bundle = BundleFactory(aws_account=desktop.aws_account)
    now = timezone.now()
    same = Workspace(
        workspace_id=desktop.workspace_id,
        directory_id=desktop.directory.directory_id,
        user_name=desktop.user_name,
        state="AVAILABLE",
        bundle_id=desktop.bundle.bundle_id,
        running_mode="MANUAL",
        compute_type="STANDARD",
        root_volume_gib=80,
        user_volume_gib=50,
    )
    assert _changes(desktop, same, {}, now) == {}
    moved = Workspace(
        **{
            **same.__dict__,
            "state": "STOPPED",
            "ip_address": "10.0.1.5",
            "computer_name": "WSAMZN-1",
            "bundle_id": other_bundle.bundle_id,
            "compute_type": "",
        }
    )
    changes = _changes(desktop, moved, {other_bundle.bundle_id: other_bundle}, now)
    assert changes == {
        "state": "STOPPED",
        "state_changed_at": now,
        "ip_address": "10.0.1.5",
        "computer_name": "WSAMZN-1",
        "bundle": other_bundle,
    }


def test_a_stop_of_ours_since_the_desktop_became_available_is_not_blamed_on_aws():
    now = timezone.now()
    ours = DesktopFactory(state_changed_at=now - timedelta(hours=50))
    theirs = DesktopFactory(state_changed_at=now - timedelta(hours=50))
    stale = DesktopFactory(state_changed_at=now - timedelta(hours=50))
    JobItemFactory(
        desktop=ours, job=JobFactory(kind=JobKind.DESKTOP_STOP, customer=ours.aws_account.customer)
    )
    old_stop = JobItemFactory(
        desktop=stale, job=JobFactory(kind=JobKind.DESKTOP_STOP, customer=stale.aws_account.customer)
    )
    type(old_stop).objects.filter(pk=old_stop.pk).update(created_at=now - timedelta(hours=60))
    JobItemFactory(
        desktop=theirs,
        job=JobFactory(kind=JobKind.DESKTOP_STOP, customer=theirs.aws_account.customer),
        status="FAILED",
    )
    assert _stopped_by_us([ours, theirs, stale]) == {ours.pk}


def test_the_report_sums_regions_and_reads_as_lines():
    regions = {
        "us-east-1": {
            "desktops": {
                "counts": {"seen": 30, "updated": 2, "adopted": 1, "missing": 1, "stopped_by_aws": 1},
                "adopted": ["ws-aaaaaaaaa"],
                "missing": ["ws-bbbbbbbbb"],
                "stopped_by_aws": ["ws-ccccccccc"],
                "untracked": [
                    {
                        "workspace_id": "ws-ddddddddd",
                        "user_name": "eve",
                        "state": "AVAILABLE",
                        "reason": "why",
                    }
                ],
            },
            "directories": {"lost_tag": ["d-1234567890"], "missing": []},
            "images": {
                "state_changes": [{"image_id": "wsi-123456789", "from": "PENDING", "to": "AVAILABLE"}],
                "missing": ["wsi-987654321"],
            },
            "bundles": {"untracked": [{"bundle_id": "wsb-123456789", "name": "theirs"}], "lost_tag": []},
        },
        "eu-west-1": {"error": {"code": "AccessDeniedException", "message": "no"}},
    }
    summary = reconcile_summary(regions)
    assert summary["desktops_seen"] == 30
    assert summary["stopped_by_aws"] == 1
    assert summary["lost_tag"] == 1
    assert summary["regions_failed"] == 1
    assert summary["images_missing"] == 1
    job = JobFactory(kind=JobKind.RECONCILE, params={"aws_account_id": "111111111111"})
    job.result = {"regions": regions, "summary": summary}
    text = "\n".join(reconcile_report_lines(job))
    assert "eu-west-1: failed: AccessDeniedException: no" in text
    assert "desktops stopped_by_aws (1): ws-ccccccccc" in text
    assert "desktop untracked: ws-ddddddddd user eve (AVAILABLE): why" in text
    assert "directories lost_tag: d-1234567890" in text
    assert "bundles untracked: wsb-123456789" in text
    assert "images state_changes: wsi-123456789 PENDING -> AVAILABLE" in text
    assert "images missing: wsi-987654321" in text


@pytest.mark.django_db
def test_a_stop_the_idle_sweep_recorded_is_ours_not_the_48_hour_rule():
    from orchestration.actors import Actor
    from orchestration.engine.jobs import NewItem, NewJob, jobs_create
    from orchestration.models import AuditEvent
    from orchestration.services.reconcile import _stopped_by_us
    from tests.factories import DesktopFactory

    became_available = timezone.now() - timedelta(hours=3)
    swept = DesktopFactory(state="AVAILABLE", state_changed_at=became_available)
    left_alone = DesktopFactory(state="AVAILABLE", state_changed_at=became_available)
    audited_only = DesktopFactory(state="AVAILABLE", state_changed_at=became_available)
    # What the sweep records: an IDLE_SWEEP job with an item per desktop it stopped.
    jobs_create(
        [
            NewJob(
                kind=JobKind.IDLE_SWEEP,
                actor=Actor.schedule("idle-sweep"),
                customer=swept.aws_account.customer,
                params={"action": "stop"},
                items=[NewItem(desktop=swept, aws_resource_id=swept.workspace_id, waiting=True)],
            )
        ]
    )
    # Reconciliation no longer reads the audit log: an audit row alone does not make a stop ours.
    AuditEvent.objects.create(
        actor_kind="SCHEDULE",
        actor_label="idle-sweep",
        action="StopWorkspaces",
        target_type="desktop",
        target_id=audited_only.workspace_id,
        outcome="SUCCEEDED",
    )
    assert _stopped_by_us([swept, left_alone, audited_only]) == {swept.pk}
