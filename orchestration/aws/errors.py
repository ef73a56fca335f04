"""AWS errors sorted by what the caller should do about them (aws-facts.md, "Errors")."""

from dataclasses import dataclass, field
from typing import ClassVar

THROTTLED_CODES = frozenset(
    {"ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown"}
)
TRANSIENT_CODES = frozenset(
    {
        "OperationInProgressException",
        "ResourceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
EXPIRED_CREDENTIAL_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
ACCESS_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


@dataclass
class AwsError(Exception):
    """An AWS call failed; `code` and `message` are AWS's own words, shown to users as they are.

    `retryable` is the one rule for "try again later": throttling, transient errors and credentials that
    expired again right after a refresh are; everything else fails the item with AWS's words.
    """

    retryable: ClassVar[bool] = False

    code: str
    message: str
    operation: str = ""
    request_id: str = ""
    http_status: int = 0
    details: dict = field(default_factory=dict)

    def __str__(self) -> str:
        where = f" ({self.operation})" if self.operation else ""
        return f"{self.code}: {self.message}{where}"


class AwsThrottled(AwsError):
    """The account or region is rate limited: back off and keep the item; never a failure."""

    retryable = True


class AwsTransient(AwsError):
    """Worth retrying with capped backoff: 5xx, connection errors, resources briefly busy."""

    retryable = True


class AwsExpiredCredentials(AwsError):
    """The assumed-role credentials expired: the call refreshes the session once; if they expire again
    the work is retried later with a fresh session."""

    retryable = True


class AwsAccessDenied(AwsError):
    """The role or its tag policy does not allow this: fail the item, flag the account connection."""


class AwsPermanent(AwsError):
    """AWS refused the request as it stands: fail the item with AWS's code and message."""


class TagGuardRefused(AwsError):
    """Refused locally: the resource lacks PartnerManaged=true, so it is not ours to change (seed rule R2)."""


def base_code(code: str) -> str:
    """AWS sometimes qualifies a code (`ResourceNotFound.User`); the part before the dot classifies it."""
    return code.split(".", 1)[0]


def error_class_for(code: str, http_status: int = 0) -> type[AwsError]:
    """The class for an AWS error code (and HTTP status, for codes AWS leaves generic)."""
    code = base_code(code)
    if code in THROTTLED_CODES:
        return AwsThrottled
    if code in EXPIRED_CREDENTIAL_CODES:
        return AwsExpiredCredentials
    if code in ACCESS_CODES:
        return AwsAccessDenied
    if code in TRANSIENT_CODES or http_status >= 500:
        return AwsTransient
    return AwsPermanent


def is_retryable_code(code: str) -> bool:
    """Whether a per-item FailedRequests code is worth retrying for that item alone (the same rule as
    `AwsError.retryable`)."""
    return error_class_for(code).retryable


def is_access_code(code: str) -> bool:
    """Whether a code (of a call or of one item) says the role or its tag policy does not allow this."""
    return error_class_for(code) is AwsAccessDenied
