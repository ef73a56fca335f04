"""Idle-timeout stops end to end: two beats, a real worker, the simulator's scripted sessions."""

import math
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from orchestration.actors import Actor
from orchestration.models import AuditEvent, Job, ScheduleRun
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from orchestration.services.power import idle_sweep
from tenants.models import ApiToken, Desktop, DesktopActivity, PowerPolicy
from tests.integration.conftest import wait_for_job
from tests.integration.world import make_available_desktops, onboard_demo_customer

pytestmark = pytest.mark.integration


@pytest.fixture
def realtime_customer(transactional_db, simulator):
    """An onboarded customer whose simulated AWS runs on the wall clock, so AWS's session timestamps
    and ours agree; provisioning and stopping take a second."""
    world = onboard_demo_customer(simulator, name="Acme", slug="acme")
    simulator.set_durations(provisioning=1, stopping=1, starting=1)
    simulator.set_time_scale(1)
    PowerPolicy.objects.create(
        customer=world["customer"],
        name="office",
        is_default=True,
        stop_after_disconnect_minutes=30,
        stop_after_no_session_minutes=60,
    )
    return world


def _wait(predicate, timeout: float, what: str, stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        stack.supervise()
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen in {timeout}s\n{stack.logs()}")


def test_idle_desktops_stop_live_ones_do_not_and_two_beats_run_each_window_once(
    stack_factory, realtime_customer, simulator
):
    world = realtime_customer
    # Windows of 4 s: a sweep still running when the next window's starts would stop a desktop twice.
    stack = stack_factory({"IDLE_SWEEP_INTERVAL_SECONDS": "4"}).start(beat=False)
    job = desktop_create_bulk(
        actor=Actor.system("test"),
        request=DesktopCreateRequest(
            customer=world["customer"],
            aws_account=world["aws_account"],
            directory=world["directory"],
            bundle=world["bundle"],
            user_names=["connected", "gone45", "gone10", "never", "gateway", "untagged"],
        ),
    )
    assert wait_for_job(job, stack).status == "SUCCEEDED"
    desktops = {d.user_name: d for d in Desktop.objects.filter(job_items__job=job)}
    # They have been running for two hours.
    Desktop.objects.filter(pk__in=[d.pk for d in desktops.values()]).update(
        state_changed_at=timezone.now() - timedelta(hours=2)
    )
    Desktop.objects.filter(pk=desktops["untagged"].pk).update(tags={})  # not ours to stop (S5)
    ws = {name: d.workspace_id for name, d in desktops.items()}
    simulator.script_connections(ws["connected"], [(-1800, "CONNECTED")])
    simulator.script_connections(ws["gone45"], [(-5400, "CONNECTED"), (-2700, "DISCONNECTED")])
    simulator.script_connections(ws["gone10"], [(-5400, "CONNECTED"), (-600, "DISCONNECTED")])
    simulator.script_connections(ws["gateway"], [(-5400, "CONNECTED"), (-2700, "DISCONNECTED")])
    # The gateway says its user is on (AWS lags behind): the gateway's heartbeat wins.
    _, token = ApiToken.issue(customer=world["customer"], name="gateway")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    posted = api.post(
        "/api/v1/session-events",
        {"events": [{"workspace_id": ws["gateway"], "event": "heartbeat"}]},
        format="json",
    )
    assert posted.status_code == 202 and posted.json()["applied"] == 1
    simulator.clear_calls()

    stack.beat = stack.add_beat("beat-a")
    stack.add_beat("beat-b")
    _wait(
        lambda: ScheduleRun.objects.filter(schedule="idle-sweep", status="SUCCEEDED").count() >= 4,
        60,
        "four idle-sweep windows",
        stack,
    )

    stopped = set(
        AuditEvent.objects.filter(action="StopWorkspaces", outcome="SUCCEEDED").values_list(
            "target_id", flat=True
        )
    )
    assert stopped == {ws["gone45"], ws["never"]}
    reasons = dict(AuditEvent.objects.filter(action="StopWorkspaces").values_list("target_id", "details"))
    assert reasons[ws["gone45"]]["reason"].startswith("disconnected for 45 minutes")
    assert reasons[ws["never"]]["reason"].startswith("no session in 120 minutes")
    assert AuditEvent.objects.filter(action="StopWorkspaces").count() == 2  # each stopped once, ever
    assert all(
        e.actor_kind == "SCHEDULE" and e.aws_request_id
        for e in AuditEvent.objects.filter(action="StopWorkspaces")
    )
    assert len(simulator.calls("StopWorkspaces")) == 1  # 2 desktops: ceil(2/25)
    # The stops are recorded as a job of their own, an item per desktop, followed to STOPPED by its poll.
    (sweep_job,) = Job.objects.filter(kind="IDLE_SWEEP")
    assert (sweep_job.requested_by_kind, sweep_job.requested_by_label) == ("SCHEDULE", "idle-sweep")
    assert {i.aws_resource_id: i.params["reason"][:12] for i in sweep_job.items.all()} == {
        ws["gone45"]: "disconnected",
        ws["never"]: "no session i",
    }
    assert {e.job_id for e in AuditEvent.objects.filter(action="StopWorkspaces")} == {sweep_job.pk}
    for name in ("connected", "gone10", "gateway", "untagged"):
        assert simulator.workspace(ws[name])["State"] == "AVAILABLE", name
    for name in ("gone45", "never"):
        assert simulator.workspace(ws[name])["State"] in ("STOPPING", "STOPPED"), name
    # The gateway-live desktop was not even asked about.
    asked = {
        wid
        for call in simulator.requests("DescribeWorkspacesConnectionStatus")
        for wid in call["WorkspaceIds"]
    }
    assert ws["gateway"] not in asked and ws["connected"] in asked
    assert DesktopActivity.objects.get(desktop=desktops["connected"]).connection_state == "CONNECTED"

    # F6: two beats sent every window twice; each window ran once.
    runs = list(ScheduleRun.objects.filter(schedule="idle-sweep").values_list("window_start", flat=True))
    assert len(runs) == len(set(runs))
    worker_log = stack.worker.log()
    refused = len(
        re.findall(r"orchestration\.idle_sweep\[[^\]]+\] succeeded in [^:]+: \{'claimed': False", worker_log)
    )
    claimed = len(
        re.findall(r"orchestration\.idle_sweep\[[^\]]+\] succeeded in [^:]+: \{'claimed': True", worker_log)
    )
    assert claimed == len(runs) and refused >= 1
    print(
        f"\nFIGURE F6 beats=2 idle_sweep_deliveries={claimed + refused} runs={len(runs)} windows={len(set(runs))}"
    )


@pytest.mark.timeout(900)  # the simulator answers each of ~2,200 calls in time that grows with the fleet
def test_a_sweep_over_10000_desktops_costs_the_same_sql_as_over_100_and_ceil_n_over_25_calls(
    realtime_customer, simulator, settings
):
    world = realtime_customer
    simulator.set_durations(provisioning=0)
    settings.AWS_RATE_LIMIT_PER_SECOND = 0  # the limiter is not what this measures
    small = make_available_desktops(world, 100)
    time.sleep(0.1)
    # Every tenth has a user on: those stay.
    for desktop in small[::10]:
        simulator.script_connections(desktop.workspace_id, [(-60, "CONNECTED")])
    simulator.clear_calls()
    with CaptureQueriesContext(connection) as queries_small:
        report_small = idle_sweep(now=timezone.now())
    calls = simulator.call_counts()
    assert (report_small.candidates, report_small.stopped) == (100, 90)
    assert calls["StopWorkspaces"] == math.ceil(90 / 25)
    assert calls["DescribeWorkspacesConnectionStatus"] == math.ceil(100 / 25)

    big = make_available_desktops(world, 10_000)
    for desktop in big[::10]:
        simulator.script_connections(desktop.workspace_id, [(-60, "CONNECTED")])
    simulator.clear_calls()
    with CaptureQueriesContext(connection) as queries_big:
        report_big = idle_sweep(now=timezone.now())
    calls = simulator.call_counts()
    # The 10 still-connected desktops of the first round are candidates again.
    assert (report_big.candidates, report_big.stopped, report_big.stop_failed) == (10_010, 9_000, 0)
    assert calls["StopWorkspaces"] == math.ceil(9_000 / 25)
    assert calls["DescribeWorkspacesConnectionStatus"] == math.ceil(10_010 / 25)
    assert len(queries_big) == len(queries_small), [q["sql"][:80] for q in queries_big.captured_queries]
    assert Desktop.objects.filter(state="STOPPING").count() == 90 + 9_000
    print(
        f"\nFIGURE idle_sweep desktops={report_big.candidates} sql_queries={len(queries_big)} "
        f"connection_status_calls={calls['DescribeWorkspacesConnectionStatus']} stopped={report_big.stopped} "
        f"stop_calls={calls['StopWorkspaces']}"
    )
