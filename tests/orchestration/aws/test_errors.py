"""AWS errors sorted by what the caller does about them (aws-facts.md, "Errors, by what to do about them")."""

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from orchestration.aws.calls import aws_error_from
from orchestration.aws.errors import (
    AwsAccessDenied,
    AwsError,
    AwsExpiredCredentials,
    AwsPermanent,
    AwsThrottled,
    AwsTransient,
    TagGuardRefused,
    error_class_for,
    is_retryable_code,
)

# The table of aws-facts.md, code by code.
CLASSES = {
    "ThrottlingException": AwsThrottled,
    "RequestLimitExceeded": AwsThrottled,
    "TooManyRequestsException": AwsThrottled,
    "Throttling": AwsThrottled,  # STS and IAM spell it so
    "OperationInProgressException": AwsTransient,
    "ResourceUnavailableException": AwsTransient,
    "InternalFailure": AwsTransient,
    "ServiceUnavailable": AwsTransient,
    "ExpiredToken": AwsExpiredCredentials,
    "ExpiredTokenException": AwsExpiredCredentials,
    "AccessDeniedException": AwsAccessDenied,
    "AccessDenied": AwsAccessDenied,  # STS's AssumeRole
    "UnauthorizedOperation": AwsAccessDenied,  # EC2
    "InvalidParameterValuesException": AwsPermanent,
    "ResourceNotFoundException": AwsPermanent,
    "ResourceAlreadyExistsException": AwsPermanent,
    "OperationNotSupportedException": AwsPermanent,
    "InvalidResourceStateException": AwsPermanent,
    "UnsupportedWorkspaceConfigurationException": AwsPermanent,
    "ResourceAssociatedException": AwsPermanent,
    "ResourceLimitExceededException": AwsPermanent,
}


@pytest.mark.parametrize(("code", "expected"), CLASSES.items())
def test_each_code_of_the_table_gets_its_class(code, expected):
    assert error_class_for(code, 400) is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ThrottlingException.Account", AwsThrottled),
        ("ResourceNotFound.User", AwsPermanent),
        ("InvalidAMIID.NotFound", AwsPermanent),
        ("AccessDenied.Role", AwsAccessDenied),
    ],
)
def test_a_qualified_code_is_classified_by_the_part_before_the_dot(code, expected):
    assert error_class_for(code, 400) is expected


def test_a_code_aws_leaves_generic_is_transient_on_5xx_and_permanent_on_4xx():
    assert error_class_for("SomethingNew", 503) is AwsTransient
    assert error_class_for("SomethingNew", 500) is AwsTransient
    assert error_class_for("SomethingNew", 400) is AwsPermanent
    assert error_class_for("SomethingNew") is AwsPermanent
    # A code the table knows wins over the status: a 500 that says AccessDenied is still no retry.
    assert error_class_for("AccessDeniedException", 500) is AwsAccessDenied


def test_only_throttled_transient_and_expired_credential_errors_are_retryable():
    retryable = {
        cls for cls in set(CLASSES.values()) | {TagGuardRefused} if cls(code="X", message="m").retryable
    }
    # Credentials that expire again right after the call's one refresh are retried with a fresh session.
    assert retryable == {AwsThrottled, AwsTransient, AwsExpiredCredentials}


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        ("InternalFailure", True),
        ("ThrottlingException", True),
        ("ResourceUnavailableException.Workspace", True),
        ("ResourceLimitExceededException", False),
        ("InvalidParameterValuesException", False),
        ("AccessDeniedException", False),
        ("", False),
    ],
)
def test_a_failed_item_is_retried_alone_only_for_a_retryable_code(code, transient):
    assert is_retryable_code(code) is transient


def _client_error(code: str, status: int, request_id: str = "req-1", message: str = "words") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": status},
        },
        "CreateWorkspaces",
    )


def test_a_client_error_keeps_aws_words_request_id_and_status():
    error = aws_error_from(
        _client_error("ResourceLimitExceededException", 400, "r-42", "quota"), "create_workspaces"
    )
    assert isinstance(error, AwsPermanent)
    assert (error.code, error.message, error.operation, error.request_id, error.http_status) == (
        "ResourceLimitExceededException",
        "quota",
        "create_workspaces",
        "r-42",
        400,
    )
    assert str(error) == "ResourceLimitExceededException: quota (create_workspaces)"


def test_an_unknown_code_with_a_5xx_from_the_wire_is_transient():
    assert isinstance(aws_error_from(_client_error("Weird", 502), "describe_workspaces"), AwsTransient)


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
    ],
)
def test_connection_failures_are_transient(exc):
    error = aws_error_from(exc, "describe_workspaces")
    assert isinstance(error, AwsTransient)
    assert (error.code, error.operation) == ("ConnectionError", "describe_workspaces")


def test_any_other_botocore_failure_is_transient_under_its_own_name():
    error = aws_error_from(NoCredentialsError(), "describe_workspaces")
    assert isinstance(error, AwsTransient) and error.code == "NoCredentialsError"


def test_every_class_is_an_aws_error_and_an_exception():
    for cls in {*CLASSES.values(), TagGuardRefused}:
        assert issubclass(cls, AwsError) and issubclass(cls, Exception)
