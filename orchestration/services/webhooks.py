"""Webhooks: endpoints registered by a customer or the partner, events collected from what the database
already records, and signed deliveries retried with backoff until acknowledged.

Events come from the rows that record the facts, not from hooks in every code path: the desktop state
history (written by a trigger on every change, bulk updates included), finished jobs and images that
became AVAILABLE. A collector reads each source past its cursor and queues one delivery per (endpoint,
fact); the unique `event_key` makes a second collector, or a re-read of the settling tail, queue nothing
twice. A delivery is sent by a Celery task that first claims it with a conditional UPDATE, so two
messages for one delivery send it once at a time, and a delivery acknowledged with a 2xx is never sent
again by the system (a person can re-send it).

Signature (docs/webhooks.md): `Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
with the timestamp in `Webhook-Timestamp` and the delivery's id in `Webhook-Id`.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.choices import (
    JOB_TERMINAL_STATUSES,
    AuditOutcome,
    Queue,
    WebhookDeliveryStatus,
    WebhookEventType,
)
from orchestration.engine.publish import publish
from orchestration.models import Job, WebhookCursor, WebhookDelivery, WebhookEndpoint
from orchestration.services.audit import audit_event_for_actor, audit_record_many
from orchestration.services.errors import RequestInvalid
from tenants.choices import DesktopState, ImageState
from tenants.crypto import decrypt_secret, encrypt_secret
from tenants.models import Customer, DesktopStateChange, Image

logger = logging.getLogger(__name__)

DELIVER_TASK = "orchestration.webhook_deliver"
SIGNATURE_VERSION = "v1"
ATTENTION_STATES = (DesktopState.IMPAIRED, DesktopState.UNHEALTHY, DesktopState.ERROR)
# Rows read per source per collection; the next run goes on from the cursor.
COLLECT_BATCH = 5000
MAX_ERROR_TEXT = 500
MAX_ENDPOINTS_PER_OWNER = 20


class WebhookInvalid(RequestInvalid):
    """An endpoint that cannot be registered as it stands."""


# ------------------------------------------------------------------------------------------ signing
def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the Webhook-Signature header for this body sent at `timestamp` (POSIX seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def webhook_signature_verify(
    secret: str, *, timestamp: str, body: bytes, signature: str, tolerance_seconds: int = 300
) -> bool:
    """What a receiver does (docs/webhooks.md has the same few lines): a recent timestamp and a matching MAC."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(time.time() - sent_at) > tolerance_seconds:
        return False
    return hmac.compare_digest(webhook_signature(secret, sent_at, body), signature)


# ------------------------------------------------------------------------------------ registration
def webhook_url_problem(url: str) -> str:
    """Why this URL cannot receive our events ('' when it can): HTTPS only, and never an address inside
    our own network (a webhook must not become a way to reach it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Give a full URL, such as https://hooks.example.com/workspaces."
    if parts.scheme != "https" and not settings.WEBHOOK_ALLOW_INSECURE_URLS:
        return "Use an https:// URL: events carry your fleet's details."
    if parts.username or parts.password:
        return "Leave credentials out of the URL; verify our signature instead."
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (socket.gaierror, UnicodeError):
        return f"{parts.hostname} does not resolve."
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if not ip.is_global:
            return f"{parts.hostname} resolves to {ip}, an address that is not on the public internet."
    return ""


def _events_problem(events: Iterable[str]) -> str:
    events = list(events)
    unknown = sorted(set(events) - set(WebhookEventType.values))
    if not events or unknown:
        return f"Choose events among {', '.join(WebhookEventType.values)}" + (
            f"; unknown: {', '.join(unknown)}." if unknown else "."
        )
    return ""


def webhook_endpoint_create(
    *, actor: Actor, customer: Customer | None, url: str, events: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret (shown once, kept encrypted).

    `customer` None is the partner's own endpoint, told of every customer's events.
    """
    errors: dict[str, list[str]] = {}
    url = url.strip()
    if problem := webhook_url_problem(url):
        errors["url"] = [problem]
    if problem := _events_problem(events):
        errors["events"] = [problem]
    owned = WebhookEndpoint.objects.filter(customer=customer)
    if owned.count() >= MAX_ENDPOINTS_PER_OWNER:
        errors.setdefault("url", []).append(
            f"There are already {MAX_ENDPOINTS_PER_OWNER} endpoints; remove one."
        )
    if not errors.get("url") and owned.filter(url=url).exists():
        errors.setdefault("url", []).append("This URL is registered already.")
    if errors:
        raise WebhookInvalid(errors)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        _cursors_start()
        endpoint = WebhookEndpoint.objects.create(
            customer=customer,
            url=url,
            events=sorted(set(events)),
            description=description.strip()[:200],
            secret_encrypted=encrypt_secret(secret),
            created_by_label=actor.label,
        )
        _audit(actor, endpoint, "WebhookEndpointCreate", {"url": url, "events": endpoint.events})
    return endpoint, secret


