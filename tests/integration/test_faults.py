"""Faults from reliability.md against real processes: each test prints the figure it reports.

The sizes here are what CI can afford; bench/ runs the full sizes.
"""

import random
import threading
import time
from collections import Counter
from unittest import mock

import pytest
import redis
from celery import Celery
from django.db import transaction

from orchestration.actors import Actor
from orchestration.aws.workspaces import workspaces_list
from orchestration.choices import JOB_TERMINAL_STATUSES
from orchestration.models import Job, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.desktop_actions import DesktopAction, desktop_action_bulk
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from tenants.models import Desktop
from tests.integration.conftest import wait_for_job
from tests.integration.stack import SHORT_LEASE, RedisProcess
from tests.integration.world import (
    AWS_SPEEDUP,
    AWS_TIME_SCALE,
    make_available_desktops,
    onboard_demo_customer,
)

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
ACTOR = Actor.system("fault test")


def _create(world, count: int):
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    return desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=count))


def _aws_census(world) -> Counter:
    """How many live WorkSpaces AWS has per name we gave: the judge of lost and duplicated desktops."""
    access = account_access(world["aws_account"], region=world["directory"].region)
    return Counter(
        w.workspace_name
        for w in workspaces_list(access, directory_id=world["directory"].directory_id)
        if w.state not in ("TERMINATING", "TERMINATED")
    )


def _messages_waiting(broker: RedisProcess) -> int:
    """Messages published to the broker and not taken by any worker: every Celery queue is a Redis list."""
    client = redis.Redis.from_url(broker.url)
    return sum(client.llen(key) for key in client.scan_iter() if client.type(key) == b"list")


def _assert_exactly_once(job: Job, world) -> dict[str, int]:
    census = _aws_census(world)
    wanted = set(JobItem.objects.filter(job=job).values_list("desktop__workspace_name", flat=True))
    lost = len(wanted - set(census))
    duplicates = sum(count - 1 for count in census.values() if count > 1)
    assert lost == 0 and duplicates == 0, f"lost {lost}, duplicates {duplicates}"
    return {"lost": lost, "duplicates": duplicates}


def test_f1_worker_killed_after_create_returned_adopts_instead_of_duplicating(
    stack_factory, customer_account, simulator
):
    stack = stack_factory(
        {"ORCHESTRATION_FAILPOINTS": "desktop_create.after_create_call:1", **SHORT_LEASE}
    ).start()
    job = wait_for_job(_create(customer_account, 30), stack)
    assert job.status == "SUCCEEDED"
    figures = _assert_exactly_once(job, customer_account)
    assert "WorkerLostError" in stack.worker.log() or "SIGKILL" in stack.worker.log()
    adopted = JobItem.objects.filter(job=job, attempts__gt=1).count()
    assert adopted > 0
    print(
        f"\nFIGURE F1 asked=30 in_aws={sum(_aws_census(customer_account).values())} {figures} re-claimed={adopted}"
    )


def test_f2_workers_killed_at_random_points_lose_nothing_and_duplicate_nothing(
    stack_factory, customer_account, simulator
):
    stack = stack_factory(SHORT_LEASE).start()
    simulator.set_faults(latency_ms=30)  # spread the job over time so kills land mid-flight
    job = _create(customer_account, 120)
    kills = 0
    stop = threading.Event()
    chooser = random.Random(2)

    def killer() -> None:
        nonlocal kills
        while not stop.is_set() and kills < 6:
            time.sleep(chooser.uniform(0.5, 1.5))
            kills += stack.worker.kill_children()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        job = wait_for_job(job, stack, timeout=240)
    finally:
        stop.set()
        thread.join()
    assert kills > 0, "no pool process was killed while the job ran: the test proved nothing"
    figures = _assert_exactly_once(job, customer_account)
    assert job.status == "SUCCEEDED", job.error
    max_attempts = max(JobItem.objects.filter(job=job).values_list("attempts", flat=True))
    print(f"\nFIGURE F2 n=120 pool_processes_killed={kills} {figures} max_executions_per_item={max_attempts}")


def test_f3_redis_restarted_mid_job_the_sweeper_finishes_it(stack_factory, customer_account, simulator):
    stack = stack_factory(SHORT_LEASE).start()
    simulator.set_faults(latency_ms=40)
    job = _create(customer_account, 75)
    deadline = time.monotonic() + 60
    while not JobItem.objects.filter(job=job, status__in=["WAITING", "SUCCEEDED"]).exists():
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.05)
    unfinished = JobItem.objects.filter(job=job).exclude(status__in=["SUCCEEDED", "FAILED"]).count()
    stack.redis.restart()  # every queued and unacknowledged message is gone
    restarted = time.monotonic()
    assert unfinished > 0, "the job was done before Redis restarted: nothing was left to recover"
    job = wait_for_job(job, stack, timeout=180)
    recovery = time.monotonic() - restarted
    assert job.status == "SUCCEEDED"
    figures = _assert_exactly_once(job, customer_account)
    print(
        f"\nFIGURE F3 n=75 job_completed=True seconds_from_restart_to_done={recovery:.1f} {figures} "
        f"crashed_processes_restarted={stack.restarts}"
    )


