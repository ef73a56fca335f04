"""A delivery whose account's bucket is empty gives its unsent items back instead of holding its worker
process (issue 16): what AWS answered before is written, the refused call's items lose their `submitted`
mark (nothing was sent), no attempt is used, no audit row is written for a call never sent, and the
items come back once the bucket has refilled.

Deliveries run in the test process against the simulator, with the limiter in this test process's Redis.
"""

from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.sessions import forget_all_sessions
from orchestration.choices import JobItemStatus
from orchestration.engine.publish import JOB_ITEMS_TASK
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.desktop_actions import desktop_action_bulk
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from orchestration.services.jobs import job_items_run, job_poll
from tenants.models import Desktop
from tests.integration.world import onboard_demo_customer

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]
ACTOR = Actor.system("test")
RATE, BURST = 1.0, 2  # two calls at once, then one a second: a delivery's third call pauses it


@pytest.fixture
def limited(simulator, settings, test_process_redis):
    """The demo customer onboarded (before the limit: onboarding's own calls would spend the burst), then
    a bucket of two calls that refills at one a second, starting full."""
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    forget_all_sessions()
    world = onboard_demo_customer(simulator, name="Acme", slug="acme")
    settings.AWS_RATE_LIMIT_PER_SECOND, settings.AWS_RATE_LIMIT_BURST = RATE, BURST
    settings.AWS_RATE_LIMIT_DELIVERY_WAIT = 0.1
    buckets = redis.Redis.from_url(test_process_redis.url)
    buckets.flushdb()
    yield world, buckets
    buckets.flushdb()
    forget_all_sessions()


def _deliver(job: Job, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job_items_run(job_id=job.pk, item_ids=list(job.items.order_by("pk").values_list("pk", flat=True)))


def _poll_paused_after_two_calls(job: Job, settings, buckets, simulator, django_capture_on_commit_callbacks):
    """Turn the limit on with a full bucket and poll the job's 75 waiting items: two DescribeWorkspaces go
    out, the third waits for the bucket; the first 50 are settled, the last 25 still wait."""
    settings.AWS_RATE_LIMIT_PER_SECOND = RATE
    buckets.flushdb()
    simulator.clear_calls()
    with django_capture_on_commit_callbacks(execute=True):
        job_poll(job_id=job.pk)
    assert len(simulator.calls("DescribeWorkspaces")) == 2
    statuses = list(JobItem.objects.filter(job=job).order_by("sequence").values_list("status", flat=True))
    assert statuses == [JobItemStatus.SUCCEEDED] * 50 + [JobItemStatus.WAITING] * 25


def _available_desktops(world, settings, django_capture_on_commit_callbacks) -> list[Desktop]:
    """75 desktops made and polled to AVAILABLE with the limiter off (then the caller turns it on)."""
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    settings.JOB_POLL_INTERVAL_SECONDS = settings.JOB_CREATE_FIRST_POLL_SECONDS = 0
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    create = desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=75))
    _deliver(create, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        job_poll(job_id=create.pk)
    desktops = list(Desktop.objects.order_by("pk"))
    assert {d.state for d in desktops} == {"AVAILABLE"}
    return desktops


def test_a_create_delivery_paused_by_the_rate_limit_gives_back_what_it_did_not_send(
    limited, simulator, sent, django_capture_on_commit_callbacks
):
    world, buckets = limited
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    job = desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=75))
    simulator.clear_calls()
    sent.clear()

    _deliver(job, django_capture_on_commit_callbacks)

    assert len(simulator.calls("CreateWorkspaces")) == 2  # the burst; the third call never went out
    items = list(JobItem.objects.filter(job=job).order_by("sequence"))
    made, unsent = items[:50], items[50:]
    assert {i.status for i in made} == {JobItemStatus.WAITING}
    assert {i.status for i in unsent} == {JobItemStatus.PENDING}
    assert all(i.submitted_at is None and i.attempts == 0 and not i.lease_token for i in unsent)
    assert (
        Desktop.objects.filter(pk__in=[i.desktop_id for i in unsent], workspace_id__isnull=True).count() == 25
    )
    # Audited: the 50 made, and nothing about a call that was never sent.
    assert AuditEvent.objects.filter(action="CreateWorkspaces").count() == 50
    assert not AuditEvent.objects.filter(action="CreateWorkspaces").exclude(outcome="SUCCEEDED").exists()
    ((task, (job_id, item_ids), queue, countdown),) = [m for m in sent if m[0] == JOB_ITEMS_TASK]
    assert (job_id, sorted(item_ids)) == (job.pk, sorted(i.pk for i in unsent))
    half_burst = BURST / 2 / RATE  # the bucket's refill of half its burst, spread by up to half again
    assert half_burst <= countdown <= 1.5 * half_burst

    buckets.flushdb()  # the bucket has refilled
    _deliver(job, django_capture_on_commit_callbacks)
    assert len(simulator.calls("CreateWorkspaces")) == 3  # created, not looked for first: nothing was sent
    assert not simulator.calls("DescribeWorkspaces")
    assert JobItem.objects.filter(job=job, status=JobItemStatus.WAITING).count() == 75


