"""A power policy's business hours as a weekly grid of hours to tick and a time zone to choose, kept as
the model's JSON (the customer pages' grid, `partnerportal.selfservice.schedule`, does the conversion)."""

import zoneinfo

from django import forms

from partnerportal.selfservice.schedule import DAYS, HOURS, cell_name, grid_from_schedule, schedule_from_grid

TIMEZONES = sorted(zoneinfo.available_timezones())


class WeeklyGridWidget(forms.Widget):
    template_name = "admin/staff/widgets/weekly_grid.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        schedule = value if isinstance(value, dict) else {}
        cells = grid_from_schedule(schedule)
        context["grid"] = [
            (
                day,
                [
                    (f"{name}-{cell_name(d, hour)}", (d, hour) in cells, f"{day} {hour:02d}:00")
                    for hour in HOURS
                ],
            )
            for d, day in enumerate(DAYS)
        ]
        context["hours"] = [f"{hour:02d}" for hour in HOURS]
        context["timezone_name"] = f"{name}-timezone"
        context["timezones"] = TIMEZONES
        context["timezone"] = schedule.get("timezone", "UTC")
        return context

    def value_from_datadict(self, data, files, name):
        cells = {(d, hour) for d in range(7) for hour in HOURS if data.get(f"{name}-{cell_name(d, hour)}")}
        return schedule_from_grid(cells, data.get(f"{name}-timezone") or "UTC")

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-timezone" not in data


class BusinessHoursField(forms.Field):
    """The schedule dict; the model's validator checks it as before."""

    widget = WeeklyGridWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Business hours")
        kwargs.setdefault(
            "help_text",
            "Desktops are not stopped for idleness in the ticked hours (none ticked: no business hours).",
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value and value.get("timezone") not in TIMEZONES:
            raise forms.ValidationError("Choose a time zone from the list.")
        return value or {}
