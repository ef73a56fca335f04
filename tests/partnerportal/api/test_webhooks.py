"""Webhooks over the API: registered with the secret in the answer only, scoped like everything else,
changed and re-sent by tokens allowed to configure."""

import pytest

from orchestration.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from tenants.crypto import decrypt_secret

pytestmark = pytest.mark.django_db


def test_a_customer_registers_an_endpoint_and_sees_its_secret_once(acme):
    api = acme.clients["admin"]
    answer = api.post(
        "/api/v1/webhooks",
        {"url": "https://ci.example.com/hooks", "events": ["job.finished", "image.ready"]},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.customer == acme.customer
    assert decrypt_secret(endpoint.secret_encrypted) == body["secret"]
    listed = api.get("/api/v1/webhooks").json()["results"]
    assert {e["id"] for e in listed} == {acme.webhook.pk, endpoint.pk}
    assert all("secret" not in e for e in listed)
    assert "secret" not in api.get(f"/api/v1/webhooks/{endpoint.pk}").json()

    rotated = api.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret").json()["secret"]
    endpoint.refresh_from_db()
    assert rotated != body["secret"] and decrypt_secret(endpoint.secret_encrypted) == rotated
    assert AuditEvent.objects.filter(action__startswith="Webhook", customer=acme.customer).count() >= 3


def test_bad_endpoints_are_refused_with_the_field_to_fix(acme, settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    api = acme.clients["admin"]
    answer = api.post(
        "/api/v1/webhooks", {"url": "http://ci.example.com/x", "events": ["nope"]}, format="json"
    )
    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("application/problem+json")
    assert not WebhookEndpoint.objects.filter(url="http://ci.example.com/x").exists()
    answer = api.post(
        "/api/v1/webhooks", {"url": "http://ci.example.com/x", "events": ["job.finished"]}, format="json"
    )
    assert answer.status_code == 400 and "https" in answer.content.decode()


def test_reading_tokens_cannot_register_change_or_resend(acme):
    api = acme.clients["read"]
    assert api.get("/api/v1/webhooks").status_code == 200
    assert (
        api.post(
            "/api/v1/webhooks", {"url": "https://x.example.com/h", "events": ["job.finished"]}, format="json"
        ).status_code
        == 403
    )
    assert (
        api.patch(f"/api/v1/webhooks/{acme.webhook.pk}", {"is_active": False}, format="json").status_code
        == 403
    )
    assert api.post(f"/api/v1/webhook-deliveries/{acme.delivery.pk}/resend").status_code == 403


def test_deliveries_are_listed_and_resent(acme):
    WebhookDelivery.objects.filter(pk=acme.delivery.pk).update(status="FAILED", attempts=10)
    api = acme.clients["admin"]
    listed = api.get("/api/v1/webhook-deliveries", {"status": "FAILED"}).json()["results"]
    assert [d["id"] for d in listed] == [acme.delivery.pk]
    answer = api.post(f"/api/v1/webhook-deliveries/{acme.delivery.pk}/resend")
    assert answer.status_code == 202
    assert (answer.json()["status"], answer.json()["attempts"]) == ("PENDING", 0)


def test_only_unrestricted_staff_register_a_partner_wide_endpoint(acme, staff_api):
    answer = staff_api.post(
        "/api/v1/webhooks",
        {"url": "https://noc.example.com/h", "events": ["desktop.needs_attention"], "customer": None},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["customer"] is None
    answer = acme.clients["admin"].post(
        "/api/v1/webhooks",
        {"url": "https://x.example.com/h", "events": ["job.finished"], "customer": None},
        format="json",
    )
    assert answer.status_code == 400
