"""Tenant isolation: every pattern under /portal/, found by walking the URL resolver, asked with another
tenant's ids by each role, for GET and every POST action and export: 0 cross-tenant reads, writes,
actions or exports. Another tenant's object answers exactly like a missing one. A new pattern that this
table does not cover fails the test."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from django.urls import URLResolver, get_resolver

from orchestration.models import AuditEvent, Job, WebhookDelivery, WebhookEndpoint
from tenants.choices import MembershipRole
from tenants.models import ApiToken, CustomerMembership, Desktop, Pool, PowerPolicy, UntrackedWorkspace

pytestmark = pytest.mark.django_db
ROLES = (MembershipRole.ADMIN, MembershipRole.OPERATOR, MembershipRole.VIEWER)
MISSING = 987654321


@dataclass
class Probe:
    """One request: its method, its path built from the ids it names, and its form data."""

    method: str
    path: Callable[[dict], str]
    data: Callable[[dict], dict] = field(default=lambda ids: {})
    names_an_object: bool = True  # False: a page without ids, which must simply show nothing of the other


def _page(path: str, method: str = "GET") -> Probe:
    return Probe(method, lambda ids: path, names_an_object=False)


# Every named pattern under /portal/, and how to ask it with the other tenant's ids.
PROBES: dict[str, list[Probe]] = {
    "login": [_page("/portal/login/")],
    "logout": [],  # signs the asker out; covered in test_pages, it reads nothing of any tenant
    "set_password": [
        Probe("GET", lambda ids: f"/portal/set-password/{ids['uidb64']}/not-a-token/"),
    ],
    "home": [_page("/portal/")],
    "desktops": [_page("/portal/desktops/")],
    "desktop_create": [
        _page("/portal/desktops/new/"),
        Probe(
            "POST",
            lambda ids: "/portal/desktops/new/",
            lambda ids: {
                "directory": ids["directory"],
                "bundle": ids["bundle"],
                "running_mode": "MANUAL",
                "user_names": "intruder",
                "confirmed": "yes",
            },
        ),
    ],
    "desktop_action": [
        Probe(
            "POST",
            lambda ids: "/portal/desktops/action/",
            lambda ids, action=action, confirmed=confirmed: {
                "action": action,
                "desktop": [ids["desktop"]],
                "confirmed": confirmed,
            },
        )
        for action in ("start", "stop", "reboot", "rebuild", "restore", "terminate")
        for confirmed in ("", "yes")
    ],
    "desktop": [Probe("GET", lambda ids: f"/portal/desktops/{ids['desktop']}/")],
    "desktop_state": [Probe("GET", lambda ids: f"/portal/desktops/{ids['desktop']}/state/")],
    "desktop_policy": [
        Probe(
            "POST",
            lambda ids: f"/portal/desktops/{ids['desktop']}/power-policy/",
            lambda ids: {"power_policy": ""},
        ),
        # One's own desktop pointed at the other's policy.
        Probe(
            "POST",
            lambda ids: f"/portal/desktops/{ids['own_desktop']}/power-policy/",
            lambda ids: {"power_policy": ids["policy"]},
        ),
    ],
    "jobs": [_page("/portal/jobs/")],
    "job": [Probe("GET", lambda ids: f"/portal/jobs/{ids['job']}/")],
    "job_progress": [Probe("GET", lambda ids: f"/portal/jobs/{ids['job']}/progress/")],
    "usage": [_page("/portal/usage/")],
    "pools": [_page("/portal/pools/")],
    "pool": [Probe("GET", lambda ids: f"/portal/pools/{ids['pool']}/")],
    "usage_csv": [_page("/portal/usage.csv")],
    "policies": [_page("/portal/power-policies/")],
    "policy_new": [_page("/portal/power-policies/new/")],
    "policy": [
        Probe("GET", lambda ids: f"/portal/power-policies/{ids['policy']}/"),
        Probe(
            "POST",
            lambda ids: f"/portal/power-policies/{ids['policy']}/",
            lambda ids: {"name": "hijacked", "timezone": "UTC", "h-0-9": "1"},
        ),
    ],
    "tokens": [_page("/portal/api-tokens/")],
    "token_revoke": [Probe("POST", lambda ids: f"/portal/api-tokens/{ids['token']}/revoke/")],
    "webhooks": [_page("/portal/webhooks/")],
    "webhook_toggle": [Probe("POST", lambda ids: f"/portal/webhooks/{ids['webhook']}/toggle/")],
    "webhook_remove": [Probe("POST", lambda ids: f"/portal/webhooks/{ids['webhook']}/remove/")],
    "webhook_resend": [Probe("POST", lambda ids: f"/portal/webhooks/deliveries/{ids['delivery']}/resend/")],
    "members": [_page("/portal/members/")],
    "member_role": [
        Probe(
            "POST", lambda ids: f"/portal/members/{ids['membership']}/role/", lambda ids: {"role": "VIEWER"}
        )
    ],
    "member_remove": [Probe("POST", lambda ids: f"/portal/members/{ids['membership']}/remove/")],
    "audit": [_page("/portal/audit/")],
    "audit_csv": [_page("/portal/audit.csv")],
    "existing": [_page("/portal/existing/")],
    "existing_stack": [Probe("GET", lambda ids: f"/portal/existing/{ids['account']}/stack.yaml")],
    "existing_adopt": [
        Probe(
            "POST",
            lambda ids: "/portal/existing/adopt/",
            lambda ids: {"account": ids["account"], "workspace_id": ids["untracked"]},
        )
    ],
    "existing_release": [
        Probe(
            "POST",
            lambda ids: "/portal/existing/release/",
            lambda ids: {"account": ids["account"], "workspace_ids": ids["workspace_id"]},
        )
    ],
}


def portal_pattern_names() -> set[str]:
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and str(pattern.pattern) == "portal/":
            return {p.name for p in pattern.url_patterns}
    raise AssertionError("no /portal/ include in the URL configuration")


def test_every_portal_pattern_is_probed():
    assert portal_pattern_names() == set(PROBES)


def _extras(tenant) -> None:
    """What the shared fixture lacks: a token, a policy, an untracked WorkSpace."""
    from orchestration.actors import Actor
    from orchestration.services.tokens import api_token_issue
    from orchestration.services.webhooks import webhook_endpoint_create

    api_token_issue(
        actor=Actor.system("test"),
        name=f"{tenant.customer.slug}-token",
        scopes=["read"],
        customer=tenant.customer,
    )
    PowerPolicy.objects.create(
        customer=tenant.customer, name=f"{tenant.customer.slug}-policy", is_default=True
    )
    endpoint, _ = webhook_endpoint_create(
        actor=Actor.system("test"),
        customer=tenant.customer,
        url=f"https://{tenant.customer.slug}-hooks.example.net/in",
        events=["job.finished"],
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint, customer=tenant.customer, event_key="job:1", event_type="job.finished", payload={}
    )
    Pool.objects.create(
        customer=tenant.customer,
        aws_account=tenant.account,
        region="us-east-1",
        directory=tenant.directory,
        bundle=tenant.bundle,
        name=f"{tenant.customer.slug}-pool",
    )
    now = datetime.now(UTC)
    UntrackedWorkspace.objects.create(
        aws_account=tenant.account,
        region="us-east-1",
        workspace_id=f"ws-{tenant.customer.slug}untracked",
        user_name=f"{tenant.customer.slug}-legacy",
        first_seen_at=now,
        last_seen_at=now,
    )


def _ids(tenant, own) -> dict:
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    membership = CustomerMembership.objects.filter(customer=tenant.customer).order_by("pk").first()
    return {
        "desktop": tenant.desktops[0].pk,
        "own_desktop": own.desktops[0].pk,
        "workspace_id": tenant.desktops[0].workspace_id,
        "directory": tenant.directory.pk,
        "bundle": tenant.bundle.pk,
        "job": tenant.job.pk,
        "policy": PowerPolicy.objects.get(customer=tenant.customer).pk,
        "token": ApiToken.objects.get(customer=tenant.customer).pk,
        "membership": membership.pk,
        "uidb64": urlsafe_base64_encode(force_bytes(membership.user_id)),
        "account": tenant.account.pk,
        "untracked": UntrackedWorkspace.objects.get(aws_account=tenant.account).workspace_id,
        "webhook": WebhookEndpoint.objects.get(customer=tenant.customer).pk,
        "delivery": WebhookDelivery.objects.get(customer=tenant.customer).pk,
        "pool": Pool.objects.get(customer=tenant.customer).pk,
    }


def _missing(ids: dict) -> dict:
    return {
        key: (MISSING if isinstance(value, int) and key != "own_desktop" else value)
        if key not in ("workspace_id", "untracked", "uidb64")
        else {"workspace_id": "ws-000missing", "untracked": "ws-000missing", "uidb64": "OTg3NjU0MzIx"}[key]
        for key, value in ids.items()
    }


def _snapshot(tenant) -> dict:
    """Everything of a tenant a request could change."""
    customer = tenant.customer
    return {
        "desktops": list(
            Desktop.objects.filter(aws_account__customer=customer)
            .order_by("pk")
            .values_list("pk", "state", "power_policy_id", "unmanaged_at", "user_name")
        ),
        "jobs": list(Job.objects.filter(customer=customer).order_by("pk").values_list("pk", "status")),
        "audit": AuditEvent.objects.filter(customer=customer).count(),
        "tokens": list(ApiToken.objects.filter(customer=customer).values_list("pk", "revoked_at")),
        "members": list(
            CustomerMembership.objects.filter(customer=customer)
            .order_by("pk")
            .values_list("pk", "role", "user__is_active")
        ),
        "policies": list(PowerPolicy.objects.filter(customer=customer).values_list("pk", "name", "schedule")),
        "untracked": list(
            UntrackedWorkspace.objects.filter(aws_account__customer=customer).values_list("pk")
        ),
        "webhooks": list(
            WebhookEndpoint.objects.filter(customer=customer).values_list("pk", "is_active", "url")
        ),
        "deliveries": list(
            WebhookDelivery.objects.filter(customer=customer).values_list("pk", "status", "attempts")
        ),
    }


def _markers(tenant) -> list[str]:
    """Strings that only the other tenant's data contains."""
    slug = tenant.customer.slug
    return [
        tenant.customer.name,
        f"{slug}-user",
        f"{slug}-legacy",
        f"{slug}-token",
        f"{slug}-policy",
        f"{slug}-pool",
        f"{slug}.example.com",
        f"{slug}-hooks.example.net",
        tenant.account.account_id,
        tenant.bundle.bundle_id,
        tenant.directory.directory_id,
        *(d.workspace_id for d in tenant.desktops),
    ]


