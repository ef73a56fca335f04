"""Reads of the domain, always given the customer (or the principal) they are for."""

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet

from tenants.access import Principal
from tenants.choices import DesktopState
from tenants.exports import csv_safe_row
from tenants.models import Customer, Desktop, DesktopStateChange

# States a person should look at: AWS reports trouble, or the create never reached AWS.
ATTENTION_STATES = (DesktopState.IMPAIRED, DesktopState.UNHEALTHY, DesktopState.ERROR)
# Orderings a list may ask for (a leading "-" reverses); the id breaks ties so pages are stable.
DESKTOP_ORDERINGS = ("created_at", "workspace_id", "user_name", "state", "state_changed_at", "compute_type")
DESKTOP_OWNER = "aws_account__customer_id"


@dataclass(frozen=True)
class DesktopFilters:
    """What a desktop list is narrowed to; empty fields do not narrow. Ids are AWS's (ws-, d-, wsb-)."""

    search: str = ""  # part of a WorkSpace id, user name, computer name or WorkspaceName
    states: tuple[str, ...] = ()
    user_name: str = ""  # exact, case-insensitive (directory user names are)
    bundle_id: str = ""
    directory_id: str = ""
    running_mode: str = ""
    customer_id: int | None = None  # for principals that see several customers
    include_terminated: bool = False
    include_unmanaged: bool = False  # forgotten or released rows, kept for history


def desktop_list(
    *, principal: Principal, filters: DesktopFilters | None = None, ordering: str = "-created_at"
) -> QuerySet[Desktop]:
    """The desktops a principal sees, filtered and ordered; lazy, so callers page it with a slice.

    Indexed columns only in filters and orderings, so a page stays fast at tens of thousands of rows.
    """
    filters = filters or DesktopFilters()
    desktops = principal.scope(Desktop.objects.all(), DESKTOP_OWNER).select_related(
        "aws_account__customer", "directory", "bundle"
    )
    if filters.customer_id is not None:
        desktops = desktops.filter(aws_account__customer_id=filters.customer_id)
    if not filters.include_terminated and DesktopState.TERMINATED not in filters.states:
        desktops = desktops.exclude(state=DesktopState.TERMINATED)
    if not filters.include_unmanaged:
        desktops = desktops.filter(unmanaged_at__isnull=True)
    if filters.search:
        term = filters.search.strip()
        desktops = desktops.filter(
            Q(workspace_id__icontains=term)
            | Q(user_name__icontains=term)
            | Q(computer_name__icontains=term)
            | Q(workspace_name__icontains=term)
        )
    if filters.states:
        desktops = desktops.filter(state__in=filters.states)
    if filters.user_name:
        desktops = desktops.filter(user_name__iexact=filters.user_name)
    if filters.bundle_id:
        desktops = desktops.filter(bundle__bundle_id=filters.bundle_id)
    if filters.directory_id:
        desktops = desktops.filter(directory__directory_id=filters.directory_id)
    if filters.running_mode:
        desktops = desktops.filter(running_mode=filters.running_mode)
    field = ordering.lstrip("-")
    if field not in DESKTOP_ORDERINGS:
        raise ValueError(f"ordering is one of {', '.join(DESKTOP_ORDERINGS)}, optionally with a leading -")
    direction = "-" if ordering.startswith("-") else ""
    return desktops.order_by(ordering, f"{direction}pk")


def desktop_get(*, principal: Principal, pk: int | None = None, workspace_id: str = "") -> Desktop:
    """One desktop the principal sees; Desktop.DoesNotExist otherwise (another tenant's is not found)."""
    desktops = principal.scope(Desktop.objects.all(), DESKTOP_OWNER).select_related(
        "aws_account__customer", "directory", "bundle", "power_policy"
    )
    if pk is not None:
        return desktops.get(pk=pk)
    return desktops.get(workspace_id=workspace_id)


def desktop_state_counts(*, principal: Principal, customer_id: int | None = None) -> dict[str, int]:
    """How many live desktops are in each state, in one query."""
    desktops = principal.scope(
        Desktop.objects.exclude(state=DesktopState.TERMINATED).filter(unmanaged_at__isnull=True),
        DESKTOP_OWNER,
    )
    if customer_id is not None:
        desktops = desktops.filter(aws_account__customer_id=customer_id)
    rows = desktops.values("state").annotate(n=Count("id")).order_by("state")
    return {row["state"]: row["n"] for row in rows}


def desktops_needing_attention(*, principal: Principal) -> QuerySet[Desktop]:
    """Desktops a person should look at: in trouble per AWS, gone from AWS while we still track them, or
    stopped by AWS itself (the 48-hour rule for MANUAL desktops) and not started since."""
    return (
        principal.scope(Desktop.objects.filter(unmanaged_at__isnull=True), DESKTOP_OWNER)
        .filter(
            Q(state__in=ATTENTION_STATES)
            | Q(missing_from_aws_since__isnull=False) & ~Q(state=DesktopState.TERMINATED)
            | Q(stopped_by_aws_at__isnull=False, state=DesktopState.STOPPED)
        )
        .select_related("aws_account__customer", "directory", "bundle")
        .order_by("-state_changed_at", "-pk")
    )


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
            csv_safe_row(
                [
                    customer.name,
                    row.aws_account_id,
                    row.region,
                    row.workspace_id,
                    row.user_name,
                    row.running_mode,
                    row.period,
                    row.available_hours,
                ]
            )
        )
