"""A customer's members: added with a role (no password until they set one), role changed, removed; audited.

A customer keeps at least one administrator: the last one can be neither demoted nor removed.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from orchestration.actors import Actor
from orchestration.choices import AuditOutcome
from orchestration.services.audit import audit_event_for_actor, audit_record_many
from orchestration.services.errors import RequestInvalid
from tenants.choices import MembershipRole
from tenants.models import Customer, CustomerMembership


class MemberInvalid(RequestInvalid):
    """A change to a customer's members that cannot be made as it stands."""


def _audit(actor: Actor, customer: Customer, action: str, membership: CustomerMembership, **details) -> None:
    audit_record_many(
        [
            audit_event_for_actor(
                actor,
                customer,
                action=action,
                outcome=AuditOutcome.SUCCEEDED,
                target_type="member",
                target_id=membership.user.get_username(),
                details={"role": membership.role, **details},
            )
        ]
    )


def member_add(
    *, actor: Actor, customer: Customer, username: str, email: str, role: str
) -> CustomerMembership:
    """A new user (with no usable password: they set one through a one-time link) and their membership."""
    username = username.strip()
    errors: dict[str, list[str]] = {}
    if role not in MembershipRole.values:
        errors["role"] = [f"Choose a role among {', '.join(MembershipRole.labels)}."]
    user_model = get_user_model()
    if not username:
        errors["username"] = ["Give a user name."]
    elif user_model.objects.filter(username__iexact=username).exists():
        errors["username"] = [f"The user name {username!r} is taken; choose another."]
    if errors:
        raise MemberInvalid(errors)
    with transaction.atomic():
        user = user_model(username=username, email=email.strip())
        user.set_unusable_password()
        user.save()
        membership = CustomerMembership.objects.create(user=user, customer=customer, role=role)
        _audit(actor, customer, "MemberAdd", membership)
    return membership


def _keeps_an_admin(membership: CustomerMembership) -> bool:
    return (
        CustomerMembership.objects.filter(customer_id=membership.customer_id, role=MembershipRole.ADMIN)
        .exclude(pk=membership.pk)
        .filter(user__is_active=True)
        .exists()
    )


def member_role_change(*, actor: Actor, membership: CustomerMembership, role: str) -> None:
    if role not in MembershipRole.values:
        raise MemberInvalid({"role": [f"Choose a role among {', '.join(MembershipRole.labels)}."]})
    if (
        membership.role == MembershipRole.ADMIN
        and role != MembershipRole.ADMIN
        and not _keeps_an_admin(membership)
    ):
        raise MemberInvalid({"role": ["This is the last administrator; make someone else one first."]})
    with transaction.atomic():
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        _audit(actor, membership.customer, "MemberRoleChange", membership, before=before)


def member_remove(*, actor: Actor, membership: CustomerMembership) -> None:
    """The membership goes and the user can no longer sign in (a customer user belongs to one customer)."""
    if membership.role == MembershipRole.ADMIN and not _keeps_an_admin(membership):
        raise MemberInvalid({"member": ["This is the last administrator; make someone else one first."]})
    with transaction.atomic():
        user = membership.user
        _audit(actor, membership.customer, "MemberRemove", membership)
        membership.delete()
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["is_active", "password"])
