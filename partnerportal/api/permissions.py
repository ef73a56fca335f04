"""Who is asking, and whether they may: every view reads the request's Principal from here."""

from rest_framework.permissions import BasePermission

from orchestration.actors import Actor
from partnerportal.api.authentication import TokenUser
from tenants.access import NOBODY, Capability, Principal, principal_for_user


def request_principal(request) -> Principal:
    """The principal of a request: its token's, or the signed-in person's (cached on the request)."""
    cached = getattr(request, "_api_principal", None)
    if cached is not None:
        return cached
    user = request.user
    principal = (
        user.principal if isinstance(user, TokenUser) else principal_for_user(user) if user else NOBODY
    )
    request._api_principal = principal
    return principal


def request_actor(request) -> Actor:
    """Who the audit log and jobs name for this request."""
    user = request.user
    return Actor.for_token(user.token) if isinstance(user, TokenUser) else Actor.for_user(user)


class HasCapability(BasePermission):
    """The view's `required_capability` (or, per action, `capabilities[action]`); unsafe methods need more.

    A view without one needs VIEW. A principal that sees no customer is refused everything.
    """

    message = "This token or account is not allowed to do this."

    def has_permission(self, request, view) -> bool:
        principal = request_principal(request)
        if principal.customer_ids is not None and not principal.customer_ids:
            return False
        needed = needed_capability(view, request)
        return needed is None or principal.can(needed)


def needed_capability(view, request) -> Capability | None:
    by_action = getattr(view, "capabilities", {})
    action = getattr(view, "action", None) or request.method.lower()
    if action in by_action:
        return by_action[action]
    return getattr(view, "required_capability", Capability.VIEW)
