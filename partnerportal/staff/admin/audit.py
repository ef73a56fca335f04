"""Admin for the audit log: read-only, as PostgreSQL keeps it append-only."""

from django.contrib import admin

from orchestration.models import AuditEvent

from .base import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "actor_label",
        "customer_label",
        "action",
        "target_type",
        "target_id",
        "outcome",
        "aws_request_id",
    ]
    list_filter = ["outcome", "actor_kind", "action"]
    search_fields = ["target_id", "aws_request_id", "actor_label", "customer_label", "action"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