def _send(client, probe: Probe, ids: dict):
    method = client.get if probe.method == "GET" else client.post
    return method(probe.path(ids), probe.data(ids))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.slow
def test_no_role_reads_writes_acts_on_or_exports_another_tenants_objects(tenant, other_tenant, role):
    _extras(tenant)
    _extras(other_tenant)
    client = tenant.clients[role]
    theirs, missing = _ids(other_tenant, tenant), _ids(other_tenant, tenant)
    missing = _missing(missing)
    markers = _markers(other_tenant)
    before = _snapshot(other_tenant)
    asked = 0
    for name, probes in PROBES.items():
        for probe in probes:
            response = _send(client, probe, theirs)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = body.decode(errors="replace")
            where = f"{name} {probe.method} {probe.path(theirs)} as {role}"
            leaked = [marker for marker in markers if marker in text]
            assert not leaked, f"{where} shows {leaked}"
            if probe.names_an_object:
                like_missing = _send(client, probe, missing)
                assert response.status_code == like_missing.status_code, where
                assert response.status_code in (400, 403, 404) or (
                    name == "set_password" and response.status_code == 200
                ), f"{where}: {response.status_code}"
            else:
                assert response.status_code in (200, 302, 403), f"{where}: {response.status_code}"
            asked += 1
            client.force_login(CustomerMembership.objects.get(customer=tenant.customer, role=role).user)
    assert _snapshot(other_tenant) == before
    assert asked >= 30


