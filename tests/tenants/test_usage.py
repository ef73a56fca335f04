"""State history is written by the database; usage (hours AVAILABLE) is computed from it."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Desktop, DesktopStateChange
from tenants.selectors import usage_available_hours
from tests.factories import AwsAccountFactory, CustomerFactory, DesktopFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 3, 22, 0, tzinfo=UTC)


def move(desktop: Desktop, state: str, at: datetime) -> None:
    Desktop.objects.filter(pk=desktop.pk).update(state=state, state_changed_at=at)


def test_every_state_change_is_recorded_whatever_the_write_path():
    desktop = DesktopFactory(state="PENDING", state_changed_at=T0)
    move(desktop, "AVAILABLE", T0 + timedelta(minutes=20))  # queryset update
    Desktop.objects.filter(pk=desktop.pk).update(computer_name="WSAMZN-1")  # no state change: no row
    desktop.refresh_from_db()
    desktop.state = "STOPPING"
    desktop.save()  # a save that does not move state_changed_at: the transaction's time is used
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_desktop SET state = 'STOPPED' WHERE id = %s", [desktop.pk])
    history = list(DesktopStateChange.objects.filter(desktop=desktop).values_list("state", "changed_at"))
    assert [state for state, _ in history] == ["PENDING", "AVAILABLE", "STOPPING", "STOPPED"]
    assert history[0][1] == T0 and history[1][1] == T0 + timedelta(minutes=20)


def test_hours_available_are_split_by_utc_day_and_summed_by_month():
    customer = CustomerFactory()
    account = AwsAccountFactory(customer=customer)
    desktop = DesktopFactory(aws_account=account, state="PENDING", state_changed_at=T0 - timedelta(hours=1))
    move(desktop, "AVAILABLE", T0)  # 22:00 on the 3rd
    move(desktop, "STOPPING", T0 + timedelta(hours=5))  # 03:00 on the 4th
    move(desktop, "STOPPED", T0 + timedelta(hours=5, minutes=1))
    move(desktop, "STARTING", T0 + timedelta(days=1))
    move(desktop, "AVAILABLE", T0 + timedelta(days=1, minutes=30))  # 22:30 on the 4th, still running
    other = DesktopFactory(aws_account=AwsAccountFactory(), state="AVAILABLE", state_changed_at=T0)
    now = T0 + timedelta(days=1, hours=1, minutes=30)  # 23:30 on the 4th

    daily = usage_available_hours(
        customer=customer, start=date(2026, 11, 1), end=date(2026, 12, 1), granularity="day", now=now
    )
    assert [(row.period, str(row.available_hours)) for row in daily] == [
        ("2026-11-03", "2.00"),
        ("2026-11-04", "4.00"),  # 3 h after midnight + 1 h since 22:30
    ]
    assert {row.desktop_id for row in daily} == {desktop.pk}  # another customer's desktop is not here
    monthly = usage_available_hours(
        customer=customer, start=date(2026, 11, 1), end=date(2026, 12, 1), granularity="month", now=now
    )
    assert [(row.period, str(row.available_hours)) for row in monthly] == [("2026-11", "6.00")]
    assert other.pk not in {row.desktop_id for row in monthly}


@pytest.mark.slow
def test_usage_costs_two_queries_however_many_desktops():
    customer = CustomerFactory()
    account = AwsAccountFactory(customer=customer)
    for n in range(3):
        DesktopFactory(aws_account=account, state="AVAILABLE", state_changed_at=T0 + timedelta(minutes=n))
    with CaptureQueriesContext(connection) as few:
        usage_available_hours(customer=customer, start=date(2026, 11, 1), end=date(2026, 12, 1))
    for n in range(40):
        DesktopFactory(aws_account=account, state="AVAILABLE", state_changed_at=T0 + timedelta(minutes=n))
    with CaptureQueriesContext(connection) as many:
        rows = usage_available_hours(customer=customer, start=date(2026, 11, 1), end=date(2026, 12, 1))
    assert len(few) == len(many) == 2
    assert len({row.desktop_id for row in rows}) == 43


def test_usage_report_command_writes_csv(capsys):
    customer = CustomerFactory(slug="acme")
    DesktopFactory(
        aws_account=AwsAccountFactory(customer=customer, account_id="111111111111"),
        workspace_id="ws-abcdefgh1",
        user_name="alice",
        state="AVAILABLE",
        state_changed_at=datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
    )
    out = io.StringIO()
    call_command("usage_report", "--customer", "acme", "--month", "2026-10", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["customer", "aws_account_id", "region"]
    assert rows[1] == [
        customer.name,
        "111111111111",
        "us-east-1",
        "ws-abcdefgh1",
        "alice",
        "MANUAL",
        "2026-10-31",
        "1.00",
    ]


def test_staff_download_usage_csv_from_the_customer_page(staff_client):
    customer = CustomerFactory(slug="globex")
    DesktopFactory(aws_account=AwsAccountFactory(customer=customer), state="AVAILABLE", state_changed_at=T0)
    response = staff_client.get(
        f"/admin/tenants/customer/{customer.pk}/usage.csv?month=2026-11&granularity=month"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "globex-2026-11.csv" in response["Content-Disposition"]
    assert "2026-11" in response.content.decode()
    bad = staff_client.get(f"/admin/tenants/customer/{customer.pk}/usage.csv?month=November")
    assert bad.status_code == 400 and b"YYYY-MM" in bad.content
