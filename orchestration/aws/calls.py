"""One AWS call, done right: rate limited, classified, retried with backoff only where that is safe."""

import logging
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from .errors import (
    AwsError,
    AwsExpiredCredentials,
    AwsPermanent,
    AwsThrottled,
    AwsTransient,
    error_class_for,
)
from .sessions import account_client, forget_account_session
from .types import AccountAccess

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Calls that make something: repeating one after a lost response could make it twice.
NON_IDEMPOTENT_OPERATIONS = frozenset(
    {
        "create_workspaces",
        "import_workspace_image",
        "create_workspace_image",
        "copy_workspace_image",
        "create_workspace_bundle",
        "register_workspace_directory",
        "rebuild_workspaces",
        "restore_workspace",
        "migrate_workspace",
        "modify_account",
    }
)


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Split a list into the operation's batch size: N items cost ceil(N/size) calls."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def request_id_of(response: dict) -> str:
    return response.get("ResponseMetadata", {}).get("RequestId", "")


def aws_error_from(exc: Exception, operation: str) -> AwsError:
    """A botocore exception as one of our classified AwsError subclasses."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        metadata = exc.response.get("ResponseMetadata", {})
        code = error.get("Code", "Unknown")
        status = int(metadata.get("HTTPStatusCode") or 0)
        return error_class_for(code, status)(
            code=code,
            message=error.get("Message", str(exc)),
            operation=operation,
            request_id=metadata.get("RequestId", ""),
            http_status=status,
        )
    if isinstance(exc, ParamValidationError):
        # botocore refused our request before sending it: our mistake, and the same request fails again.
        return AwsPermanent(code="ParamValidationError", message=str(exc), operation=operation)
    if isinstance(
        exc, EndpointConnectionError | ConnectionClosedError | ConnectTimeoutError | ReadTimeoutError
    ):
        return AwsTransient(code="ConnectionError", message=str(exc), operation=operation)
    return AwsTransient(code=type(exc).__name__, message=str(exc), operation=operation)


def _reraise_interruption(exc: Exception) -> None:
    """botocore wraps whatever interrupts the HTTP send in HTTPClientError; an interruption that is not
    about AWS at all (Celery's soft time limit, a KeyboardInterrupt) is raised as itself, so the task
    ends as a failed delivery instead of looking like a transient AWS error."""
    cause = exc.kwargs.get("error") if isinstance(exc, HTTPClientError) else None
    if isinstance(cause, SoftTimeLimitExceeded) or (
        isinstance(cause, BaseException) and not isinstance(cause, Exception)
    ):
        raise cause


def backoff_seconds(attempt: int) -> float:
    """Full-jitter exponential backoff, capped (AWS's recommended shape)."""
    ceiling = min(settings.AWS_BACKOFF_MAX, settings.AWS_BACKOFF_BASE * (2**attempt))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


def aws_call(access: AccountAccess, service: str, operation: str, **params: Any) -> dict:
    """Call `operation` (boto3's snake_case name) in the customer's account and return the response.

    Throttling is retried with backoff (the request was not executed). Transient errors are retried
    only for idempotent operations: a create whose response was lost may have happened, and only the
    caller can look for what it made. Expired credentials are refreshed once.
    """
    idempotent = operation not in NON_IDEMPOTENT_OPERATIONS
    refreshed = False
    attempt = 0
    while True:
        try:  # the client takes a rate-limit token for every request it sends (sessions.py)
            client = account_client(access, service, retries=idempotent)
            return getattr(client, operation)(**params)
        except (ClientError, BotoCoreError) as exc:
            _reraise_interruption(exc)
            error = aws_error_from(exc, operation)
        if isinstance(error, AwsExpiredCredentials) and not refreshed:
            logger.info("credentials for %s expired; assuming the role again", access.account_id)
            forget_account_session(access)
            refreshed = True
            continue
        may_retry = isinstance(error, AwsThrottled) or (isinstance(error, AwsTransient) and idempotent)
        if may_retry and attempt < settings.AWS_CALL_RETRIES:
            pause = backoff_seconds(attempt)
            logger.info("%s on %s, retry %d in %.2fs", error.code, operation, attempt + 1, pause)
            time.sleep(pause)
            attempt += 1
            continue
        raise error
