"""Reads of the domain, always given the customer they are for."""

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from tenants.choices import DesktopState
from tenants.models import Customer, Desktop, DesktopStateChange

USAGE_GRANULARITIES = ("day", "month")
USAGE_CSV_COLUMNS = [
    "customer",
    "aws_account_id",
    "region",
    "workspace_id",
    "user_name",
    "running_mode",
    "period",
    "available_hours",
]


@dataclass(frozen=True)
class UsageRow:
    """Hours one desktop spent AVAILABLE in one day or month (UTC)."""

    desktop_id: int
    aws_account_id: str
    region: str
    workspace_id: str
    user_name: str
    running_mode: str
    period: str
    available_hours: Decimal


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of a "YYYY-MM" month and of the month after; ValueError for anything else."""
    year, number = (int(part) for part in month.split("-"))
    start = date(year, number, 1)
    return start, date(year + (number == 12), number % 12 + 1, 1)


def _split_by_day(start: datetime, end: datetime) -> Iterator[tuple[date, float]]:
    """Seconds of [start, end) falling on each UTC day."""
    cursor = start
    while cursor < end:
        next_midnight = datetime.combine(cursor.date() + timedelta(days=1), time.min, tzinfo=UTC)
        stop = min(end, next_midnight)
        yield cursor.date(), (stop - cursor).total_seconds()
        cursor = stop


def usage_available_hours(
    *, customer: Customer, start: date, end: date, granularity: str = "day", now: datetime | None = None
) -> list[UsageRow]:
    """Hours each of the customer's desktops was AVAILABLE per day or month in [start, end), from the
    state history the database records. MANUAL desktops are billed by the hour while AVAILABLE.

    Two queries whatever the number of desktops: the desktops, then their history in time order.
    """
    if granularity not in USAGE_GRANULARITIES:
        raise ValueError(f"granularity is one of {', '.join(USAGE_GRANULARITIES)}")
    if end <= start:
        raise ValueError("the end date must be after the start date")
    window_start = datetime.combine(start, time.min, tzinfo=UTC)
    window_end = min(datetime.combine(end, time.min, tzinfo=UTC), now or datetime.now(UTC))
    desktops = {
        d.pk: d
        for d in Desktop.objects.filter(aws_account__customer=customer)
        .select_related("aws_account")
        .only("pk", "workspace_id", "user_name", "running_mode", "region", "aws_account__account_id")
    }
    seconds: dict[tuple[int, str], float] = defaultdict(float)
    history = (
        DesktopStateChange.objects.filter(desktop_id__in=list(desktops), changed_at__lt=window_end)
        .order_by("desktop_id", "changed_at", "id")
        .values_list("desktop_id", "state", "changed_at")
    )
    current: tuple[int, datetime] | None = None  # (desktop, AVAILABLE since)

    def close(desktop_id: int, since: datetime, until: datetime) -> None:
        since, until = max(since, window_start), min(until, window_end)
        for day, secs in _split_by_day(since, until):
            period = day.isoformat() if granularity == "day" else day.strftime("%Y-%m")
            seconds[(desktop_id, period)] += secs

    for desktop_id, state, changed_at in history.iterator(chunk_size=5000):
        if current is not None and current[0] != desktop_id:
            close(current[0], current[1], window_end)  # still AVAILABLE at the end of the window
            current = None
        if state == DesktopState.AVAILABLE:
            if current is None:
                current = (desktop_id, changed_at)
        elif current is not None:
            close(desktop_id, current[1], changed_at)
            current = None
    if current is not None:
        close(current[0], current[1], window_end)

    rows = []
    for (desktop_id, period), secs in sorted(seconds.items()):
        if secs <= 0:
            continue
        desktop = desktops[desktop_id]
        rows.append(
            UsageRow(
                desktop_id=desktop_id,
                aws_account_id=desktop.aws_account.account_id,
                region=desktop.region,
                workspace_id=desktop.workspace_id or "",
                user_name=desktop.user_name,
                running_mode=desktop.running_mode,
                period=period,
                available_hours=(Decimal(secs) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            )
        )
    return rows


def usage_write_csv(rows: list[UsageRow], *, customer: Customer, out) -> None:
    """The usage rows as CSV, one line per desktop and period, for billing."""
    writer = csv.writer(out)
    writer.writerow(USAGE_CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                customer.name,
                row.aws_account_id,
                row.region,
                row.workspace_id,
                row.user_name,
                row.running_mode,
                row.period,
                f"{row.available_hours}",
            ]
        )
