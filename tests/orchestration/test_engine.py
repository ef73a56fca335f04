"""The job engine's core against real PostgreSQL, no worker: claims and leases, poison, retries and their
backoff, status derivation, the sweeper, one pending poll per job, publishing on commit only, and the
registry of runners."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orchestration import tasks
from orchestration.actors import Actor
from orchestration.aws.errors import AwsAccessDenied, AwsThrottled, AwsTransient
from orchestration.choices import JobKind, Queue
from orchestration.engine import items as engine_items
from orchestration.engine.items import (
    POISON_CODE,
    items_claim,
    items_fail,
    items_retry_later,
    items_succeed,
    items_wait,
    retry_delay,
)
from orchestration.engine.jobs import (
    NewItem,
    NewJob,
    job_create,
    job_refresh_status,
    job_status_for,
    jobs_create,
)
from orchestration.engine.publish import JOB_ITEMS_TASK, JOB_POLL_TASK, job_poll_release, job_schedule_poll
from orchestration.engine.runner import JobRunner, job_deliver, job_poll_run, runners_by_kind
from orchestration.engine.sweeper import jobs_sweep
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.selectors import JobProgress
from orchestration.services import jobs as registry
from orchestration.services.audit import audit_event_for_job
from tests.factories import AwsAccountFactory, CustomerFactory

ACTOR = Actor.system("engine test")


class RecordingRunner(JobRunner):
    """A runner for the engine's own tests: even items succeed, odd ones fail, and the job settles once."""

    kinds = (JobKind.RECONCILE,)
    batch_size = 3
    polls = True
    settled: list[int] = []

    def run(self, items: list[JobItem]) -> None:
        self.succeed([i for i in items if i.sequence % 2 == 0])
        self.fail([i for i in items if i.sequence % 2], "Odd", "Odd items fail.")

    def poll(self, items: list[JobItem]) -> None:
        self.succeed(items)

    def settle(self, job: Job) -> dict:
        type(self).settled.append(job.pk)
        return {"settled": True}


def _job(n: int = 4, **fields) -> Job:
    return job_create(
        kind=JobKind.RECONCILE,
        actor=ACTOR,
        customer=CustomerFactory(),
        items=[NewItem(params={"n": i}) for i in range(n)],
        batch_size=RecordingRunner.batch_size,
        **fields,
    )


# --- claims and leases ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_claim_leases_pending_items_once_and_starts_the_job(settings):
    job = _job(3)
    ids = list(job.items.values_list("pk", flat=True))
    claim = items_claim(job_id=job.pk, item_ids=ids)
    assert [i.status for i in claim.items] == ["RUNNING"] * 3 and claim.poisoned == 0
    rows = list(JobItem.objects.filter(job=job))
    assert {(r.status, r.attempts) for r in rows} == {("RUNNING", 1)}
    lease = timezone.now() + timedelta(seconds=settings.JOB_ITEM_LEASE_SECONDS)
    assert all(abs((r.lease_expires_at - lease).total_seconds()) < 5 for r in rows)
    job.refresh_from_db()
    assert job.status == "RUNNING" and job.started_at is not None
    # A second delivery of the same message finds them leased: nothing to do.
    assert items_claim(job_id=job.pk, item_ids=ids).items == []