def test_f5_nothing_is_sent_for_a_transaction_that_rolls_back(stack_factory, customer_account, simulator):
    stack = stack_factory()  # the broker only, no worker yet: whatever is published stays to be counted
    with pytest.raises(RuntimeError), transaction.atomic():
        _create(customer_account, 10)
        raise RuntimeError("the request failed after the job was recorded")
    assert Job.objects.count() == 0
    orphans = _messages_waiting(stack.redis)
    assert orphans == 0

    # The same request, committed, publishes to that broker (so the count above would have seen an
    # orphan), and a worker then makes its 10 desktops and nothing of the rolled-back request.
    committed = _create(customer_account, 10)
    assert _messages_waiting(stack.redis) > 0
    stack.start(beat=False)
    assert wait_for_job(committed, stack).status == "SUCCEEDED"
    sent = [w["WorkspaceName"] for r in simulator.requests("CreateWorkspaces") for w in r["Workspaces"]]
    assert sorted(set(sent)) == sorted(
        JobItem.objects.filter(job=committed).values_list("desktop__workspace_name", flat=True)
    )
    print(f"\nFIGURE F5a orphan_tasks={orphans}")


def test_f5_a_publish_lost_after_commit_is_repaired_by_the_sweeper(
    stack_factory, customer_account, simulator
):
    stack = stack_factory()
    # The process "crashes" between commit and publish: the messages never reach the broker (every
    # Celery app's send_task, so this holds wherever the engine publishes from).
    with mock.patch.object(Celery, "send_task", lambda *args, **kwargs: None):
        job = _create(customer_account, 40)
    assert _messages_waiting(stack.redis) == 0  # only the sweeper can send these items now
    assert JobItem.objects.filter(job=job, status="PENDING").count() == 40
    stack.start()
    job = wait_for_job(job, stack, timeout=120)
    assert job.status == "SUCCEEDED"
    _assert_exactly_once(job, customer_account)
    stuck = Job.objects.filter(status="PENDING").count()
    print(f"\nFIGURE F5b jobs_stuck_pending={stuck} orphan_tasks=0")
    assert stuck == 0


def test_f7_a_throttling_storm_fails_no_item(stack_factory, customer_account, simulator):
    stack = stack_factory().start()
    simulator.set_faults(seed=7, throttle_rate=0.4)
    job = wait_for_job(_create(customer_account, 100), stack, timeout=240)
    failed = JobItem.objects.filter(job=job, status="FAILED").count()
    calls = simulator.calls("CreateWorkspaces")
    throttled = sum(1 for c in calls if c.get("error_code") == "ThrottlingException")
    accepted = sum(1 for c in calls if not c.get("error_code"))  # an ExpiredToken refusal made nothing either
    print(
        f"\nFIGURE F7 throttle_rate=0.4 failed_items={failed} create_calls_accepted={accepted} "
        f"create_calls_throttled={throttled} retries_per_accepted_call={throttled / max(accepted, 1):.2f}"
    )
    assert failed == 0
    assert job.status == "SUCCEEDED"
    assert accepted == 4  # throttled calls were never executed, so the floor of ceil(100/25) still holds
    _assert_exactly_once(job, customer_account)


def _reboot_one(world, stack) -> tuple[Job, float]:
    """One customer's single-desktop reboot (the interactive queue), and how long it took to finish."""
    desktop = Desktop.objects.filter(aws_account=world["aws_account"], state="AVAILABLE").first()
    began = time.monotonic()
    job = desktop_action_bulk(
        actor=Actor.system("test"),
        customer=world["customer"],
        desktops=[desktop],
        action=DesktopAction.REBOOT,
    )
    assert job.queue == "interactive"
    job = wait_for_job(job, stack)
    return job, time.monotonic() - began


