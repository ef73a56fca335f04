"""What the portal's views share: rendering with the navigation, 404s for what the principal cannot see."""

from django.http import Http404, HttpResponse
from django.shortcuts import render

from partnerportal.selfservice.access import PortalRequest
from tenants.access import Capability

PAGE_SIZE = 50


def page(
    request: PortalRequest, template: str, context: dict | None = None, status: int = 200
) -> HttpResponse:
    """Render a portal page with what the navigation needs: the customer and what the role may do."""
    principal = request.principal
    return render(
        request,
        template,
        {
            "portal_customer": request.customer,
            "can": {capability.value: principal.can(capability) for capability in Capability},
            **(context or {}),
        },
        status=status,
    )


def not_found() -> Http404:
    """Another tenant's object and a missing one look the same."""
    return Http404("Not found.")


def page_number(request: PortalRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def limited_page(queryset, number: int, size: int = PAGE_SIZE) -> tuple[list, bool]:
    """One page of a lazy queryset without counting the whole of it: the rows and whether more follow."""
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    return rows[:size], len(rows) > size
