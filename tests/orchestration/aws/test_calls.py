"""`aws_call` on the wire: boto3 against the simulator, faults injected by the simulator, requests counted."""

import math
import random
import signal

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from orchestration.aws import calls
from orchestration.aws.calls import (
    NON_IDEMPOTENT_OPERATIONS,
    aws_call,
    backoff_seconds,
    chunked,
    request_id_of,
)
from orchestration.aws.errors import (
    AwsAccessDenied,
    AwsExpiredCredentials,
    AwsPermanent,
    AwsThrottled,
    AwsTransient,
)
from orchestration.aws.identity import caller_identity
from orchestration.aws.types import AccountAccess, WorkspaceSpec
from orchestration.aws.workspaces import workspaces_create_batch, workspaces_describe
from tests.integration.stack import free_port


# ------------------------------------------------------------------------------------------ chunking
@pytest.mark.parametrize(("count", "size"), [(0, 25), (1, 25), (25, 25), (26, 25), (10_010, 25), (7, 1)])
def test_n_items_cost_ceil_n_over_size_chunks_in_order(count, size):
    items = list(range(count))
    chunks = list(chunked(items, size))
    assert len(chunks) == math.ceil(count / size)
    assert all(1 <= len(chunk) <= size for chunk in chunks)
    assert [item for chunk in chunks for item in chunk] == items


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        list(chunked([1, 2], 0))


# ------------------------------------------------------------------------------------------- backoff
def test_backoff_is_full_jitter_under_an_exponential_ceiling_with_a_cap(settings, monkeypatch):
    settings.AWS_BACKOFF_BASE, settings.AWS_BACKOFF_MAX = 0.5, 20.0
    drawn: list[tuple[float, float]] = []
    monkeypatch.setattr(calls.random, "uniform", lambda low, high: drawn.append((low, high)) or high)
    assert [backoff_seconds(attempt) for attempt in range(8)] == [0.5, 1, 2, 4, 8, 16, 20, 20]
    assert {low for low, _ in drawn} == {0}  # full jitter: anything from no wait to the ceiling


def test_backoff_draws_vary_between_calls(settings):
    settings.AWS_BACKOFF_BASE, settings.AWS_BACKOFF_MAX = 0.5, 20.0
    random.seed(3)
    draws = {backoff_seconds(4) for _ in range(20)}
    assert len(draws) > 1 and all(0 <= draw <= 8 for draw in draws)


# ------------------------------------------------------------------------------------- on the wire
def _spec(acme: dict, n: int) -> WorkspaceSpec:
    return WorkspaceSpec(
        directory_id=acme["directory_id"],
        user_name=f"calls{n}",
        bundle_id=acme["bundle_id"],
        workspace_name=f"wsc-calls{n}",
        running_mode="MANUAL",
    )


@pytest.mark.slow
def test_a_call_returns_aws_answer_with_its_request_id(simulator, access, acme):
    simulator.clear_calls()
    response = aws_call(access, "workspaces", "describe_account")
    recorded = simulator.calls("DescribeAccount")
    assert len(recorded) == 1
    assert request_id_of(response) == recorded[0]["request_id"] != ""
    assert recorded[0]["account_id"] == acme["account_id"]


def test_throttled_answers_are_retried_until_one_is_accepted(simulator, access, acme):
    simulator.clear_calls()
    simulator.schedule_fault("CreateWorkspaces", "throttle", count=2)
    result = workspaces_create_batch(access, [_spec(acme, 1)])
    assert list(result.created) == ["wsc-calls1"]
    outcomes = [call.get("error_code") for call in simulator.calls("CreateWorkspaces")]
    # Throttled requests were not executed, so even a create may be sent again: once made, three sent.
    assert outcomes == ["ThrottlingException", "ThrottlingException", None]


@pytest.mark.slow
def test_throttling_that_never_ends_gives_up_after_the_configured_retries(simulator, access, settings):
    settings.AWS_CALL_RETRIES = 3
    simulator.clear_calls()
    simulator.schedule_fault("DescribeAccount", "throttle", count=50)
    settings.AWS_MAX_ATTEMPTS = 1  # botocore's own retries aside: count ours
    with pytest.raises(AwsThrottled) as raised:
        aws_call(access, "workspaces", "describe_account")
    assert len(simulator.calls("DescribeAccount")) == 1 + 3
    assert raised.value.request_id  # the last refusal's, for the audit log


