"""Power policies, API tokens, members, the audit log and existing WorkSpaces, for each role."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orchestration.models import AuditEvent
from tenants.choices import MembershipRole
from tenants.models import ApiToken, CustomerMembership, PowerPolicy, UntrackedWorkspace

ADMIN, OPERATOR, VIEWER = MembershipRole.ADMIN, MembershipRole.OPERATOR, MembershipRole.VIEWER
pytestmark = pytest.mark.django_db


def _grid(days, hours) -> dict:
    return {f"h-{d}-{h}": "1" for d in days for h in hours}


def test_an_admin_makes_a_default_policy_from_the_weekly_grid(tenant):
    response = tenant.clients[ADMIN].post(
        "/portal/power-policies/new/",
        {
            "name": "office",
            "is_default": "on",
            "stop_after_disconnect_minutes": "30",
            "timezone": "Europe/Berlin",
            **_grid(range(5), range(8, 18)),
        },
    )
    assert response.status_code == 302
    policy = PowerPolicy.objects.get(customer=tenant.customer, name="office")
    assert policy.is_default and policy.stop_after_disconnect_minutes == 30
    assert policy.schedule == {
        "timezone": "Europe/Berlin",
        "windows": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}],
    }
    assert AuditEvent.objects.filter(action="PowerPolicyCreate", customer=tenant.customer).count() == 1
    edit = tenant.clients[ADMIN].get(f"/portal/power-policies/{policy.pk}/").content.decode()
    assert 'name="h-0-8" value="1" aria-label="Mon 08:00" checked' in edit
    assert 'name="h-0-7" value="1" aria-label="Mon 07:00">' in edit


def test_a_desktop_gets_its_own_policy_and_goes_back_to_the_default(tenant):
    policy = PowerPolicy.objects.create(customer=tenant.customer, name="night shift")
    desktop = tenant.desktops[0]
    client = tenant.clients[ADMIN]
    client.post(f"/portal/desktops/{desktop.pk}/power-policy/", {"power_policy": policy.pk})
    desktop.refresh_from_db()
    assert desktop.power_policy == policy
    client.post(f"/portal/desktops/{desktop.pk}/power-policy/", {"power_policy": ""})
    desktop.refresh_from_db()
    assert desktop.power_policy is None


@pytest.mark.parametrize("role", [OPERATOR, VIEWER])
def test_only_admins_change_policies(tenant, role):
    client = tenant.clients[role]
    assert client.get("/portal/power-policies/").status_code == 200
    assert client.post("/portal/power-policies/new/", {"name": "x", "timezone": "UTC"}).status_code == 403
    assert not PowerPolicy.objects.filter(name="x").exists()


def test_a_token_secret_is_shown_once_on_the_page_and_never_in_a_cookie(tenant):
    client = tenant.clients[ADMIN]
    response = client.post("/portal/api-tokens/", {"name": "billing", "scopes": ["read"]})
    token = ApiToken.objects.get(customer=tenant.customer, name="billing")
    page = response.content.decode()
    assert 'id="token-secret"' in page and response["Cache-Control"] == "no-store"
    secret = page.split('<code class="fs-6 user-select-all">')[1].split("</code>")[0]
    assert secret.startswith(token.key_id) or token.key_id in secret
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert secret not in client.get("/portal/api-tokens/").content.decode()
    client.post(f"/portal/api-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_duplicate_token_name_is_refused_next_to_the_field(tenant):
    client = tenant.clients[ADMIN]
    client.post("/portal/api-tokens/", {"name": "ci", "scopes": ["read"]})
    response = client.post("/portal/api-tokens/", {"name": "ci", "scopes": ["read"]})
    assert response.status_code == 400
    assert "There is already a token named" in response.content.decode()


@pytest.mark.slow
def test_a_new_member_sets_a_password_through_a_one_time_link(tenant):
    admin = tenant.clients[ADMIN]
    response = admin.post(
        "/portal/members/", {"username": "newbie", "email": "n@example.com", "role": OPERATOR}
    )
    page = response.content.decode()
    link = page.split('<code class="user-select-all">')[1].split("</code>")[0]
    membership = CustomerMembership.objects.get(user__username="newbie")
    assert (membership.customer, membership.role) == (tenant.customer, OPERATOR)
    assert not membership.user.has_usable_password()
    path = link.replace("http://testserver", "")
    visitor = Client()
    form_page = visitor.get(path, follow=True)
    assert "Set password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else path
    done = visitor.post(
        set_url, {"new_password1": "a fine long passphrase 42", "new_password2": "a fine long passphrase 42"}
    )
    assert done.status_code == 302
    # The new password works on the portal's own sign-in page (through django-axes, as a person signs in).
    signed_in = Client().post(
        "/portal/login/", {"username": "newbie", "password": "a fine long passphrase 42"}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == "/portal/"
    again = Client().get(path, follow=True).content.decode()
    assert "has been used or has expired" in again


def test_roles_change_and_members_go_but_the_last_admin_stays(tenant):
    admin = tenant.clients[ADMIN]
    viewer = CustomerMembership.objects.get(customer=tenant.customer, role=VIEWER)
    admin.post(f"/portal/members/{viewer.pk}/role/", {"role": OPERATOR})
    viewer.refresh_from_db()
    assert viewer.role == OPERATOR
    me = CustomerMembership.objects.get(customer=tenant.customer, role=ADMIN)
    response = admin.post(f"/portal/members/{me.pk}/role/", {"role": VIEWER}, follow=True)
    assert "last administrator" in response.content.decode()
    admin.post(f"/portal/members/{viewer.pk}/remove/")
    assert not CustomerMembership.objects.filter(pk=viewer.pk).exists()
    assert not get_user_model().objects.get(pk=viewer.user_id).is_active


@pytest.mark.parametrize("role", [OPERATOR, VIEWER])
def test_only_admins_see_members_and_tokens(tenant, role):
    for url in ("/portal/members/", "/portal/api-tokens/", "/portal/existing/"):
        assert tenant.clients[role].get(url).status_code == 403


def test_the_audit_log_filters_and_exports_with_formulas_escaped(tenant):
    from tests.factories import AuditEventFactory

    AuditEventFactory(customer=tenant.customer, action="RebootWorkspaces", target_id="=HYPERLINK(1)")
    client = tenant.clients[VIEWER]
    page = client.get("/portal/audit/", {"action": "RebootWorkspaces"}).content.decode()
    assert "RebootWorkspaces" in page and "StopWorkspaces" not in page
    csv = client.get("/portal/audit.csv", {"action": "RebootWorkspaces"}).content.decode()
    assert "'=HYPERLINK(1)" in csv and len(csv.splitlines()) == 2


def test_existing_workspaces_are_listed_with_the_stack_to_deploy(tenant):
    now = datetime.now(UTC)
    UntrackedWorkspace.objects.create(
        aws_account=tenant.account,
        region="us-east-1",
        workspace_id="ws-untracked01",
        user_name="legacy",
        first_seen_at=now,
        last_seen_at=now,
    )
    client = tenant.clients[ADMIN]
    page = client.get("/portal/existing/").content.decode()
    assert "ws-untracked01" in page and "WorkSpacesCorePartnerAdoption" in page
    template = client.get(f"/portal/existing/{tenant.account.pk}/stack.yaml").content.decode()
    assert tenant.account.account_id in template
    response = client.post(
        "/portal/existing/release/", {"account": tenant.account.pk, "workspace_ids": "ws-nope"}
    )
    assert response.status_code == 302
    follow = client.get("/portal/existing/").content.decode()
    assert "ws-nope" in follow  # the refusal, in words, on the page
