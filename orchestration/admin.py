"""Admin for jobs (read-only, progress from items) and the audit log (read-only, append-only)."""

from django.contrib import admin

from orchestration.models import AuditEvent, Job, JobItem, ScheduleRun
from orchestration.selectors import job_progress


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the machinery; staff may look, never edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "customer", "status", "total_items", "requested_by_label", "created_at"]
    list_filter = ["kind", "status", "queue", "customer"]
    list_select_related = ["customer"]
    search_fields = ["id", "customer__name", "requested_by_label"]
    readonly_fields = ["progress"]
    date_hierarchy = "created_at"

    @admin.display(description="Progress")
    def progress(self, obj: Job) -> str:
        counts = job_progress(job=obj)
        return f"{counts.succeeded} succeeded, {counts.failed} failed, {counts.in_flight} in flight of {counts.total}"


@admin.register(JobItem)
class JobItemAdmin(ReadOnlyAdmin):
    list_display = ["job", "sequence", "status", "aws_resource_id", "attempts", "error_code", "updated_at"]
    list_filter = ["status", "job__kind"]
    list_select_related = ["job"]
    search_fields = ["aws_resource_id", "aws_request_id", "job__id"]
    show_full_result_count = False


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


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ReadOnlyAdmin):
    """One row per scheduled run and window: what ran, whether it finished, and what it reported."""

    list_display = ["schedule", "window_start", "status", "step", "claimed_by", "finished_at"]
    list_filter = ["status", "schedule"]
    search_fields = ["schedule", "claimed_by"]
    date_hierarchy = "window_start"
