"""Reads for jobs and the audit log, scoped by principal; progress is always counted from item rows."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet

from orchestration.aws.errors import THROTTLED_CODES
from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus, JobKind
from orchestration.models import AuditEvent, Job, JobItem
from tenants.access import Principal


@dataclass(frozen=True)
class JobProgress:
    """How far a job is: counted from its items, so it is right whatever the broker did.

    Of the items still open, `with_aws` are the ones AWS accepted and is working on (WAITING); the rest
    are `queued` (not sent yet, or being sent: PENDING or RUNNING)."""

    total: int
    succeeded: int
    failed: int
    in_flight: int
    skipped: int = 0
    with_aws: int = 0

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped

    @property
    def queued(self) -> int:
        return self.in_flight - self.with_aws

    def segments(self) -> list[tuple[str, str, int, int]]:
        """The stacked bar's parts in order: (css name, label, count, offset from the left), empty ones left out."""
        parts = [
            ("succeeded", "succeeded", self.succeeded),
            ("failed", "failed", self.failed),
            ("skipped", "skipped", self.skipped),
            ("with-aws", "with AWS", self.with_aws),
            ("queued", "queued or being sent", self.queued),
        ]
        shown, offset = [], 0
        for name, label, count in parts:
            if count:
                shown.append((name, label, count, offset))
                offset += count
        return shown

    @classmethod
    def of(cls, *, total: int, succeeded: int, failed: int, skipped: int, with_aws: int = 0) -> "JobProgress":
        return cls(total, succeeded, failed, total - succeeded - failed - skipped, skipped, with_aws)


_OUTCOME_COUNTS = {
    "total": Count("id"),
    "succeeded": Count("id", filter=Q(status=JobItemStatus.SUCCEEDED)),
    "failed": Count("id", filter=Q(status=JobItemStatus.FAILED)),
    "skipped": Count("id", filter=Q(status=JobItemStatus.SKIPPED)),
    "with_aws": Count("id", filter=Q(status=JobItemStatus.WAITING)),
}


def job_progress(*, job: Job) -> JobProgress:
    """Count a job's items by outcome in one query."""
    return JobProgress.of(**job.items.aggregate(**_OUTCOME_COUNTS))


def job_progress_many(*, job_ids: list[int]) -> dict[int, JobProgress]:
    """Progress of many jobs in one query (a list page's progress bars)."""
    rows = JobItem.objects.filter(job_id__in=job_ids).values("job_id").annotate(**_OUTCOME_COUNTS)
    progress = {job_id: JobProgress.of(total=0, succeeded=0, failed=0, skipped=0) for job_id in job_ids}
    for row in rows:
        job_id = row.pop("job_id")
        progress[job_id] = JobProgress.of(**row)
    return progress


def job_list(
    *,
    principal: Principal,
    statuses: tuple[str, ...] = (),
    kinds: tuple[str, ...] = (),
    customer_id: int | None = None,
) -> QuerySet[Job]:
    """The jobs a principal sees, newest first."""
    jobs = principal.scope(Job.objects.all()).select_related("customer")
    if statuses:
        jobs = jobs.filter(status__in=statuses)
    if kinds:
        jobs = jobs.filter(kind__in=kinds)
    if customer_id is not None:
        jobs = jobs.filter(customer_id=customer_id)
    return jobs.order_by("-created_at", "-pk")


def jobs_in_flight(*, principal: Principal) -> QuerySet[Job]:
    """Jobs not finished yet, newest first."""
    return job_list(principal=principal).exclude(status__in=JOB_TERMINAL_STATUSES)


def job_get(*, principal: Principal, pk: int) -> Job:
    """One job the principal sees; Job.DoesNotExist otherwise (another tenant's is not found)."""
    return principal.scope(Job.objects.select_related("customer")).get(pk=pk)


@dataclass(frozen=True)
class AuditFilters:
    """What an audit list is narrowed to; empty fields do not narrow."""

    action: str = ""
    outcome: str = ""
    target_id: str = ""
    actor: str = ""  # part of the actor's label
    since: datetime | None = None
    until: datetime | None = None
    customer_id: int | None = None


def audit_event_list(*, principal: Principal, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """The audit events a principal sees, newest first. Events name their customer by id, not by key."""
    filters = filters or AuditFilters()
    events = principal.scope(AuditEvent.objects.all())
    if filters.customer_id is not None:
        events = events.filter(customer_id=filters.customer_id)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.target_id:
        events = events.filter(target_id=filters.target_id)
    if filters.actor:
        events = events.filter(actor_label__icontains=filters.actor)
    if filters.since:
        events = events.filter(occurred_at__gte=filters.since)
    if filters.until:
        events = events.filter(occurred_at__lt=filters.until)
    return events.order_by("-occurred_at", "-id")


@dataclass(frozen=True)
class AwsActivity:
    """Audited AWS calls of one account in a window, and how many of them AWS answered as throttled."""

    aws_account_id: str
    calls: int
    throttled: int


def aws_activity_by_account(*, principal: Principal, since: datetime) -> dict[str, AwsActivity]:
    """Audited AWS calls per account id since `since`, in one query. Only mutations are audited (reads are
    not), and a throttled answer shows here only when our retries gave up (retried ones leave no row)."""
    rows = (
        principal.scope(AuditEvent.objects.filter(occurred_at__gte=since))
        .exclude(aws_account_id="")
        .values("aws_account_id")
        .annotate(calls=Count("id"), throttled=Count("id", filter=Q(error_code__in=THROTTLED_CODES)))
        .order_by()
    )
    return {
        row["aws_account_id"]: AwsActivity(row["aws_account_id"], row["calls"], row["throttled"])
        for row in rows
    }


# A directory's provisioning time is read from its last PROVISIONING_SAMPLE new desktops in its last
# PROVISIONING_JOBS create jobs, at a low percentile (a first poll after most are ready would show them
# late), and only once PROVISIONING_MIN_SAMPLES are there to go by.
PROVISIONING_JOBS = 5
PROVISIONING_SAMPLE = 200
PROVISIONING_PERCENTILE = 0.1
PROVISIONING_MIN_SAMPLES = 10


def provisioning_seconds_seen(*, customer_id: int, directory_id: str) -> float | None:
    """How long new desktops in this directory (one account and region) took from their CreateWorkspaces
    call to the poll that saw them ready, at the 10th percentile of the last 200; None with fewer than 10.

    Read from the directory's last create jobs' own items (their `params` name the directory), newest job
    first: no join with the desktops, so its cost stays a few index reads however large the fleet."""
    recent_jobs = (
        Job.objects.filter(
            customer_id=customer_id, kind=JobKind.DESKTOP_CREATE, params__directory_id=directory_id
        )
        .order_by("-pk")
        .values("pk")[:PROVISIONING_JOBS]
    )
    took = sorted(
        JobItem.objects.filter(
            job_id__in=recent_jobs,
            status=JobItemStatus.SUCCEEDED,
            submitted_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-job_id")
        .annotate(took=F("finished_at") - F("submitted_at"))
        .values_list("took", flat=True)[:PROVISIONING_SAMPLE]
    )
    if len(took) < PROVISIONING_MIN_SAMPLES:
        return None
    return took[int(len(took) * PROVISIONING_PERCENTILE)].total_seconds()