def webhook_endpoint_update(
    *, actor: Actor, endpoint: WebhookEndpoint, events: list[str] | None = None, is_active: bool | None = None
) -> WebhookEndpoint:
    """Change what an endpoint is sent, or pause it (pending deliveries wait while it is paused)."""
    if events is not None and (problem := _events_problem(events)):
        raise WebhookInvalid({"events": [problem]})
    with transaction.atomic():
        if events is not None:
            endpoint.events = sorted(set(events))
        if is_active is not None:
            endpoint.is_active = is_active
        endpoint.save(update_fields=["events", "is_active", "updated_at"])
        _audit(
            actor,
            endpoint,
            "WebhookEndpointUpdate",
            {"events": endpoint.events, "is_active": endpoint.is_active},
        )
    return endpoint


def webhook_endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery records."""
    with transaction.atomic():
        _audit(actor, endpoint, "WebhookEndpointDelete", {"url": endpoint.url})
        endpoint.delete()


def webhook_secret_rotate(*, actor: Actor, endpoint: WebhookEndpoint) -> str:
    """A new signing secret (shown once); the old one stops working at once."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint.secret_encrypted = encrypt_secret(secret)
        endpoint.save(update_fields=["secret_encrypted", "updated_at"])
        _audit(actor, endpoint, "WebhookSecretRotate", {})
    return secret


def webhook_delivery_resend(*, actor: Actor, delivery: WebhookDelivery) -> None:
    """Send a delivery again, whatever became of it, with a fresh set of attempts."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        _audit(actor, delivery.endpoint, "WebhookDeliveryResend", {"delivery": delivery.pk})
        transaction.on_commit(lambda: publish(DELIVER_TASK, [delivery.pk], Queue.INTERACTIVE))


def _audit(actor: Actor, endpoint: WebhookEndpoint, action: str, details: dict) -> None:
    event = audit_event_for_actor(
        actor,
        endpoint.customer,
        action=action,
        outcome=AuditOutcome.SUCCEEDED,
        target_type="WebhookEndpoint",
        target_id=str(endpoint.pk),
        details=details,
    )
    audit_record_many([event])


# -------------------------------------------------------------------------------------- collection
SOURCE_DESKTOP_STATES = "desktop-states"
SOURCE_JOBS = "jobs"
SOURCE_IMAGES = "images"


@dataclass(frozen=True)
class Fact:
    """Something that happened, before it is matched to the endpoints that want it."""

    key: str
    event_type: str
    customer_id: int
    data: dict
    occurred_at: datetime


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=timezone.get_current_timezone())


def _cursors_start() -> None:
    """Start every source's cursor at now when the first endpoint is made: no backlog of old history."""
    now = timezone.now()
    newest_change = DesktopStateChange.objects.aggregate(newest=Max("id"))["newest"] or 0
    for source, position in (
        (SOURCE_DESKTOP_STATES, newest_change),
        (SOURCE_JOBS, _micros(now)),
        (SOURCE_IMAGES, _micros(now)),
    ):
        WebhookCursor.objects.get_or_create(source=source, defaults={"position": position, "read_at": now})


