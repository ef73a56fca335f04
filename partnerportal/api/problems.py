"""Errors as RFC 9457 problem details (application/problem+json), one stable `type` per kind of error.

Every error the API answers goes through `problem_exception_handler`: DRF's own exceptions, the
services' RequestInvalid (a 400 naming each field) and a missing object (404, the same whether it is
another tenant's or does not exist).
"""

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from orchestration.services.errors import AwsError, RequestInvalid

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:wsc:problem:"

# Stable problem types: what integrators switch on. docs/api.md lists them.
PROBLEM_TYPES: dict[str, tuple[int, str]] = {
    "invalid-request": (400, "The request is not valid"),
    "malformed-body": (400, "The request body could not be read"),
    "body-too-deep": (400, "The JSON body is nested too deeply"),
    "body-too-large": (413, "The request body is too large"),
    "invalid-cursor": (400, "The pagination cursor is not valid"),
    "not-authenticated": (401, "Authentication is required"),
    "authentication-failed": (401, "The credentials were refused"),
    "permission-denied": (403, "Not allowed"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "not-acceptable": (406, "Not acceptable"),
    "conflict": (409, "Conflict"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "idempotency-key-reused": (422, "The Idempotency-Key was used with another request"),
    "throttled": (429, "Too many requests"),
    "aws-error": (502, "AWS refused or failed the call"),
    "server-error": (500, "Internal server error"),
}


def problem_type(kind: str) -> str:
    return f"{PROBLEM_TYPE_BASE}{kind}"


class InvalidCursor(exceptions.ParseError):
    default_detail = "The cursor is not one this API gave out."
    default_code = "invalid_cursor"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the state of the resource."
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with another request body or path."
    default_code = "idempotency_key_reused"


_CODE_KINDS = {
    "nesting_too_deep": "body-too-deep",
    "payload_too_large": "body-too-large",
    "invalid_cursor": "invalid-cursor",
    "parse_error": "malformed-body",
    "not_authenticated": "not-authenticated",
    "authentication_failed": "authentication-failed",
    "permission_denied": "permission-denied",
    "not_found": "not-found",
    "method_not_allowed": "method-not-allowed",
    "not_acceptable": "not-acceptable",
    "unsupported_media_type": "unsupported-media-type",
    "throttled": "throttled",
    "conflict": "conflict",
    "idempotency_key_reused": "idempotency-key-reused",
}


def problem_response(kind: str, detail: str, *, errors: dict | None = None, headers=None) -> Response:
    """A problem details response of one of PROBLEM_TYPES."""
    code, title = PROBLEM_TYPES[kind]
    body: dict = {"type": problem_type(kind), "title": title, "status": code, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(body, status=code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _kind_of(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid-request"
    code = exc.get_codes() if not isinstance(exc.detail, dict | list) else exc.default_code
    return _CODE_KINDS.get(str(code), _CODE_KINDS.get(exc.default_code, "invalid-request"))


# Headers DRF sets on an error that the client needs: how to authenticate, when to retry, what is allowed.
_KEPT_HEADERS = ("WWW-Authenticate", "Retry-After", "Allow")


def problem_exception_handler(exc, context):
    """DRF's exception handler, answering problem details; anything it does not know stays a 500."""
    if isinstance(exc, RequestInvalid):
        return problem_response("invalid-request", str(exc), errors=exc.errors)
    if isinstance(exc, AwsError):
        return problem_response("aws-error", str(exc))
    if isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return problem_response("invalid-request", "Some fields are not valid: see errors.", errors=errors)
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
    kind = _kind_of(exc) if isinstance(exc, exceptions.APIException) else "not-found"
    kept = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
    problem = problem_response(kind, str(detail), headers=kept)
    problem.status_code = response.status_code
    problem.data["status"] = response.status_code
    return problem