@pytest.mark.django_db
def test_an_expired_lease_makes_the_item_claimable_again():
    job = _job(1)
    (item,) = items_claim(job_id=job.pk, item_ids=[job.items.get().pk]).items
    JobItem.objects.filter(pk=item.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    (again,) = items_claim(job_id=job.pk, item_ids=[item.pk]).items
    assert again.attempts == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_claim_skips_rows_another_transaction_is_claiming():
    job = _job(2)
    locked_id, free_id = job.items.order_by("sequence").values_list("pk", flat=True)
    holding, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with transaction.atomic():
            list(JobItem.objects.select_for_update().filter(pk=locked_id))
            holding.set()
            release.wait(10)
        connection.close()

    other = threading.Thread(target=hold_lock)
    other.start()
    try:
        assert holding.wait(10)
        claim = items_claim(job_id=job.pk, item_ids=[locked_id, free_id])
        assert [i.pk for i in claim.items] == [free_id]  # not blocked, not claimed twice
    finally:
        release.set()
        other.join()
    assert JobItem.objects.get(pk=locked_id).status == "PENDING"


@pytest.mark.django_db
def test_an_item_that_used_up_its_attempts_fails_as_poison(settings):
    job = _job(2)
    poisoned, fine = job.items.order_by("sequence")
    JobItem.objects.filter(pk=poisoned.pk).update(attempts=settings.JOB_ITEM_MAX_ATTEMPTS)
    claim = items_claim(job_id=job.pk, item_ids=[poisoned.pk, fine.pk])
    assert [i.pk for i in claim.items] == [fine.pk] and claim.poisoned == 1
    poisoned.refresh_from_db()
    assert (poisoned.status, poisoned.error_code) == ("FAILED", POISON_CODE)
    assert f"after {settings.JOB_ITEM_MAX_ATTEMPTS} deliveries" in poisoned.error_message


@pytest.mark.django_db
def test_a_delivery_of_only_poison_still_settles_the_job(settings):
    job = _job(1)
    JobItem.objects.filter(job=job).update(attempts=settings.JOB_ITEM_MAX_ATTEMPTS)
    job_deliver(RecordingRunner, job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))
    job.refresh_from_db()
    assert job.status == "FAILED" and job.result == {"settled": True}


# --- state changes ----------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_state_change_is_one_update_however_many_items_and_writes_its_audit_events_with_it():
    job = _job(25)
    items = items_claim(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True))).items
    for item in items:
        item.aws_resource_id, item.aws_request_id = f"ws-{item.sequence:09d}", f"req-{item.sequence}"
    events = [audit_event_for_job(job, action="CreateWorkspaces", outcome="SUCCEEDED") for _ in items]
    with CaptureQueriesContext(connection) as queries:
        assert items_wait(items, poll_in=15, audit=events) == 25
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements.count("UPDATE") == 1 and statements.count("INSERT") == 1, statements
    rows = {r.sequence: r for r in JobItem.objects.filter(job=job)}
    assert {r.status for r in rows.values()} == {"WAITING"}
    assert rows[7].aws_resource_id == "ws-000000007" and rows[7].aws_request_id == "req-7"
    assert all(r.next_poll_at and r.lease_expires_at is None and r.submitted_at for r in rows.values())
    assert AuditEvent.objects.filter(job=job).count() == 25


@pytest.mark.django_db
def test_a_state_change_and_its_audit_events_commit_or_roll_back_together():
    job = _job(1)
    items = items_claim(job_id=job.pk, item_ids=[job.items.get().pk]).items
    too_long = audit_event_for_job(job, action="x" * 200, outcome="SUCCEEDED")  # the column holds 80
    with pytest.raises(DatabaseError), transaction.atomic():
        items_succeed(items, audit=[too_long])
    assert job.items.get().status == "RUNNING" and not AuditEvent.objects.filter(job=job).exists()


@pytest.mark.django_db
def test_finished_items_are_not_changed_again():
    job = _job(1)
    items = items_claim(job_id=job.pk, item_ids=[job.items.get().pk]).items
    items_fail(items, code="Boom", message="AWS said no.")
    assert items_succeed(items) == 0
    assert job.items.get().status == "FAILED"


