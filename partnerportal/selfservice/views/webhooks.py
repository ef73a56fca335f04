"""Webhooks (admin): register an endpoint (the signing secret shown once, on the page), pause or resume
it, remove it; the latest deliveries with each one's outcome, sent again on request."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from orchestration.actors import Actor
from orchestration.choices import WebhookEventType
from orchestration.models import WebhookDelivery, WebhookEndpoint
from orchestration.services.webhooks import (
    WebhookInvalid,
    webhook_delivery_resend,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)
from partnerportal.form_errors import add_service_errors
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.forms import bootstrap_widgets
from partnerportal.selfservice.views.common import page
from tenants.access import Capability

RECENT_DELIVERIES = 50


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="URL", max_length=500, assume_scheme="https", help_text="HTTPS, reachable from the internet."
    )
    events = forms.MultipleChoiceField(
        label="Send", choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(label="Description (optional)", max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


def _endpoints(request: PortalRequest):
    return request.principal.scope(WebhookEndpoint.objects.all()).order_by("-created_at", "-pk")


def _deliveries(request: PortalRequest):
    return request.principal.scope(WebhookDelivery.objects.select_related("endpoint")).order_by(
        "-created_at", "-pk"
    )


@portal_view(Capability.ADMINISTER)
def webhook_index(request: PortalRequest) -> HttpResponse:
    """GET: endpoints, recent deliveries and the form. POST: a new endpoint, its secret on this page only."""
    form = WebhookForm(request.POST or None)
    secret, endpoint = "", None
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhook_endpoint_create(
                actor=Actor.for_user(request.user),
                customer=request.customer,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
            )
        except WebhookInvalid as invalid:
            add_service_errors(form, invalid)
        else:
            form = WebhookForm()
    context = {
        "form": form,
        "endpoints": list(_endpoints(request)),
        "deliveries": list(_deliveries(request)[:RECENT_DELIVERIES]),
        "event_labels": dict(WebhookEventType.choices),
        "secret": secret,
        "new_endpoint": endpoint,
    }
    response = page(request, "selfservice/webhooks.html", context, status=400 if form.errors else 200)
    if secret:
        response["Cache-Control"] = "no-store"  # the secret is on this page once, never cached or kept
    return response


@require_POST
@portal_view(Capability.ADMINISTER)
def webhook_toggle(request: PortalRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(_endpoints(request), pk=pk)
    webhook_endpoint_update(
        actor=Actor.for_user(request.user), endpoint=endpoint, is_active=not endpoint.is_active
    )
    messages.success(request, f"{endpoint.url} is {'resumed' if endpoint.is_active else 'paused'}.")
    return redirect("selfservice:webhooks")


@require_POST
@portal_view(Capability.ADMINISTER)
def webhook_remove(request: PortalRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(_endpoints(request), pk=pk)
    webhook_endpoint_delete(actor=Actor.for_user(request.user), endpoint=endpoint)
    messages.success(request, f"{endpoint.url} is removed; nothing more is sent to it.")
    return redirect("selfservice:webhooks")


@require_POST
@portal_view(Capability.ADMINISTER)
def webhook_resend(request: PortalRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(_deliveries(request), pk=pk)
    webhook_delivery_resend(actor=Actor.for_user(request.user), delivery=delivery)
    messages.success(
        request, f"The {delivery.event_type} event will be sent again to {delivery.endpoint.url}."
    )
    return redirect("selfservice:webhooks")
