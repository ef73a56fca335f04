"""Admin for what runs on its own: power policies and golden-image pipelines."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from orchestration.services.pipelines import pipeline_run_now
from tenants.models import GoldenImagePipeline, PowerPolicy

from .base import StaffAdmin


@admin.register(PowerPolicy)
class PowerPolicyAdmin(StaffAdmin):
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
    raw_id_fields = ["golden_desktop", "aws_account"]
    filter_horizontal = ["target_bundles"]
    actions = ["run_now"]

    @admin.action(description="Run selected pipelines now", permissions=["change"])
    def run_now(self, request, queryset) -> None:
        for pipeline in queryset:
            run = pipeline_run_now(pipeline=pipeline)
            if run is None:
                self.message_user(
                    request, f"{pipeline.name}: already running for this minute.", messages.WARNING
                )
            else:
                self.message_user(
                    request,
                    f"{pipeline.name}: run {run.pk} started (step {run.step or 'start'}); "
                    "beat moves it on every minute.",
                    messages.SUCCESS,
                )
