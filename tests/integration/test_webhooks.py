"""Webhooks end to end: a real beat and worker send signed events to a real HTTP receiver on loopback."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orchestration.actors import Actor
from orchestration.choices import WebhookDeliveryStatus, WebhookEventType
from orchestration.models import WebhookDelivery
from orchestration.services.webhooks import webhook_endpoint_create, webhook_signature_verify
from tests.factories import AwsAccountFactory, CustomerFactory, DesktopFactory
from tests.integration.stack import wait_until

pytestmark = pytest.mark.integration


class Receiver:
    """An HTTP endpoint that answers 500 to its first `failures` requests, then 204; keeps every request."""

    def __init__(self, failures: int):
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(500 if len(receiver.requests) <= receiver.failures else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/workspaces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    made = Receiver(failures=3)
    yield made
    made.close()


def test_a_signed_event_is_retried_until_acknowledged_and_then_never_sent_again(stack_factory, receiver):
    stack = stack_factory({"WEBHOOK_DISPATCH_INTERVAL_SECONDS": "1"}).start()
    customer = CustomerFactory()
    endpoint, secret = webhook_endpoint_create(
        actor=Actor.system("test"),
        customer=customer,
        url=receiver.url,
        events=[WebhookEventType.DESKTOP_STATE_CHANGED],
    )
    desktop = DesktopFactory(aws_account=AwsAccountFactory(customer=customer), state="PENDING")

    def delivered() -> bool:
        stack.supervise()
        return WebhookDelivery.objects.filter(
            endpoint=endpoint, status=WebhookDeliveryStatus.DELIVERED
        ).exists()

    wait_until(delivered, timeout=60, what="the webhook acknowledged")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.attempts, delivery.last_status_code) == (4, 204)
    assert len(receiver.requests) == 4  # failed three times, acknowledged on the fourth

    # Every attempt carries the same event id and body, signed with the endpoint's secret.
    assert {headers["Webhook-Id"] for headers, _ in receiver.requests} == {str(delivery.event_id)}
    for headers, body in receiver.requests:
        assert webhook_signature_verify(
            secret, timestamp=headers["Webhook-Timestamp"], body=body, signature=headers["Webhook-Signature"]
        )
    event = json.loads(receiver.requests[-1][1])
    assert event["type"] == "desktop.state_changed"
    assert event["data"]["desktop"]["workspace_id"] == desktop.workspace_id
    assert event["data"]["state"] == "PENDING"

    # Several more beat ticks: an acknowledged event is not delivered again.
    time.sleep(4)
    assert len(receiver.requests) == 4
