"""The engine writes per batch, not per item: a delivery or poll of 250 desktops runs the same SQL as one of
25, except one `submitted` mark before each AWS call; every desktop's state change is still recorded by
the history trigger and every AWS mutation still has its audit row.

Deliveries and polls run in the test process against the simulator (the frozen clock moved by hand).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orchestration.actors import Actor
from orchestration.aws.sessions import forget_all_sessions
from orchestration.choices import JobStatus
from orchestration.engine.runner import CALLS_PER_DELIVERY
from orchestration.models import AuditEvent, Job
from orchestration.services.desktop_actions import desktop_action_bulk
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from orchestration.services.jobs import job_items_run, job_poll
from tenants.models import Desktop, DesktopStateChange
from tests.integration.world import onboard_demo_customer

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]
ACTOR = Actor.system("test")
SMALL, LARGE = 25, 25 * CALLS_PER_DELIVERY


@pytest.fixture
def acme(simulator, settings):
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    settings.JOB_POLL_INTERVAL_SECONDS = 0  # a poll right after the delivery finds every item due
    forget_all_sessions()
    world = onboard_demo_customer(simulator, name="Acme", slug="acme")
    yield world
    forget_all_sessions()


def _statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL run, without the savepoints that only the test's own enclosing transaction adds."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def _marks(queries: CaptureQueriesContext) -> int:
    """The `submitted` marks written just before each AWS call (the one statement per call, not per item)."""
    return sum(
        1
        for sql in _statements(queries)
        if sql.startswith('UPDATE "orchestration_jobitem" SET "submitted_at"')
    )


def _run(job: Job) -> dict[str, int]:
    """Deliver all the job's items at once, then poll (AWS has finished by then): the SQL of each (of the
    first poll)."""
    with CaptureQueriesContext(connection) as delivery:
        job_items_run(job_id=job.pk, item_ids=list(job.items.order_by("pk").values_list("pk", flat=True)))
    with CaptureQueriesContext(connection) as poll:
        job_poll(job_id=job.pk)
    for _ in range(5):  # more than a poll's 250 (a setup job of 275): the next poll takes the rest
        job.refresh_from_db()
        if job.status != JobStatus.RUNNING:
            break
        job_poll(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED
    return {
        "delivery": len(_statements(delivery)) - _marks(delivery),
        "marks": _marks(delivery),
        "poll": len(_statements(poll)),
    }


def _create(world, count: int) -> Job:
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    return desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=count))


def test_a_create_job_runs_the_same_sql_for_250_desktops_as_for_25(simulator, acme):
    simulator.set_durations(provisioning=0)
    small = _run(_create(acme, SMALL))
    large = _run(_create(acme, LARGE))
    assert large["delivery"] == small["delivery"]
    assert large["poll"] == small["poll"]
    assert (small["marks"], large["marks"]) == (1, CALLS_PER_DELIVERY)
    assert len(simulator.calls("CreateWorkspaces")) == 1 + CALLS_PER_DELIVERY
    assert AuditEvent.objects.filter(action="CreateWorkspaces", outcome="SUCCEEDED").count() == SMALL + LARGE
    assert set(Desktop.objects.values_list("state", flat=True)) == {"AVAILABLE"}


def test_an_action_job_runs_the_same_sql_for_250_desktops_as_for_25(simulator, acme):
    simulator.set_durations(provisioning=0, stopping=0)
    _run(_create(acme, SMALL + LARGE))
    desktops = list(Desktop.objects.order_by("pk"))
    before = DesktopStateChange.objects.count()

    def stop(selection: list[Desktop]) -> dict[str, int]:
        job = desktop_action_bulk(actor=ACTOR, customer=acme["customer"], desktops=selection, action="stop")
        return _run(job)

    small, large = stop(desktops[:SMALL]), stop(desktops[SMALL:])
    assert large["delivery"] == small["delivery"]
    assert large["poll"] == small["poll"]
    assert (small["marks"], large["marks"]) == (1, CALLS_PER_DELIVERY)
    assert len(simulator.calls("StopWorkspaces")) == 1 + CALLS_PER_DELIVERY
    # One UPDATE a batch, yet the trigger recorded each desktop's STOPPING and then its STOPPED.
    changes = DesktopStateChange.objects.filter(pk__gt=0).count() - before
    assert changes == 2 * (SMALL + LARGE)
    assert set(Desktop.objects.values_list("state", flat=True)) == {"STOPPED"}
    assert AuditEvent.objects.filter(action="StopWorkspaces", outcome="SUCCEEDED").count() == SMALL + LARGE
