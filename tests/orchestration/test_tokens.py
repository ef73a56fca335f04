"""API tokens: issued with scopes and shown once, revoked, each audited; their principal."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.models import AuditEvent
from orchestration.services.tokens import ApiTokenInvalid, api_token_issue, api_token_revoke
from tenants.access import Capability, principal_for_token
from tenants.choices import TokenScope
from tenants.models import ApiToken, StaffCustomerLimit
from tests.factories import CustomerFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_customer_token_is_issued_once_audited_and_sees_only_its_customer():
    customer, other = CustomerFactory(), CustomerFactory()
    admin = UserFactory()
    token, plaintext = api_token_issue(
        actor=Actor.for_user(admin), name="gateway", scopes=[TokenScope.READ], customer=customer
    )

    assert plaintext.startswith(f"wsc_{token.key_id}_") and token.secret_hash not in plaintext
    assert token.matches(plaintext.split("_", 2)[2])
    assert token.created_by_id == admin.pk
    event = AuditEvent.objects.get(action="ApiTokenIssue")
    assert (event.customer_id, event.target_id, event.actor_label) == (
        customer.pk,
        token.key_id,
        admin.username,
    )
    principal = principal_for_token(token)
    assert principal.sees(customer.pk) and not principal.sees(other.pk)
    assert principal.capabilities == {Capability.VIEW, Capability.AUDIT}


def test_bad_requests_are_refused_with_what_to_fix_and_nothing_made():
    customer = CustomerFactory()
    api_token_issue(actor=Actor.system("test"), name="gateway", scopes=["read"], customer=customer)
    with pytest.raises(ApiTokenInvalid) as refused:
        api_token_issue(
            actor=Actor.system("test"),
            name="gateway",
            scopes=["read", "root"],
            customer=customer,
            expires_at=timezone.now() - timedelta(days=1),
        )
    assert set(refused.value.errors) == {"name", "scopes", "expires_at"}
    with pytest.raises(ApiTokenInvalid) as refused:
        api_token_issue(actor=Actor.system("test"), name="x", scopes=["read"])
    assert "customer" in refused.value.errors
    with pytest.raises(ApiTokenInvalid):
        api_token_issue(actor=Actor.system("test"), name="x", scopes=["read"], staff_user=UserFactory())
    assert ApiToken.objects.count() == 1


def test_a_staff_token_is_capped_by_its_scopes_and_its_persons_limits():
    acme, globex = CustomerFactory(), CustomerFactory()
    person = UserFactory(is_staff=True)
    StaffCustomerLimit.objects.create(user=person).customers.set([acme])
    person.user_permissions.add(*_permissions("view_desktop", "power_desktop", "provision_desktop"))
    token, _ = api_token_issue(
        actor=Actor.for_user(person), name="ci", scopes=[TokenScope.OPERATE], staff_user=person
    )

    principal = principal_for_token(ApiToken.objects.get(pk=token.pk))

    assert principal.is_staff and principal.sees(acme.pk) and not principal.sees(globex.pk)
    # operate allows power and repair; the person may power and provision: only power is left.
    assert principal.capabilities == {Capability.VIEW, Capability.POWER}
    root_token, _ = api_token_issue(
        actor=Actor.system("t"), name="all", scopes=[TokenScope.ADMIN], staff_user=StaffUserFactory()
    )
    assert principal_for_token(root_token).customer_ids is None


def test_revoke_is_once_and_audited_and_usable_says_why_not():
    token, _ = api_token_issue(
        actor=Actor.system("t"), name="g", scopes=["read"], customer=CustomerFactory(), expires_at=None
    )
    now = timezone.now()
    assert token.is_usable(now)
    assert api_token_revoke(actor=Actor.system("t"), token=token)
    assert not api_token_revoke(actor=Actor.system("t"), token=token)
    token.refresh_from_db()
    assert not token.is_usable(now)
    assert AuditEvent.objects.filter(action="ApiTokenRevoke").count() == 1
    expiring, _ = api_token_issue(
        actor=Actor.system("t"),
        name="e",
        scopes=["read"],
        customer=token.customer,
        expires_at=now + timedelta(hours=1),
    )
    assert expiring.is_usable(now) and not expiring.is_usable(now + timedelta(hours=2))


def _permissions(*codenames):
    return Permission.objects.filter(content_type__app_label="tenants", codename__in=codenames)