@pytest.mark.slow
def test_a_transient_error_is_retried_for_a_read(simulator, access, settings):
    settings.AWS_MAX_ATTEMPTS = 1
    simulator.clear_calls()
    simulator.schedule_fault("DescribeAccount", "error", code="InternalFailure", count=2)
    aws_call(access, "workspaces", "describe_account")
    assert [c.get("error_code") for c in simulator.calls("DescribeAccount")] == [
        "InternalFailure",
        "InternalFailure",
        None,
    ]


@pytest.mark.slow
def test_a_transient_error_is_not_retried_for_a_create_that_may_have_happened(simulator, access, acme):
    assert "create_workspaces" in NON_IDEMPOTENT_OPERATIONS
    simulator.clear_calls()
    simulator.schedule_fault("CreateWorkspaces", "lose_response")
    with pytest.raises(AwsTransient) as raised:
        workspaces_create_batch(access, [_spec(acme, 2)])
    assert raised.value.code == "InternalFailure"
    # One request, and it did make the desktop: only the caller can look for it, by its name.
    assert len(simulator.calls("CreateWorkspaces")) == 1
    sent = simulator.requests("CreateWorkspaces")[0]["Workspaces"]
    assert [w["WorkspaceName"] for w in sent] == ["wsc-calls2"]


@pytest.mark.slow
def test_every_request_sent_takes_a_rate_limit_token_botocores_own_retries_included(
    simulator, access, settings, monkeypatch
):
    """A read throttled and retried by botocore inside one call sends three requests: each must be
    paced by the account's bucket, or the retries throttle the account again (issue 16)."""
    from orchestration.aws import ratelimit

    taken: list[tuple[str, str]] = []
    monkeypatch.setattr(ratelimit, "acquire", lambda account, region: taken.append((account, region)) or 0.0)
    settings.AWS_MAX_ATTEMPTS, settings.AWS_CALL_RETRIES = 3, 0
    simulator.clear_calls()
    simulator.schedule_fault("DescribeAccount", "throttle", count=2)
    aws_call(access, "workspaces", "describe_account")
    assert len(simulator.calls("DescribeAccount")) == 3  # two throttled, retried by botocore
    assert taken == [(access.account_id, access.region)] * 3


@pytest.mark.slow
def test_botocore_gives_a_create_one_attempt_and_a_read_its_configured_attempts(
    simulator, access, acme, settings
):
    settings.AWS_MAX_ATTEMPTS, settings.AWS_CALL_RETRIES = 3, 0
    simulator.clear_calls()
    simulator.schedule_fault("DescribeAccount", "error", code="InternalFailure", count=5)
    with pytest.raises(AwsTransient):
        aws_call(access, "workspaces", "describe_account")
    assert len(simulator.calls("DescribeAccount")) == 3  # botocore's standard mode, our setting
    simulator.clear_faults()
    simulator.clear_calls()
    simulator.schedule_fault("CreateWorkspaces", "error", code="InternalFailure", count=5)
    with pytest.raises(AwsTransient):
        workspaces_create_batch(access, [_spec(acme, 3)])
    assert len(simulator.calls("CreateWorkspaces")) == 1


@pytest.mark.slow
def test_a_permanent_error_is_raised_at_once_with_aws_words(simulator, access):
    simulator.clear_calls()
    with pytest.raises(AwsPermanent) as raised:
        workspaces_describe(access, ["ws-notthere1"] * 2 + ["bad id"])
    assert raised.value.code == "InvalidParameterValuesException" or raised.value.code.startswith(
        "Validation"
    )
    assert raised.value.http_status == 400
    assert len(simulator.calls("DescribeWorkspaces")) <= 1  # never retried


@pytest.mark.slow
def test_expired_credentials_are_refreshed_once_and_the_call_goes_through(simulator, access, acme):
    caller_identity(access)  # a session with credentials is cached
    simulator.clear_calls()
    assert simulator.expire_credentials(account_id=acme["account_id"]) >= 1
    aws_call(access, "workspaces", "describe_account")
    codes = [c.get("error_code") for c in simulator.calls("DescribeAccount")]
    assert codes == ["ExpiredTokenException", None]
    assert simulator.call_counts().get("sts:AssumeRole") == 1  # assumed again, exactly once


