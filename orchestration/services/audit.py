"""Writing the audit log: one row per AWS mutation or local refusal."""

from typing import Required, TypedDict, Unpack

from orchestration.actors import Actor
from orchestration.models import AuditEvent, Job
from tenants.models import Customer


class AuditResult(TypedDict, total=False):
    """How an audited call went: the keywords the helpers around an audit event pass through as given."""

    aws_request_id: str
    error_code: str
    error_message: str


class AuditFields(AuditResult, total=False):
    """The keywords of `audit_event_for_actor` after who acted and for which customer."""

    action: Required[str]
    outcome: Required[str]
    aws_account_id: str
    region: str
    target_type: str
    target_id: str
    details: dict | None


def audit_event_for_job(job: Job, **fields: Unpack[AuditFields]) -> AuditEvent:
    """An unsaved event attributed to whoever asked for the job (save with audit_record_many).

    `fields` are those of `audit_event_for_actor`: action, outcome, target, AWS request id, error…
    """
    actor = Actor(kind=job.requested_by_kind, label=job.requested_by_label, user_id=job.requested_by_user_id)
    event = audit_event_for_actor(actor, job.customer, **fields)
    event.job_id = job.pk
    return event


def audit_event_for_actor(
    actor: Actor,
    customer: Customer | None,
    *,
    action: str,
    outcome: str,
    aws_account_id: str = "",
    region: str = "",
    target_type: str = "",
    target_id: str = "",
    aws_request_id: str = "",
    error_code: str = "",
    error_message: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """An unsaved event for an action done at once, outside any job (a refusal, a short AWS call).

    `customer` is None only for the partner's own actions that concern no customer (a staff API token).
    """
    return AuditEvent(
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        customer_id=customer.pk if customer else None,
        customer_label=customer.name if customer else "",
        aws_account_id=aws_account_id,
        region=region,
        action=action,
        target_type=target_type,
        target_id=target_id,
        aws_request_id=aws_request_id,
        outcome=outcome,
        error_code=error_code,
        error_message=error_message,
        details=details or {},
    )


def audit_record_many(events: list[AuditEvent]) -> None:
    """Append events in one statement."""
    if events:
        AuditEvent.objects.bulk_create(events)
