"""Admin for customer AWS account connections: the External ID to copy, the secret write-only.

Object tools on each account: the CloudFormation template and IAM policy to send to the customer,
verifying the connection, and the BYOL setup page. Actions: verify and reconcile a selection.
"""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from orchestration.actors import Actor
from orchestration.services.byol import ByolSetupInvalid, byol_cidr_ranges, byol_status_sync
from orchestration.services.errors import AwsError
from orchestration.services.onboarding import (
    TEMPLATE_FORMATS,
    account_cloudformation_template,
    account_permissions_policy,
    account_trust_policy,
    account_verify,
)
from orchestration.services.reconcile import ReconcileInvalid, reconcile_start
from partnerportal.staff.forms.accounts import AwsAccountAdminForm, ByolSetupForm
from tenants.models import AwsAccount

from .base import StaffAdmin, job_message
from .onboarding import OnboardingWizardViews, byol_setup_submit

DEFAULT_CIDR_CONSTRAINT = "10.0.0.0/8"


@admin.register(AwsAccount)
class AwsAccountAdmin(OnboardingWizardViews, StaffAdmin):
    form = AwsAccountAdminForm

    list_display = ["account_id", "name", "customer", "auth_mode", "verification_status", "default_region"]
    list_filter = ["auth_mode", "verification_status", "byop_enabled", "dedicated_tenancy_support"]
    list_select_related = ["customer"]
    search_fields = ["account_id", "name", "customer__name", "role_arn"]
    autocomplete_fields = ["customer"]
    actions = ["verify_connections", "reconcile_now"]
    readonly_fields = [
        "external_id_for_copying",
        "secret_status",
        "verification_status",
        "verification_message",
        "verified_at",
        "dedicated_tenancy_support",
        "dedicated_tenancy_management_cidr_range",
        "dedicated_tenancy_modification_state",
        "last_synced_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["customer", "name", "account_id", "default_region", "regions", "byop_enabled"]}),
        (
            "Connection",
            {
                "fields": [
                    "auth_mode",
                    "role_arn",
                    "external_id_for_copying",
                    "access_key_id",
                    "new_secret_access_key",
                    "secret_status",
                ]
            },
        ),
        ("Verification", {"fields": ["verification_status", "verification_message", "verified_at"]}),
        (
            "BYOL (read from AWS)",
            {
                "fields": [
                    "dedicated_tenancy_support",
                    "dedicated_tenancy_management_cidr_range",
                    "dedicated_tenancy_modification_state",
                    "last_synced_at",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Its desktops, images and audit trail hang on it; an account is disconnected, never deleted.
        return False

    @admin.display(description="External ID")
    def external_id_for_copying(self, obj: AwsAccount) -> str:
        if not obj.pk:
            return "Generated when the account is saved."
        return format_html(
            '<input type="text" readonly value="{}" size="60" '
            'aria-label="External ID, select to copy"> <span class="help">The customer puts this in the '
            "role's trust policy (sts:ExternalId).</span>",
            obj.external_id,
        )

    @admin.display(description="Secret access key")
    def secret_status(self, obj: AwsAccount) -> str:
        return "Stored (encrypted, never displayed)" if obj.has_secret_access_key else "Not stored"

    # --- views -------------------------------------------------------------------------------------------
    def get_urls(self):
        def view(func, suffix: str):
            return path(
                f"<int:pk>/{suffix}/", self.admin_site.admin_view(func), name=f"tenants_awsaccount_{suffix}"
            )

        return [
            *self.onboarding_urls(),
            view(self.template_view, "template"),
            view(self.policy_view, "policy"),
            view(self.verify_view, "verify"),
            view(self.byol_view, "byol"),
            *super().get_urls(),
        ]

    def template_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Download the CloudFormation template (YAML, or JSON with ?format=json) to send to the customer."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        account = get_object_or_404(self.get_queryset(request).select_related("customer"), pk=pk)
        fmt = request.GET.get("format", "yaml")
        if fmt not in TEMPLATE_FORMATS:
            return HttpResponse(f"format is one of {', '.join(TEMPLATE_FORMATS)}", status=400)
        body = account_cloudformation_template(aws_account=account, fmt=fmt)
        response = HttpResponse(
            body, content_type="application/json" if fmt == "json" else "application/yaml"
        )
        filename = f"workspaces-core-partner-role-{account.account_id}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def policy_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The role's permissions policy as IAM JSON (?document=trust for its trust policy)."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        account = get_object_or_404(self.get_queryset(request).select_related("customer"), pk=pk)
        document = request.GET.get("document", "permissions")
        if document not in ("permissions", "trust"):
            return HttpResponse("document is permissions or trust", status=400)
        policy = (
            account_trust_policy(aws_account=account)
            if document == "trust"
            else account_permissions_policy(aws_account=account)
        )
        response = JsonResponse(policy, json_dumps_params={"indent": 2})
        filename = f"workspaces-core-partner-{document}-policy-{account.account_id}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def verify_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST only: it calls AWS and records the outcome, so it is never a plain link."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        account = get_object_or_404(self.get_queryset(request).select_related("customer"), pk=pk)
        self._verify(request, account)
        return HttpResponseRedirect(reverse("admin:tenants_awsaccount_change", args=[account.pk]))

    def _verify(self, request: HttpRequest, account: AwsAccount) -> None:
        result = account_verify(actor=Actor.for_user(request.user), aws_account=account)
        level = messages.SUCCESS if result.ok else messages.ERROR
        self.message_user(request, f"{account.account_id}: {result.status}. {result.message}", level)

    def byol_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """BYOL setup: what AWS reports, the /16s it offers, and the confirmed choice that starts the job."""
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        account = get_object_or_404(self.get_queryset(request).select_related("customer"), pk=pk)
        source = request.POST if request.method == "POST" else request.GET
        constraint = source.get("constraint", DEFAULT_CIDR_CONSTRAINT).strip() or DEFAULT_CIDR_CONSTRAINT
        token = source.get("token", "")
        form = ByolSetupForm(request.POST if request.method == "POST" else None)
        job = byol_setup_submit(request, account, form)
        if job is not None:
            self.message_user(
                request,
                job_message(
                    job, "is enabling BYOL with management CIDR {}.", job.params["management_cidr_range"]
                ),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:orchestration_job_change", args=[job.pk]))

        context = {
            **self.admin_site.each_context(request),
            "title": f"BYOL setup for {account}",
            "opts": self.model._meta,
            "original": account,
            "form": form,
            "constraint": constraint,
            "problem": "",
            "status": None,
            "page": None,
        }
        try:
            context["status"] = byol_status_sync(aws_account=account)
            if context["status"].blocking is None:
                context["page"] = byol_cidr_ranges(
                    aws_account=account, constraint=constraint, next_token=token
                )
        except ByolSetupInvalid as invalid:
            context["problem"] = " ".join(p for problems in invalid.errors.values() for p in problems)
        except AwsError as error:
            context["problem"] = f"AWS answered {error.code}: {error.message}"
        return TemplateResponse(request, "admin/tenants/awsaccount/byol_setup.html", context)

    # --- actions -----------------------------------------------------------------------------------------
    @admin.action(description="Verify connection", permissions=["change"])
    def verify_connections(self, request: HttpRequest, queryset) -> None:
        for account in queryset.select_related("customer"):
            self._verify(request, account)

    @admin.action(description="Reconcile now", permissions=["change"])
    def reconcile_now(self, request: HttpRequest, queryset) -> None:
        actor = Actor.for_user(request.user)
        for account in queryset.select_related("customer"):
            try:
                job = reconcile_start(actor=actor, aws_account=account, regions=None)
            except ReconcileInvalid as invalid:
                self.message_user(request, f"{account.account_id}: {invalid}", messages.ERROR)
                continue
            url = reverse("admin:orchestration_job_change", args=[job.pk])
            self.message_user(
                request,
                format_html(
                    '{}: reconciling with AWS in <a href="{}">job {}</a>.', account.account_id, url, job.pk
                ),
                messages.SUCCESS,
            )
