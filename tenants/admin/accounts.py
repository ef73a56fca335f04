"""Admin for customer AWS account connections: the External ID to copy, the secret write-only."""

from django.contrib import admin
from django.utils.html import format_html

from tenants.forms import AwsAccountAdminForm
from tenants.models import AwsAccount


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