def webhook_events_collect() -> dict[str, int]:
    """Queue a delivery for each new fact and each endpoint that wants it; returns how many per source.

    Facts younger than WEBHOOK_SETTLE_SECONDS are queued now but read again next time (the cursor
    stays before them), so a row committed late by a longer transaction is not skipped; the unique
    event key makes the re-read queue nothing twice.
    """
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    if not endpoints:
        return {}
    settled_before = timezone.now() - timedelta(seconds=settings.WEBHOOK_SETTLE_SECONDS)
    counts = {}
    for source, read in (
        (SOURCE_DESKTOP_STATES, _desktop_state_facts),
        (SOURCE_JOBS, _job_facts),
        (SOURCE_IMAGES, _image_facts),
    ):
        with transaction.atomic():
            cursor = WebhookCursor.objects.select_for_update(skip_locked=True).filter(source=source).first()
            if cursor is None:
                continue  # another collector holds it, or no endpoint was ever made
            facts, position = read(cursor.position, settled_before)
            counts[source] = _queue(facts, endpoints)
            cursor.position, cursor.read_at = position, timezone.now()
            cursor.save(update_fields=["position", "read_at"])
    return counts


def _desktop_state_facts(position: int, settled_before: datetime) -> tuple[list[Fact], int]:
    changes = list(
        DesktopStateChange.objects.filter(id__gt=position)
        .select_related("desktop__aws_account")
        .order_by("id")[:COLLECT_BATCH]
    )
    facts = []
    new_position = position
    settling = False
    for change in changes:
        desktop = change.desktop
        data = {
            "desktop": {
                "id": desktop.pk,
                "workspace_id": desktop.workspace_id,
                "user_name": desktop.user_name,
                "workspace_name": desktop.workspace_name,
            },
            "state": change.state,
            "changed_at": change.changed_at.isoformat(),
        }
        customer_id = desktop.aws_account.customer_id
        facts.append(
            Fact(
                f"desktop-state:{change.pk}",
                WebhookEventType.DESKTOP_STATE_CHANGED,
                customer_id,
                data,
                change.changed_at,
            )
        )
        if change.state in ATTENTION_STATES:
            facts.append(
                Fact(
                    f"desktop-attention:{change.pk}",
                    WebhookEventType.DESKTOP_NEEDS_ATTENTION,
                    customer_id,
                    data,
                    change.changed_at,
                )
            )
        settling = settling or change.changed_at >= settled_before
        if not settling:
            new_position = change.pk
    return facts, new_position


def _job_facts(position: int, settled_before: datetime) -> tuple[list[Fact], int]:
    since = _from_micros(position)
    jobs = Job.objects.filter(status__in=JOB_TERMINAL_STATUSES, finished_at__gte=since).order_by(
        "finished_at"
    )[:COLLECT_BATCH]
    facts = [
        Fact(
            f"job:{job.pk}",
            WebhookEventType.JOB_FINISHED,
            job.customer_id,
            {
                "job": {
                    "id": job.pk,
                    "kind": job.kind,
                    "status": job.status,
                    "total_items": job.total_items,
                    "created_at": job.created_at.isoformat(),
                    "finished_at": job.finished_at.isoformat() if job.finished_at else None,
                    "error": job.error,
                }
            },
            job.finished_at or since,
        )
        for job in jobs
    ]
    return facts, _time_position(since, facts, settled_before)


def _image_facts(position: int, settled_before: datetime) -> tuple[list[Fact], int]:
    since = _from_micros(position)
    images = (
        Image.objects.filter(state=ImageState.AVAILABLE, updated_at__gte=since)
        .select_related("aws_account")
        .order_by("updated_at")[:COLLECT_BATCH]
    )
    facts = [
        Fact(
            f"image-ready:{image.pk}",
            WebhookEventType.IMAGE_READY,
            image.aws_account.customer_id,
            {
                "image": {
                    "id": image.pk,
                    "image_id": image.image_id,
                    "name": image.name,
                    "region": image.region,
                }
            },
            image.updated_at,
        )
        for image in images
    ]
    return facts, _time_position(since, facts, settled_before)


