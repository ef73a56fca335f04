"""API tokens: issued (the secret shown once) and revoked, each audited."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.choices import AuditOutcome
from orchestration.services.audit import audit_event_for_actor, audit_record_many
from orchestration.services.errors import RequestInvalid
from tenants.choices import TokenScope
from tenants.models import ApiToken, Customer

MAX_TOKEN_NAME = 100


class ApiTokenInvalid(RequestInvalid):
    """A token request that cannot be granted as it stands."""


def api_token_issue(
    *,
    actor: Actor,
    name: str,
    scopes: list[str],
    customer: Customer | None = None,
    staff_user=None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Make a customer's or a staff member's token; returns the row and the plaintext (shown once, never kept).

    Exactly one owner; at least one known scope; a unique name per owner; an expiry in the future.
    """
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name or len(name) > MAX_TOKEN_NAME:
        errors.setdefault("name", []).append(f"Give the token a name of 1 to {MAX_TOKEN_NAME} characters.")
    if (customer is None) == (staff_user is None):
        errors.setdefault("customer", []).append("A token belongs to one customer or to one staff member.")
    if staff_user is not None and not staff_user.is_staff:
        errors.setdefault("staff_user", []).append(f"{staff_user} is not partner staff.")
    unknown = sorted(set(scopes) - set(TokenScope.values))
    if not scopes or unknown:
        errors.setdefault("scopes", []).append(
            f"Choose scopes among {', '.join(TokenScope.values)}"
            + (f"; unknown: {', '.join(unknown)}." if unknown else ".")
        )
    if expires_at is not None and expires_at <= timezone.now():
        errors.setdefault("expires_at", []).append("The expiry must be in the future.")
    owner = (
        ApiToken.objects.filter(customer=customer)
        if customer
        else ApiToken.objects.filter(staff_user=staff_user)
    )
    if name and owner.filter(name=name).exists():
        errors.setdefault("name", []).append(f"There is already a token named {name!r}.")
    if errors:
        raise ApiTokenInvalid(errors)
    with transaction.atomic():
        token, plaintext = ApiToken.issue(
            name=name,
            customer=customer,
            staff_user=staff_user,
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
            created_by_id=actor.user_id,
        )
        audit_record_many(
            [
                audit_event_for_actor(
                    actor,
                    customer,
                    action="ApiTokenIssue",
                    outcome=AuditOutcome.SUCCEEDED,
                    target_type="api_token",
                    target_id=token.key_id,
                    details={"name": name, "scopes": token.scopes, "staff_user": str(staff_user or "")},
                )
            ]
        )
    return token, plaintext


def api_token_revoke(*, actor: Actor, token: ApiToken) -> bool:
    """Revoke a token at once; False (and nothing audited) if it was revoked already."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            audit_record_many(
                [
                    audit_event_for_actor(
                        actor,
                        token.customer,
                        action="ApiTokenRevoke",
                        outcome=AuditOutcome.SUCCEEDED,
                        target_type="api_token",
                        target_id=token.key_id,
                        details={"name": token.name},
                    )
                ]
            )
    return bool(revoked)
