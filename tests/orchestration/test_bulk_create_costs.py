"""Issue 16's bulk create, counted: the request writes its desktops in a fixed number of statements (COPY
after the ids, each WorkSpace's name in its row, no UPDATE after), and a new desktop is not polled before it
can be ready (JOB_CREATE_FIRST_POLL_SECONDS), then every poll interval.

Deliveries and polls run in the test process against the simulator.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.sessions import forget_all_sessions
from orchestration.choices import JobItemStatus, JobStatus
from orchestration.engine.publish import JOB_POLL_TASK
from orchestration.engine.rows import COPY_FROM_ROWS
from orchestration.models import Job, JobItem
from orchestration.selectors import provisioning_seconds_seen
from orchestration.services.desktops import DesktopCreateRequest, DesktopCreateRunner, desktop_create_bulk
from orchestration.services.jobs import job_items_run, job_poll
from tenants.models import Desktop, DesktopStateChange
from tests.integration.world import onboard_demo_customer

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300), pytest.mark.slow]
ACTOR = Actor.system("test")


@pytest.fixture
def acme(simulator, settings):
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    forget_all_sessions()
    world = onboard_demo_customer(simulator, name="Acme", slug="acme")
    yield world
    forget_all_sessions()


def _create(world, count: int) -> Job:
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    return desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=count))


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_a_bulk_request_copies_its_desktops_with_their_names_and_updates_nothing(acme, settings):
    n = 4 * COPY_FROM_ROWS
    with CaptureQueriesContext(connection) as queries:
        job = _create(acme, n)
    kinds = [sql.split()[0] for sql in _statements(queries)]
    assert "UPDATE" not in kinds
    # The desktops' ids, their COPY, the job's INSERT, its items' ids and their COPY (the same five
    # statements as below COPY_FROM_ROWS, where an UPDATE of the names takes the place of the ids).
    assert kinds == ["SELECT", "COPY", "INSERT", "SELECT", "COPY"]
    desktops = list(Desktop.objects.filter(job_items__job=job))
    assert len(desktops) == n
    assert {d.workspace_name for d in desktops} == {
        f"{settings.WORKSPACE_NAME_PREFIX}{d.pk}" for d in desktops
    }
    assert {d.state for d in desktops} == {"REQUESTED"}
    # The history trigger fires for COPY as for INSERT: each new desktop's first state is recorded.
    assert DesktopStateChange.objects.filter(desktop__in=desktops).count() == n
    items = list(job.items.order_by("sequence"))
    assert [i.sequence for i in items] == list(range(n))
    assert {i.status for i in items} == {JobItemStatus.PENDING}
    assert all(i.created_at and i.updated_at for i in items)


def test_new_desktops_are_first_polled_when_they_can_be_ready(simulator, acme, settings):
    """Polling before provisioning is done only costs DescribeWorkspaces calls: none are made then."""
    settings.JOB_POLL_INTERVAL_SECONDS = 1
    settings.JOB_CREATE_FIRST_POLL_SECONDS = 600
    simulator.set_durations(provisioning=0)
    job = _create(acme, 50)
    before = timezone.now()
    job_items_run(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))
    waiting = JobItem.objects.filter(job=job, status=JobItemStatus.WAITING)
    assert waiting.count() == 50
    assert all(i.next_poll_at >= before + timedelta(seconds=599) for i in waiting)
    job.refresh_from_db()
    assert job.poll_scheduled_for is not None
    assert job.poll_scheduled_for >= before + timedelta(seconds=599)

    simulator.clear_calls()
    job_poll(job_id=job.pk)  # a poll that comes early (the sweeper, a stray message) asks AWS nothing
    assert simulator.call_counts().get("DescribeWorkspaces", 0) == 0

    waiting.update(next_poll_at=timezone.now())  # the expected provisioning time has passed
    job_poll(job_id=job.pk)
    assert simulator.call_counts().get("DescribeWorkspaces", 0) == 2  # 25 ids a call
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_each_call_s_desktops_are_due_from_when_aws_answered_that_call(simulator, acme, settings):
    """A delivery's first call was answered before its second was sent: its desktops are due first, not
    all at the delivery's end (the last poll of a large job then holds only its last calls)."""
    settings.JOB_CREATE_FIRST_POLL_SECONDS = 600
    job = _create(acme, 50)
    job_items_run(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))
    items = list(JobItem.objects.filter(job=job).order_by("sequence"))
    first, second = items[:25], items[25:]
    assert len({i.next_poll_at for i in first}) == len({i.next_poll_at for i in second}) == 1
    first_due, second_due = first[0].next_poll_at, second[0].next_poll_at
    assert (
        first[0].submitted_at + timedelta(seconds=600)
        < first_due
        < second[0].submitted_at + timedelta(seconds=600)
    )
    assert second[0].submitted_at + timedelta(seconds=600) < second_due


def test_without_a_first_poll_setting_the_poll_interval_applies(simulator, acme, settings):
    settings.JOB_POLL_INTERVAL_SECONDS = 30
    settings.JOB_CREATE_FIRST_POLL_SECONDS = None
    job = _create(acme, 25)
    before = timezone.now()
    job_items_run(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))
    next_polls = list(job.items.values_list("next_poll_at", flat=True))
    assert all(
        before + timedelta(seconds=29) <= t <= timezone.now() + timedelta(seconds=30) for t in next_polls
    )


