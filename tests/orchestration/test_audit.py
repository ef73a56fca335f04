"""The audit log is append-only: the admin is read-only; PostgreSQL refuses UPDATE, DELETE and TRUNCATE,
and SQLite (`make run`) refuses UPDATE and DELETE."""

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from orchestration.models import AuditEvent
from tests.conftest import SQLITE_GROUP
from tests.factories import AuditEventFactory, CustomerFactory

pytestmark = pytest.mark.django_db
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_update_through_the_orm_is_refused_by_the_database():
    event = AuditEventFactory(outcome="FAILED")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(outcome="SUCCEEDED")
    assert AuditEvent.objects.get(pk=event.pk).outcome == "FAILED"


def test_delete_through_the_orm_is_refused_by_the_database():
    event = AuditEventFactory()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_raw_sql_cannot_change_or_remove_an_event():
    event = AuditEventFactory()
    for statement in (
        "UPDATE orchestration_auditevent SET action = 'Nothing' WHERE id = %s",
        "DELETE FROM orchestration_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk, action=event.action).exists()


def test_the_model_refuses_to_save_or_delete_an_existing_event():
    event = AuditEventFactory()
    event.outcome = "SUCCEEDED"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_events_outlive_the_customer_they_describe():
    customer = CustomerFactory(name="Gone Ltd")
    event = AuditEventFactory(customer=customer, customer_label=customer.name)
    customer_pk = customer.pk
    customer.delete()
    survivor = AuditEvent.objects.get(pk=event.pk)
    assert survivor.customer_id == customer_pk
    assert survivor.customer_label == "Gone Ltd"


def test_admin_shows_events_but_offers_no_way_to_change_them(staff_client):
    event = AuditEventFactory()
    changelist = staff_client.get(reverse("admin:orchestration_auditevent_changelist"))
    assert changelist.status_code == 200
    assert event.target_id in changelist.content.decode()
    assert staff_client.get(reverse("admin:orchestration_auditevent_add")).status_code == 403
    assert (
        staff_client.post(reverse("admin:orchestration_auditevent_delete", args=[event.pk])).status_code
        == 403
    )
    change_page = staff_client.get(reverse("admin:orchestration_auditevent_change", args=[event.pk]))
    assert change_page.status_code == 200
    assert 'name="_save"' not in change_page.content.decode()
    staff_client.post(
        reverse("admin:orchestration_auditevent_change", args=[event.pk]), {"outcome": "FAILED"}
    )
    assert AuditEvent.objects.get(pk=event.pk).outcome == event.outcome


def test_truncate_is_refused_by_a_statement_trigger():
    event = AuditEventFactory()
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # What every session but the test suite's own flush has (tests/conftest.py sets it).
        cursor.execute("SET LOCAL partnerportal.audit_truncate = ''")
        cursor.execute("TRUNCATE orchestration_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.timeout(300)  # migrates a whole database in a subprocess: slow on a busy machine
@pytest.mark.xdist_group(SQLITE_GROUP)  # the worker that migrates SQLite for the runstack tests too
def test_sqlite_refuses_update_and_delete_too(tmp_path, migrated_sqlite):
    """`make run`'s database: a freshly migrated SQLite file, then change an event with plain SQL."""
    database = tmp_path / "run.sqlite3"
    shutil.copyfile(migrated_sqlite, database)
    with closing(sqlite3.connect(database)) as db:
        db.execute(
            "INSERT INTO orchestration_auditevent (occurred_at, actor_kind, actor_label, customer_label, "
            "aws_account_id, region, action, target_type, target_id, aws_request_id, outcome, error_code, "
            "error_message, details) VALUES ('2026-01-01 00:00:00', 'STAFF', 'ops', '', '', '', "
            "'StopWorkspaces', 'desktop', 'ws-123456789', '', 'SUCCEEDED', '', '', '{}')"
        )
        db.commit()
        for statement in (
            "UPDATE orchestration_auditevent SET outcome = 'FAILED'",
            "DELETE FROM orchestration_auditevent",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(statement)
            db.rollback()
        assert db.execute("SELECT action, outcome FROM orchestration_auditevent").fetchall() == [
            ("StopWorkspaces", "SUCCEEDED")
        ]
