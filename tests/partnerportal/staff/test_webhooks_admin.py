"""Webhooks in the staff console: registered through the service with the secret shown once on a page,
deliveries re-sent only by staff who may change them."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.choices import WebhookDeliveryStatus
from orchestration.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from orchestration.services.webhooks import webhook_endpoint_create
from tenants.crypto import decrypt_secret
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_registering_an_endpoint_shows_its_secret_once_on_the_page(staff_client):
    customer = CustomerFactory()
    response = staff_client.post(
        reverse("admin:orchestration_webhookendpoint_add"),
        {
            "customer": customer.pk,
            "url": "http://127.0.0.1:9/hook",
            "events": ["job.finished"],
            "description": "",
        },
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    secret = decrypt_secret(endpoint.secret_encrypted)
    assert secret in response.content.decode()
    assert "messages" not in response.cookies  # never in the signed messages cookie
    assert AuditEvent.objects.filter(action="WebhookEndpointCreate").count() == 1
    page = staff_client.get(reverse("admin:orchestration_webhookendpoint_change", args=[endpoint.pk]))
    assert secret not in page.content.decode()


def test_a_refused_url_is_shown_on_its_field_and_nothing_is_made(staff_client, settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    response = staff_client.post(
        reverse("admin:orchestration_webhookendpoint_add"),
        {"customer": "", "url": "http://hooks.example.com/x", "events": ["job.finished"]},
    )
    assert response.status_code == 200
    assert "Use an https:// URL" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def _delivery() -> WebhookDelivery:
    endpoint, _ = webhook_endpoint_create(
        actor=Actor.system("t"),
        customer=CustomerFactory(),
        url="http://127.0.0.1:9/h",
        events=["job.finished"],
    )
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_key="job:1",
        event_type="job.finished",
        payload={},
        status="FAILED",
        attempts=10,
    )


def test_resend_needs_change_permission(staff_client):
    delivery = _delivery()
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client = Client()
    client.force_login(viewer)
    url = reverse("admin:orchestration_webhookdelivery_changelist")
    client.post(url, {"action": "resend", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.FAILED, 10)

    staff_client.post(url, {"action": "resend", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.PENDING, 0)
    assert AuditEvent.objects.filter(action="WebhookDeliveryResend").count() == 1
