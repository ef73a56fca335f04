"""The idle sweep fans out per AWS account: the window's claim sends one task per account, each account's
sweep runs once per window, and its SQL does not grow with the account's desktops."""

import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orchestration.models import AuditEvent, Job, ScheduleRun
from orchestration.services.power import idle_sweep_account_run, idle_sweep_run
from orchestration.services.schedules import schedule_exclusive
from tenants.models import Desktop, PowerPolicy
from tests.factories import DesktopFactory, PowerPolicyFactory
from tests.integration.world import make_available_desktops, onboard_demo_customer


@pytest.fixture
def sent():
    """Every message published, as (task, args, queue)."""
    messages: list[tuple] = []

    def record(name, args=None, queue=None, countdown=None, **kwargs):
        messages.append((name, args, queue))

    with mock.patch("orchestration.engine.publish.current_app.send_task", side_effect=record):
        yield messages


@pytest.mark.django_db
def test_the_window_claim_sends_one_periodic_task_per_account_with_candidates_and_only_once(sent):
    swept_a = DesktopFactory()
    swept_b = DesktopFactory()
    PowerPolicyFactory(customer=swept_a.aws_account.customer, is_default=True)
    PowerPolicyFactory(customer=swept_b.aws_account.customer, is_default=True)
    DesktopFactory(aws_account=swept_a.aws_account)  # a second candidate of the same account: one task
    DesktopFactory()  # its customer has no policy: no candidate, no task
    stopped = DesktopFactory(state="STOPPED")  # not running: no task, though it has a policy
    PowerPolicyFactory(customer=stopped.aws_account.customer, is_default=True)
    now = datetime(2026, 11, 27, 10, 7, 31, tzinfo=UTC)

    result = idle_sweep_run(now=now)

    assert result == {"claimed": True, "window_start": "2026-11-27T10:05:00+00:00", "accounts": 2}
    assert sorted(sent) == sorted(
        ("orchestration.idle_sweep_account", [account.account_id, now.isoformat()], "periodic")
        for account in (swept_a.aws_account, swept_b.aws_account)
    )
    run = ScheduleRun.objects.get(schedule="idle-sweep")
    assert run.status == "SUCCEEDED" and run.result["accounts"] == 2
    # A second beat in the same window: nothing sent (F6).
    assert idle_sweep_run(now=now + timedelta(seconds=30))["claimed"] is False
    assert len(sent) == 2


@pytest.fixture
def two_accounts(db, simulator):
    """Two onboarded customers in two simulated accounts, each with a default policy; AWS reports new
    WorkSpaces AVAILABLE at once."""
    acme = onboard_demo_customer(simulator, name="Acme", slug="acme")
    globex = onboard_demo_customer(simulator, name="Globex", slug="globex", demo_index=1, world=acme["world"])
    for world in (acme, globex):
        PowerPolicy.objects.create(
            customer=world["customer"], name="office", is_default=True, stop_after_no_session_minutes=60
        )
    simulator.set_durations(provisioning=0)
    return acme, globex


@pytest.mark.slow
def test_an_account_sweep_runs_once_per_window_and_touches_only_its_account(
    two_accounts, simulator, settings
):
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    acme, globex = two_accounts
    mine = make_available_desktops(acme, 3)
    theirs = make_available_desktops(globex, 2)
    now = timezone.now()
    account = acme["aws_account"].account_id

    first = idle_sweep_account_run(aws_account_id=account, now=now)
    again = idle_sweep_account_run(aws_account_id=account, now=now + timedelta(seconds=1))

    assert first["claimed"] and first["stopped"] == 3 and first["candidates"] == 3
    assert again == {"claimed": False, "aws_account_id": account, "window_start": first["window_start"]}
    assert len(simulator.calls("StopWorkspaces")) == 1
    assert AuditEvent.objects.filter(action="StopWorkspaces").count() == 3  # each stopped once
    assert set(Desktop.objects.filter(pk__in=[d.pk for d in mine]).values_list("state", flat=True)) == {
        "STOPPING"
    }
    assert set(Desktop.objects.filter(pk__in=[d.pk for d in theirs]).values_list("state", flat=True)) == {
        "AVAILABLE"
    }
    (job,) = Job.objects.filter(kind="IDLE_SWEEP")
    assert job.customer == acme["customer"] and job.requested_by_label == "idle-sweep"
    run = ScheduleRun.objects.get(schedule=f"idle-sweep:{account}")
    assert run.status == "SUCCEEDED" and run.result["stopped"] == 3
    # The other account's sweep of the same window is its own.
    other = idle_sweep_account_run(aws_account_id=globex["aws_account"].account_id, now=now)
    assert other["claimed"] and other["stopped"] == 2


