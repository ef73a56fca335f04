"""Admin for what runs on its own: power policies and golden-image pipelines."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

from orchestration.models import ScheduleRun
from orchestration.services.pipelines import pipeline_run_now, pipeline_schedule_name
from partnerportal.staff.forms.schedules import BusinessHoursField
from partnerportal.staff.readable import regions_field
from tenants.models import GoldenImagePipeline, PowerPolicy

from .base import StaffAdmin

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


class GoldenImagePipelineForm(forms.ModelForm):
    class Meta:
        model = GoldenImagePipeline
        fields = [
            "customer",
            "aws_account",
            "region",
            "name",
            "golden_desktop",
            "schedule_cron",
            "copy_to_regions",
            "retention_count",
            "image_name_prefix",
            "enabled",
            "target_bundles",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["copy_to_regions"] = regions_field(
            stored=self.instance.copy_to_regions if self.instance.pk else [],
            required=False,
            label="Copy to regions",
            help_text="Each new image is copied to these regions too (none: it stays in the pipeline's region).",
        )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        # The bundles are saved after the row, past the model's clean(): check them here, as a form error.
        if cleaned.get("aws_account") is not None:
            self.instance.aws_account = cleaned["aws_account"]
        if cleaned.get("target_bundles") is not None and self.instance.aws_account_id:
            try:
                self.instance.clean_target_bundles(cleaned["target_bundles"])
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


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
    autocomplete_fields = ["aws_account", "golden_desktop"]  # searched by id or name, never typed as a row id
    filter_horizontal = ["target_bundles"]
    actions = ["run_now"]
    readonly_fields = ["status", "runs"]

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
