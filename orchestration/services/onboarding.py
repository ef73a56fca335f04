"""Connecting a customer's AWS account (R1, R2): the template they deploy, and proving the connection works.

Verification assumes the role afresh, checks that GetCallerIdentity names the customer's account and
that DescribeAccount answers, and says in plain words what is wrong and what the customer should fix.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.account import account_describe, role_assume_fresh
from orchestration.aws.errors import (
    AwsAccessDenied,
    AwsError,
)
from orchestration.aws.identity import caller_identity
from orchestration.choices import AuditOutcome
from orchestration.onboarding.template import (
    RoleOptions,
    cloudformation_template,
    partition_of,
    permissions_policy,
    render_json,
    render_yaml,
    trust_policy,
)
from orchestration.services.accounts import account_access, account_awaiting_role_error
from orchestration.services.audit import audit_event_for_actor, audit_record_many
from tenants.choices import AuthMode, VerificationStatus
from tenants.models import AwsAccount

VERIFY_ACTION = "VerifyConnection"
TEMPLATE_FORMATS = ("yaml", "json")
# Codes STS gives for access keys it does not know or whose secret does not match.
UNKNOWN_KEY_CODES = frozenset(
    {"InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"}
)


@dataclass(frozen=True)
class AccountVerification:
    """The outcome of one verification, as stored on the account and shown to staff."""

    status: str
    message: str
    checked_at: datetime
    caller_arn: str = ""
    dedicated_tenancy_support: str = ""
    management_cidr_range: str = ""

    @property
    def ok(self) -> bool:
        return self.status == VerificationStatus.VERIFIED


def account_cloudformation_template(
    *, aws_account: AwsAccount, fmt: str = "yaml", options: RoleOptions | None = None
) -> str:
    """The stack the customer deploys in their account: the role, its trust (our External ID), its policy.

    `options` turns on what is optional (BYOL setup, image sharing) and narrows directory registration
    to named directories and VPCs; without it everything optional is off."""
    if fmt not in TEMPLATE_FORMATS:
        raise ValueError(f"format is one of {', '.join(TEMPLATE_FORMATS)}, not {fmt!r}")
    template = cloudformation_template(
        partner_account_id=settings.PARTNER_AWS_ACCOUNT_ID,
        customer_account_id=aws_account.account_id,
        external_id=aws_account.external_id,
        max_session_seconds=settings.AWS_ASSUME_ROLE_DURATION_SECONDS,
        options=options,
    )
    if fmt == "json":
        return render_json(template)
    header = (
        f"WorkSpaces Core partner role for AWS account {aws_account.account_id} ({aws_account.customer.name}).\n"
        "Deploy with CloudFormation in that account (any region; IAM is global), then send the RoleArn\n"
        "output back to your partner."
    )
    return render_yaml(template, header=header)


def account_permissions_policy(*, aws_account: AwsAccount, options: RoleOptions | None = None) -> dict:
    """The same permissions as the template (with its parameters at their defaults), as one IAM policy
    document for customers who skip CloudFormation."""
    return permissions_policy(
        account_id=aws_account.account_id, partition=partition_of(aws_account.default_region), options=options
    )


def account_trust_policy(*, aws_account: AwsAccount) -> dict:
    """The role's trust policy: the partner's account, with this connection's External ID."""
    return trust_policy(
        partner_account_id=settings.PARTNER_AWS_ACCOUNT_ID, external_id=aws_account.external_id
    )