@pytest.mark.django_db
def test_retry_later_gives_items_back_with_and_without_an_attempt(sent, django_capture_on_commit_callbacks):
    job = _job(2)
    counted, free = items_claim(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True))).items
    for item in (counted, free):
        item.submitted_at = timezone.now()
    JobItem.objects.filter(job=job).update(submitted_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        items_retry_later(job, [counted], batch_size=3, count_attempt=True)
        items_retry_later(job, [free], batch_size=3, count_attempt=False, forget_submission=True)
        assert sent == []  # nothing leaves before commit
    counted.refresh_from_db()
    free.refresh_from_db()
    assert (counted.status, counted.attempts, counted.retries, counted.submitted_at is not None) == (
        "PENDING",
        1,
        1,
        True,
    )
    assert (free.status, free.attempts, free.retries, free.submitted_at) == ("PENDING", 0, 1, None)
    assert [(m[0], m[1], m[2]) for m in sent] == [
        (JOB_ITEMS_TASK, [job.pk, [counted.pk]], "bulk"),
        (JOB_ITEMS_TASK, [job.pk, [free.pk]], "bulk"),
    ]
    assert all(m[3] is not None and m[3] >= 0 for m in sent)


@pytest.mark.parametrize(("retries", "ceiling"), [(0, 2.0), (1, 4.0), (3, 16.0), (5, 60.0), (40, 60.0)])
def test_retry_backoff_is_full_jitter_under_an_exponential_ceiling_with_a_cap(settings, retries, ceiling):
    settings.JOB_RETRY_BASE_SECONDS, settings.JOB_RETRY_MAX_SECONDS = 2.0, 60.0
    with mock.patch.object(engine_items.random, "uniform", side_effect=lambda low, high: (low, high)):
        assert retry_delay(retries) == (0, ceiling)
    delays = [retry_delay(retries) for _ in range(200)]
    assert all(0 <= d <= ceiling for d in delays) and max(delays) > ceiling / 4


@pytest.mark.django_db
def test_the_backoff_grows_with_the_retries_of_the_batch(sent, django_capture_on_commit_callbacks, settings):
    settings.JOB_RETRY_BASE_SECONDS, settings.JOB_RETRY_MAX_SECONDS = 1.0, 1000.0
    job = _job(1)
    ceilings = []
    with mock.patch.object(engine_items.random, "uniform", side_effect=lambda low, high: high):
        for _ in range(4):
            items = items_claim(job_id=job.pk, item_ids=[job.items.get().pk]).items
            with django_capture_on_commit_callbacks(execute=True):
                ceilings.append(items_retry_later(job, items, batch_size=1, count_attempt=False))
    assert ceilings == [1.0, 2.0, 4.0, 8.0] and [m[3] for m in sent] == ceilings
    assert job.items.get().attempts == 0  # throttled four times: no attempt used


# --- the rule for AWS errors ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_throttling_is_retried_without_an_attempt_and_access_denied_fails_and_flags_the_account():
    account = AwsAccountFactory(verification_status="VERIFIED")
    job = _job(2)
    runner = RecordingRunner(job)
    throttled, denied = items_claim(
        job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True))
    ).items
    assert runner.retry_or_fail(
        [throttled],
        AwsThrottled(code="ThrottlingException", message="slow down"),
        account_id=account.account_id,
    )
    assert not runner.retry_or_fail(
        [denied], AwsAccessDenied(code="AccessDeniedException", message="no"), account_id=account.account_id
    )
    throttled.refresh_from_db()
    denied.refresh_from_db()
    assert (throttled.status, throttled.attempts) == ("PENDING", 0)
    assert (denied.status, denied.error_code, denied.error_message) == (
        "FAILED",
        "AccessDeniedException",
        "no",
    )
    account.refresh_from_db()
    assert account.verification_status == "FAILED" and "AccessDeniedException" in account.verification_message


@pytest.mark.django_db
def test_a_transient_error_costs_an_attempt_and_keeps_the_submitted_mark():
    job = _job(1)
    runner = RecordingRunner(job)
    (item,) = items_claim(job_id=job.pk, item_ids=[job.items.get().pk]).items
    JobItem.objects.filter(pk=item.pk).update(submitted_at=timezone.now())
    assert runner.retry_or_fail([item], AwsTransient(code="InternalFailure", message="oops"), account_id="1")
    item.refresh_from_db()
    assert (item.status, item.attempts, item.submitted_at is not None) == ("PENDING", 1, True)


