"""Housekeeping prunes finished schedule runs past their retention and expired Idempotency-Keys, in
bounded batches (a fixed number of statements per batch), and keeps recent or unfinished runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orchestration.choices import JobStatus
from orchestration.models import AuditEvent, ScheduleRun
from orchestration.services.housekeeping import schedule_runs_prune
from partnerportal.api.housekeeping import idempotency_keys_prune
from partnerportal.api.models import IdempotentRequest
from partnerportal.tasks import housekeeping
from tests.factories import AuditEventFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_run(name: str, *, age_days: float, finished: bool = True) -> ScheduleRun:
    window_start = timezone.now() - timedelta(days=age_days)
    return ScheduleRun.objects.create(
        schedule=name,
        window_start=window_start,
        status=JobStatus.SUCCEEDED if finished else JobStatus.RUNNING,
        finished_at=window_start + timedelta(seconds=30) if finished else None,
    )


def test_old_finished_runs_go_and_recent_or_unfinished_ones_stay(settings):
    settings.SCHEDULE_RUN_RETENTION_DAYS = 30
    for n in range(5):
        make_run(f"pool-manage:{n}", age_days=31 + n)
    recent = make_run("idle-sweep", age_days=29)
    unfinished = make_run("golden-image:7", age_days=90, finished=False)
    assert schedule_runs_prune(batch_size=2) == 5
    assert set(ScheduleRun.objects.values_list("pk", flat=True)) == {recent.pk, unfinished.pk}


@pytest.mark.parametrize(("rows", "statements"), [(0, 1), (3, 2), (4, 3), (5, 3)])
def test_runs_are_deleted_in_one_bounded_statement_per_batch(rows, statements, django_assert_num_queries):
    for n in range(rows):
        make_run(f"pool-manage:{n}", age_days=40)
    with django_assert_num_queries(statements) as captured:
        assert schedule_runs_prune(batch_size=2) == rows
    assert all(query["sql"].startswith("DELETE") and "LIMIT 2" in query["sql"] for query in captured)


def test_expired_idempotency_keys_go_in_batches_and_live_ones_stay(django_assert_num_queries):
    user = UserFactory()
    for n in range(5):
        IdempotentRequest.objects.create(user=user, key=f"old-{n}", fingerprint="f")
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(hours=25))
    IdempotentRequest.objects.create(user=user, key="live", fingerprint="f")
    with django_assert_num_queries(3):
        assert idempotency_keys_prune(batch_size=2) == 5
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["live"]


def test_the_beat_task_reports_counts_and_never_touches_the_audit_log(settings):
    settings.HOUSEKEEPING_BATCH_SIZE = 2
    make_run("idle-sweep", age_days=45)
    make_run("idle-sweep", age_days=1)
    AuditEventFactory()
    audit_rows = AuditEvent.objects.count()
    assert housekeeping() == {"schedule_runs": 1, "idempotency_keys": 0}
    assert AuditEvent.objects.count() == audit_rows
