"""The pool manager: one run per (pool, window); the target from the capacity schedule; creates, starts,
stops and terminates that never touch an assigned desktop, never go below min or above max, at most 25
of each a run; every decision audited with its reason."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from orchestration.choices import JobKind, JobStatus
from orchestration.models import AuditEvent, Job, ScheduleRun
from orchestration.services.jobs import job_items_run
from orchestration.services.pools import POOL_BATCH, pool_plan, pools_manage_due
from tenants.choices import ConnectionState, DesktopState, RunningMode
from tenants.models import Desktop, DesktopActivity, PoolAction, PoolDesktop, PoolSample
from tests.pool_world import add_desktops, make_pool

pytestmark = pytest.mark.django_db

MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ASSIGNED = {"assigned_user": None, "assigned_at": MONDAY_NOON}


def assigned(pool, count):
    members = add_desktops(pool, count)
    for number, member in enumerate(members):
        PoolDesktop.objects.filter(pk=member.pk).update(
            assigned_user=f"held{number}", assigned_at=MONDAY_NOON
        )
    return members


def manage(now):
    """One beat tick and the manager jobs it made, run in this process."""
    made = pools_manage_due(now=now)
    for job_id in made["jobs"]:
        job = Job.objects.get(pk=job_id)
        job_items_run(job_id=job_id, item_ids=list(job.items.values_list("pk", flat=True)))
    return made


def test_the_buffer_is_restored_once_per_window_and_warming_desktops_count():
    pool = make_pool(buffer=3, max_size=10)
    add_desktops(pool, 1)
    assigned(pool, 2)
    first = manage(MONDAY_NOON)
    assert len(first["jobs"]) == 1
    create = Job.objects.get(kind=JobKind.DESKTOP_CREATE)
    assert create.items.count() == 2
    made = PoolDesktop.objects.filter(pool=pool, pending_action=PoolAction.CREATE)
    assert made.count() == 2 and not made.filter(assigned_user__isnull=False).exists()
    decision = AuditEvent.objects.get(action="PoolScaleUp")
    assert "buffer 3" in decision.details["reason"] and decision.details["job_id"] == create.pk
    # A second beat in the same window does nothing; the next window sees the two on their way.
    assert manage(MONDAY_NOON + timedelta(seconds=5))["jobs"] == []
    manage(MONDAY_NOON + timedelta(minutes=1))
    assert Job.objects.filter(kind=JobKind.DESKTOP_CREATE).count() == 1
    assert ScheduleRun.objects.filter(schedule=f"pool:{pool.pk}").count() == 2
    assert all(run.status == JobStatus.SUCCEEDED for run in ScheduleRun.objects.all())
    assert PoolSample.objects.filter(pool=pool).count() == 2


def test_a_schedule_window_changes_the_target():
    window = {"days": [0], "start": "11:00", "end": "13:00", "min": 6, "buffer": 4}
    pool = make_pool(min_size=1, buffer=1, max_size=10, schedule=[window])
    add_desktops(pool, 1)
    outside = pool_plan(pool, MONDAY_NOON - timedelta(hours=2))
    assert (outside.min_size, outside.buffer, outside.create) == (1, 1, 0)
    inside = pool_plan(pool, MONDAY_NOON)
    assert (inside.min_size, inside.buffer, inside.target_size, inside.create) == (6, 4, 6, 5)
    assert "window 11:00–13:00" in inside.reasons["create"]


def test_never_above_the_maximum_and_at_most_one_batch_a_run():
    pool = make_pool(buffer=4, max_size=4)
    assigned(pool, 2)
    assert pool_plan(pool, MONDAY_NOON).create == 2
    big = make_pool(buffer=60, max_size=100)
    assert pool_plan(big, MONDAY_NOON).create == POOL_BATCH


def test_stopped_desktops_are_started_before_any_is_made():
    pool = make_pool(buffer=3, max_size=10)
    add_desktops(pool, 2, state=DesktopState.STOPPED)
    plan = pool_plan(pool, MONDAY_NOON)
    assert len(plan.start) == 2 and plan.create == 1


def test_spare_warm_desktops_of_a_manual_pool_are_stopped_down_to_the_buffer():
    pool = make_pool(min_size=6, buffer=2, max_size=10)
    add_desktops(pool, 6)
    plan = pool_plan(pool, MONDAY_NOON)
    assert len(plan.stop) == 4 and not plan.terminate and not plan.create
    always_on = make_pool(min_size=6, buffer=2, max_size=10, running_mode=RunningMode.ALWAYS_ON)
    add_desktops(always_on, 6)
    assert not pool_plan(always_on, MONDAY_NOON).stop


def test_shrinking_never_touches_an_assigned_desktop_nor_goes_below_the_minimum():
    pool = make_pool(min_size=0, buffer=0, max_size=20)
    held = assigned(pool, 5)
    add_desktops(pool, 5)
    plan = pool_plan(pool, MONDAY_NOON)
    assert len(plan.terminate) == 5
    assert not {m.pk for m in plan.terminate} & {m.pk for m in held}
    floor = make_pool(min_size=4, buffer=0, max_size=20)
    add_desktops(floor, 8, state=DesktopState.STOPPED)
    assert len(pool_plan(floor, MONDAY_NOON).terminate) == 4


def test_the_manager_orders_jobs_for_its_decisions_and_audits_each():
    pool = make_pool(min_size=3, buffer=1, max_size=10)
    add_desktops(pool, 3)
    manage(MONDAY_NOON)
    stop = Job.objects.get(kind=JobKind.DESKTOP_STOP)
    assert stop.items.count() == 2
    event = AuditEvent.objects.get(action="PoolStop")
    assert "buffer of 1" in event.details["reason"] and event.details["count"] == 2
    stopping = PoolDesktop.objects.filter(pending_action=PoolAction.STOP)
    assert stopping.count() == 2 and set(stopping.values_list("pending_job_id", flat=True)) == {stop.pk}
    # When the stop job has finished, the next run clears the marks and orders nothing more.
    Job.objects.filter(pk=stop.pk).update(status=JobStatus.SUCCEEDED)
    Desktop.objects.filter(pool_membership__in=stopping).update(state=DesktopState.STOPPED)
    manage(MONDAY_NOON + timedelta(minutes=1))
    assert not PoolDesktop.objects.filter(pending_action=PoolAction.STOP).exists()
    assert Job.objects.exclude(kind=JobKind.POOL_MANAGE).count() == 1


def test_a_disconnected_user_loses_a_non_persistent_desktop_after_the_release_delay():
    pool = make_pool(buffer=0, max_size=5, release_delay_minutes=15)
    (member,) = assigned(pool, 1)
    now = timezone.now()
    PoolDesktop.objects.filter(pk=member.pk).update(assigned_at=now - timedelta(hours=1))
    DesktopActivity.objects.create(
        desktop_id=member.desktop_id,
        connection_state=ConnectionState.DISCONNECTED,
        last_connected_at=now - timedelta(minutes=50),
        last_disconnected_at=now - timedelta(minutes=10),
    )
    manage(now)
    member.refresh_from_db()
    assert member.assigned_user == "held0", "within the delay the user keeps it"
    manage(now + timedelta(minutes=6))
    member.refresh_from_db()
    assert member.assigned_user is None
    assert AuditEvent.objects.get(action="PoolRelease").details["user"] == "held0"
    # It is rebuilt before anyone else gets it.
    manage(now + timedelta(minutes=7))
    member.refresh_from_db()
    assert member.pending_action == PoolAction.REBUILD
    assert Job.objects.filter(kind=JobKind.DESKTOP_REBUILD).count() == 1


def test_a_persistent_pool_keeps_the_desktop_with_its_user_after_a_disconnect():
    pool = make_pool(buffer=0, persistent=True, release_delay_minutes=1)
    (member,) = assigned(pool, 1)
    now = timezone.now()
    DesktopActivity.objects.create(
        desktop_id=member.desktop_id,
        connection_state=ConnectionState.DISCONNECTED,
        last_disconnected_at=now - timedelta(hours=3),
    )
    PoolDesktop.objects.filter(pk=member.pk).update(assigned_at=now - timedelta(hours=4))
    manage(now)
    member.refresh_from_db()
    assert member.assigned_user == "held0"


def test_the_idle_sweep_leaves_a_pools_spare_desktops_to_the_pool_manager():
    from orchestration.services.power import _candidates
    from tests.factories import PowerPolicyFactory

    pool = make_pool()
    PowerPolicyFactory(customer=pool.customer, is_default=True, stop_after_no_session_minutes=5)
    spare = add_desktops(pool, 2)
    held = assigned(pool, 1)
    candidates, _ = _candidates()
    assert {d.pk for d in candidates} == {held[0].desktop_id}
    assert not {d.pk for d in candidates} & {m.desktop_id for m in spare}


def test_a_rolling_update_rebuilds_outdated_free_desktops_within_max_unavailable():
    from tests.factories import ImageFactory

    pool = make_pool(min_size=10, buffer=2, max_size=10, max_unavailable_percent=20)
    old = pool.bundle.image.image_id
    add_desktops(pool, 7, image_id=old)
    add_desktops(pool, 2, state=DesktopState.STOPPED, image_id=old)
    held = assigned(pool, 1)
    PoolDesktop.objects.filter(pk=held[0].pk).update(image_id=old)
    assert not pool_plan(pool, MONDAY_NOON).update, "the bundle's image has not changed"
    new = ImageFactory(aws_account=pool.aws_account)
    pool.bundle.image = new
    pool.bundle.save()
    plan = pool_plan(pool, MONDAY_NOON)
    assert len(plan.update) == 2, "20% of 10"
    assert all(m.desktop.state == DesktopState.STOPPED for m in plan.update), "stopped ones first"
    assert "at most 2 (20% of 10)" in plan.reasons["update"]
    # One released desktop waiting for its rebuild takes one of the two places.
    first_warm = (
        PoolDesktop.objects.filter(
            pool=pool, desktop__state=DesktopState.AVAILABLE, assigned_user__isnull=True
        )
        .order_by("pk")
        .first()
    )
    PoolDesktop.objects.filter(pk=first_warm.pk).update(needs_recycle=True)
    again = pool_plan(pool, MONDAY_NOON)
    assert len(again.update) == 1 and not {m.pk for m in again.update} & {held[0].pk}
    manage(MONDAY_NOON)
    assert AuditEvent.objects.filter(action="PoolImageUpdate").count() == 1
    updating = PoolDesktop.objects.filter(pool=pool, pending_action=PoolAction.REBUILD, needs_recycle=False)
    assert set(updating.values_list("image_id", flat=True)) == {new.image_id}
