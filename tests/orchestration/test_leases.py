"""Leases, worker heartbeats, the fence and time limits (issue 11, items 4, 5 and 7), against real
PostgreSQL: a dead worker's items are freed in seconds, a delivery whose items were taken cannot write,
a delivery that does not finish lets go of its items as a failure, and time limits do not follow the
lease."""

import os
import threading
from datetime import timedelta
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection, transaction
from django.utils import timezone

from orchestration import tasks
from orchestration.actors import Actor
from orchestration.choices import JobKind
from orchestration.engine import heartbeat
from orchestration.engine.items import LeaseLost, items_claim, items_mark_submitted, items_succeed
from orchestration.engine.jobs import NewItem, job_create
from orchestration.engine.runner import JobRunner, job_deliver
from orchestration.models import Job, JobItem, WorkerHeartbeat
from orchestration.services import jobs as registry
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _job(n: int = 2) -> Job:
    return job_create(
        kind=JobKind.RECONCILE,
        actor=Actor.system("lease test"),
        customer=CustomerFactory(),
        items=[NewItem(params={"n": i}) for i in range(n)],
        batch_size=n,
    )


def _ids(job: Job) -> list[int]:
    return list(job.items.values_list("pk", flat=True))


@pytest.fixture
def sent():
    """The item deliveries the engine publishes (ids), once the transaction commits."""
    messages: list[list[int]] = []

    def record(name, args=None, **kwargs):
        messages.append(sorted(args[1]))

    with mock.patch("orchestration.engine.publish.current_app.send_task", side_effect=record):
        yield messages


# --------------------------------------------------------------------------------------------- time limits
def test_time_limits_are_their_own_settings_whatever_the_lease(settings):
    # The task as this process registered it (the test settings' lease is the default 60 s).
    assert (tasks.job_items_run.soft_time_limit, tasks.job_items_run.time_limit) == (900, 960)
    settings.JOB_ITEM_LEASE_SECONDS = 30
    # With a 30 s lease the soft limit once became 15 s, and a reconcile of 929 desktops failed five times.
    assert tasks.delivery_time_limits() == (900, 960)
    settings.JOB_ITEM_LEASE_SECONDS = 3600
    assert tasks.delivery_time_limits() == (900, 960)
    settings.JOB_TASK_SOFT_TIME_LIMIT_SECONDS, settings.JOB_TASK_TIME_LIMIT_SECONDS = 1800, 1860
    assert tasks.delivery_time_limits() == (1800, 1860)
    # A hard limit at or below the soft one would kill before the soft limit could end the delivery.
    settings.JOB_TASK_SOFT_TIME_LIMIT_SECONDS, settings.JOB_TASK_TIME_LIMIT_SECONDS = 100, 50
    assert tasks.delivery_time_limits() == (100, 105)


# ------------------------------------------------------------------------------- a delivery that fails
class SubmitsThenHitsTheSoftLimit(JobRunner):
    """Marks its items submitted (the create is on its way), then Celery's soft time limit fires."""

    kinds = (JobKind.RECONCILE,)

    def run(self, items: list[JobItem]) -> None:
        items_mark_submitted(items)
        raise SoftTimeLimitExceeded()


