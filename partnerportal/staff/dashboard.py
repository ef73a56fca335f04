"""The staff console's home: the fleet at a glance, in a fixed number of queries however big the fleet.

Reads only, through the scoped selectors: a staff user limited to some customers sees only theirs.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.fields.json import KT

from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus, JobKind, JobStatus
from orchestration.models import Job, JobItem
from orchestration.selectors import (
    AwsActivity,
    JobProgress,
    aws_activity_by_account,
    job_list,
    job_progress_many,
    jobs_in_flight,
)
from tenants.access import Principal
from tenants.choices import DesktopState, VerificationStatus
from tenants.models import AwsAccount, Desktop
from tenants.selectors import DESKTOP_OWNER

JOBS_SHOWN = 10
FAILED_JOBS_SHOWN = 10
# Drift a reconciliation reports that a person should look at (the summary's keys, in words).
DRIFT_WORDS = {
    "desktops_untracked": "WorkSpaces we do not manage",
    "desktops_missing": "desktops missing from AWS",
    "lost_tag": "desktops without the PartnerManaged tag",
    "directories_missing": "directories missing from AWS",
    "bundles_missing": "bundles missing from AWS",
    "images_missing": "images missing from AWS",
    "regions_failed": "regions that could not be read",
}
STATE_ORDER = [state.value for state in DesktopState if state != DesktopState.TERMINATED]


@dataclass
class CustomerFleet:
    """One customer's live desktops by state, in the column order of `Dashboard.states`."""

    customer_id: int
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    cells: list[int] = field(default_factory=list)  # counts in the table's column order

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class AccountAttention:
    """An AWS account a person should look at, and why, in words."""

    account: AwsAccount
    reasons: list[str]


@dataclass(frozen=True)
class AccountActivity:
    account: AwsAccount | None
    aws_account_id: str
    activity: AwsActivity


@dataclass
class Dashboard:
    states: list[str]
    fleets: list[CustomerFleet]
    state_totals: list[int]
    desktop_total: int
    jobs_in_flight: list[tuple[Job, JobProgress]]
    jobs_in_flight_count: int
    failed_jobs: list[Job]
    failed_items_by_customer: list[tuple[str, int]]
    accounts_attention: list[AccountAttention]
    aws_activity: list[AccountActivity]


def _fleets(principal: Principal) -> list[CustomerFleet]:
    rows = (
        principal.scope(
            Desktop.objects.exclude(state=DesktopState.TERMINATED).filter(unmanaged_at__isnull=True),
            DESKTOP_OWNER,
        )
        .values("aws_account__customer_id", "aws_account__customer__name", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    fleets: dict[int, CustomerFleet] = {}
    for row in rows:
        customer_id = row["aws_account__customer_id"]
        fleet = fleets.setdefault(customer_id, CustomerFleet(customer_id, row["aws_account__customer__name"]))
        fleet.counts[row["state"]] = row["n"]
    return sorted(fleets.values(), key=lambda fleet: fleet.name.lower())


def _accounts_needing_attention(
    principal: Principal, activity: dict[str, AwsActivity]
) -> list[AccountAttention]:
    """Verification failed, throttled in the last hour, or drift in the latest finished reconciliation."""
    latest_reconcile = (
        Job.objects.filter(kind=JobKind.RECONCILE, status__in=JOB_TERMINAL_STATUSES)
        .annotate(account_key=KT("params__aws_account_id"))
        .filter(account_key=OuterRef("account_id"))
        .order_by("-created_at")
        .values("result__summary")[:1]
    )
    throttled_ids = [account_id for account_id, seen in activity.items() if seen.throttled]
    accounts = (
        principal.scope(AwsAccount.objects.all())
        .select_related("customer")
        .annotate(drift=Subquery(latest_reconcile))
        .filter(
            Q(verification_status=VerificationStatus.FAILED)
            | Q(account_id__in=throttled_ids)
            | Q(drift__isnull=False)
        )
        .order_by("customer__name", "account_id")
    )
    flagged = []
    for account in accounts:
        reasons = []
        if account.verification_status == VerificationStatus.FAILED:
            reasons.append(f"Connection check failed: {account.verification_message or 'no reason recorded'}")
        seen = activity.get(account.account_id)
        if seen and seen.throttled:
            reasons.append(f"AWS throttled {seen.throttled} of {seen.calls} calls in the last hour")
        drift = account.drift if isinstance(account.drift, dict) else {}
        found = [f"{drift[key]} {words}" for key, words in DRIFT_WORDS.items() if drift.get(key)]
        if found:
            reasons.append("Last reconciliation found " + ", ".join(found))
        if reasons:
            flagged.append(AccountAttention(account, reasons))
    return flagged


def staff_dashboard(*, principal: Principal, now: datetime) -> Dashboard:
    """Everything the console's home shows, in a fixed number of queries (about ten)."""
    fleets = _fleets(principal)
    present = {state for fleet in fleets for state in fleet.counts}
    states = [state for state in STATE_ORDER if state in present]
    for fleet in fleets:
        fleet.cells = [fleet.counts.get(state, 0) for state in states]
    in_flight = list(jobs_in_flight(principal=principal)[:JOBS_SHOWN])
    progress = job_progress_many(job_ids=[job.pk for job in in_flight])
    day_ago = now - timedelta(days=1)
    failed_jobs = list(
        job_list(principal=principal, statuses=(JobStatus.FAILED, JobStatus.PARTIAL)).filter(
            finished_at__gte=day_ago
        )[:FAILED_JOBS_SHOWN]
    )
    failed_items = (
        principal.scope(
            JobItem.objects.filter(status=JobItemStatus.FAILED, finished_at__gte=day_ago), "job__customer_id"
        )
        .values("job__customer__name")
        .annotate(n=Count("id"))
        .order_by("-n", "job__customer__name")
    )
    activity = aws_activity_by_account(principal=principal, since=now - timedelta(hours=1))
    accounts = {
        account.account_id: account
        for account in principal.scope(
            AwsAccount.objects.filter(account_id__in=list(activity))
        ).select_related("customer")
    }
    return Dashboard(
        states=states,
        fleets=fleets,
        state_totals=[sum(fleet.counts.get(state, 0) for fleet in fleets) for state in states],
        desktop_total=sum(fleet.total for fleet in fleets),
        jobs_in_flight=[(job, progress[job.pk]) for job in in_flight],
        jobs_in_flight_count=jobs_in_flight(principal=principal).count(),
        failed_jobs=failed_jobs,
        failed_items_by_customer=[(row["job__customer__name"], row["n"]) for row in failed_items],
        accounts_attention=_accounts_needing_attention(principal, activity),
        aws_activity=[
            AccountActivity(accounts.get(account_id), account_id, seen)
            for account_id, seen in sorted(activity.items(), key=lambda item: -item[1].calls)
        ],
    )
