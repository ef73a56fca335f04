"""AWS-shaped errors the simulator raises; the server renders them per wire protocol."""

from __future__ import annotations

# HTTP statuses of codes that are not 400.
_STATUS_BY_CODE = {
    "InternalFailure": 500,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "RequestLimitExceeded": 503,
    "AccessDenied": 403,
    "NotImplemented": 501,
}


def status_for(code: str) -> int:
    return _STATUS_BY_CODE.get(code, 400)


class AwsError(Exception):
    """An error response: AWS error code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else status_for(code)


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterValuesException", message)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message)


def already_exists(message: str) -> AwsError:
    return AwsError("ResourceAlreadyExistsException", message)


def invalid_state(message: str) -> AwsError:
    return AwsError("InvalidResourceStateException", message)


def access_denied(message: str) -> AwsError:
    return AwsError("AccessDeniedException", message)


def not_supported(message: str) -> AwsError:
    return AwsError("OperationNotSupportedException", message)


def unavailable(message: str) -> AwsError:
    return AwsError("ResourceUnavailableException", message)


def associated(message: str) -> AwsError:
    return AwsError("ResourceAssociatedException", message)


def limit_exceeded(message: str) -> AwsError:
    return AwsError("ResourceLimitExceededException", message)