# --- job status -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("succeeded", "failed", "in_flight", "status"),
    [(3, 0, 0, "SUCCEEDED"), (2, 1, 0, "PARTIAL"), (0, 3, 0, "FAILED"), (2, 0, 1, None), (0, 0, 0, None)],
)
def test_status_derivation(succeeded, failed, in_flight, status):
    total = succeeded + failed + in_flight
    progress = JobProgress(total=total, succeeded=succeeded, failed=failed, in_flight=in_flight)
    assert job_status_for(progress) == status


@pytest.mark.django_db
def test_a_delivery_settles_the_job_once_when_its_last_item_finishes():
    RecordingRunner.settled = []
    job = _job(4)
    ids = list(job.items.order_by("sequence").values_list("pk", flat=True))
    job_deliver(RecordingRunner, job_id=job.pk, item_ids=ids[:3])
    job.refresh_from_db()
    assert job.status == "RUNNING" and RecordingRunner.settled == []
    job_deliver(RecordingRunner, job_id=job.pk, item_ids=ids[3:])
    job_refresh_status(job_id=job.pk, settle=RecordingRunner(job).settle)  # a second look changes nothing
    job.refresh_from_db()
    assert job.status == "PARTIAL" and job.finished_at is not None
    assert job.result == {"settled": True} and RecordingRunner.settled == [job.pk]


@pytest.mark.django_db
def test_a_job_born_with_every_item_refused_is_finished_at_once():
    job = job_create(
        kind=JobKind.DESKTOP_STOP,
        actor=ACTOR,
        customer=CustomerFactory(),
        items=[NewItem(refusal=("NotEligible", "It is STOPPED."))],
    )
    assert job.status == "FAILED" and job.finished_at is not None


# --- polls ------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_one_poll_per_job_is_pending_at_a_time(sent, django_capture_on_commit_callbacks):
    job = _job(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_schedule_poll(job, countdown=30)
        assert not job_schedule_poll(job, countdown=0)  # one is coming already
    assert [(m[0], m[1], m[2], m[3]) for m in sent] == [(JOB_POLL_TASK, [job.pk], Queue.POLL, 30)]
    job_poll_release(job.pk)  # the poll runs: the next may be asked for
    with django_capture_on_commit_callbacks(execute=True):
        assert job_schedule_poll(job, countdown=5)
    assert len(sent) == 2


@pytest.mark.django_db
def test_a_poll_settles_due_waiting_items_and_asks_for_the_next_while_any_wait(
    sent, django_capture_on_commit_callbacks
):
    job = _job(2)
    items = items_claim(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True))).items
    items_wait(items[:1], poll_in=0)
    items_wait(items[1:], poll_in=600)
    with django_capture_on_commit_callbacks(execute=True):
        job_poll_run(RecordingRunner, job_id=job.pk)
    statuses = dict(JobItem.objects.filter(job=job).values_list("sequence", "status"))
    assert statuses == {0: "SUCCEEDED", 1: "WAITING"}  # only the due one was looked at
    ((task, args, queue, countdown),) = sent
    assert (task, args, queue) == (JOB_POLL_TASK, [job.pk], Queue.POLL) and 590 < countdown <= 600


class SlotWatchingRunner(RecordingRunner):
    """Records, when its poll starts talking to AWS, which items it holds and the job's pending poll."""

    seen: list[tuple] = []

    def poll(self, items: list[JobItem]) -> None:
        pending = Job.objects.values_list("poll_scheduled_for", flat=True).get(pk=self.job.pk)
        type(self).seen.append(([i.sequence for i in items], pending))
        super().poll(items)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("batch", "due_in", "expected_countdown"),
    [
        (1, [0, 0, 600], (0, 0.5)),  # more due than one poll takes: the rest go to another poll at once
        (3, [0, 5, 600], (4, 5)),  # one falls due while this poll runs: its poll is not held up by this one
    ],
)
def test_a_poll_asks_for_the_next_before_it_talks_to_aws(
    sent, django_capture_on_commit_callbacks, batch, due_in, expected_countdown
):
    job = _job(3)
    items = items_claim(
        job_id=job.pk, item_ids=list(job.items.order_by("sequence").values_list("pk", flat=True))
    ).items
    for item, seconds in zip(items, due_in, strict=True):
        items_wait([item], poll_in=seconds)
    SlotWatchingRunner.seen = []
    with mock.patch.object(SlotWatchingRunner, "poll_batch_size", batch):
        started = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            job_poll_run(SlotWatchingRunner, job_id=job.pk)
    ((polled, pending),) = SlotWatchingRunner.seen
    assert polled == [0]  # only the first due; the second waits for its own poll
    low, high = expected_countdown
    assert pending is not None and low <= (pending - started).total_seconds() <= high
    task, args, queue, countdown = sent[0]  # asked for at the start, before the first AWS call
    assert (task, args) == (JOB_POLL_TASK, [job.pk]) and low <= countdown <= high


