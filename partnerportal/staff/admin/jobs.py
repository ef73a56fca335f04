"""Admin for jobs and their items (read-only, progress from items) and the runs of schedules."""

from django.contrib import admin

from orchestration.models import Job, JobItem, ScheduleRun
from orchestration.selectors import job_progress

from .base import ReadOnlyAdmin


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


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ReadOnlyAdmin):
    """One row per scheduled run and window: what ran, whether it finished, and what it reported."""

    list_display = ["schedule", "window_start", "status", "step", "claimed_by", "finished_at"]
    list_filter = ["status", "schedule"]
    search_fields = ["schedule", "claimed_by"]
    date_hierarchy = "window_start"
