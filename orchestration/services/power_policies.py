"""Power policies made, changed and deleted by a person or a script: validated by the model's own rules,
each change audited. (The idle sweep that applies them is orchestration.services.power.)"""

from django.core.exceptions import ValidationError
from django.db import transaction

from orchestration.actors import Actor
from orchestration.choices import AuditOutcome
from orchestration.services.audit import audit_event_for_actor, audit_record_many
from orchestration.services.errors import RequestInvalid
from tenants.models import Customer, PowerPolicy

POLICY_FIELDS = (
    "name",
    "is_default",
    "stop_after_disconnect_minutes",
    "stop_after_no_session_minutes",
    "schedule",
)


class PowerPolicyInvalid(RequestInvalid):
    """A power policy that breaks one of its rules (a field, or a second default)."""


def _audit(actor: Actor, policy: PowerPolicy, action: str, details: dict) -> None:
    audit_record_many(
        [
            audit_event_for_actor(
                actor,
                policy.customer,
                action=action,
                outcome=AuditOutcome.SUCCEEDED,
                target_type="power_policy",
                target_id=str(policy.pk),
                details={"name": policy.name, **details},
            )
        ]
    )


def _save(policy: PowerPolicy) -> None:
    try:
        policy.full_clean()
    except ValidationError as exc:
        raise PowerPolicyInvalid(
            {name: list(messages) for name, messages in exc.message_dict.items()}
        ) from exc
    policy.save()


def power_policy_create(*, actor: Actor, customer: Customer, fields: dict) -> PowerPolicy:
    """A new policy for the customer (`fields`: any of POLICY_FIELDS)."""
    policy = PowerPolicy(customer=customer, **{k: v for k, v in fields.items() if k in POLICY_FIELDS})
    with transaction.atomic():
        _save(policy)
        _audit(actor, policy, "PowerPolicyCreate", {k: getattr(policy, k) for k in POLICY_FIELDS})
    return policy


def power_policy_update(*, actor: Actor, policy: PowerPolicy, fields: dict) -> PowerPolicy:
    """Change the given fields of a policy (its customer never changes)."""
    changed = {k: v for k, v in fields.items() if k in POLICY_FIELDS and getattr(policy, k) != v}
    with transaction.atomic():
        PowerPolicy.objects.select_for_update().filter(pk=policy.pk).first()
        for name, value in changed.items():
            setattr(policy, name, value)
        _save(policy)
        _audit(actor, policy, "PowerPolicyUpdate", {"changed": changed})
    return policy


def power_policy_delete(*, actor: Actor, policy: PowerPolicy) -> None:
    """Delete a policy; desktops that pointed at it fall back to the customer's default."""
    with transaction.atomic():
        desktops = policy.desktops.count()
        _audit(actor, policy, "PowerPolicyDelete", {"desktops_reassigned_to_default": desktops})
        policy.delete()
