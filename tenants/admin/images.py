"""Admin for WorkSpaces images."""

from django.contrib import admin

from tenants.models import Image

from .base import AwsResourceAdmin


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
