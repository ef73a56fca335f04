"""What the OpenAPI schema says beyond the views: the problem details body, the errors each kind of
operation may answer, the bearer token scheme and the Idempotency-Key header on every POST."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from partnerportal.api.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, problem_type


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.ChoiceField(
        choices=[problem_type(kind) for kind in PROBLEM_TYPES], help_text="Stable: switch on this."
    )
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        required=False, help_text="invalid-request: per field, what to fix.", child=serializers.JSONField()
    )


def _problem(kind: str, description: str, detail: str, errors: dict | None = None) -> OpenApiResponse:
    code, title = PROBLEM_TYPES[kind]
    example = {"type": problem_type(kind), "title": title, "status": code, "detail": detail}
    if errors:
        example["errors"] = errors
    return OpenApiResponse(
        ProblemSerializer, description=description, examples=[OpenApiExample(kind, value=example)]
    )


_400 = _problem(
    "invalid-request",
    "A parameter or field is not valid (also malformed-body, body-too-deep, invalid-cursor).",
    "Some fields are not valid: see errors.",
    {"count": ["Ensure this value is less than or equal to 5000."]},
)
_401 = _problem("not-authenticated", "No valid token.", "Authentication credentials were not provided.")
_403 = _problem("permission-denied", "The token's scopes do not allow this.", "You do not have permission.")
_404 = _problem(
    "not-found", "No such object among those this token sees.", "No Desktop matches the given query."
)
_413 = _problem("body-too-large", "The body is larger than the API takes.", "The request body is too large.")
_422 = _problem(
    "idempotency-key-reused",
    "The Idempotency-Key was used with another body or path.",
    "This Idempotency-Key was used with another request body or path.",
)
_429 = _problem(
    "throttled", "This token's bucket is empty; retry after Retry-After seconds.", "Request was throttled."
)

_502 = _problem(
    "aws-error",
    "AWS refused or failed the call this request needed (its code and message in detail).",
    "AccessDeniedException: User is not authorized to perform workspaces:DescribeWorkspaceDirectories",
)


def _errors(*pairs: tuple[int, OpenApiResponse]) -> dict:
    """Responses keyed (status, application/problem+json), as drf-spectacular takes a media type."""
    return {(code, PROBLEM_CONTENT_TYPE): response for code, response in pairs}


ERRORS_READ = _errors((400, _400), (401, _401), (403, _403), (404, _404), (429, _429))
ERRORS_WRITE = _errors((400, _400), (401, _401), (403, _403), (413, _413), (422, _422), (429, _429))
ERRORS_WRITE_404 = {**ERRORS_WRITE, **_errors((404, _404))}
# Operations that call AWS while the client waits (refresh, verify) may also answer 502.
ERRORS_AWS = {**ERRORS_WRITE_404, **_errors((502, _502))}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string up to 255 characters: the same key and body within 24 hours get the "
    "first answer again, and nothing is done twice.",
)


class ApiAutoSchema(AutoSchema):
    """Every POST documents the Idempotency-Key header."""

    def get_override_parameters(self):
        params = super().get_override_parameters()
        if self.method == "POST":
            params = [*params, IDEMPOTENCY_KEY]
        return params


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "partnerportal.api.authentication.ApiTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "wsc_<key id>_<secret>",
            "description": "A customer's or a partner staff member's API token, with scopes read, operate, admin.",
        }


JOB_EXAMPLE = OpenApiExample(
    "accepted job",
    response_only=True,
    status_codes=["202"],
    value={
        "id": 7,
        "customer": 3,
        "kind": "DESKTOP_START",
        "status": "PENDING",
        "params": {"action": "start"},
        "result": {"eligible": 1, "not_eligible": {}},
        "error": "",
        "requested_by": "token:broker",
        "total_items": 1,
        "progress": {"total": 1, "succeeded": 0, "failed": 0, "in_flight": 1},
        "created_at": "2026-11-30T09:00:00Z",
        "started_at": None,
        "finished_at": None,
    },
)