def test_an_action_delivery_pauses_the_same_way(
    limited, simulator, sent, django_capture_on_commit_callbacks, settings
):
    """Any job kind pauses the same way: the two calls' items wait for their poll, the third call's come
    back unsent."""
    world, buckets = limited
    simulator.set_durations(provisioning=0)
    desktops = _available_desktops(world, settings, django_capture_on_commit_callbacks)
    settings.AWS_RATE_LIMIT_PER_SECOND = RATE
    buckets.flushdb()
    simulator.clear_calls()
    sent.clear()
    job = desktop_action_bulk(actor=ACTOR, customer=world["customer"], desktops=desktops, action="reboot")

    _deliver(job, django_capture_on_commit_callbacks)

    calls = simulator.calls("RebootWorkspaces")
    assert len(calls) == 2
    items = list(JobItem.objects.filter(job=job).order_by("sequence"))
    sent_items = [i for i in items if i.status != JobItemStatus.PENDING]
    given_back = [i for i in items if i.status == JobItemStatus.PENDING]
    assert len(sent_items) == 50 and len(given_back) == 25
    assert all(i.submitted_at is None and i.attempts == 0 for i in given_back)
    assert [m[0] for m in sent].count(JOB_ITEMS_TASK) == 1


def test_a_poll_paused_by_the_rate_limit_settles_what_it_saw_and_looks_at_the_rest_once_refilled(
    limited, simulator, sent, django_capture_on_commit_callbacks, settings
):
    world, buckets = limited
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    settings.JOB_CREATE_FIRST_POLL_SECONDS = 0
    simulator.set_durations(provisioning=0)
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    job = desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=75))
    _deliver(job, django_capture_on_commit_callbacks)

    _poll_paused_after_two_calls(job, settings, buckets, simulator, django_capture_on_commit_callbacks)
    poll_at = JobItem.objects.filter(job=job, status=JobItemStatus.WAITING).values_list(
        "next_poll_at", flat=True
    )
    polled_at = JobItem.objects.filter(job=job, status=JobItemStatus.WAITING).values_list(
        "updated_at", flat=True
    )
    half_burst = BURST / 2 / RATE
    for due, at in zip(poll_at, polled_at, strict=True):
        assert half_burst <= (due - at).total_seconds() <= 1.5 * half_burst


