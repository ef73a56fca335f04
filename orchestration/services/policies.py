"""Power policies as customers and staff change them: saved whole (validated first) and audited; a
desktop's override set or cleared, audited."""

from django.db import transaction

from orchestration.actors import Actor
from orchestration.choices import AuditOutcome
from orchestration.services.audit import audit_event_for_actor, audit_record_many
from tenants.models import Desktop, PowerPolicy


def power_policy_save(*, actor: Actor, policy: PowerPolicy) -> PowerPolicy:
    """Validate (full_clean raises ValidationError) and save; a new default takes over from the old one."""
    policy.full_clean()
    with transaction.atomic():
        if policy.is_default:
            PowerPolicy.objects.filter(customer=policy.customer, is_default=True).exclude(
                pk=policy.pk
            ).update(is_default=False)
        creating = policy.pk is None
        policy.save()
        audit_record_many(
            [
                audit_event_for_actor(
                    actor,
                    policy.customer,
                    action="PowerPolicyCreate" if creating else "PowerPolicyChange",
                    outcome=AuditOutcome.SUCCEEDED,
                    target_type="power_policy",
                    target_id=policy.name,
                    details={
                        "is_default": policy.is_default,
                        "stop_after_disconnect_minutes": policy.stop_after_disconnect_minutes,
                        "stop_after_no_session_minutes": policy.stop_after_no_session_minutes,
                        "schedule": policy.schedule,
                    },
                )
            ]
        )
    return policy


def desktop_power_policy_set(*, actor: Actor, desktop: Desktop, policy: PowerPolicy | None) -> None:
    """Point a desktop at a policy of its own customer (None: the customer default)."""
    customer = desktop.aws_account.customer
    if policy is not None and policy.customer_id != customer.pk:
        raise ValueError("A desktop's power policy belongs to its own customer.")
    with transaction.atomic():
        Desktop.objects.filter(pk=desktop.pk).update(power_policy=policy)
        audit_record_many(
            [
                audit_event_for_actor(
                    actor,
                    customer,
                    action="DesktopPowerPolicySet",
                    outcome=AuditOutcome.SUCCEEDED,
                    target_type="desktop",
                    target_id=desktop.workspace_id or f"desktop {desktop.pk}",
                    details={"power_policy": policy.name if policy else "(customer default)"},
                )
            ]
        )
