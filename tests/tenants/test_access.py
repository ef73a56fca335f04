"""tenants.access: one answer to who sees which customers and may do what."""

import pytest
from django.contrib.auth.models import Group, Permission

from tenants.access import (
    NOBODY,
    Capability,
    capabilities_for_scopes,
    principal_for_user,
)
from tenants.choices import MembershipRole, TokenScope
from tenants.models import Customer, Desktop, StaffCustomerLimit
from tests.factories import (
    AwsAccountFactory,
    CustomerFactory,
    CustomerMembershipFactory,
    DesktopFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_customer_roles_grant_what_the_role_says():
    viewer = principal_for_user(CustomerMembershipFactory(role=MembershipRole.VIEWER).user)
    operator = principal_for_user(CustomerMembershipFactory(role=MembershipRole.OPERATOR).user)
    admin = principal_for_user(CustomerMembershipFactory(role=MembershipRole.ADMIN).user)

    assert viewer.can(Capability.VIEW) and not viewer.can(Capability.POWER)
    assert [a for a in ("start", "stop", "reboot", "rebuild", "restore") if not operator.can_do(a)] == []
    assert not operator.can_do("terminate") and not operator.can_do("create")
    assert not operator.can(Capability.ADMINISTER)
    assert admin.can_do("terminate") and admin.can(Capability.ADMINISTER)
    assert not admin.can_do("no-such-action")


def test_a_customer_user_sees_only_their_customer():
    membership = CustomerMembershipFactory()
    other = CustomerFactory()
    mine = DesktopFactory(aws_account=AwsAccountFactory(customer=membership.customer))
    DesktopFactory(aws_account=AwsAccountFactory(customer=other))

    principal = principal_for_user(membership.user)

    assert principal.sees(membership.customer.pk) and not principal.sees(other.pk)
    assert list(principal.customers()) == [membership.customer]
    assert list(principal.scope(Desktop.objects.all(), "aws_account__customer_id")) == [mine]


def test_no_membership_or_an_inactive_customer_is_nobody():
    assert principal_for_user(UserFactory()) is NOBODY
    membership = CustomerMembershipFactory()
    Customer.objects.filter(pk=membership.customer.pk).update(is_active=False)
    membership.user.refresh_from_db()
    assert principal_for_user(membership.user) is NOBODY
    assert list(NOBODY.scope(Customer.objects.all(), "pk")) == []


def test_staff_capabilities_come_from_their_roles_permissions():
    helpdesk = UserFactory(is_staff=True)
    group = Group.objects.create(name="Help desk (test)")
    group.permissions.set(
        Permission.objects.filter(
            codename__in=["view_desktop", "power_desktop"], content_type__app_label="tenants"
        )
    )
    helpdesk.groups.add(group)

    principal = principal_for_user(helpdesk)

    assert principal.is_staff and principal.customer_ids is None
    assert principal.capabilities == {Capability.VIEW, Capability.POWER}
    assert principal.can_do("stop") and not principal.can_do("rebuild")


def test_a_limited_staff_user_sees_only_their_customers_and_a_superuser_sees_all():
    acme, globex = CustomerFactory(), CustomerFactory()
    manager = UserFactory(is_staff=True)
    StaffCustomerLimit.objects.create(user=manager).customers.set([acme])
    root = UserFactory(is_staff=True, is_superuser=True)
    StaffCustomerLimit.objects.create(user=root).customers.set([acme])  # superusers are never limited

    assert list(principal_for_user(manager).customers()) == [acme]
    assert set(principal_for_user(root).customers()) == {acme, globex}
    assert principal_for_user(root).capabilities == set(Capability)


def test_token_scopes_add_up():
    assert capabilities_for_scopes([TokenScope.READ]) == {Capability.VIEW, Capability.AUDIT}
    assert Capability.POWER in capabilities_for_scopes([TokenScope.READ, TokenScope.OPERATE])
    assert capabilities_for_scopes([TokenScope.ADMIN]) == set(Capability)
    assert capabilities_for_scopes(["nonsense"]) == frozenset()
