"""Usage for the portal: hours AVAILABLE per desktop per day in a month, shaped for a chart and a table."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from tenants.models import Customer
from tenants.selectors import UsageRow, month_bounds, usage_available_hours


def this_month(now: datetime) -> str:
    return now.strftime("%Y-%m")


def previous_month(now: datetime) -> str:
    return (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def month_total_hours(customer: Customer, month: str, *, now: datetime) -> Decimal:
    """All the customer's desktops' hours AVAILABLE in a month."""
    start, end = month_bounds(month)
    rows = usage_available_hours(customer=customer, start=start, end=end, granularity="month", now=now)
    return sum((row.available_hours for row in rows), Decimal("0"))


@dataclass(frozen=True)
class UsageTable:
    """A month pivoted: one row per desktop, one column per day, and the fleet's total per day."""

    days: list[date]
    desktops: list[tuple[str, str, list[Decimal | None], Decimal]]  # workspace id, user, per day, total
    day_totals: list[Decimal]
    total: Decimal


def usage_table(rows: list[UsageRow], start: date, end: date) -> UsageTable:
    days = [start + timedelta(days=n) for n in range((end - start).days)]
    index = {day.isoformat(): n for n, day in enumerate(days)}
    per_desktop: dict[int, list[Decimal | None]] = defaultdict(lambda: [None] * len(days))
    names: dict[int, tuple[str, str]] = {}
    day_totals = [Decimal("0")] * len(days)
    for row in rows:
        column = index[row.period]
        per_desktop[row.desktop_id][column] = row.available_hours
        names[row.desktop_id] = (row.workspace_id, row.user_name)
        day_totals[column] += row.available_hours
    desktops = sorted(
        (
            (*names[pk], hours, sum((h for h in hours if h is not None), Decimal("0")))
            for pk, hours in per_desktop.items()
        ),
        key=lambda entry: (entry[1].lower(), entry[0]),
    )
    return UsageTable(
        days=days, desktops=desktops, day_totals=day_totals, total=sum(day_totals, Decimal("0"))
    )
