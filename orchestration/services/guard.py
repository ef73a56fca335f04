"""Changes to an existing resource made at once, outside any job (directories, bundles, images): the tag
guard (S5) on the tags we recorded or DescribeTags, one audit row for the change or its local refusal."""

from collections.abc import Callable
from typing import NoReturn, Unpack

from orchestration.actors import Actor
from orchestration.aws.errors import AwsError, TagGuardRefused
from orchestration.aws.tagguard import ensure_partner_managed
from orchestration.aws.types import AccountAccess
from orchestration.aws.workspaces import resource_tags
from orchestration.choices import AuditOutcome
from orchestration.services.accounts import account_access
from orchestration.services.audit import AuditResult, audit_event_for_actor, audit_record_many
from tenants.models import AwsAccount


def guarded_tags(access: AccountAccess, *, resource, resource_id: str, record: bool = True) -> dict[str, str]:
    """The tags the tag guard judges: our recorded ones, or DescribeTags when we have none (then written
    onto our row, unless `record` is False)."""
    if resource.tags:
        return resource.tags
    tags = resource_tags(access, resource_id)
    if record:
        type(resource).objects.filter(pk=resource.pk).update(tags=tags)
        resource.tags = tags
    return tags


def guard_problem(
    access: AccountAccess, *, resource, resource_id: str, operation: str, record: bool = True
) -> str:
    """The tag guard's refusal as a message for the person who asked, or "" when the resource is ours."""
    try:
        tags = guarded_tags(access, resource=resource, resource_id=resource_id, record=record)
    except AwsError as error:
        return f"Could not read the tags of {resource_id} from AWS: {error}"
    try:
        ensure_partner_managed(resource_id, tags, operation)
    except TagGuardRefused as refused:
        return refused.message
    return ""


def audit_change(
    actor: Actor,
    aws_account: AwsAccount,
    region: str,
    *,
    action: str,
    target_type: str,
    target_id: str,
    outcome: str,
    details: dict | None = None,
    **fields: Unpack[AuditResult],
) -> None:
    """Audit one change (or its refusal) made at once, outside any job."""
    audit_record_many(
        [
            audit_event_for_actor(
                actor,
                aws_account.customer,
                action=action,
                outcome=outcome,
                aws_account_id=aws_account.account_id,
                region=region,
                target_type=target_type,
                target_id=target_id,
                details=details,
                **fields,
            )
        ]
    )


def refuse_change(
    actor: Actor,
    aws_account: AwsAccount,
    region: str,
    *,
    target_type: str,
    target_id: str,
    action: str,
    invalid: Exception,
    error_code: str = "Invalid",
) -> NoReturn:
    """Audit a local refusal of a change to an existing resource, then raise it."""
    audit_change(
        actor,
        aws_account,
        region,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=AuditOutcome.REFUSED,
        error_code=error_code,
        error_message=str(invalid),
    )
    raise invalid


def guarded_change(
    actor: Actor,
    resource,
    *,
    target_type: str,
    target_id: str,
    action: str,
    call: Callable[[AccountAccess], str],
    details: dict,
) -> AccountAccess:
    """Tag guard, then the one AWS call, audited whatever the outcome; returns the access it used."""
    account, region = resource.aws_account, resource.region

    def audit(outcome: str, **fields: Unpack[AuditResult]) -> None:
        audit_change(
            actor,
            account,
            region,
            action=action,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            details=details,
            **fields,
        )

    access = account_access(account, region=region)
    tags = guarded_tags(access, resource=resource, resource_id=target_id)
    try:
        ensure_partner_managed(target_id, tags, action)
    except TagGuardRefused as refused:
        audit(AuditOutcome.REFUSED, error_code=refused.code, error_message=refused.message)
        raise
    try:
        request_id = call(access)
    except AwsError as error:
        audit(
            AuditOutcome.FAILED,
            aws_request_id=error.request_id,
            error_code=error.code,
            error_message=error.message,
        )
        raise
    audit(AuditOutcome.SUCCEEDED, aws_request_id=request_id)
    return access
