"""Every client mistake is a 4xx answered as RFC 9457 problem details with a stable type."""

import json

import pytest
from django.test import override_settings

from orchestration.models import Job
from partnerportal.api.parsers import json_depth

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def assert_problem(response, status, kind):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"urn:wsc:problem:{kind}"
    assert body["status"] == status and body["title"] and "detail" in body
    return body


def post_raw(client, url, body: bytes):
    return client.generic("POST", url, body, content_type="application/json")


def test_malformed_json_is_a_400(acme):
    response = post_raw(acme.clients["admin"], "/api/v1/desktops", b'{"aws_account": ')
    assert_problem(response, 400, "malformed-body")


def test_json_nested_950_deep_is_a_400_not_a_500(acme):
    body = b"[" * 950 + b"]" * 950
    response = post_raw(acme.clients["admin"], "/api/v1/power-policies", body)
    assert_problem(response, 400, "body-too-deep")
    objects = ('{"a":' * 950 + "1" + "}" * 950).encode()
    assert_problem(post_raw(acme.clients["admin"], "/api/v1/session-events", objects), 400, "body-too-deep")


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert json_depth(b'{"name": "[[[[{{{{", "x": [1, [2]]}') == 3
    assert json_depth(b'["\\"[[["]') == 1


@override_settings(API_MAX_BODY_BYTES=1000)
def test_an_oversized_body_is_a_413_and_makes_nothing(acme):
    body = json.dumps(
        {
            "aws_account": acme.account.account_id,
            "directory_id": acme.directory.directory_id,
            "bundle_id": acme.bundle.bundle_id,
            "user_names": [f"user{n:04d}" for n in range(200)],
        }
    ).encode()
    assert_problem(post_raw(acme.clients["admin"], "/api/v1/desktops", body), 413, "body-too-large")
    assert not Job.objects.filter(kind="DESKTOP_CREATE").exists()


def test_an_unknown_field_is_a_400_naming_it(acme):
    response = acme.clients["admin"].post(
        "/api/v1/power-policies", {"name": "night", "stop_after_disconect_minutes": 5}, format="json"
    )
    body = assert_problem(response, 400, "invalid-request")
    assert "stop_after_disconect_minutes" in body["errors"]


def test_an_unknown_query_parameter_is_a_400(acme):
    response = acme.clients["read"].get("/api/v1/desktops", {"sate": "AVAILABLE"})
    assert "sate" in assert_problem(response, 400, "invalid-request")["errors"]


@pytest.mark.parametrize("cursor", ["garbage", "cD1hYmM=", "bz0tNQ=="])
def test_a_bad_cursor_is_a_400(acme, cursor):
    response = acme.clients["read"].get("/api/v1/desktops", {"cursor": cursor})
    assert_problem(response, 400, "invalid-cursor")


def test_missing_token_wrong_method_and_missing_object(acme):
    from rest_framework.test import APIClient

    assert_problem(APIClient().get("/api/v1/desktops"), 401, "not-authenticated")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer wsc_nope_nope")
    assert_problem(bad.get("/api/v1/desktops"), 401, "authentication-failed")
    assert_problem(acme.clients["read"].delete("/api/v1/desktops"), 405, "method-not-allowed")
    assert_problem(acme.clients["read"].get("/api/v1/desktops/999999"), 404, "not-found")
    assert_problem(acme.clients["read"].get("/api/v1/desktops/abc"), 404, "not-found")


def test_a_read_token_may_not_act(acme):
    desktop = acme.desktops[1]
    response = acme.clients["read"].post(
        f"/api/v1/desktops/{desktop.pk}/actions", {"action": "start"}, format="json"
    )
    assert_problem(response, 403, "permission-denied")
    assert Job.objects.count() == 1  # the fixture's own


def test_a_service_refusal_is_a_400_with_its_fields(acme):
    # The STOPPED desktop cannot be stopped: the service refuses, naming the desktops.
    response = acme.clients["operate"].post(
        f"/api/v1/desktops/{acme.desktops[1].pk}/actions", {"action": "stop"}, format="json"
    )
    body = assert_problem(response, 400, "invalid-request")
    assert "desktops" in body["errors"]


@pytest.mark.parametrize("text", ['"a\\u0000b"', '"\\ud800"'])
def test_text_no_field_can_hold_is_a_400_even_as_an_unknown_key(acme, text):
    for body in (f'{{"name": {text}}}', f"{{{text}: 1}}"):
        response = acme.clients["admin"].generic(
            "POST",
            "/api/v1/power-policies",
            body.encode(),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="t",
        )
        assert_problem(response, 400, "malformed-body")


def test_options_is_not_offered(acme):
    assert_problem(acme.clients["read"].options("/api/v1/session-events"), 405, "method-not-allowed")
