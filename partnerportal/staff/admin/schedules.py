"""django-celery-beat's admins, registered again so their actions need change permission: its own
enable, disable, toggle and run are open to anyone who may merely look at periodic tasks."""

from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from .base import StaffAdmin


class PeriodicTaskAdmin(StaffAdmin, beat_admin.PeriodicTaskAdmin):
    @admin.action(description="Enable selected tasks", permissions=["change"])
    def enable_tasks(self, request, queryset):
        return super().enable_tasks(request, queryset)

    @admin.action(description="Disable selected tasks", permissions=["change"])
    def disable_tasks(self, request, queryset):
        return super().disable_tasks(request, queryset)

    @admin.action(description="Toggle activity of selected tasks", permissions=["change"])
    def toggle_tasks(self, request, queryset):
        return super().toggle_tasks(request, queryset)

    @admin.action(description="Run selected tasks", permissions=["change"])
    def run_tasks(self, request, queryset):
        return super().run_tasks(request, queryset)


REREGISTERED = {
    PeriodicTask: PeriodicTaskAdmin,
    ClockedSchedule: type("ClockedScheduleAdmin", (StaffAdmin, beat_admin.ClockedScheduleAdmin), {}),
    CrontabSchedule: type("CrontabScheduleAdmin", (StaffAdmin, beat_admin.CrontabScheduleAdmin), {}),
    SolarSchedule: type("SolarScheduleAdmin", (StaffAdmin, beat_admin.SolarScheduleAdmin), {}),
    IntervalSchedule: type("IntervalScheduleAdmin", (StaffAdmin, beat_admin.IntervalScheduleAdmin), {}),
}
for model, model_admin in REREGISTERED.items():
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