def _time_position(since: datetime, facts: list[Fact], settled_before: datetime) -> int:
    """Where a time-ordered source's cursor goes: up to the settling tail, or to the last fact read when
    a full batch stopped short of it; never backwards."""
    reached = facts[-1].occurred_at if len(facts) >= COLLECT_BATCH else settled_before
    return _micros(max(since, min(reached, settled_before)))


def _queue(facts: list[Fact], endpoints: list[WebhookEndpoint]) -> int:
    deliveries = [
        WebhookDelivery(
            endpoint=endpoint,
            customer_id=fact.customer_id,
            event_key=fact.key,
            event_type=fact.event_type,
            payload={
                "occurred_at": fact.occurred_at.isoformat(),
                "customer_id": fact.customer_id,
                **fact.data,
            },
            next_attempt_at=timezone.now(),
        )
        for fact in facts
        for endpoint in endpoints
        if fact.event_type in endpoint.events and endpoint.customer_id in (None, fact.customer_id)
    ]
    made = WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return len(made)


# ---------------------------------------------------------------------------------------- delivery
def webhooks_dispatch() -> dict[str, int]:
    """The beat's tick: collect new facts, then send every delivery that is due (new, or its backoff
    over, or its sender died mid-attempt)."""
    collected = webhook_events_collect()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING,
            endpoint__is_active=True,
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: settings.WEBHOOK_DISPATCH_BATCH]
    )
    for delivery_id in due:
        publish(DELIVER_TASK, [delivery_id], Queue.INTERACTIVE)
    return {"collected": sum(collected.values()), "sent": len(due)}


def webhook_retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: exponential, capped, with jitter."""
    ceiling = min(
        settings.WEBHOOK_RETRY_MAX_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    )
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect could lead anywhere: treat it as a failure
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def webhook_deliver(delivery_id: int) -> str:
    """One attempt at one delivery; returns its status afterwards.

    The conditional UPDATE is the claim: it succeeds for one sender only, and moves `next_attempt_at`
    past the request's timeout, so a sender that dies mid-attempt is replaced after that, not before.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
    claimed = WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=delivery_id,
        status=WebhookDeliveryStatus.PENDING,
        endpoint__is_active=True,
    ).update(attempts=F("attempts") + 1, next_attempt_at=lease, last_attempt_at=now)
    if not claimed:
        return "not due"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    status_code, error = _send(delivery)
    if status_code is not None and 200 <= status_code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDeliveryStatus.DELIVERED,
            delivered_at=timezone.now(),
            next_attempt_at=None,
            last_status_code=status_code,
            last_error="",
        )
        return WebhookDeliveryStatus.DELIVERED
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDeliveryStatus.FAILED,
            next_attempt_at=None,
            last_status_code=status_code,
            last_error=error,
        )
        return WebhookDeliveryStatus.FAILED
    delay = webhook_retry_delay(delivery.attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_status_code=status_code,
        last_error=error,
    )
    # No message of its own for the next attempt: the dispatcher's tick sends what is due, once.
    return WebhookDeliveryStatus.PENDING


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The JSON body of a delivery: the same bytes at every attempt (the signature covers them)."""
    document = {
        "id": str(delivery.event_id),
        "type": delivery.event_type,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _send(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the delivery; returns (HTTP status or None, what went wrong in words)."""
    endpoint = delivery.endpoint
    if problem := webhook_url_problem(endpoint.url):  # DNS may have changed since it was registered
        return None, problem
    body = webhook_body(delivery)
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - the scheme was checked above
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "workspaces-core-partner-portal-webhooks/1",
            "Webhook-Id": str(delivery.event_id),
            "Webhook-Timestamp": str(timestamp),
            "Webhook-Signature": webhook_signature(
                decrypt_secret(endpoint.secret_encrypted), timestamp, body
            ),
        },
    )
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"The endpoint answered {exc.code} {exc.reason}."[:MAX_ERROR_TEXT]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"Could not reach the endpoint: {reason}."[:MAX_ERROR_TEXT]