@pytest.mark.slow
def test_credentials_refused_even_after_a_refresh_are_not_refreshed_again(simulator, access):
    caller_identity(access)
    simulator.clear_calls()
    simulator.schedule_fault("DescribeAccount", "expired_token", count=5)
    with pytest.raises(AwsExpiredCredentials):
        aws_call(access, "workspaces", "describe_account")
    assert len(simulator.calls("DescribeAccount")) == 2
    assert simulator.call_counts().get("sts:AssumeRole") == 1


def test_a_role_that_does_not_trust_our_external_id_is_access_denied(simulator, acme):
    wrong = AccountAccess(
        account_id=acme["account_id"],
        region=acme["region"],
        auth_mode="ASSUME_ROLE",
        role_arn=acme["role_arn"],
        external_id="not-the-one-the-customer-trusts",
    )
    simulator.clear_calls()
    with pytest.raises(AwsAccessDenied) as raised:
        caller_identity(wrong)
    assert raised.value.code == "AccessDenied"
    assert simulator.call_counts().get("GetCallerIdentity", 0) == 0


@pytest.mark.slow
def test_access_denied_on_a_call_is_classified_and_not_retried(simulator, access, settings):
    settings.AWS_MAX_ATTEMPTS = 1
    simulator.clear_calls()
    simulator.schedule_fault("DescribeAccount", "error", code="AccessDeniedException", count=3)
    with pytest.raises(AwsAccessDenied):
        aws_call(access, "workspaces", "describe_account")
    assert len(simulator.calls("DescribeAccount")) == 1


@pytest.mark.slow
def test_an_endpoint_that_does_not_answer_is_transient_and_retried_for_reads(
    simulator, access, acme, settings, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    settings.AWS_MAX_ATTEMPTS, settings.AWS_CALL_RETRIES = 1, 2
    access = AccountAccess(
        account_id=access.account_id,
        region=access.region,
        auth_mode="ACCESS_KEYS",
        access_key_id="AKIDEXAMPLE",
        secret_access_key="secret",  # noqa: S106 - no role to assume on a dead endpoint
    )
    attempts = []
    monkeypatch.setattr(calls.time, "sleep", attempts.append)
    with pytest.raises(AwsTransient) as raised:
        aws_call(access, "workspaces", "describe_account")
    assert raised.value.code == "ConnectionError"
    assert len(attempts) == 2  # two retries, each after a backoff
    attempts.clear()
    with pytest.raises(AwsTransient):
        workspaces_create_batch(access, [_spec(acme, 4)])
    assert attempts == []  # a create is not sent again: the first may have reached AWS


@pytest.mark.slow
def test_a_request_botocore_refuses_to_send_is_our_mistake_permanent_and_never_sent(simulator, access):
    simulator.clear_calls()
    with pytest.raises(AwsPermanent) as raised:
        aws_call(access, "workspaces", "describe_workspaces", Limit="twenty-five")
    assert raised.value.code == "ParamValidationError"
    assert not raised.value.retryable
    assert simulator.calls("DescribeWorkspaces") == []  # refused before the wire: retrying cannot help


@pytest.mark.slow
def test_a_soft_time_limit_during_a_create_is_raised_as_itself_not_as_a_transient_aws_error(
    simulator, access, acme
):
    # Celery's soft time limit is a signal whose handler raises SoftTimeLimitExceeded in the task's
    # thread, wherever it is: here while botocore waits for a create that answers in 3 s.
    def soft_limit(signum, frame):
        raise SoftTimeLimitExceeded()

    aws_call(access, "workspaces", "describe_account")  # the session is made: the limit lands in the create
    previous = signal.signal(signal.SIGALRM, soft_limit)
    simulator.clear_calls()
    simulator.schedule_fault("CreateWorkspaces", "late_answer", seconds=3)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(SoftTimeLimitExceeded):
            workspaces_create_batch(access, [_spec(acme, 9)])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
