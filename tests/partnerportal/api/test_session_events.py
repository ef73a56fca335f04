"""The gateway's session events endpoint: token auth, one customer's desktops only, replay-safe."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tenants.models import ApiToken, DesktopActivity
from tests.factories import AwsAccountFactory, CustomerFactory, DesktopFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/session-events"
T = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def acme():
    customer = CustomerFactory(slug="acme")
    desktop = DesktopFactory(aws_account=AwsAccountFactory(customer=customer), workspace_id="ws-acme00001")
    _, plaintext = ApiToken.issue(customer=customer, name="gateway")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return {"customer": customer, "desktop": desktop, "client": client, "token": plaintext}


def post(client, *events):
    return client.post(URL, {"events": list(events)}, format="json")


def event(workspace_id, kind, at):
    return {"workspace_id": workspace_id, "event": kind, "at": at.isoformat()}


def test_connect_heartbeat_disconnect_build_the_desktop_activity(acme):
    response = post(
        acme["client"],
        event("ws-acme00001", "connect", T),
        event("ws-acme00001", "heartbeat", T + timedelta(minutes=5)),
        event("ws-acme00001", "disconnect", T + timedelta(minutes=7)),
    )
    assert response.status_code == 202, response.content
    assert response.json() == {"applied": 3, "stale": 0, "unknown_workspace_ids": []}
    activity = DesktopActivity.objects.get(desktop=acme["desktop"])
    assert activity.connection_state == "DISCONNECTED" and activity.source == "GATEWAY"
    assert activity.last_connected_at == T + timedelta(minutes=5)
    assert activity.last_disconnected_at == T + timedelta(minutes=7)


def test_replayed_or_late_events_change_nothing(acme):
    post(acme["client"], event("ws-acme00001", "disconnect", T + timedelta(minutes=7)))
    late = post(acme["client"], event("ws-acme00001", "connect", T))
    assert late.json()["stale"] == 1
    again = post(acme["client"], event("ws-acme00001", "disconnect", T + timedelta(minutes=7)))
    assert again.json()["applied"] == 1  # the same instant is idempotent
    activity = DesktopActivity.objects.get(desktop=acme["desktop"])
    assert activity.connection_state == "DISCONNECTED" and activity.last_connected_at is None


def test_another_customers_desktop_is_unknown_and_untouched(acme):
    foreign = DesktopFactory(workspace_id="ws-globex001")
    response = post(acme["client"], event("ws-globex001", "connect", T), event("ws-nothere01", "connect", T))
    assert response.status_code == 202
    assert response.json()["unknown_workspace_ids"] == ["ws-globex001", "ws-nothere01"]
    assert not DesktopActivity.objects.filter(desktop=foreign).exists()


@pytest.mark.parametrize(
    "header",
    ["", "Bearer wsc_nope_nope", "Bearer wsc_malformed", "Token abc"],
)
def test_requests_without_a_valid_token_are_refused(acme, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = post(client, event("ws-acme00001", "connect", T))
    assert response.status_code in (401, 403)
    assert not DesktopActivity.objects.exists()


def test_a_revoked_token_stops_working(acme):
    ApiToken.objects.update(revoked_at=T)
    assert post(acme["client"], event("ws-acme00001", "connect", T)).status_code == 401


def test_a_staff_session_cannot_post_for_a_customer(staff_client):
    response = staff_client.post(URL, {"events": []}, content_type="application/json")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": [{"workspace_id": "i-123", "event": "connect"}]}, "workspace_id"),
        ({"events": [{"workspace_id": "ws-acme00001", "event": "logon"}]}, "event"),
        ({"events": [{"workspace_id": "ws-acme00001", "event": "connect", "at": "yesterday"}]}, "at"),
        (
            {"events": [{"workspace_id": "ws-acme00001", "event": "connect", "at": "2999-01-01T00:00:00Z"}]},
            "at",
        ),
        ({"events": [{"workspace_id": "ws-acme00001", "event": "heartbeat"}] * 501}, "events"),
    ],
)
def test_bad_batches_say_what_to_fix_and_write_nothing(acme, body, field):
    response = acme["client"].post(URL, body, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert not DesktopActivity.objects.exists()


@pytest.mark.slow
def test_a_batch_costs_a_bounded_number_of_queries_for_5_or_200_desktops(acme):
    account = acme["desktop"].aws_account
    ids = [
        DesktopFactory(aws_account=account, workspace_id=f"ws-batch{n:04d}").workspace_id for n in range(200)
    ]

    def batch(count, at):
        with CaptureQueriesContext(connection) as queries:
            response = post(acme["client"], *[event(wid, "heartbeat", at) for wid in ids[:count]])
        assert response.json()["applied"] == count
        return len(queries)

    # Token lookup and touch, savepoint, desktops, activity rows, at most two upserts (rows that exist
    # and rows that do not), release: 8 at most, however many desktops.
    assert batch(5, T) <= 8
    assert batch(200, T + timedelta(minutes=1)) <= 8
