"""Partner staff's admin for customers and their resources. AWS-owned fields are read-only."""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from tenants.forms import AwsAccountAdminForm
from tenants.models import (
    AwsAccount,
    Bundle,
    Customer,
    CustomerMembership,
    Desktop,
    Directory,
    GoldenImagePipeline,
    Image,
    PowerPolicy,
)


class CustomerMembershipInline(admin.TabularInline):
    model = CustomerMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CustomerMembershipInline]


@admin.register(CustomerMembership)
class CustomerMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "customer", "role"]
    list_filter = ["role", "customer"]
    list_select_related = ["user", "customer"]
    search_fields = ["user__username", "user__email", "customer__name"]
    autocomplete_fields = ["user", "customer"]


@admin.register(AwsAccount)
class AwsAccountAdmin(admin.ModelAdmin):
    form = AwsAccountAdminForm
    list_display = ["account_id", "name", "customer", "auth_mode", "verification_status", "default_region"]
    list_filter = ["auth_mode", "verification_status", "byop_enabled", "dedicated_tenancy_support"]
    list_select_related = ["customer"]
    search_fields = ["account_id", "name", "customer__name", "role_arn"]
    autocomplete_fields = ["customer"]
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

    @admin.display(description="External ID")
    def external_id_for_copying(self, obj: AwsAccount) -> str:
        if not obj.pk:
            return "Generated when the account is saved."
        return format_html(
            '<input type="text" readonly value="{}" size="60" onclick="this.select()" '
            'aria-label="External ID, select to copy"> <span class="help">The customer puts this in the '
            "role's trust policy (sts:ExternalId).</span>",
            obj.external_id,
        )

    @admin.display(description="Secret access key")
    def secret_status(self, obj: AwsAccount) -> str:
        return "Stored (encrypted, never displayed)" if obj.has_secret_access_key else "Not stored"


class AwsResourceAdmin(admin.ModelAdmin):
    """Shared shape: customer and account columns without a query per row."""

    list_select_related = ["aws_account__customer"]
    list_filter = ["region"]

    def has_add_permission(self, request) -> bool:
        # Mirrored AWS resources are made through audited services, never typed in by hand.
        return False

    @admin.display(description="Customer", ordering="aws_account__customer__name")
    def customer(self, obj) -> str:
        return obj.aws_account.customer.name


@admin.register(Directory)
class DirectoryAdmin(AwsResourceAdmin):
    list_display = ["directory_id", "name", "customer", "region", "state", "tenancy"]
    list_filter = ["state", "tenancy", "region"]
    search_fields = ["directory_id", "name", "alias", "aws_account__account_id"]
    readonly_fields = [
        "aws_account",
        "region",
        "directory_id",
        "directory_type",
        "state",
        "registration_code",
        "workspace_security_group_id",
        "tags",
        "last_synced_at",
        "created_at",
        "updated_at",
    ]


@admin.register(Image)
class ImageAdmin(AwsResourceAdmin):
    list_display = ["image_id", "name", "customer", "region", "state", "ingestion_process", "source_ami_id"]
    list_filter = ["state", "ingestion_process", "region"]
    search_fields = ["image_id", "name", "source_ami_id", "aws_account__account_id"]
    readonly_fields = [
        "aws_account",
        "region",
        "image_id",
        "state",
        "ingestion_process",
        "source_ami_id",
        "source_image",
        "operating_system_type",
        "owner_account_id",
        "error_code",
        "error_message",
        "tags",
        "last_synced_at",
        "created_at",
        "updated_at",
    ]


@admin.register(Bundle)
class BundleAdmin(AwsResourceAdmin):
    list_display = ["bundle_id", "name", "customer", "region", "compute_type", "image", "state"]
    list_select_related = ["aws_account__customer", "image"]
    list_filter = ["state", "compute_type", "region"]
    search_fields = ["bundle_id", "name", "aws_account__account_id"]
    readonly_fields = [
        "aws_account",
        "region",
        "bundle_id",
        "image",
        "compute_type",
        "root_volume_gib",
        "user_volume_gib",
        "state",
        "tags",
        "last_synced_at",
        "created_at",
        "updated_at",
    ]


@admin.register(Desktop)
class DesktopAdmin(AwsResourceAdmin):
    list_display = [
        "workspace_id",
        "user_name",
        "customer",
        "directory",
        "bundle",
        "state",
        "running_mode",
        "compute_type",
        "last_synced_at",
    ]
    list_select_related = ["aws_account__customer", "directory", "bundle"]
    list_filter = ["state", "running_mode", "compute_type", "region", "aws_account__customer"]

    def get_urls(self):
        create = path(
            "create/", self.admin_site.admin_view(self.create_desktops_view), name="tenants_desktop_create"
        )
        return [create, *super().get_urls()]

    def create_desktops_view(self, request: HttpRequest) -> HttpResponse:
        """The staff form for bulk creation; it calls the same service as the command and the API."""
        # Imported here: the admin is a web entry point onto orchestration, the models never are.
        from orchestration.actors import Actor
        from orchestration.forms import DesktopCreateForm
        from orchestration.services.desktops import DesktopCreateInvalid, desktop_create_bulk

        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        form = DesktopCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                job = desktop_create_bulk(actor=Actor.for_user(request.user), request=form.to_request())
            except DesktopCreateInvalid as invalid:
                for field, problems in invalid.errors.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                self.message_user(
                    request, f"Job {job.pk} is creating {job.total_items} desktops.", messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:orchestration_job_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "form": form, "title": "Create desktops"}
        return TemplateResponse(request, "admin/tenants/desktop/create_desktops.html", context)

    search_fields = ["workspace_id", "user_name", "computer_name", "aws_account__account_id"]
    show_full_result_count = False
    raw_id_fields = ["power_policy"]
    readonly_fields = [
        "aws_account",
        "region",
        "directory",
        "bundle",
        "workspace_id",
        "user_name",
        "workspace_name",
        "computer_name",
        "ip_address",
        "state",
        "state_changed_at",
        "running_mode",
        "compute_type",
        "root_volume_gib",
        "user_volume_gib",
        "error_code",
        "error_message",
        "tags",
        "last_synced_at",
        "created_at",
        "updated_at",
    ]


@admin.register(PowerPolicy)
class PowerPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "customer",
        "is_default",
        "stop_after_disconnect_minutes",
        "stop_after_no_session_minutes",
    ]
    list_filter = ["is_default", "customer"]
    list_select_related = ["customer"]
    search_fields = ["name", "customer__name"]
    autocomplete_fields = ["customer"]


@admin.register(GoldenImagePipeline)
class GoldenImagePipelineAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "customer",
        "region",
        "golden_desktop",
        "schedule_cron",
        "retention_count",
        "enabled",
    ]
    list_filter = ["enabled", "region", "customer"]
    list_select_related = ["customer", "golden_desktop"]
    search_fields = ["name", "customer__name"]
    raw_id_fields = ["golden_desktop", "aws_account"]
    filter_horizontal = ["target_bundles"]
