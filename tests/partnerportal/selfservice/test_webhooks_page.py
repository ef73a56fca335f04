"""The portal's webhooks page: an admin registers an endpoint (its secret shown once, on the page), pauses
it and sends a delivery again; operators and viewers cannot reach it."""

import pytest

from orchestration.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from tenants.choices import MembershipRole
from tenants.crypto import decrypt_secret

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_an_admin_registers_pauses_and_resends(tenant):
    client = tenant.clients[MembershipRole.ADMIN]
    response = client.post(
        "/portal/webhooks/",
        {"url": "https://hooks.example.org/in", "events": ["job.finished", "image.ready"]},
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(customer=tenant.customer)
    secret = decrypt_secret(endpoint.secret_encrypted)
    assert secret in response.content.decode() and response["Cache-Control"] == "no-store"
    assert secret not in client.get("/portal/webhooks/").content.decode()

    client.post(f"/portal/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert not endpoint.is_active

    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        customer=tenant.customer,
        event_key="job:9",
        event_type="job.finished",
        payload={},
        status="FAILED",
        attempts=10,
    )
    client.post(f"/portal/webhooks/deliveries/{delivery.pk}/resend/")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("PENDING", 0)
    assert AuditEvent.objects.filter(customer=tenant.customer, action__startswith="Webhook").count() == 3


def test_a_refused_url_is_explained_next_to_its_field(tenant, settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    response = tenant.clients[MembershipRole.ADMIN].post(
        "/portal/webhooks/", {"url": "http://hooks.example.org/in", "events": ["job.finished"]}
    )
    assert response.status_code == 400 and "Use an https:// URL" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("role", [MembershipRole.OPERATOR, MembershipRole.VIEWER])
def test_operators_and_viewers_cannot_reach_webhooks(tenant, role):
    client = tenant.clients[role]
    assert client.get("/portal/webhooks/").status_code in (403, 404)
    client.post("/portal/webhooks/", {"url": "https://hooks.example.org/in", "events": ["job.finished"]})
    assert not WebhookEndpoint.objects.exists()
    assert "/portal/webhooks/" not in client.get("/portal/").content.decode()