def _made_before(world, count: int, *, took: list[float]) -> Job:
    """A finished create job of `count` desktops in the world's directory, each seen ready `took[i]` seconds
    after its call (the history a new job's first poll is read from)."""
    job = _create(world, count)
    now = timezone.now()
    for item, seconds in zip(job.items.order_by("sequence"), took, strict=True):
        item.status, item.submitted_at = JobItemStatus.SUCCEEDED, now - timedelta(hours=2)
        item.finished_at = item.submitted_at + timedelta(seconds=seconds)
        item.save(update_fields=["status", "submitted_at", "finished_at"])
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    return job


def _first_polls_after_their_call(job: Job) -> list[float]:
    return [
        (item.next_poll_at - item.submitted_at).total_seconds()
        for item in JobItem.objects.filter(job=job, status=JobItemStatus.WAITING)
    ]


def test_without_a_first_poll_setting_the_directory_s_own_provisioning_time_applies(
    simulator, acme, settings
):
    """Unset, JOB_CREATE_FIRST_POLL_SECONDS is read from the directory's history: one poll interval before
    its new desktops were seen ready (the 10th percentile of the last 200), so a big create does not spend
    the account's DescribeWorkspaces on desktops still provisioning every interval for twenty minutes."""
    settings.JOB_POLL_INTERVAL_SECONDS = 15
    settings.JOB_CREATE_FIRST_POLL_SECONDS = None
    # 30 seen ready: three at 300 s (the fastest tenth), the rest at 600-627 s.
    _made_before(acme, 30, took=[300.0] * 3 + [600.0 + n for n in range(27)])
    job = _create(acme, 25)

    job_items_run(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))

    # The 10th percentile of 30 is the fourth fastest (600 s), less one interval; plus the call's own time.
    assert all(585 <= after < 585 + 30 for after in _first_polls_after_their_call(job))


def test_the_provisioning_time_waits_for_ten_desktops_and_the_setting_wins(simulator, acme, settings):
    settings.JOB_POLL_INTERVAL_SECONDS = 15
    settings.JOB_CREATE_FIRST_POLL_SECONDS = None
    _made_before(acme, 9, took=[600.0] * 9)  # too few to go by: the interval
    first = _create(acme, 25)
    job_items_run(job_id=first.pk, item_ids=list(first.items.values_list("pk", flat=True)))
    assert all(15 <= after < 15 + 30 for after in _first_polls_after_their_call(first))

    _made_before(acme, 10, took=[600.0] * 10)
    settings.JOB_CREATE_FIRST_POLL_SECONDS = 120  # set: it is what applies
    second = _create(acme, 25)
    job_items_run(job_id=second.pk, item_ids=list(second.items.values_list("pk", flat=True)))
    assert all(120 <= after < 120 + 30 for after in _first_polls_after_their_call(second))


def test_provisioning_seen_counts_only_this_directory_and_never_less_than_an_interval(
    simulator, acme, settings
):
    settings.JOB_POLL_INTERVAL_SECONDS = 15
    _made_before(acme, 20, took=[5.0] * 20)
    customer_id = acme["customer"].pk
    assert (
        provisioning_seconds_seen(customer_id=customer_id, directory_id=acme["directory"].directory_id) == 5.0
    )
    assert provisioning_seconds_seen(customer_id=customer_id, directory_id="d-0000000000") is None
    # One statement on the jobs' own items, never a join with the fleet's desktops (with stale statistics
    # PostgreSQL once nested-looped that join into seconds a delivery).
    with CaptureQueriesContext(connection) as queries:
        provisioning_seconds_seen(customer_id=customer_id, directory_id=acme["directory"].directory_id)
    assert len(queries.captured_queries) == 1
    assert "tenants_desktop" not in queries.captured_queries[0]["sql"]
    settings.JOB_CREATE_FIRST_POLL_SECONDS = None
    job = _create(acme, 25)
    job_items_run(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))
    # Faster than an interval: the first poll still comes one interval after the call, not at once.
    assert all(15 <= after < 15 + 30 for after in _first_polls_after_their_call(job))


def test_a_poll_takes_250_due_desktops_and_sends_the_rest_to_a_poll_beside_it(
    simulator, acme, settings, django_capture_on_commit_callbacks
):
    """300 desktops due at once: ten DescribeWorkspaces in this poll and another poll sent at once (another
    worker process runs it meanwhile) for the last 50, not twelve calls one after another in one poll."""
    settings.JOB_POLL_INTERVAL_SECONDS = 0
    simulator.set_durations(provisioning=0)
    job = _create(acme, 300)
    for offset in (0, DesktopCreateRunner.batch_size):
        ids = list(job.items.order_by("sequence").values_list("pk", flat=True))[offset:][:250]
        job_items_run(job_id=job.pk, item_ids=ids)
    assert JobItem.objects.filter(job=job, status=JobItemStatus.WAITING).count() == 300
    Job.objects.filter(pk=job.pk).update(poll_scheduled_for=None)

    sent: list[tuple] = []
    simulator.clear_calls()
    with (
        mock.patch(
            "orchestration.engine.publish.current_app.send_task",
            side_effect=lambda name, args=None, queue=None, countdown=None, **_: sent.append(
                (name, args, countdown)
            ),
        ),
        django_capture_on_commit_callbacks(execute=True),  # inside: its callbacks send while patched
    ):
        job_poll(job_id=job.pk)
    assert simulator.call_counts().get("DescribeWorkspaces", 0) == 10
    assert (JOB_POLL_TASK, [job.pk], 0) in sent
    assert JobItem.objects.filter(job=job, status=JobItemStatus.SUCCEEDED).count() == 250

    job_poll(job_id=job.pk)  # the poll it sent
    assert simulator.call_counts().get("DescribeWorkspaces", 0) == 12
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
