"""Tenant isolation over every operation the schema lists: a customer's token, aimed at another customer's
objects by their ids, reads nothing of theirs and changes nothing of theirs (404, as for a missing object).

The operations are enumerated from the live schema, so a new endpoint fails here until it has a case.
"""

import json

import pytest
import yaml
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from orchestration.models import AuditEvent, Job, JobItem, WebhookDelivery, WebhookEndpoint
from tenants.models import (
    ApiToken,
    AwsAccount,
    Desktop,
    DesktopActivity,
    PoolDesktop,
    PowerPolicy,
    StaffCustomerLimit,
)
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def globex_state(globex) -> dict:
    """Everything of globex's an operation could change."""
    return {
        "jobs": list(Job.objects.filter(customer=globex.customer).values_list("pk", "status")),
        "items": list(JobItem.objects.filter(job__customer=globex.customer).values_list("pk", "status")),
        "audit": AuditEvent.objects.filter(customer=globex.customer).count(),
        "policies": list(PowerPolicy.objects.filter(customer=globex.customer).values()),
        "desktops": list(Desktop.objects.filter(aws_account=globex.account).values_list("pk", "state")),
        "activity": DesktopActivity.objects.filter(desktop__aws_account=globex.account).count(),
        "webhooks": list(WebhookEndpoint.objects.filter(customer=globex.customer).values()),
        "deliveries": list(WebhookDelivery.objects.filter(customer=globex.customer).values()),
        "pool_desktops": list(
            PoolDesktop.objects.filter(pool__customer=globex.customer).values_list("pk", "assigned_user")
        ),
        "account": list(
            AwsAccount.objects.filter(pk=globex.account.pk).values("verification_status", "verified_at")
        ),
    }


def path_ids(globex) -> dict[str, int]:
    return {
        "customers": globex.customer.pk,
        "aws-accounts": globex.account.pk,
        "directories": globex.directory.pk,
        "images": globex.image.pk,
        "bundles": globex.bundle.pk,
        "desktops": globex.desktops[0].pk,
        "jobs": globex.job.pk,
        "power-policies": globex.policy.pk,
        "webhooks": globex.webhook.pk,
        "webhook-deliveries": globex.delivery.pk,
        "pools": globex.pool.pk,
    }


def bodies(globex) -> dict[tuple[str, str], dict | None]:
    """A well-formed request per operation, naming globex's objects wherever it names anything."""
    refresh = {"aws_account": globex.account.account_id, "region": "us-east-1"}
    return {
        ("post", "/api/v1/desktops"): {
            "aws_account": globex.account.account_id,
            "directory_id": globex.directory.directory_id,
            "bundle_id": globex.bundle.bundle_id,
            "count": 1,
        },
        ("post", "/api/v1/desktops/{id}/actions"): {"action": "reboot"},
        ("post", "/api/v1/desktops/actions"): {"action": "reboot", "desktop_ids": [globex.desktops[0].pk]},
        ("post", "/api/v1/jobs/{id}/cancel"): None,
        ("post", "/api/v1/aws-accounts/{id}/verify"): None,
        ("post", "/api/v1/directories/refresh"): refresh,
        ("post", "/api/v1/images/refresh"): refresh,
        ("post", "/api/v1/bundles/refresh"): refresh,
        ("post", "/api/v1/power-policies"): {"name": "stolen", "customer": globex.customer.pk},
        ("put", "/api/v1/power-policies/{id}"): {"name": "renamed", "is_default": False},
        ("patch", "/api/v1/power-policies/{id}"): {"name": "renamed"},
        ("delete", "/api/v1/power-policies/{id}"): None,
        ("post", "/api/v1/webhooks"): {
            "url": "https://stolen.example.com/h",
            "events": ["job.finished"],
            "customer": globex.customer.pk,
        },
        ("patch", "/api/v1/webhooks/{id}"): {"is_active": False},
        ("delete", "/api/v1/webhooks/{id}"): None,
        ("post", "/api/v1/webhooks/{id}/rotate-secret"): None,
        ("post", "/api/v1/webhook-deliveries/{id}/resend"): None,
        ("post", "/api/v1/pools/{id}/assignments"): {"user": "intruder"},
        ("delete", "/api/v1/pools/{id}/assignments/{user}"): None,
        ("post", "/api/v1/session-events"): {
            "events": [{"workspace_id": globex.desktops[0].workspace_id, "event": "connect"}]
        },
    }


def globex_marks(globex) -> list[str]:
    """Strings that appear only in globex's objects."""
    return [
        globex.account.account_id,
        globex.directory.directory_id,
        globex.image.image_id,
        globex.bundle.bundle_id,
        *[d.workspace_id for d in globex.desktops],
        globex.policy.name,
        globex.event.target_id,
        globex.webhook.url,
        globex.pool.name,
    ]


@pytest.mark.slow
def test_no_operation_reads_or_writes_another_tenants_objects(client, acme, globex):
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    ids, writes, marks = path_ids(globex), bodies(globex), globex_marks(globex)
    before = globex_state(globex)
    api = acme.clients["admin"]
    checked = []
    for path, operations in schema["paths"].items():
        resource = path.removeprefix("/api/v1/").split("/")[0]
        for method in operations:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            url = path.replace("{id}", str(ids.get(resource, 0)))
            sent = ""
            if method == "get":
                query = {"customer": globex.customer.pk}
                if resource == "usage":
                    query.update(start="2026-01-01", end="2026-12-31")
                response = api.get(url, query)
            else:
                assert (method, path) in writes, f"no isolation case for {method.upper()} {path}"
                body = writes[(method, path)]
                sent = json.dumps(body) if body is not None else ""
                response = getattr(api, method)(url, sent or None, content_type="application/json")
            text = response.content.decode()
            # An error may repeat what the request said; anything else of globex's is a leak.
            leaked = [mark for mark in marks if mark in text and mark not in sent]
            assert not leaked, (method, path, response.status_code, leaked)
            if "{id}" in path:
                assert response.status_code == 404, (method, path, response.status_code, text[:300])
            else:
                assert response.status_code < 500, (method, path, text[:300])
                if method != "get" and resource != "session-events":
                    assert response.status_code == 400, (method, path, response.status_code, text[:300])
            checked.append((method, path))
    assert globex_state(globex) == before
    assert len(checked) >= 27, checked


def test_a_staff_token_limited_to_one_customer_is_isolated_the_same_way(client, acme, globex):
    manager = StaffUserFactory(username="manager", is_superuser=False)
    manager.user_permissions.set(Permission.objects.filter(codename__in=["view_desktop", "view_auditevent"]))
    limit = StaffCustomerLimit.objects.create(user=manager)
    limit.customers.set([acme.customer])
    _, plaintext = ApiToken.issue(staff_user=manager, name="am", scopes=["read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    listed = api.get("/api/v1/desktops").json()["results"]
    assert {d["customer"] for d in listed} == {acme.customer.pk}
    assert api.get(f"/api/v1/desktops/{globex.desktops[0].pk}").status_code == 404
    assert api.get(f"/api/v1/jobs/{globex.job.pk}").status_code == 404
