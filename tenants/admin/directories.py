"""Admin for WorkSpaces directories."""

from django.contrib import admin

from tenants.models import Directory

from .base import AwsResourceAdmin


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