@pytest.mark.slow
def test_an_account_sweep_costs_the_same_sql_for_3_desktops_as_for_60(two_accounts, simulator, settings):
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    acme, globex = two_accounts
    make_available_desktops(acme, 3)
    make_available_desktops(globex, 60)
    now = timezone.now()

    with CaptureQueriesContext(connection) as small:
        small_result = idle_sweep_account_run(aws_account_id=acme["aws_account"].account_id, now=now)
    with CaptureQueriesContext(connection) as big:
        big_result = idle_sweep_account_run(aws_account_id=globex["aws_account"].account_id, now=now)

    assert (small_result["stopped"], big_result["stopped"]) == (3, 60)
    assert big_result["stop_calls"] == 3 and big_result["connection_status_calls"] == 3
    assert len(big) == len(small), [q["sql"][:80] for q in big.captured_queries]
    # Claim, lock, policies, candidates, the write transaction (upsert, update, job, items, audit), unlock,
    # finish; in a test's transaction each atomic block is a savepoint too.
    assert len(big) == 16, [q["sql"][:80] for q in big.captured_queries]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_an_account_sweep_of_the_next_window_does_nothing_while_the_last_one_still_runs():
    """A slow sweep and the next window's would both read a desktop as AVAILABLE and stop it twice."""
    holding, release = threading.Event(), threading.Event()

    def slow_sweep():
        try:
            with schedule_exclusive("idle-sweep:111111111111") as alone:
                assert alone
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_sweep)
    thread.start()
    assert holding.wait(10)
    try:
        result = idle_sweep_account_run(aws_account_id="111111111111", now=timezone.now())
        # Another account is not held up by it.
        other = idle_sweep_account_run(aws_account_id="222222222222", now=timezone.now())
    finally:
        release.set()
        thread.join()
    assert result["claimed"] and result["skipped"] == "a sweep is running" and "stopped" not in result
    assert other["claimed"] and "skipped" not in other and other["candidates"] == 0
    run = ScheduleRun.objects.get(schedule="idle-sweep:111111111111")
    assert run.status == "SUCCEEDED" and run.result["skipped"]
    # Once the slow one ends, a run goes ahead (and the lock was given back, not kept by the connection).
    with schedule_exclusive("idle-sweep:111111111111") as alone:
        assert alone


@pytest.mark.slow
def test_an_account_sweep_costs_the_same_sql_for_110_stops_as_for_160(two_accounts, simulator, settings):
    """Past a hundred stops too: the job's items are one INSERT whatever their number."""
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    acme, globex = two_accounts
    make_available_desktops(acme, 110)
    make_available_desktops(globex, 160)
    now = timezone.now()

    with CaptureQueriesContext(connection) as small:
        small_result = idle_sweep_account_run(aws_account_id=acme["aws_account"].account_id, now=now)
    with CaptureQueriesContext(connection) as big:
        big_result = idle_sweep_account_run(aws_account_id=globex["aws_account"].account_id, now=now)

    assert (small_result["stopped"], big_result["stopped"]) == (110, 160)
    assert len(big) == len(small) == 16, [q["sql"][:80] for q in big.captured_queries]
