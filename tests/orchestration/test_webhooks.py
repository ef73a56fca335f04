"""Webhooks without a worker: signing, what may be registered, and which deliveries the collector queues."""

import time

import pytest
from django.test import override_settings
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.choices import JobStatus, WebhookEventType
from orchestration.models import AuditEvent, WebhookDelivery
from orchestration.services.webhooks import (
    WebhookInvalid,
    webhook_body,
    webhook_endpoint_create,
    webhook_events_collect,
    webhook_signature,
    webhook_signature_verify,
    webhook_url_problem,
)
from tenants.crypto import decrypt_secret
from tenants.models import Desktop, Image
from tests.factories import AwsAccountFactory, CustomerFactory, DesktopFactory, ImageFactory, JobFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
ALL_EVENTS = list(WebhookEventType.values)


def test_a_signature_verifies_and_a_changed_body_or_an_old_timestamp_does_not():
    now = int(time.time())
    signature = webhook_signature("whsec_x", now, b'{"a":1}')
    assert signature.startswith("v1=")
    assert webhook_signature_verify("whsec_x", timestamp=str(now), body=b'{"a":1}', signature=signature)
    assert not webhook_signature_verify("whsec_x", timestamp=str(now), body=b'{"a":2}', signature=signature)
    assert not webhook_signature_verify("whsec_y", timestamp=str(now), body=b'{"a":1}', signature=signature)
    old = now - 3600
    stale = webhook_signature("whsec_x", old, b"{}")
    assert not webhook_signature_verify("whsec_x", timestamp=str(old), body=b"{}", signature=stale)
    assert not webhook_signature_verify("whsec_x", timestamp="soon", body=b"{}", signature=stale)


@override_settings(WEBHOOK_ALLOW_INSECURE_URLS=False, WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
def test_only_https_urls_on_the_public_internet_may_receive_events():
    assert "https" in webhook_url_problem("http://hooks.example.com/x")
    assert "public internet" in webhook_url_problem("https://127.0.0.1/x")
    assert "public internet" in webhook_url_problem("https://10.1.2.3:8443/x")
    assert "public internet" in webhook_url_problem("https://[::1]/x")
    assert "public internet" in webhook_url_problem("https://169.254.169.254/latest/meta-data")
    assert "credentials" in webhook_url_problem("https://user:pw@8.8.8.8/x")
    assert "full URL" in webhook_url_problem("hooks.example.com")
    assert webhook_url_problem("https://8.8.8.8/hooks") == ""


def test_registering_checks_everything_first_and_keeps_the_secret_encrypted():
    customer = CustomerFactory()
    with pytest.raises(WebhookInvalid) as refused:
        webhook_endpoint_create(
            actor=ACTOR, customer=customer, url="ftp://x", events=["job.finished", "nope"]
        )
    assert set(refused.value.errors) == {"url", "events"}
    assert not customer.webhook_endpoints.exists()

    endpoint, secret = webhook_endpoint_create(
        actor=ACTOR, customer=customer, url="http://127.0.0.1:9/hook", events=["job.finished"]
    )
    assert secret.startswith("whsec_") and secret not in endpoint.secret_encrypted
    assert decrypt_secret(endpoint.secret_encrypted) == secret
    assert AuditEvent.objects.filter(action="WebhookEndpointCreate", target_id=str(endpoint.pk)).count() == 1
    with pytest.raises(WebhookInvalid, match="registered already"):
        webhook_endpoint_create(
            actor=ACTOR, customer=customer, url="http://127.0.0.1:9/hook", events=ALL_EVENTS
        )


def _endpoint(customer, events=ALL_EVENTS, url="http://127.0.0.1:9/hook"):
    return webhook_endpoint_create(actor=ACTOR, customer=customer, url=url, events=events)[0]


def test_each_fact_goes_once_to_each_endpoint_that_wants_it_and_never_to_another_tenant():
    acme, globex = CustomerFactory(), CustomerFactory()
    acme_desktop = DesktopFactory(aws_account=AwsAccountFactory(customer=acme), state="PENDING")
    DesktopFactory(aws_account=AwsAccountFactory(customer=globex), state="PENDING")  # before any endpoint
    acme_hook = _endpoint(acme)
    globex_hook = _endpoint(globex)
    partner_hook = _endpoint(
        None, events=[WebhookEventType.DESKTOP_NEEDS_ATTENTION], url="http://127.0.0.1:9/p"
    )
    jobs_only = _endpoint(acme, events=[WebhookEventType.JOB_FINISHED], url="http://127.0.0.1:9/jobs")

    Desktop.objects.filter(pk=acme_desktop.pk).update(state="AVAILABLE")
    Desktop.objects.filter(pk=acme_desktop.pk).update(state="UNHEALTHY")
    webhook_events_collect()
    webhook_events_collect()  # a second collection (or collector) queues nothing twice

    acme_events = sorted(
        WebhookDelivery.objects.filter(endpoint=acme_hook).values_list("event_type", "payload__state")
    )
    assert acme_events == [
        ("desktop.needs_attention", "UNHEALTHY"),
        ("desktop.state_changed", "AVAILABLE"),
        ("desktop.state_changed", "UNHEALTHY"),
    ]
    assert not WebhookDelivery.objects.filter(
        endpoint=globex_hook
    ).exists()  # the history before it, and acme's
    assert list(
        WebhookDelivery.objects.filter(endpoint=partner_hook).values_list("event_type", "customer_id")
    ) == [("desktop.needs_attention", acme.pk)]
    assert not WebhookDelivery.objects.filter(endpoint=jobs_only).exists()


def test_finished_jobs_and_ready_images_are_events_too():
    acme = CustomerFactory()
    hook = _endpoint(acme)
    account = AwsAccountFactory(customer=acme)
    JobFactory(customer=acme, status=JobStatus.RUNNING)
    finished = JobFactory(customer=acme, status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    image = ImageFactory(aws_account=account, state="PENDING")
    webhook_events_collect()
    assert not WebhookDelivery.objects.filter(event_type="image.ready").exists()
    Image.objects.filter(pk=image.pk).update(state="AVAILABLE", updated_at=timezone.now())
    webhook_events_collect()
    webhook_events_collect()

    deliveries = {d.event_type: d for d in WebhookDelivery.objects.filter(endpoint=hook)}
    assert set(deliveries) == {"job.finished", "image.ready"}
    assert deliveries["job.finished"].payload["job"]["id"] == finished.pk
    assert deliveries["image.ready"].payload["image"]["image_id"] == image.image_id
    body = webhook_body(deliveries["job.finished"])
    assert b'"type":"job.finished"' in body and str(deliveries["job.finished"].event_id).encode() in body
