"""Admin for pools: their settings (the capacity schedule as rows of day boxes and times, never JSON) and,
on each pool's page, its counts, the week as a grid and the last 24 hours as a chart."""

import zoneinfo

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from orchestration.actors import Actor
from orchestration.services.pools import DAY_NAMES, pool_counts, pool_overview, pool_save
from tenants.models import Pool
from tenants.models.pools import parse_pool_windows

from .base import StaffAdmin

WINDOW_ROWS = 4
TIMEZONES = sorted(zoneinfo.available_timezones())
HALF_HOURS = [(f"{h:02d}:{m:02d}", f"{h:02d}:{m:02d}") for h in range(24) for m in (0, 30)] + [
    ("23:59", "24:00")
]


class PoolForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=[(z, z) for z in TIMEZONES], initial="UTC")

    class Meta:
        model = Pool
        fields = [
            "customer",
            "aws_account",
            "region",
            "directory",
            "bundle",
            "name",
            "running_mode",
            "min_size",
            "max_size",
            "buffer",
            "time_zone",
            "persistent",
            "release_delay_minutes",
            "power_policy",
            "max_unavailable_percent",
            "enabled",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        windows = list(self.instance.schedule or []) if self.instance.pk else []
        for row in range(WINDOW_ROWS):
            window = windows[row] if row < len(windows) else None
            self.fields[f"w{row}_days"] = forms.MultipleChoiceField(
                label=f"Window {row + 1}: days",
                choices=list(enumerate(DAY_NAMES)),
                widget=forms.CheckboxSelectMultiple,
                required=False,
                initial=[str(d) for d in window["days"]] if window else [],
            )
            self.fields[f"w{row}_start"] = forms.ChoiceField(
                label="from", choices=HALF_HOURS, initial=window["start"] if window else "08:00"
            )
            self.fields[f"w{row}_end"] = forms.ChoiceField(
                label="to", choices=HALF_HOURS, initial=window["end"] if window else "18:00"
            )
            self.fields[f"w{row}_min"] = forms.IntegerField(
                label="min", min_value=0, initial=window["min"] if window else 0
            )
            self.fields[f"w{row}_buffer"] = forms.IntegerField(
                label="buffer", min_value=0, initial=window["buffer"] if window else 0
            )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        windows = []
        for row in range(WINDOW_ROWS):
            days = cleaned.get(f"w{row}_days") or []
            if not days:
                continue  # an unticked row is no window
            windows.append(
                {
                    "days": sorted(int(d) for d in days),
                    "start": cleaned.get(f"w{row}_start", ""),
                    "end": cleaned.get(f"w{row}_end", ""),
                    "min": cleaned.get(f"w{row}_min"),
                    "buffer": cleaned.get(f"w{row}_buffer"),
                }
            )
        try:
            parse_pool_windows(windows)
        except ValidationError as error:
            self.add_error(None, error)
        self.instance.schedule = windows
        return cleaned


def window_fieldsets() -> list:
    return [
        (
            f"Capacity window {row + 1} (leave the days empty for none)",
            {
                "fields": [
                    (f"w{row}_days",),
                    (f"w{row}_start", f"w{row}_end", f"w{row}_min", f"w{row}_buffer"),
                ]
            },
        )
        for row in range(WINDOW_ROWS)
    ]


@admin.register(Pool)
class PoolAdmin(StaffAdmin):
    form = PoolForm
    list_display = ["name", "customer", "region", "min_size", "max_size", "buffer", "counts", "enabled"]
    list_filter = ["enabled", "persistent", "customer"]
    list_select_related = ["customer"]
    search_fields = ["name", "customer__name"]
    readonly_fields = ["overview"]

    class Media:
        css = {"all": ["selfservice/pools.css"]}
        js = ["selfservice/vendor/chart.umd.min.js", "selfservice/pools.js"]

    def get_fieldsets(self, request: HttpRequest, obj=None):
        settings = (
            None,
            {
                "fields": [
                    "customer",
                    "aws_account",
                    ("region", "directory", "bundle"),
                    "name",
                    "running_mode",
                    ("min_size", "max_size", "buffer"),
                    "time_zone",
                    ("persistent", "release_delay_minutes"),
                    "power_policy",
                    "max_unavailable_percent",
                    "enabled",
                ]
            },
        )
        overview = [("Now, this week and the last 24 hours", {"fields": ["overview"]})] if obj else []
        return [*overview, settings, *window_fieldsets()]

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        # The window rows are the form's own fields, not the model's: the form names the model fields.
        kwargs["fields"] = PoolForm.Meta.fields
        return super().get_form(request, obj, change, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A pool holds desktops and history: disable it rather than delete it.
        return False

    @admin.display(description="desktops (assigned / warm)")
    def counts(self, pool: Pool) -> str:
        counts = pool_counts(pool)
        return f"{counts.size} ({counts.assigned} / {counts.warm})"

    @admin.display(description="Overview")
    def overview(self, pool: Pool) -> SafeString:
        if pool.pk is None:
            return SafeString("")
        return SafeString(
            render_to_string(
                "selfservice/pools/overview_part.html",
                {"overview": pool_overview(pool), "hours": range(24), "chart_id": f"pool-chart-{pool.pk}"},
            )
        )

    def save_model(self, request: HttpRequest, obj: Pool, form, change: bool) -> None:
        # The form checked every rule the service checks again; the service audits the change.
        pool_save(actor=Actor.for_user(request.user), pool=obj)
