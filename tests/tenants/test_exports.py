"""CSV exports: a cell a spreadsheet would run as a formula is written as text."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tenants.exports import csv_safe, csv_safe_row
from tenants.selectors import usage_available_hours, usage_write_csv
from tests.factories import AwsAccountFactory, CustomerFactory, DesktopFactory


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"],
)
def test_a_cell_starting_with_a_formula_trigger_gets_an_apostrophe(value):
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["alice", "ws-abc", "a=b", "", " x", "1.00"])
def test_a_plain_cell_is_unchanged(value):
    assert csv_safe(value) == value


def test_numbers_stay_numbers_and_none_is_empty():
    assert csv_safe(-3) == -3
    assert csv_safe(Decimal("-1.50")) == Decimal("-1.50")
    assert csv_safe(None) == ""
    assert csv_safe_row(["=1", 2, None]) == ["'=1", 2, ""]


@pytest.mark.django_db
def test_usage_csv_escapes_a_formula_in_the_customer_and_user_names():
    customer = CustomerFactory(slug="evil", name='=HYPERLINK("http://evil","x")')
    DesktopFactory(
        aws_account=AwsAccountFactory(customer=customer, account_id="111111111111"),
        workspace_id="ws-abcdefgh1",
        user_name="@SUM(1+1)",
        state="AVAILABLE",
        state_changed_at=datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
    )
    rows = usage_available_hours(customer=customer, start=date(2026, 10, 1), end=date(2026, 11, 1))
    out = io.StringIO()
    usage_write_csv(rows, customer=customer, out=out)
    line = list(csv.reader(io.StringIO(out.getvalue())))[1]
    assert line[0] == '\'=HYPERLINK("http://evil","x")'
    assert line[4] == "'@SUM(1+1)"
    assert line[-1] == "1.00"