def _role_account(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _local_problem(aws_account: AwsAccount) -> str:
    """What is wrong with the record itself, found without asking AWS; empty when nothing is.

    (The database already insists on a role ARN for roles, and on both keys for access keys.)
    """
    named = _role_account(aws_account.role_arn)
    if aws_account.auth_mode == AuthMode.ASSUME_ROLE and named != aws_account.account_id:
        return (
            f"The role ARN names account {named or '(none)'}, but this connection is for account "
            f"{aws_account.account_id}. Ask the customer for the ARN of the role in account "
            f"{aws_account.account_id} (the RoleArn output of the stack they deployed there)."
        )
    return ""


def _assume_role_message(aws_account: AwsAccount, error: AwsError) -> str:
    if isinstance(error, AwsAccessDenied):
        return (
            f"AWS refused to let the partner account {settings.PARTNER_AWS_ACCOUNT_ID} assume "
            f"{aws_account.role_arn} with this connection's External ID ({error.code}). The role does not "
            f"exist, or its trust policy does not allow account {settings.PARTNER_AWS_ACCOUNT_ID} with "
            f"sts:ExternalId {aws_account.external_id}. The customer should deploy (or update) the "
            f"CloudFormation stack from this connection's template in account {aws_account.account_id}, "
            "then verify again."
        )
    if error.code == "ValidationError" and "Duration" in error.message:
        return (
            f"The role's maximum session duration is below the {settings.AWS_ASSUME_ROLE_DURATION_SECONDS} "
            "seconds the control plane asks for: set the role's MaxSessionDuration at least that high (the "
            f"template does). AWS said: {error.message}"
        )
    return f"Could not assume {aws_account.role_arn}: {error.code}: {error.message}"


def _identity_message(aws_account: AwsAccount, error: AwsError) -> str:
    if error.code in UNKNOWN_KEY_CODES:
        return (
            f"AWS does not recognise these access keys ({error.code}). Enter a current access key pair of an "
            f"IAM user in account {aws_account.account_id}."
        )
    return f"GetCallerIdentity failed: {error.code}: {error.message}"


def _wrong_account_message(aws_account: AwsAccount, caller_account: str, caller_arn: str) -> str:
    what = "The role" if aws_account.auth_mode == AuthMode.ASSUME_ROLE else "These access keys"
    return (
        f"{what} act in account {caller_account} ({caller_arn}), not in this connection's account "
        f"{aws_account.account_id}. Enter credentials that belong to account {aws_account.account_id}."
    )


def _describe_message(aws_account: AwsAccount, caller_arn: str, error: AwsError) -> str:
    if isinstance(error, AwsAccessDenied):
        return (
            f"Connected to account {aws_account.account_id} as {caller_arn}, but it may not call "
            f"workspaces:DescribeAccount ({error.code}: {error.message}). The role's permissions policy is "
            "missing or out of date: the customer should update the stack with this connection's current "
            "template (or attach the IAM policy JSON to the role), then verify again."
        )
    return f"DescribeAccount failed: {error.code}: {error.message}"


def _verified(aws_account: AwsAccount, caller_arn: str, info, now) -> AccountVerification:
    """The outcome of a connection that answered every step, with what DescribeAccount said of BYOL."""
    byol = f"BYOL is {info.dedicated_tenancy_support or 'not reported'}"
    if info.management_cidr_range:
        byol += f", management CIDR {info.management_cidr_range}"
    how = (
        f"assumed {aws_account.role_arn}"
        if aws_account.auth_mode == AuthMode.ASSUME_ROLE
        else "used the access keys"
    )
    return AccountVerification(
        status=VerificationStatus.VERIFIED,
        message=f"Connected: {how}, acting as {caller_arn}; DescribeAccount answered ({byol}).",
        checked_at=now,
        caller_arn=caller_arn,
        dedicated_tenancy_support=info.dedicated_tenancy_support,
        management_cidr_range=info.management_cidr_range,
    )


def _step_failed_message(aws_account: AwsAccount, step: str, caller_arn: str, error: AwsError) -> str:
    if step == "assume":
        return _assume_role_message(aws_account, error)
    if step == "identity":
        return _identity_message(aws_account, error)
    return _describe_message(aws_account, caller_arn, error)


def account_verify(*, actor: Actor, aws_account: AwsAccount) -> AccountVerification:
    """Prove the connection works and store the outcome on the account; audited as VerifyConnection.

    Checks, in order: the record itself (no call), AssumeRole with our External ID, GetCallerIdentity
    naming the customer's account, DescribeAccount answering (whose BYOL fields are stored too). When
    AWS does not answer (throttled, unavailable) nothing is concluded and the stored status is kept.
    """
    now = timezone.now()
    if aws_account.awaiting_role:
        waiting = AccountVerification(
            status=VerificationStatus.UNVERIFIED,
            message=account_awaiting_role_error(aws_account).message,
            checked_at=now,
        )
        return _conclude(
            actor, aws_account, waiting, outcome=AuditOutcome.REFUSED, error_code="AccountAwaitingRole"
        )
    access = account_access(aws_account)
    caller_arn = ""
    problem = _local_problem(aws_account)
    if problem:
        failed = AccountVerification(status=VerificationStatus.FAILED, message=problem, checked_at=now)
        return _conclude(
            actor, aws_account, failed, outcome=AuditOutcome.REFUSED, error_code="InvalidConnection"
        )
    step = "assume"
    try:
        role_assume_fresh(access)
        step = "identity"
        identity = caller_identity(access)
        caller_arn = identity.arn
        if identity.account_id != aws_account.account_id:
            message = _wrong_account_message(aws_account, identity.account_id, identity.arn)
            failed = AccountVerification(
                status=VerificationStatus.FAILED, message=message, checked_at=now, caller_arn=caller_arn
            )
            return _conclude(
                actor, aws_account, failed, outcome=AuditOutcome.FAILED, error_code="WrongAccount"
            )
        step = "describe"
        info = account_describe(access)
    except AwsError as error:
        if error.retryable:
            message = f"AWS did not answer ({error.code}: {error.message}); nothing was concluded, try again."
            status = aws_account.verification_status
        else:
            message, status = (
                _step_failed_message(aws_account, step, caller_arn, error),
                VerificationStatus.FAILED,
            )
        return _conclude(
            actor,
            aws_account,
            AccountVerification(status=status, message=message, checked_at=now, caller_arn=caller_arn),
            outcome=AuditOutcome.FAILED,
            error_code=error.code,
            aws_request_id=error.request_id,
        )
    verified = _verified(aws_account, caller_arn, info, now)
    return _conclude(
        actor, aws_account, verified, outcome=AuditOutcome.SUCCEEDED, aws_request_id=info.request_id
    )


def _conclude(
    actor: Actor,
    aws_account: AwsAccount,
    result: AccountVerification,
    *,
    outcome: str,
    error_code: str = "",
    aws_request_id: str = "",
) -> AccountVerification:
    """Store the outcome on the account and audit it: who checked which connection, and what was found."""
    fields: dict = {
        "verification_status": result.status,
        "verification_message": result.message,
        "updated_at": result.checked_at,
    }
    if result.ok:
        fields.update(
            verified_at=result.checked_at,
            dedicated_tenancy_support=result.dedicated_tenancy_support,
            dedicated_tenancy_management_cidr_range=result.management_cidr_range,
            last_synced_at=result.checked_at,
        )
    AwsAccount.objects.filter(pk=aws_account.pk).update(**fields)
    for name, value in fields.items():
        setattr(aws_account, name, value)
    audit_record_many(
        [
            audit_event_for_actor(
                actor,
                aws_account.customer,
                action=VERIFY_ACTION,
                outcome=outcome,
                aws_account_id=aws_account.account_id,
                region=aws_account.default_region,
                target_type="aws_account",
                target_id=aws_account.account_id,
                aws_request_id=aws_request_id,
                error_code=error_code,
                error_message="" if result.ok else result.message,
                details={
                    "auth_mode": aws_account.auth_mode,
                    "role_arn": aws_account.role_arn,
                    "caller_arn": result.caller_arn,
                    "status": result.status,
                },
            )
        ]
    )
    return result
