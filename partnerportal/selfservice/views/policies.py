"""Power policies: the customer default and others, business hours as a weekly grid; a desktop's override."""

import zoneinfo

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from orchestration.actors import Actor
from orchestration.services.policies import desktop_power_policy_set, power_policy_save
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.forms import bootstrap_widgets
from partnerportal.selfservice.schedule import DAYS, HOURS, cell_name, grid_from_schedule, schedule_from_grid
from partnerportal.selfservice.views.common import not_found, page
from tenants.access import Capability
from tenants.models import Desktop, PowerPolicy
from tenants.selectors import desktop_get

TIMEZONES = sorted(zoneinfo.available_timezones())


class PolicyForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    is_default = forms.BooleanField(
        label="The customer default (desktops without their own policy)", required=False
    )
    stop_after_disconnect_minutes = forms.IntegerField(
        label="Stop this many minutes after the user disconnects", required=False, min_value=1
    )
    stop_after_no_session_minutes = forms.IntegerField(
        label="Stop this many minutes after a start with nobody signing in", required=False, min_value=1
    )
    timezone = forms.ChoiceField(label="Time zone of the business hours", choices=[(z, z) for z in TIMEZONES])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


def _policies(request: PortalRequest):
    return request.principal.scope(PowerPolicy.objects.all()).order_by("-is_default", "name")


def _grid(cells: set[tuple[int, int]]) -> list[tuple[str, list[tuple[str, bool, str]]]]:
    return [
        (label, [(cell_name(day, hour), (day, hour) in cells, f"{label} {hour:02d}:00") for hour in HOURS])
        for day, label in enumerate(DAYS)
    ]


def _edit(request: PortalRequest, policy: PowerPolicy) -> HttpResponse:
    if request.method == "POST":
        form = PolicyForm(request.POST)
        cells = {(day, hour) for day in range(7) for hour in HOURS if request.POST.get(cell_name(day, hour))}
    else:
        form = PolicyForm(
            initial={
                "name": policy.name,
                "is_default": policy.is_default,
                "stop_after_disconnect_minutes": policy.stop_after_disconnect_minutes,
                "stop_after_no_session_minutes": policy.stop_after_no_session_minutes,
                "timezone": (policy.schedule or {}).get("timezone", "UTC"),
            }
        )
        cells = grid_from_schedule(policy.schedule)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        policy.name = data["name"]
        policy.is_default = data["is_default"]
        policy.stop_after_disconnect_minutes = data["stop_after_disconnect_minutes"]
        policy.stop_after_no_session_minutes = data["stop_after_no_session_minutes"]
        policy.schedule = schedule_from_grid(cells, data["timezone"])
        try:
            power_policy_save(actor=Actor.for_user(request.user), policy=policy)
        except ValidationError as invalid:
            for field, errors in invalid.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, f"Power policy {policy.name!r} saved.")
            return redirect("selfservice:policies")
    return page(
        request,
        "selfservice/policy_edit.html",
        {"form": form, "policy": policy, "grid": _grid(cells), "hours": [f"{h:02d}" for h in HOURS]},
        status=400 if form.errors else 200,
    )


@require_GET
@portal_view()
def policy_index(request: PortalRequest) -> HttpResponse:
    policies = list(_policies(request))
    overrides = (
        Desktop.objects.filter(power_policy__in=policies, unmanaged_at__isnull=True)
        .select_related("power_policy")
        .order_by("user_name")[:200]
    )
    return page(request, "selfservice/policies.html", {"policies": policies, "overrides": list(overrides)})


@portal_view(Capability.CONFIGURE)
def policy_new(request: PortalRequest) -> HttpResponse:
    return _edit(request, PowerPolicy(customer=request.customer))


@portal_view(Capability.CONFIGURE)
def policy_edit(request: PortalRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(_policies(request), pk=pk))


@require_POST
@portal_view(Capability.CONFIGURE)
def desktop_policy(request: PortalRequest, pk: int) -> HttpResponse:
    """A desktop's own policy, or back to the customer default (an empty choice)."""
    try:
        desktop = desktop_get(principal=request.principal, pk=pk)
    except Desktop.DoesNotExist:
        raise not_found() from None
    chosen = request.POST.get("power_policy", "")
    if chosen and not chosen.isdigit():
        raise not_found()
    policy = get_object_or_404(_policies(request), pk=chosen) if chosen else None
    desktop_power_policy_set(actor=Actor.for_user(request.user), desktop=desktop, policy=policy)
    messages.success(request, f"Power policy: {policy.name if policy else 'the customer default'}.")
    return redirect(reverse("selfservice:desktop", args=[desktop.pk]))
