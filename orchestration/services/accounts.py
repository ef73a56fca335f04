"""From an account row to what the AWS boundary needs to reach it."""

from dataclasses import replace

from orchestration.aws.adoption import adoption_role_arn
from orchestration.aws.errors import AwsError
from orchestration.aws.sessions import role_session_name
from orchestration.aws.types import AccountAccess
from orchestration.engine.items import DeliveryRefused
from tenants.choices import VerificationStatus
from tenants.models import AwsAccount


class AccountAwaitingRole(AwsError, DeliveryRefused):
    """The account has no role ARN yet: nothing is sent to AWS for it (not retryable: the customer must act)."""


def account_awaiting_role_error(aws_account: AwsAccount) -> AccountAwaitingRole:
    return AccountAwaitingRole(
        code="AccountAwaitingRole",
        message=(
            f"AWS account {aws_account.account_id} has no role ARN yet: the customer deploys the "
            "CloudFormation template with this connection's External ID and sends back the RoleArn output; "
            "enter it on the account (or in the onboarding wizard) and verify the connection. Nothing was "
            "sent to AWS."
        ),
    )


def account_access(aws_account: AwsAccount, *, region: str = "", job_id: int | None = None) -> AccountAccess:
    """The boundary's view of an account; the role session names the customer and the job (CloudTrail).

    Every AWS call for an account goes through here, so an account awaiting its role is refused here."""
    if aws_account.awaiting_role:
        raise account_awaiting_role_error(aws_account)
    return AccountAccess(
        account_id=aws_account.account_id,
        region=region or aws_account.default_region,
        auth_mode=aws_account.auth_mode,
        role_arn=aws_account.role_arn,
        external_id=aws_account.external_id,
        access_key_id=aws_account.access_key_id,
        secret_access_key=aws_account.get_secret_access_key(),
        session_name=role_session_name(aws_account.customer.slug, f"job{job_id}" if job_id else "portal"),
    )


def adoption_access(aws_account: AwsAccount, *, region: str = "", job_id: int | None = None) -> AccountAccess:
    """The same account reached through the customer's temporary adoption/release role: the same External
    ID, the role's ARN derived from the account (it only exists while the customer's stack is deployed).

    Only assume-role connections have one: access keys name no role to assume.
    """
    access = account_access(aws_account, region=region, job_id=job_id)
    return replace(
        access,
        role_arn=adoption_role_arn(account_id=aws_account.account_id, partner_role_arn=aws_account.role_arn),
        session_name=role_session_name(
            aws_account.customer.slug, "adoption", f"job{job_id}" if job_id else ""
        ),
    )


def account_flag_access_denied(*, account_id: str, code: str, message: str) -> None:
    """AWS refused us access: the account connection is marked failed (its role or tag policy is wrong),
    so staff see it on the account and a new verification is needed."""
    AwsAccount.objects.filter(account_id=account_id).update(
        verification_status=VerificationStatus.FAILED, verification_message=f"{code}: {message}"
    )
