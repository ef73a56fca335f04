"""Admin for jobs and their items (read-only) and the runs of schedules.

The jobs list shows each job's progress, failed items and duration without a query per row; a job's page
is the console's own: a progress bar and per-state counts that refresh by themselves (htmx, every 2 s,
until the job ends), each item's outcome in words linked to the item and its desktop, and the job's
parameters and result as tables in words.
"""

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus
from orchestration.models import Job, JobItem, ScheduleRun
from orchestration.selectors import JobProgress
from partnerportal.item_outcomes import count_label, item_outcome
from partnerportal.staff.dashboard import jobs_in_flight_panel
from partnerportal.staff.readable import duration_words, readable_rows
from tenants.access import principal_for_user

from .base import ReadOnlyAdmin

ITEMS_SHOWN = 500


def _item_count(status: str) -> Coalesce:
    """Items of the outer job in `status`, as a subquery (the (job, status) index answers it)."""
    counted = (
        JobItem.objects.filter(job=OuterRef("pk"), status=status)
        .order_by()
        .values("job")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "customer",
        "status",
        "progress_bar",
        "failed_items",
        "duration",
        "requested_by",
        "asked_at",
    ]
    list_filter = ["kind", "status", "queue", "customer"]
    list_select_related = ["customer"]
    search_fields = ["id", "customer__name", "requested_by_label"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(
                succeeded_count=_item_count(JobItemStatus.SUCCEEDED),
                failed_count=_item_count(JobItemStatus.FAILED),
                skipped_count=_item_count(JobItemStatus.SKIPPED),
            )
        )

    @admin.display(description="Progress")
    def progress_bar(self, obj: Job) -> str:
        done = obj.succeeded_count + obj.failed_count + obj.skipped_count  # type: ignore[attr-defined]
        return format_html(
            '<progress class="job-progress" value="{}" max="{}" aria-label="Job {} progress"></progress>'
            '<span class="quiet nowrap">{} of {}</span>',
            done,
            obj.total_items or 1,
            obj.pk,
            done,
            obj.total_items,
        )

    @admin.display(description="Failed", ordering="failed_count")
    def failed_items(self, obj: Job) -> int:
        return obj.failed_count  # type: ignore[attr-defined]

    @admin.display(description="Asked by", ordering="requested_by_label")
    def requested_by(self, obj: Job) -> str:
        return obj.requested_by_label

    @admin.display(description="Asked at (UTC)", ordering="created_at")
    def asked_at(self, obj: Job) -> str:
        return obj.created_at.strftime("%Y-%m-%d %H:%M")

    @admin.display(description="Duration")
    def duration(self, obj: Job) -> str:
        return duration_words(obj.started_at, obj.finished_at, timezone.now())

    def get_urls(self):
        progress = path(
            "<path:object_id>/progress/",
            self.admin_site.admin_view(self.progress_view),
            name="orchestration_job_progress",
        )
        in_flight = path(
            "in-flight/", self.admin_site.admin_view(self.in_flight_view), name="orchestration_job_in_flight"
        )
        return [progress, in_flight, *super().get_urls()]

    def in_flight_view(self, request: HttpRequest) -> HttpResponse:
        """The home page's "jobs in flight" panel alone, which it asks for every 3 s while jobs run."""
        if not self.has_view_permission(request):
            raise Http404("No such page.")
        jobs, count = jobs_in_flight_panel(principal=principal_for_user(request.user))
        return TemplateResponse(
            request,
            "admin/staff/_jobs_in_flight.html",
            {"jobs_in_flight": jobs, "jobs_in_flight_count": count},
        )

    def _job_or_404(self, request: HttpRequest, object_id: str) -> Job:
        job = self.get_object(request, object_id)
        if job is None or not self.has_view_permission(request, job):
            raise Http404("No such job.")
        return job

    def _progress_context(self, job: Job) -> dict:
        """What the page refreshes every 2 s: the bar, the per-state counts and each item's outcome."""
        counts = dict(job.items.values_list("status").annotate(n=Count("id")).order_by())
        total = sum(counts.values())
        items = job.items.select_related("desktop").order_by("sequence")[:ITEMS_SHOWN]
        return {
            "job": job,
            "progress": JobProgress.of(
                total=total,
                succeeded=counts.get(JobItemStatus.SUCCEEDED.value, 0),
                failed=counts.get(JobItemStatus.FAILED.value, 0),
                skipped=counts.get(JobItemStatus.SKIPPED.value, 0),
                with_aws=counts.get(JobItemStatus.WAITING.value, 0),
            ),
            "state_counts": [
                (count_label(status.label), counts.get(status.value, 0)) for status in JobItemStatus
            ],
            "items": [(item, item_outcome(item, with_code=True)) for item in items],
            "items_shown": ITEMS_SHOWN,
            "finished": job.status in JOB_TERMINAL_STATUSES,
            "duration": duration_words(job.started_at, job.finished_at, timezone.now()),
        }

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        job = self._job_or_404(request, object_id)
        return self.render_page(
            request,
            "admin/orchestration/job/detail.html",
            f"Job {job.pk}: {job.get_kind_display()}",
            original=job,
            params=readable_rows(job.params),
            result=readable_rows(job.result),
            **self._progress_context(job),
        )

    def progress_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        job = self._job_or_404(request, object_id)
        return TemplateResponse(
            request, "admin/orchestration/job/_progress.html", self._progress_context(job)
        )


ITEM_FIELDS = [
    "job_link",
    "sequence",
    "status",
    "desktop_link",
    "outcome",
    "aws_resource_id",
    "aws_request_id",
    "attempts",
    "retries",
    "parameters",
    "submitted_at",
    "created_at",
    "updated_at",
    "finished_at",
]


@admin.register(JobItem)
class JobItemAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "job_link", "status", "desktop_link", "outcome", "attempts", "updated_at"]
    list_filter = ["status", "job__kind"]
    list_select_related = ["job", "desktop"]
    search_fields = ["aws_resource_id", "aws_request_id", "job__id"]
    show_full_result_count = False
    fields = tuple(ITEM_FIELDS)
    readonly_fields = ITEM_FIELDS

    @admin.display(description="Job")
    def job_link(self, obj: JobItem) -> str:
        url = reverse("admin:orchestration_job_change", args=[obj.job_id])
        return format_html('<a href="{}">Job {}: {}</a>', url, obj.job_id, obj.job.get_kind_display())

    @admin.display(description="Desktop")
    def desktop_link(self, obj: JobItem) -> str:
        if obj.desktop is None:
            return obj.aws_resource_id or "—"
        url = reverse("admin:tenants_desktop_change", args=[obj.desktop_id])
        label = obj.desktop.workspace_id or obj.desktop.workspace_name
        return format_html('<a class="nowrap" href="{}">{}</a>', url, label)

    @admin.display(description="Outcome")
    def outcome(self, obj: JobItem) -> str:
        return item_outcome(obj, with_code=True)

    @admin.display(description="Parameters")
    def parameters(self, obj: JobItem) -> str:
        rows = readable_rows(obj.params)
        if not rows:
            return "—"
        lines = format_html_join(
            "", '<tr><th scope="row">{}</th><td>{}</td></tr>', ((r.label, r.value) for r in rows)
        )
        return format_html("<table>{}</table>", lines)


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ReadOnlyAdmin):
    """One row per scheduled run and window: what ran, whether it finished, and what it reported."""

    list_display = ["schedule", "window_start", "status", "step", "claimed_by", "finished_at"]
    list_filter = ["status", "schedule"]
    search_fields = ["schedule", "claimed_by"]
    date_hierarchy = "window_start"
