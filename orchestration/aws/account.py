"""Account-level operations: proving a connection works, and the BYOL account setup (seed rule R3)."""

from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from .calls import aws_call, aws_error_from, request_id_of
from .sessions import account_session, forget_account_session
from .types import AccountAccess

# ListAvailableManagementCidrRanges answers at most 5 ranges a page (service model).
CIDR_RANGES_PAGE_LIMIT = 5


@dataclass(frozen=True)
class AccountInfo:
    """DescribeAccount: whether BYOL (dedicated tenancy) is on, and its management CIDR."""

    dedicated_tenancy_support: str
    management_cidr_range: str
    account_type: str
    request_id: str


@dataclass(frozen=True)
class AccountModification:
    """One ModifyAccount as DescribeAccountModifications reports it (newest first)."""

    state: str
    dedicated_tenancy_support: str
    management_cidr_range: str
    started_at: datetime | None
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class CidrRangePage:
    """One page of ListAvailableManagementCidrRanges; `next_token` is empty on the last page."""

    ranges: list[str]
    next_token: str


def role_assume_fresh(access: AccountAccess) -> None:
    """Assume the customer's role now, not from cache: the check itself is what verification wants.

    Raises the classified AwsError of AssumeRole (AccessDenied for a wrong role, account or External ID).
    Access-key connections have no role to assume.
    """
    if access.auth_mode != "ASSUME_ROLE":
        return
    forget_account_session(access)
    try:
        account_session(access)
    except (ClientError, BotoCoreError) as exc:
        raise aws_error_from(exc, "assume_role") from exc


def account_describe(access: AccountAccess) -> AccountInfo:
    """DescribeAccount."""
    response = aws_call(access, "workspaces", "describe_account")
    return AccountInfo(
        dedicated_tenancy_support=response.get("DedicatedTenancySupport") or "",
        management_cidr_range=response.get("DedicatedTenancyManagementCidrRange") or "",
        account_type=response.get("DedicatedTenancyAccountType") or "",
        request_id=request_id_of(response),
    )


def account_modifications_list(access: AccountAccess) -> list[AccountModification]:
    """Every DescribeAccountModifications entry, newest first, page by page."""
    found: list[AccountModification] = []
    params: dict = {}
    while True:
        response = aws_call(access, "workspaces", "describe_account_modifications", **params)
        found.extend(
            AccountModification(
                state=item.get("ModificationState") or "",
                dedicated_tenancy_support=item.get("DedicatedTenancySupport") or "",
                management_cidr_range=item.get("DedicatedTenancyManagementCidrRange") or "",
                started_at=item.get("StartTime"),
                error_code=item.get("ErrorCode") or "",
                error_message=item.get("ErrorMessage") or "",
            )
            for item in response.get("AccountModifications", [])
        )
        token = response.get("NextToken")
        if not token:
            return found
        params["NextToken"] = token


def management_cidr_ranges_page(
    access: AccountAccess, *, constraint: str, next_token: str = "", max_results: int = CIDR_RANGES_PAGE_LIMIT
) -> CidrRangePage:
    """One page of the /16 ranges AWS offers inside `constraint` for the BYOL management network."""
    if not 1 <= max_results <= CIDR_RANGES_PAGE_LIMIT:
        raise ValueError(f"MaxResults is 1 to {CIDR_RANGES_PAGE_LIMIT}, not {max_results}")
    params: dict = {"ManagementCidrRangeConstraint": constraint, "MaxResults": max_results}
    if next_token:
        params["NextToken"] = next_token
    response = aws_call(access, "workspaces", "list_available_management_cidr_ranges", **params)
    return CidrRangePage(
        ranges=list(response.get("ManagementCidrRanges", [])), next_token=response.get("NextToken") or ""
    )


def account_modify_byol(access: AccountAccess, cidr: str) -> str:
    """ModifyAccount (BYOL on, with its management /16), sent exactly once; returns the request id.

    ModifyAccount is in NON_IDEMPOTENT_OPERATIONS: a transient error or a timeout is not retried, since
    the change may have been made and can never be made twice. The caller looks at
    DescribeAccountModifications before trying again.
    """
    response = aws_call(
        access,
        "workspaces",
        "modify_account",
        DedicatedTenancySupport="ENABLED",
        DedicatedTenancyManagementCidrRange=cidr,
    )
    return request_id_of(response)
