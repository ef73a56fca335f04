"""A job item's outcome in words, the same on the staff console and the customer pages."""

from orchestration.choices import JobItemStatus
from orchestration.models import JobItem

ITEM_OUTCOMES = {
    JobItemStatus.PENDING: "Waiting to be sent to AWS.",
    JobItemStatus.RUNNING: "Being sent to AWS.",
    JobItemStatus.WAITING: "AWS accepted it; waiting for AWS to finish.",
    JobItemStatus.SUCCEEDED: "Done.",
}


def item_outcome(item: JobItem, *, with_code: bool = False) -> str:
    """One item's outcome; `with_code` adds AWS's error code to a failure (staff read codes, customers
    read the message)."""
    if item.status == JobItemStatus.FAILED:
        reason = item.error_message or item.error_code or "no reason recorded"
        code = f" ({item.error_code})" if with_code and item.error_code and item.error_message else ""
        return f"Failed: {reason}{code}"
    if item.status == JobItemStatus.SKIPPED:
        return f"Skipped: {item.error_message or 'the action does not apply to it'}"
    return ITEM_OUTCOMES.get(JobItemStatus(item.status), item.status)


def count_label(label: str) -> str:
    """An item status's label after its count: "3 waiting on AWS", the first word lower-cased, AWS kept."""
    first, _, rest = str(label).partition(" ")
    return " ".join(part for part in (first.lower(), rest) if part)
