"""Issue 12 item 8 (page part): a new API token's secret is shown once on its own page, never in the
signed messages cookie; issuing and revoking are audited."""

import re

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from orchestration.models import AuditEvent
from tenants.models import ApiToken
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
ADD = reverse("admin:tenants_apitoken_add")


def test_the_secret_is_shown_once_on_the_answer_and_never_in_a_cookie(staff_client):
    customer = CustomerFactory()
    response = staff_client.post(ADD, {"customer": customer.pk, "name": "ci", "scopes": ["read", "operate"]})
    assert response.status_code == 200
    body = response.content.decode()
    token = ApiToken.objects.get(name="ci")
    secret = re.search(r'readonly value="([^"]+)"', body).group(1)
    prefix, key_id, raw = secret.split("_", 2)
    assert key_id == token.key_id and token.matches(raw)  # the real secret, whose hash alone is stored
    assert "no-store" in response["Cache-Control"]
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert secret not in staff_client.get(reverse("admin:tenants_apitoken_changelist")).content.decode()
    assert (
        secret
        not in staff_client.get(reverse("admin:tenants_apitoken_change", args=[token.pk])).content.decode()
    )
    assert token.scopes == ["operate", "read"]
    assert AuditEvent.objects.get(action="ApiTokenIssue").target_id == token.key_id


def test_a_refused_token_is_shown_on_the_form_and_nothing_is_made(staff_client):
    response = staff_client.post(ADD, {"name": "orphan", "scopes": ["read"]})
    assert response.status_code == 200
    assert "A token belongs to one customer or to one staff member." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_goes_through_the_audited_service(staff_client):
    customer = CustomerFactory()
    staff_client.post(ADD, {"customer": customer.pk, "name": "ci", "scopes": ["read"]})
    token = ApiToken.objects.get()
    staff_client.post(
        reverse("admin:tenants_apitoken_changelist"),
        {"action": "revoke", helpers.ACTION_CHECKBOX_NAME: [token.pk], "index": 0},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="ApiTokenRevoke", target_id=token.key_id).count() == 1
