"""Desktops: the list (search, filters, sort, paging), a desktop's own page, and actions on a selection."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from orchestration.actors import Actor
from orchestration.models import JobItem
from orchestration.selectors import AuditFilters, audit_event_list
from orchestration.services.desktop_actions import (
    ACTIONS,
    DesktopActionInvalid,
    desktop_action_bulk,
    desktop_action_summary,
)
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.forms import DesktopFilterForm
from partnerportal.selfservice.views.common import limited_page, not_found, page, page_number
from tenants.access import Capability
from tenants.choices import DesktopState
from tenants.models import Desktop, DesktopActivity, PowerPolicy
from tenants.selectors import DesktopFilters, desktop_get, desktop_list

# The actions a customer runs from these pages (the parameterless ones), in the order buttons show.
PORTAL_ACTIONS = ("start", "stop", "reboot", "rebuild", "restore", "terminate")
# States that change by themselves soon: the desktop page keeps looking while a desktop is in one.
MOVING_STATES = frozenset(
    {
        DesktopState.REQUESTED,
        DesktopState.PENDING,
        DesktopState.STARTING,
        DesktopState.STOPPING,
        DesktopState.REBOOTING,
        DesktopState.REBUILDING,
        DesktopState.RESTORING,
        DesktopState.TERMINATING,
        DesktopState.UPDATING,
    }
)
ACTION_CONSEQUENCES = {
    "start": "Each desktop is started; MANUAL desktops are billed by the hour while running.",
    "stop": "Each desktop is stopped: anyone signed in is disconnected and unsaved work may be lost.",
    "reboot": "Each desktop restarts: anyone signed in is disconnected and unsaved work may be lost.",
    "rebuild": "Each desktop's system drive is recreated from its bundle's image and its user volume from "
    "the latest snapshot: programs installed since are lost.",
    "restore": "Each desktop's drives are restored from the latest snapshot: changes since are lost.",
    "terminate": "Each desktop and its data are deleted for good. This cannot be undone.",
}


def _filters(form: DesktopFilterForm) -> DesktopFilters:
    data = form.cleaned_data if form.is_valid() else {}
    return DesktopFilters(
        search=data.get("q") or "",
        states=(data["state"],) if data.get("state") else (),
        user_name=data.get("user") or "",
        bundle_id=data.get("bundle") or "",
        directory_id=data.get("directory") or "",
        running_mode=data.get("running_mode") or "",
    )


@require_GET
@portal_view()
def desktop_index(request: PortalRequest) -> HttpResponse:
    form = DesktopFilterForm(request.GET or None, principal=request.principal)
    ordering = (form.cleaned_data.get("sort") if form.is_valid() else "") or "-created_at"
    desktops = desktop_list(principal=request.principal, filters=_filters(form), ordering=ordering)
    number = page_number(request)
    rows, more = limited_page(desktops, number)
    query = request.GET.copy()
    query.pop("page", None)
    return page(
        request,
        "selfservice/desktop_list.html",
        {
            "form": form,
            "desktops": rows,
            "page": number,
            "has_next": more,
            "query": query.urlencode(),
            "actions": [
                (name, ACTIONS[name].verb) for name in PORTAL_ACTIONS if request.principal.can_do(name)
            ],
        },
    )


def _desktop_or_404(request: PortalRequest, pk: int) -> Desktop:
    try:
        return desktop_get(principal=request.principal, pk=pk)
    except Desktop.DoesNotExist:
        raise not_found() from None


@require_GET
@portal_view()
def desktop_detail(request: PortalRequest, pk: int) -> HttpResponse:
    desktop = _desktop_or_404(request, pk)
    audit = audit_event_list(
        principal=request.principal,
        filters=AuditFilters(target_id=desktop.workspace_id or f"desktop {desktop.pk}"),
    )
    return page(
        request,
        "selfservice/desktop_detail.html",
        {
            "desktop": desktop,
            "moving": desktop.state in MOVING_STATES,
            "actions": [
                (name, ACTIONS[name].verb) for name in PORTAL_ACTIONS if request.principal.can_do(name)
            ],
            "timeline": list(desktop.state_changes.order_by("-changed_at", "-id")[:20]),
            "activity": DesktopActivity.objects.filter(desktop=desktop).first(),
            "policies": list(request.principal.scope(PowerPolicy.objects.all()).order_by("name"))
            if request.principal.can(Capability.CONFIGURE)
            else [],
            "audit": list(audit[:20]),
            "job_items": list(
                JobItem.objects.filter(desktop=desktop).select_related("job").order_by("-id")[:10]
            ),
        },
    )


@require_GET
@portal_view()
def desktop_state(request: PortalRequest, pk: int) -> HttpResponse:
    """The state badge alone, which the desktop page asks for every 2 s while the state is moving."""
    desktop = _desktop_or_404(request, pk)
    return render(
        request,
        "selfservice/partials/desktop_state.html",
        {"desktop": desktop, "moving": desktop.state in MOVING_STATES},
    )


@require_POST
@portal_view()
def desktop_action(request: PortalRequest) -> HttpResponse:
    """Act on the chosen desktops: first a page that says what will happen, then (confirmed) the job."""
    action = request.POST.get("action", "")
    if action not in PORTAL_ACTIONS:
        return HttpResponseBadRequest("Choose an action: " + ", ".join(PORTAL_ACTIONS) + ".")
    if not request.principal.can_do(action):
        raise PermissionDenied(f"Your role does not allow you to {ACTIONS[action].verb} desktops.")
    try:
        ids = sorted({int(value) for value in request.POST.getlist("desktop")})
    except ValueError:
        return HttpResponseBadRequest("Desktops are chosen by their numbers.")
    if not ids:
        messages.error(request, "Choose at least one desktop first.")
        return redirect("selfservice:desktops")
    desktops = list(
        desktop_list(principal=request.principal, filters=DesktopFilters(include_terminated=True)).filter(
            pk__in=ids
        )
    )
    if len(desktops) != len(ids):
        raise not_found()
    spec = ACTIONS[action]
    context = {
        "action": action,
        "verb": spec.verb,
        "consequence": ACTION_CONSEQUENCES[action],
        "desktops": desktops,
        "shown": desktops[:100],
        "errors": [],
    }
    if request.POST.get("confirmed") != "yes":
        return page(request, "selfservice/desktop_action_confirm.html", context)
    try:
        job = desktop_action_bulk(
            actor=Actor.for_user(request.user), customer=request.customer, desktops=desktops, action=action
        )
    except DesktopActionInvalid as invalid:
        context["errors"] = [message for messages_ in invalid.errors.values() for message in messages_]
        return page(request, "selfservice/desktop_action_confirm.html", context, status=400)
    messages.success(request, desktop_action_summary(job=job))
    if len(desktops) == 1:
        return redirect(reverse("selfservice:desktop", args=[desktops[0].pk]))
    return redirect(reverse("selfservice:job", args=[job.pk]))
