"""Admin for WorkSpaces bundles."""

from django.contrib import admin

from tenants.models import Bundle

from .base import AwsResourceAdmin


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