def test_f7_one_customers_storm_does_not_stall_anothers_interactive_action(
    stack_factory, customer_account, simulator
):
    acme = customer_account
    globex = onboard_demo_customer(simulator, name="Globex", slug="globex", demo_index=1, world=acme["world"])
    simulator.set_durations(provisioning=0)
    make_available_desktops(globex, 1)
    stack = stack_factory().start()
    # The recommended deployment: a worker of its own for the interactive queue (docs/runbook.md).
    stack.extra_processes.append(
        stack.process("worker", "interactive", concurrency=1, queues="interactive").start()
    )
    baseline_job, baseline = _reboot_one(globex, stack)
    assert baseline_job.status == "SUCCEEDED"

    # Acme's 200-desktop create meets a throttling storm on its CreateWorkspaces calls.
    simulator.set_durations(provisioning=1200 * AWS_TIME_SCALE / AWS_SPEEDUP)  # 2 s, as for every create
    simulator.set_faults(seed=11, operations={"CreateWorkspaces": {"throttle_rate": 0.5, "latency_ms": 300}})
    storm = _create(acme, 200)
    deadline = time.monotonic() + 30
    while not JobItem.objects.filter(job=storm, status="RUNNING").exists():
        assert time.monotonic() < deadline, f"the storm did not start in 30s\n{stack.logs()}"
        stack.supervise()
        time.sleep(0.1)
    during_job, during = _reboot_one(globex, stack)
    storm.refresh_from_db()
    assert during_job.status == "SUCCEEDED"
    assert storm.status not in ("SUCCEEDED", "PARTIAL", "FAILED")  # globex was served mid-storm

    storm = wait_for_job(storm, stack, timeout=300)
    assert storm.status == "SUCCEEDED"
    assert JobItem.objects.filter(job=storm, status="FAILED").count() == 0
    throttled = sum(
        1 for c in simulator.calls("CreateWorkspaces") if c.get("error_code") == "ThrottlingException"
    )
    print(
        f"\nFIGURE F7x customers=2 storm_throttled_creates={throttled} storm_failed_items=0 "
        f"interactive_seconds_baseline={baseline:.2f} interactive_seconds_during_storm={during:.2f} "
        f"inflation={during / baseline:.2f}"
    )


def test_f8_partial_failed_requests_retry_only_the_failed_items(stack_factory, customer_account, simulator):
    stack = stack_factory().start()
    simulator.set_faults(
        seed=3,
        operations={"CreateWorkspaces": {"failed_item_rate": 0.3, "failed_item_codes": ["InternalFailure"]}},
    )
    job = wait_for_job(_create(customer_account, 50), stack)
    assert job.status == "SUCCEEDED"
    creates = simulator.requests("CreateWorkspaces")
    sent = Counter(w["WorkspaceName"] for r in creates for w in r["Workspaces"])
    resent = sum(1 for count in sent.values() if count > 1)
    assert resent > 0  # some items failed transiently and were sent again, alone
    _assert_exactly_once(job, customer_account)
    print(f"\nFIGURE F8a n=50 transient_item_failures_retried={resent} terminal_items=50/50")


def test_f8_permanent_item_failures_fail_just_those_items_with_aws_words(
    stack_factory, customer_account, simulator
):
    stack = stack_factory().start()
    simulator.set_faults(
        seed=5,
        operations={
            "CreateWorkspaces": {
                "failed_item_rate": 0.2,
                "failed_item_codes": ["ResourceLimitExceededException"],
            }
        },
    )
    job = wait_for_job(_create(customer_account, 50), stack)
    items = JobItem.objects.filter(job=job)
    terminal = items.filter(status__in=["SUCCEEDED", "FAILED"]).count()
    failed = items.filter(status="FAILED")
    assert terminal == 50
    assert failed.exists() and job.status == "PARTIAL"
    assert set(failed.values_list("error_code", flat=True)) == {"ResourceLimitExceededException"}
    assert len(simulator.requests("CreateWorkspaces")) == 2  # permanent failures are not retried
    print(f"\nFIGURE F8b terminal_items={terminal}/50 failed_permanently={failed.count()}")


def test_f9_credentials_that_expire_during_the_job_cause_no_failure(
    stack_factory, customer_account, simulator
):
    stack = stack_factory({"AWS_ASSUME_ROLE_DURATION_SECONDS": "900"}).start()
    simulator.set_faults(latency_ms=30)
    job = _create(customer_account, 75)
    expired = 0
    deadline = time.monotonic() + 120
    # The first expiry after the job's first call, so there are credentials in use to expire (a job that
    # ran quickly could otherwise see its only expiry land before it assumed the role).
    while not simulator.calls("CreateWorkspaces"):
        assert time.monotonic() < deadline, f"no CreateWorkspaces in 120s\n{stack.logs()}"
        stack.supervise()
        time.sleep(0.05)
    while Job.objects.get(pk=job.pk).status not in JOB_TERMINAL_STATUSES:
        assert time.monotonic() < deadline, f"job {job.pk} not finished in 120s\n{stack.logs()}"
        expired += simulator.expire_credentials(account_id=customer_account["aws_account"].account_id)
        stack.supervise()
        # Every 2 s: often enough to land inside the job many times, seldom enough that a call is not
        # refused again right after its one refresh (which would count as a delivery of its items).
        time.sleep(2)
    job = wait_for_job(job, stack)
    refused = sum(
        1 for c in simulator.calls() if c.get("error_code") in ("ExpiredTokenException", "ExpiredToken")
    )
    item_errors = JobItem.objects.filter(job=job, error_code__startswith="Expired").count()
    print(
        f"\nFIGURE F9 credentials_expired={expired} expired_calls_refreshed={refused} ExpiredToken_item_errors={item_errors}"
    )
    assert item_errors == 0
    assert job.status == "SUCCEEDED", Counter(
        JobItem.objects.filter(job=job).values_list("error_code", "error_message")
    ).most_common(3)
    assert refused > 0  # the expiry really happened mid-job