def test_a_soft_time_limit_fails_the_delivery_and_leaves_submitted_items_for_the_sweeper(
    sent, django_capture_on_commit_callbacks
):
    job = _job(2)
    with pytest.raises(SoftTimeLimitExceeded), django_capture_on_commit_callbacks(execute=True):
        job_deliver(SubmitsThenHitsTheSoftLimit, job_id=job.pk, item_ids=_ids(job))
    assert sent == []  # not retried behind the sweeper's back while the first call may be in flight
    rows = list(job.items.all())
    # Still RUNNING and submitted (the next delivery looks before it calls), no longer leased to anyone.
    assert {r.status for r in rows} == {"RUNNING"}
    assert all(r.submitted_at and r.lease_token is None and r.claimed_by == "" for r in rows)
    assert all(r.lease_expires_at <= timezone.now() for r in rows)
    with (
        mock.patch.object(registry, "runner_for", return_value=SubmitsThenHitsTheSoftLimit),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert registry.jobs_sweep()["resent_items"] == 2
    assert sorted(pk for message in sent for pk in message) == sorted(_ids(job))
    assert all(r.submitted_at for r in job.items.all())


# ------------------------------------------------------------------------------------ heartbeats
def test_a_heartbeat_records_the_worker_and_renews_the_lease_of_the_items_it_holds(settings):
    settings.JOB_ITEM_LEASE_SECONDS = 60
    job, other = _job(2), _job(1)
    items_claim(job_id=job.pk, item_ids=_ids(job))
    items_claim(job_id=other.pk, item_ids=_ids(other))
    JobItem.objects.filter(job=other).update(claimed_by="another-host:1")  # held by another process
    soon = timezone.now() + timedelta(seconds=5)
    JobItem.objects.update(lease_expires_at=soon)
    heartbeat.heartbeat_once()
    beat = WorkerHeartbeat.objects.get()
    assert beat.worker == heartbeat.worker_id() and beat.beat_at >= beat.started_at
    assert all(r.lease_expires_at > soon + timedelta(seconds=50) for r in job.items.all())
    assert other.items.get().lease_expires_at == soon


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_heartbeat_skips_the_rows_a_delivery_is_writing_instead_of_waiting_for_them(settings):
    """A beat that waited on a row a delivery of its process is writing, while that delivery's next
    statement waits on a row the beat holds, is a deadlock (seen in the rate-limited scale-out bench)."""
    settings.JOB_ITEM_LEASE_SECONDS = 60
    job = _job(2)
    items_claim(job_id=job.pk, item_ids=_ids(job))
    writing_id, idle_id = _ids(job)
    soon = timezone.now() + timedelta(seconds=5)
    JobItem.objects.update(lease_expires_at=soon)
    holding, release = threading.Event(), threading.Event()

    def delivery_writing() -> None:
        with transaction.atomic():
            JobItem.objects.filter(pk=writing_id).update(updated_at=timezone.now())
            holding.set()
            release.wait(10)
        connection.close()

    other = threading.Thread(target=delivery_writing)
    other.start()
    try:
        assert holding.wait(10)
        heartbeat.heartbeat_once()  # returns at once: before, it waited for the other transaction
        assert JobItem.objects.get(pk=idle_id).lease_expires_at > soon + timedelta(seconds=50)
        assert JobItem.objects.get(pk=writing_id).lease_expires_at == soon  # renewed at the next beat
    finally:
        release.set()
        other.join()
    heartbeat.heartbeat_once()
    assert JobItem.objects.get(pk=writing_id).lease_expires_at > soon + timedelta(seconds=50)


def test_a_celery_worker_names_its_processes_by_its_node_name_so_two_machines_are_two_workers(monkeypatch):
    """Workers started as `-n w1@hostA` and `-n w2@hostB` (or containers sharing a hostname) claim and
    beat under different names; the host's name is only the fallback outside a worker."""
    from celery.signals import worker_init

    monkeypatch.setattr(heartbeat, "_enabled", False)
    monkeypatch.setattr(heartbeat, "_node", None)
    monkeypatch.setattr(heartbeat.socket, "gethostname", lambda: "shared-host")
    assert heartbeat.worker_id() == f"shared-host:{os.getpid()}"

    class Worker:  # what Celery sends: its WorkController, which knows the node name
        hostname = "w1@hostA"

    worker_init.send(sender=Worker())
    assert heartbeat._enabled and heartbeat.worker_id() == f"w1@hostA:{os.getpid()}"
    monkeypatch.setattr(heartbeat, "_enabled", False)  # no heartbeat thread in the test process
    job = _job(1)
    items_claim(job_id=job.pk, item_ids=_ids(job))
    assert job.items.get().claimed_by == f"w1@hostA:{os.getpid()}"


def test_the_sweeper_frees_the_items_of_a_worker_that_stopped_beating_before_their_lease_ends(
    sent, django_capture_on_commit_callbacks, settings
):
    settings.JOB_WORKER_STALE_SECONDS = 10
    job = _job(3)
    items_claim(job_id=job.pk, item_ids=_ids(job))
    dead, alive = "dead-host:1", "live-host:2"
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker=dead, started_at=now, beat_at=now - timedelta(seconds=11))
    WorkerHeartbeat.objects.create(worker=alive, started_at=now, beat_at=now)
    first, second, third = job.items.order_by("sequence")
    JobItem.objects.filter(pk__in=[first.pk, second.pk]).update(claimed_by=dead)
    JobItem.objects.filter(pk=third.pk).update(claimed_by=alive)
    assert all(r.lease_expires_at > now for r in job.items.all())  # the lease alone would wait
    with (
        mock.patch.object(registry, "runner_for", return_value=SubmitsThenHitsTheSoftLimit),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert registry.jobs_sweep()["resent_items"] == 2
    assert sorted(pk for message in sent for pk in message) == sorted([first.pk, second.pk])
    assert job.items.get(pk=third.pk).status == "RUNNING"
    # The dead worker's row goes once it holds nothing; the live one stays.
    assert list(WorkerHeartbeat.objects.values_list("worker", flat=True)) == [alive]


def test_the_heartbeat_thread_runs_only_in_worker_processes(monkeypatch):
    monkeypatch.setattr(heartbeat, "_enabled", False)
    monkeypatch.setattr(heartbeat, "_thread_pid", None)
    heartbeat.heartbeat_ensure()
    assert heartbeat._thread_pid is None and not WorkerHeartbeat.objects.exists()


# ------------------------------------------------------------------------------------------- the fence
def test_a_delivery_whose_items_were_re_claimed_can_neither_write_nor_send(settings):
    job = _job(2)
    old = items_claim(job_id=job.pk, item_ids=_ids(job)).items
    # Its worker was thought dead: the lease ran out and another delivery took the items.
    JobItem.objects.filter(job=job).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    new = items_claim(job_id=job.pk, item_ids=_ids(job)).items
    assert {i.lease_token for i in new} != {i.lease_token for i in old}
    with pytest.raises(LeaseLost), transaction.atomic():
        items_mark_submitted(old)
    with pytest.raises(LeaseLost), transaction.atomic():
        items_succeed(old)
    rows = list(job.items.all())
    assert {r.status for r in rows} == {"RUNNING"} and not any(r.submitted_at for r in rows)
    assert items_succeed(new) == 2


class WritesAfterLosingItsItems(JobRunner):
    """A delivery that stalls (its worker looked dead) while the sweeper hands its items to another."""

    kinds = (JobKind.RECONCILE,)

    def run(self, items: list[JobItem]) -> None:
        JobItem.objects.filter(pk__in=[i.pk for i in items]).update(
            claimed_by="", lease_token=None, status="PENDING"
        )
        self.succeed(items)


@pytest.mark.django_db(transaction=True)  # as on a worker: the delivery runs in no outer transaction
@pytest.mark.slow
def test_a_delivery_that_lost_its_items_stops_quietly_and_changes_nothing():
    job = _job(2)
    job_deliver(WritesAfterLosingItsItems, job_id=job.pk, item_ids=_ids(job))
    assert {r.status for r in job.items.all()} == {"PENDING"}