ALLOWED_ACTIONS = {
    MembershipRole.ADMIN: {"start", "stop", "reboot", "rebuild", "restore", "terminate"},
    MembershipRole.OPERATOR: {"start", "stop", "reboot", "rebuild", "restore"},
    MembershipRole.VIEWER: set(),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["start", "stop", "reboot", "rebuild", "restore", "terminate"])
def test_every_desktop_action_for_every_role(tenant, role, action):
    desktop = tenant.desktops[0] if action != "start" else tenant.desktops[1]  # start needs a STOPPED one
    jobs = Job.objects.count()
    response = tenant.clients[role].post(
        "/portal/desktops/action/", {"action": action, "desktop": [desktop.pk], "confirmed": "yes"}
    )
    if action in ALLOWED_ACTIONS[role]:
        assert response.status_code == 302, response.content.decode()[:500]
        job = Job.objects.latest("pk")
        assert (Job.objects.count(), job.customer_id, job.params["action"]) == (
            jobs + 1,
            tenant.customer.pk,
            action,
        )
    else:
        assert response.status_code == 403
        assert Job.objects.count() == jobs


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(MembershipRole.ADMIN, True), (MembershipRole.OPERATOR, False), (MembershipRole.VIEWER, False)],
)
@pytest.mark.slow
def test_every_settings_action_for_every_role(tenant, role, allowed):
    _extras(tenant)
    client = tenant.clients[role]
    policy = PowerPolicy.objects.get(customer=tenant.customer)
    other = CustomerMembership.objects.get(customer=tenant.customer, role=MembershipRole.VIEWER)
    token = ApiToken.objects.get(customer=tenant.customer)
    requests = [
        (
            "/portal/desktops/new/",
            {
                "directory": tenant.directory.pk,
                "bundle": tenant.bundle.pk,
                "running_mode": "MANUAL",
                "count": 1,
                "confirmed": "yes",
            },
        ),
        ("/portal/power-policies/new/", {"name": "p2", "timezone": "UTC"}),
        (f"/portal/power-policies/{policy.pk}/", {"name": "renamed", "timezone": "UTC"}),
        (f"/portal/desktops/{tenant.desktops[0].pk}/power-policy/", {"power_policy": policy.pk}),
        ("/portal/api-tokens/", {"name": "t2", "scopes": ["read"]}),
        (f"/portal/api-tokens/{token.pk}/revoke/", {}),
        ("/portal/members/", {"username": f"added-by-{role.lower()}", "role": "VIEWER"}),
        (f"/portal/members/{other.pk}/role/", {"role": "OPERATOR"}),
        ("/portal/existing/adopt/", {"account": tenant.account.pk, "workspace_id": "ws-nothere"}),
        ("/portal/existing/release/", {"account": tenant.account.pk, "workspace_ids": "ws-nothere"}),
        (f"/portal/members/{other.pk}/remove/", {}),
    ]
    before = _snapshot(tenant)
    for path, data in requests:
        status = client.post(path, data).status_code
        assert (status != 403) is allowed, f"{path} as {role}: {status}"
    assert (_snapshot(tenant) != before) is allowed
