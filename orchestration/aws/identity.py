"""Who a session is, and the account-level reads used to verify a connection."""

from .calls import aws_call
from .types import AccountAccess, CallerIdentity


def caller_identity(access: AccountAccess) -> CallerIdentity:
    """STS GetCallerIdentity through the customer session: must name the customer's account."""
    response = aws_call(access, "sts", "get_caller_identity")
    return CallerIdentity(account_id=response["Account"], arn=response["Arn"], user_id=response["UserId"])
