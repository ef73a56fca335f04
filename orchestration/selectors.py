"""Reads for jobs: progress is always counted from item rows."""

from dataclasses import dataclass

from django.db.models import Count, Q

from orchestration.choices import JobItemStatus
from orchestration.models import Job


@dataclass(frozen=True)
class JobProgress:
    """How far a job is: counted from its items, so it is right whatever the broker did."""

    total: int
    succeeded: int
    failed: int
    in_flight: int

    @property
    def done(self) -> int:
        return self.succeeded + self.failed


def job_progress(*, job: Job) -> JobProgress:
    """Count a job's items by outcome in one query."""
    counts = job.items.aggregate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(status=JobItemStatus.SUCCEEDED)),
        failed=Count("id", filter=Q(status=JobItemStatus.FAILED)),
    )
    total = counts["total"]
    return JobProgress(
        total=total,
        succeeded=counts["succeeded"],
        failed=counts["failed"],
        in_flight=total - counts["succeeded"] - counts["failed"],
    )
