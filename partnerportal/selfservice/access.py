"""Who may open a customer page: a signed-in customer user, with the capability the page needs.

Every view is wrapped in `portal_view`, which sets `request.principal` (tenants.access) and
`request.customer` (the one customer the user belongs to). Partner staff are sent to the staff console;
a capability the role lacks is a 403; another tenant's object is a 404 from the scoped selectors.
"""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from tenants.access import Capability, Principal, principal_for_user
from tenants.models import Customer


class PortalRequest(HttpRequest):
    principal: Principal
    customer: Customer


def portal_customer(principal: Principal) -> Customer | None:
    """The one active customer a customer user's principal sees (None for staff or nobody)."""
    if principal.is_staff or not principal.customer_ids or len(principal.customer_ids) != 1:
        return None
    return principal.customers().first()


def portal_view(capability: Capability = Capability.VIEW) -> Callable:
    """Decorate a view: customer users only, with `capability`; staff go to /admin/."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect(f"/portal/login/?next={request.path}")
            if user.is_staff:
                return redirect("admin:index")
            principal = principal_for_user(user)
            customer = portal_customer(principal)
            if customer is None:
                raise PermissionDenied("This account is not a member of an active customer.")
            if not principal.can(capability):
                raise PermissionDenied(f"Your role does not allow this ({capability}).")
            request.principal = principal  # type: ignore[attr-defined]
            request.customer = customer  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        wrapped.portal_capability = capability  # type: ignore[attr-defined]
        return wrapped

    return decorate
