"""Admin for what runs on its own: power policies and golden-image pipelines."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join

from orchestration.models import ScheduleRun
from orchestration.services.pipelines import pipeline_run_now, pipeline_schedule_name
from partnerportal.staff.forms.pipelines import GoldenImagePipelineForm
from partnerportal.staff.forms.schedules import BusinessHoursField
from tenants.models import Customer, GoldenImagePipeline, PowerPolicy

from .base import StaffAdmin, staff_scope, staff_scope_choices

__all__ = ["GoldenImagePipelineForm", "GoldenImagePipelineAdmin", "PowerPolicyAdmin"]

RUNS_SHOWN = 30


def pipeline_runs(pipeline: GoldenImagePipeline):
    """A pipeline's runs (one ScheduleRun per window); numbered from 1 in window order."""
    return ScheduleRun.objects.filter(schedule=pipeline_schedule_name(pipeline))


class PowerPolicyForm(forms.ModelForm):
    schedule = BusinessHoursField()

    class Meta:
        model = PowerPolicy
        fields = [
            "customer",
            "name",
            "is_default",
            "stop_after_disconnect_minutes",
            "stop_after_no_session_minutes",
            "schedule",
        ]


@admin.register(PowerPolicy)
class PowerPolicyAdmin(StaffAdmin):
    form = PowerPolicyForm
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
class GoldenImagePipelineAdmin(StaffAdmin):
    form = GoldenImagePipelineForm
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
    actions = ["run_now"]
    readonly_fields = ["status", "runs"]
    change_form_template = "admin/tenants/goldenimagepipeline/change_form.html"

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        """The chained form, its choices kept to the staff user's customers."""
        chained = super().get_form(request, obj, change, **kwargs)

        class ScopedPipelineForm(chained):  # type: ignore[valid-type, misc]
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, **form_kwargs)
                self.narrow(staff_scope(request, Customer.objects.filter(is_active=True)))
                staff_scope_choices(request, self)

        return ScopedPipelineForm

    def get_urls(self):
        chain = path(
            "chain/", self.admin_site.admin_view(self.chain_view), name="tenants_goldenimagepipeline_chain"
        )
        return [chain, *super().get_urls()]

    def chain_view(self, request: HttpRequest) -> HttpResponse:
        """The chained choices again for what the page holds now (htmx asks when one changes)."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        chosen: dict[str, str | list[str]] = {
            name: request.GET.get(name, "")
            for name in ("customer", "aws_account", "region", "golden_desktop")
        }
        chosen["target_bundles"] = request.GET.getlist("target_bundles")
        form = self.get_form(request)(initial=chosen)
        return TemplateResponse(request, "admin/tenants/goldenimagepipeline/_chain.html", {"form": form})

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": GoldenImagePipelineForm.Meta.fields})]
        if obj is not None:
            fieldsets.append(("Runs", {"fields": ["status", "runs"]}))
        return fieldsets

    @admin.display(description="Status")
    def status(self, obj: GoldenImagePipeline) -> str:
        last = pipeline_runs(obj).order_by("-window_start", "-pk").first()
        if last is None:
            return "Never run yet." + (
                " Enabled: beat starts it on schedule." if obj.enabled else " Disabled."
            )
        state = last.get_status_display().lower()
        step = f", at step {last.step}" if last.step and last.status == "RUNNING" else ""
        return f"Last run {state}{step} (window {last.window_start:%Y-%m-%d %H:%M} UTC)." + (
            f" {last.error}" if last.error else ""
        )

    @admin.display(description="Runs, newest first")
    def runs(self, obj: GoldenImagePipeline) -> str:
        runs = list(pipeline_runs(obj).select_related("job").order_by("window_start", "pk"))
        if not runs:
            return "—"
        rows = [
            (
                number,
                f"{run.window_start:%Y-%m-%d %H:%M}",
                run.get_status_display(),
                run.step or "—",
                f"{run.finished_at:%Y-%m-%d %H:%M}" if run.finished_at else "—",
                run.error or "",
            )
            for number, run in reversed(list(enumerate(runs, start=1)))
        ]
        body = format_html_join(
            "",
            "<tr><td>Run {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            rows[:RUNS_SHOWN],
        )
        return format_html(
            '<table class="console-table"><thead><tr><th>Run</th><th>Window (UTC)</th><th>Status</th>'
            "<th>Step</th><th>Finished (UTC)</th><th>Error</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.action(description="Run selected pipelines now", permissions=["change"])
    def run_now(self, request, queryset) -> None:
        for pipeline in queryset:
            run = pipeline_run_now(pipeline=pipeline)
            number = pipeline_runs(pipeline).filter(pk__lte=run.pk).count() if run is not None else 0
            if run is None:
                self.message_user(
                    request, f"{pipeline.name}: already running for this minute.", messages.WARNING
                )
            else:
                self.message_user(
                    request,
                    f"{pipeline.name}: run {number} started (step {run.step or 'start'}); "
                    "beat moves it on every minute.",
                    messages.SUCCESS,
                )
