"""The audit log is append-only: the admin is read-only and PostgreSQL refuses UPDATE and DELETE."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from orchestration.models import AuditEvent
from tests.factories import AuditEventFactory, CustomerFactory

pytestmark = pytest.mark.django_db


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
