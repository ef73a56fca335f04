"""Admin for webhooks: endpoints registered through the service (the secret shown once, on a page) and
their deliveries, each with its attempts and answer, re-sendable."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

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
from partnerportal.staff.admin.base import StaffAdmin, add_service_errors, staff_limit, staff_scope_choices
from tenants.models import Customer


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple, help_text="What it is sent."
    )
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="HTTPS, on the public internet.")
    customer = forms.ModelChoiceField(
        Customer.objects.all(),
        required=False,
        help_text="Leave empty for the partner's own endpoint, which is told of every customer's events.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["customer", "url", "events", "description", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(StaffAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "customer_label", "event_list", "is_active", "created_at"]
    list_filter = ["is_active", "customer"]
    list_select_related = ["customer"]
    search_fields = ["url", "description", "customer__name"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # The URL and owner are fixed once made (a new URL is a new endpoint with a new secret).
        return ["customer", "url", "created_by_label", "created_at"] if obj else []

    @admin.display(description="Customer", ordering="customer__name")
    def customer_label(self, obj: WebhookEndpoint) -> str:
        return obj.customer.name if obj.customer else "Partner (every customer)"

    @admin.display(description="Events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(
            WebhookEventType(event).label for event in obj.events if event in WebhookEventType.values
        )

    def _actor(self, request: HttpRequest) -> Actor:
        return Actor.for_user(request.user)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id is None:
            return self._add(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _add(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = staff_scope_choices(request, WebhookEndpointForm(request.POST))
        if form.is_valid() and form.cleaned_data["customer"] is None and staff_limit(request) is not None:
            # A partner-wide endpoint hears every customer's events: not for staff limited to some.
            form.add_error("customer", "Choose one of your customers.")
        if form.is_valid():
            try:
                endpoint, secret = webhook_endpoint_create(
                    actor=self._actor(request),
                    customer=form.cleaned_data["customer"],
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                )
            except WebhookInvalid as invalid:
                add_service_errors(form, invalid)
            else:
                # The secret is shown on this page, once; it never travels in a cookie or a message.
                context = {**self.admin_site.each_context(request), "opts": self.opts, "endpoint": endpoint}
                context.update(title="Webhook endpoint registered", secret=secret)
                return TemplateResponse(request, "admin/orchestration/webhookendpoint/secret.html", context)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form}
        context["title"] = "Register a webhook endpoint"
        return TemplateResponse(request, "admin/orchestration/webhookendpoint/add.html", context)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change: bool) -> None:
        webhook_endpoint_update(
            actor=self._actor(request),
            endpoint=obj,
            events=form.cleaned_data["events"],
            is_active=form.cleaned_data["is_active"],
        )

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhook_endpoint_delete(actor=self._actor(request), endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for endpoint in queryset:
            webhook_endpoint_delete(actor=self._actor(request), endpoint=endpoint)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(StaffAdmin):
    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["event_key", "endpoint__url"]
    readonly_fields = [
        "endpoint",
        "event_id",
        "event_key",
        "event_type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "last_attempt_at",
        "delivered_at",
        "created_at",
    ]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # deliveries come from events, never typed in

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the record of what was sent stays

    @admin.action(description="Send the selected deliveries again", permissions=["change"])
    def resend(self, request: HttpRequest, queryset) -> None:
        actor = Actor.for_user(request.user)
        deliveries = list(queryset.select_related("endpoint"))
        for delivery in deliveries:
            webhook_delivery_resend(actor=actor, delivery=delivery)
        self.message_user(request, f"{len(deliveries)} delivery(ies) will be sent again.", messages.SUCCESS)