@pytest.mark.django_db
def test_a_poll_leaves_a_later_next_poll_to_its_end_so_its_own_unsettled_items_are_not_held_past_it(
    sent, django_capture_on_commit_callbacks
):
    job = _job(2)
    items = items_claim(
        job_id=job.pk, item_ids=list(job.items.order_by("sequence").values_list("pk", flat=True))
    ).items
    items_wait(items[:1], poll_in=0)
    items_wait(items[1:], poll_in=600)

    class Unsettled(SlotWatchingRunner):
        def poll(self, items: list[JobItem]) -> None:  # AWS is not done with it: polled again in 15 s
            pending = Job.objects.values_list("poll_scheduled_for", flat=True).get(pk=self.job.pk)
            type(self).seen.append(([i.sequence for i in items], pending))

    Unsettled.seen = []
    with django_capture_on_commit_callbacks(execute=True):
        job_poll_run(Unsettled, job_id=job.pk)
    assert Unsettled.seen == [([0], None)]  # nothing asked for at the start: the other is due in 600 s
    ((task, args, queue, countdown),) = sent
    assert 14 <= countdown <= Unsettled.poll_interval()  # the unsettled item's next poll, not 600 s


# --- the sweeper ------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_sweeper_resends_expired_leases_and_lost_messages_once(
    sent, django_capture_on_commit_callbacks, settings
):
    job = _job(4)
    dead, lost, fresh, leased = job.items.order_by("sequence")
    items_claim(job_id=job.pk, item_ids=[dead.pk, leased.pk])
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_LOST_MESSAGE_SECONDS + 5)
    JobItem.objects.filter(pk=dead.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    JobItem.objects.filter(pk=lost.pk).update(updated_at=long_ago)
    with (
        mock.patch.object(registry, "runner_for", return_value=RecordingRunner),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = registry.jobs_sweep()
        again = registry.jobs_sweep()  # right after: those messages are on their way
    assert report == {"resent_items": 2, "revived_polls": 0} and again["resent_items"] == 0
    assert [(m[0], sorted(m[1][1])) for m in sent] == [(JOB_ITEMS_TASK, sorted([dead.pk, lost.pk]))]
    assert fresh.pk not in sent[0][1][1] and leased.pk not in sent[0][1][1]


@pytest.mark.django_db
def test_the_sweeper_revives_a_lost_poll(sent, django_capture_on_commit_callbacks, settings):
    job = _job(1)
    items = items_claim(job_id=job.pk, item_ids=[job.items.get().pk]).items
    items_wait(items, poll_in=-10 * max(settings.JOB_POLL_INTERVAL_SECONDS, 5))
    Job.objects.filter(pk=job.pk).update(poll_scheduled_for=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        report = jobs_sweep(lambda kind: RecordingRunner)
    assert report == {"resent_items": 0, "revived_polls": 1}
    assert [(m[0], m[1], m[3]) for m in sent] == [(JOB_POLL_TASK, [job.pk], 0)]


# --- publishing -------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_work_is_published_after_commit_and_never_for_a_rolled_back_job(
    sent, django_capture_on_commit_callbacks
):
    class Boom(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        _job(5)
        raise Boom
    assert callbacks == [] and sent == [] and not Job.objects.exists()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        job = _job(5)
        assert sent == []  # not before the commit
    # Five items in deliveries of three, on the job's queue.
    assert [(m[0], m[1], m[2]) for m in sent] == [
        (
            JOB_ITEMS_TASK,
            [job.pk, list(job.items.order_by("sequence").values_list("pk", flat=True))[:3]],
            "bulk",
        ),
        (
            JOB_ITEMS_TASK,
            [job.pk, list(job.items.order_by("sequence").values_list("pk", flat=True))[3:]],
            "bulk",
        ),
    ]


@pytest.mark.django_db
def test_items_of_different_groups_never_share_a_delivery(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(
            kind=JobKind.DESKTOP_STOP,
            actor=ACTOR,
            customer=CustomerFactory(),
            items=[NewItem(group="a"), NewItem(group="b"), NewItem(group="a")],
            batch_size=25,
        )
    ids = list(job.items.order_by("sequence").values_list("pk", flat=True))
    assert sorted(m[1][1] for m in sent) == sorted([[ids[0], ids[2]], [ids[1]]])


@pytest.mark.django_db
def test_jobs_that_start_waiting_take_their_poll_in_the_insert(sent, django_capture_on_commit_callbacks):
    customers = [CustomerFactory(), CustomerFactory()]
    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as queries:
        jobs = jobs_create(
            [
                NewJob(
                    kind=JobKind.IDLE_SWEEP,
                    actor=ACTOR,
                    customer=customer,
                    params={"action": "stop"},
                    poll_in=15,
                    items=[NewItem(waiting=True, aws_resource_id=f"ws-{n}") for n in range(3)],
                    audit=lambda job: [
                        audit_event_for_job(job, action="StopWorkspaces", outcome="SUCCEEDED")
                    ],
                )
                for customer in customers
            ]
        )
    # The jobs' INSERT, the items' ids and their COPY, the audit events' INSERT.
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT", "SELECT", "COPY", "INSERT"]
    assert {(j.status, j.poll_scheduled_for is not None) for j in jobs} == {("RUNNING", True)}
    assert sorted(m[1][0] for m in sent) == sorted(j.pk for j in jobs) and {m[0] for m in sent} == {
        JOB_POLL_TASK
    }
    assert set(JobItem.objects.values_list("status", flat=True)) == {"WAITING"}


# --- the registry -----------------------------------------------------------------------------------------------
def test_every_job_kind_resolves_to_exactly_one_runner_and_no_runner_runs_an_unknown_kind():
    assert set(registry.RUNNERS) == set(JobKind.values)
    for kind in JobKind.values:
        runner = registry.runner_for(kind)
        assert issubclass(runner, JobRunner) and kind in runner.kinds
    assert {kind for runner in registry.RUNNERS.values() for kind in runner.kinds} <= set(JobKind.values)


def test_a_kind_listed_by_two_runners_is_refused():
    class Twin(RecordingRunner):
        pass

    with pytest.raises(ValueError, match="RECONCILE is run by both"):
        runners_by_kind(RecordingRunner, Twin)


def test_the_old_desktop_create_task_names_forward_to_the_generic_path():
    with (
        mock.patch("orchestration.services.jobs.job_items_run") as run,
        mock.patch("orchestration.services.jobs.job_poll") as poll,
    ):
        tasks.desktop_create_batch.run(7, [1, 2])
        tasks.desktop_create_poll.run(7)
    run.assert_called_once_with(job_id=7, item_ids=[1, 2])
    poll.assert_called_once_with(job_id=7)


@pytest.mark.django_db
def test_a_message_for_a_deleted_job_does_nothing():
    job = _job(1)
    item_id = job.items.get().pk
    Job.objects.filter(pk=job.pk).delete()
    registry.job_items_run(job_id=job.pk, item_ids=[item_id])
    registry.job_poll(job_id=job.pk)
    assert not JobItem.objects.filter(pk=item_id).exists()