def test_an_action_poll_paused_by_the_rate_limit_settles_what_it_saw_and_leaves_the_rest_waiting(
    limited, simulator, sent, django_capture_on_commit_callbacks, settings
):
    """A desktop action's poll keeps what its first looks saw, as a create's does; the desktops it did not
    look at are not taken for gone (a WorkSpace missing from a report fails a reboot)."""
    world, buckets = limited
    simulator.set_durations(provisioning=0, rebooting=0)
    desktops = _available_desktops(world, settings, django_capture_on_commit_callbacks)
    job = desktop_action_bulk(actor=ACTOR, customer=world["customer"], desktops=desktops, action="reboot")
    _deliver(job, django_capture_on_commit_callbacks)

    _poll_paused_after_two_calls(job, settings, buckets, simulator, django_capture_on_commit_callbacks)

    buckets.flushdb()  # the bucket has refilled
    JobItem.objects.filter(job=job, status=JobItemStatus.WAITING).update(next_poll_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        job_poll(job_id=job.pk)
    assert len(simulator.calls("DescribeWorkspaces")) == 3  # only the 25 not yet seen
    assert JobItem.objects.filter(job=job, status=JobItemStatus.SUCCEEDED).count() == 75


def test_a_create_aws_throttled_before_the_pause_is_called_again_not_looked_for(
    limited, simulator, sent, django_capture_on_commit_callbacks, settings
):
    """AWS executes nothing it throttles: when the retry of a throttled CreateWorkspaces is what pauses the
    delivery, its items lose their mark like unsent ones, and the next delivery creates them at once
    instead of looking for each by name (25 look-ups that, under the limit, could never finish)."""
    world, buckets = limited
    settings.AWS_BACKOFF_BASE = 0  # the retry at once: the test's bucket, not a sleep, decides
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    job = desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=75))
    simulator.clear_calls()
    simulator.set_rate_limit(0.01, burst=1)  # AWS answers the first call, then throttles

    try:
        _deliver(job, django_capture_on_commit_callbacks)
        throttled = simulator.rate_limit()["throttled_total"]
    finally:
        simulator.set_rate_limit(0)

    assert throttled == 1  # our bucket's two tokens: the first call, the second; its retry pauses
    items = list(JobItem.objects.filter(job=job).order_by("sequence"))
    assert {i.status for i in items[:25]} == {JobItemStatus.WAITING}
    assert {i.status for i in items[25:]} == {JobItemStatus.PENDING}
    assert all(i.submitted_at is None for i in items[25:])

    buckets.flushdb()
    simulator.clear_calls()
    _deliver(job, django_capture_on_commit_callbacks)
    assert not simulator.calls("DescribeWorkspaces")
    assert len(simulator.calls("CreateWorkspaces")) == 2
    assert JobItem.objects.filter(job=job, status=JobItemStatus.WAITING).count() == 75


def test_a_delivery_paused_among_its_look_ups_keeps_what_they_found(
    limited, simulator, sent, django_capture_on_commit_callbacks, settings
):
    """Submitted items are looked for one name a call. A pause among them keeps what the look-ups found:
    those found are adopted, those found absent lose their mark; only the ones not looked at yet are
    looked for by the next delivery (before, each delivery began again from the first and, with several
    deliveries sharing one account's bucket, none got past the look-ups)."""
    world, buckets = limited
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    job = desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=25))
    _deliver(job, django_capture_on_commit_callbacks)  # all 25 made in AWS
    items = list(JobItem.objects.filter(job=job).order_by("sequence"))
    lost, absent, unlooked = items[:2], items[2:4], items[4:]
    # Every answer lost: the items are submitted and back to send; two of the desktops AWS never made.
    JobItem.objects.filter(job=job).update(
        status=JobItemStatus.PENDING, aws_resource_id="", submitted_at=timezone.now() - timedelta(hours=1)
    )
    Desktop.objects.filter(pk__in=[i.desktop_id for i in absent]).update(workspace_name="never-made")
    settings.AWS_RATE_LIMIT_PER_SECOND, settings.AWS_RATE_LIMIT_BURST = RATE, 4
    buckets.flushdb()
    simulator.clear_calls()
    sent.clear()

    _deliver(job, django_capture_on_commit_callbacks)

    assert len(simulator.calls("DescribeWorkspaces")) == 4 and not simulator.calls("CreateWorkspaces")
    after = {i.pk: i for i in JobItem.objects.filter(job=job)}
    assert all(after[i.pk].status == JobItemStatus.WAITING and after[i.pk].aws_resource_id for i in lost)
    assert AuditEvent.objects.filter(details__adopted=True).count() == 2
    assert all(
        after[i.pk].status == JobItemStatus.PENDING and after[i.pk].submitted_at is None for i in absent
    )
    assert all(after[i.pk].status == JobItemStatus.PENDING and after[i.pk].submitted_at for i in unlooked)
    ((task, (job_id, item_ids), queue, countdown),) = [m for m in sent if m[0] == JOB_ITEMS_TASK]
    assert sorted(item_ids) == sorted(i.pk for i in [*absent, *unlooked])
