"""Forgetting desktops AWS no longer knows: soft, audited, the history kept.

A desktop row is never deleted: its state history is what usage billing is built from, and AWS is the
truth about the WorkSpace. When AWS no longer lists a WorkSpace (terminated outside this control plane,
its account closed) staff may forget the row: it is marked unmanaged (FORGOTTEN) and stays, with its
history, for billing and audit. A WorkSpace AWS still lists is refused: terminate it through AWS.
"""

from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws import workspaces as aws_workspaces
from orchestration.aws.errors import AwsError
from orchestration.choices import AuditOutcome
from orchestration.services.accounts import account_access
from orchestration.services.audit import audit_event_for_actor, audit_record_many
from orchestration.services.errors import RequestInvalid
from tenants.choices import UnmanagedReason
from tenants.models import Desktop

ACTION = "ForgetDesktop"


class DesktopForgetInvalid(RequestInvalid):
    """Nothing was forgotten; `errors["desktops"]` names each desktop that cannot be and why."""


def _target(desktop: Desktop) -> str:
    return desktop.workspace_id or f"desktop:{desktop.pk}"


def _problems(desktops: Sequence[Desktop]) -> dict[int, str]:
    """Why each desktop that cannot be forgotten cannot be: one DescribeWorkspaces per account and region
    (25 ids a call) for the rows that have a WorkSpace id."""
    problems: dict[int, str] = {}
    places: dict[tuple[int, str], list[Desktop]] = defaultdict(list)
    for desktop in desktops:
        if desktop.unmanaged_at is not None:
            problems[desktop.pk] = f"{_target(desktop)} is already unmanaged ({desktop.unmanaged_reason})."
        elif not desktop.workspace_id and not desktop.error_code:
            # No id and no failure recorded: its CreateWorkspaces may still be under way.
            problems[desktop.pk] = (
                f"{_target(desktop)} may still be being created; wait for its job to finish."
            )
        elif desktop.workspace_id:
            places[(desktop.aws_account_id, desktop.region)].append(desktop)
    for (_, region), group in places.items():
        access = account_access(group[0].aws_account, region=region)
        try:
            listed = {
                w.workspace_id
                for w in aws_workspaces.workspaces_describe(access, [d.workspace_id or "" for d in group])
            }
        except AwsError as error:
            for desktop in group:
                problems[desktop.pk] = f"Could not ask AWS about {desktop.workspace_id}: {error}"
            continue
        for desktop in group:
            if desktop.workspace_id in listed:
                problems[desktop.pk] = (
                    f"AWS still lists {desktop.workspace_id}: terminate it (through AWS) rather than forget it."
                )
    return problems


def desktop_forget(*, actor: Actor, desktops: Sequence[Desktop]) -> list[Desktop]:
    """Mark desktops AWS no longer lists as unmanaged (FORGOTTEN), each audited, all or none.

    Refused whole (each refusal audited) when any of them AWS still lists, is already unmanaged, or may
    still be being created. Returns the forgotten rows.
    """
    chosen = list(
        Desktop.objects.select_related("aws_account__customer").filter(pk__in=[d.pk for d in desktops])
    )
    if not chosen:
        raise DesktopForgetInvalid({"desktops": ["Choose at least one desktop."]})
    problems = _problems(chosen)

    def event(desktop: Desktop, outcome: str, **fields):
        return audit_event_for_actor(
            actor,
            desktop.aws_account.customer,
            action=ACTION,
            outcome=outcome,
            aws_account_id=desktop.aws_account.account_id,
            region=desktop.region,
            target_type="desktop",
            target_id=_target(desktop),
            **fields,
        )

    if problems:
        audit_record_many(
            [
                event(d, AuditOutcome.REFUSED, error_code="Invalid", error_message=problems[d.pk])
                for d in chosen
                if d.pk in problems
            ]
        )
        raise DesktopForgetInvalid({"desktops": list(problems.values())})
    now = timezone.now()
    with transaction.atomic():
        Desktop.objects.filter(pk__in=[d.pk for d in chosen]).update(
            unmanaged_at=now, unmanaged_reason=UnmanagedReason.FORGOTTEN, updated_at=now
        )
        audit_record_many(
            [
                event(d, AuditOutcome.SUCCEEDED, details={"state": d.state, "reason": "not listed by AWS"})
                for d in chosen
            ]
        )
    for desktop in chosen:
        desktop.unmanaged_at, desktop.unmanaged_reason = now, UnmanagedReason.FORGOTTEN
    return chosen
