"""What the control plane does on its own: power policies and golden-image pipelines."""

import zoneinfo
from datetime import time

from celery.schedules import crontab
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from .accounts import AwsAccount, region_validator
from .customers import Customer
from .resources import Bundle, Desktop, same_account_errors

image_name_prefix_validator = RegexValidator(
    r"^[a-zA-Z0-9_./()\\-]{1,40}$",
    "Image names may use letters, digits and _ . / ( ) \\ - (the WorkSpaces image name alphabet).",
)


def validate_business_hours(value: dict) -> None:
    """{"timezone": "Europe/Berlin", "windows": [{"days": [0-6, Monday is 0], "start": "HH:MM", "end": "HH:MM"}]}."""
    if not value:
        return
    if not isinstance(value, dict) or set(value) - {"timezone", "windows"}:
        raise ValidationError('A schedule is {"timezone": …, "windows": […]} or empty.')
    try:
        zoneinfo.ZoneInfo(value.get("timezone") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone {value.get('timezone')!r}.") from exc
    windows = value.get("windows")
    if not isinstance(windows, list) or not windows:
        raise ValidationError("A schedule needs at least one window.")
    for window in windows:
        if not isinstance(window, dict) or set(window) != {"days", "start", "end"}:
            raise ValidationError('Each window is {"days": [...], "start": "HH:MM", "end": "HH:MM"}.')
        days = window["days"]
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, int) and 0 <= d <= 6 for d in days)
        ):
            raise ValidationError("Window days are numbers 0 (Monday) to 6 (Sunday).")
        try:
            start, end = time.fromisoformat(window["start"]), time.fromisoformat(window["end"])
        except (TypeError, ValueError) as exc:
            raise ValidationError("Window start and end are times like 08:00.") from exc
        if start >= end:
            raise ValidationError(f"A window must end after it starts ({window['start']}–{window['end']}).")


class PowerPolicy(models.Model):
    """When to stop MANUAL desktops: after a disconnect, after no session since start, outside a schedule.

    One policy per customer is the default; a desktop may point at another to override it. `schedule`
    holds business hours as {"timezone": "Europe/Berlin", "windows": [{"days": [0, 1, 2, 3, 4],
    "start": "08:00", "end": "18:00"}]}; outside them a desktop with no live session is stopped.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="power_policies")
    name = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False)
    stop_after_disconnect_minutes = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    stop_after_no_session_minutes = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    schedule = models.JSONField(default=dict, blank=True, validators=[validate_business_hours])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "power policies"
        ordering = ["customer__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="power_policy_name_per_customer"),
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(is_default=True), name="one_default_power_policy"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(stop_after_disconnect_minutes__isnull=True)
                    | models.Q(stop_after_disconnect_minutes__gt=0)
                )
                & (
                    models.Q(stop_after_no_session_minutes__isnull=True)
                    | models.Q(stop_after_no_session_minutes__gt=0)
                ),
                name="power_policy_minutes_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.name}"

    def clean(self) -> None:
        super().clean()
        if self.pk is not None and self.customer_id is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("customer_id", flat=True).first()
            if stored is not None and stored != self.customer_id:
                # Its desktops are the customer's: moving the policy would govern another tenant's desktops.
                raise ValidationError({"customer": "A power policy never moves to another customer."})


def parse_cron(expression: str) -> crontab:
    """A five-field cron expression (minute hour day-of-month month day-of-week, UTC) as celery's
    crontab, whose fields are the expanded sets; ValueError when it is not one."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError("A cron expression has five fields: minute hour day-of-month month day-of-week.")
    minute, hour, day_of_month, month, day_of_week = parts
    return crontab(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week
    )


def validate_cron(expression: str) -> None:
    try:
        parse_cron(expression)
    except ValueError as exc:
        raise ValidationError(f"Not a cron expression: {exc}") from exc


class GoldenImagePipeline(models.Model):
    """A scheduled golden-image rebuild: image the golden desktop, point bundles at it, copy, prune."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="golden_image_pipelines")
    aws_account = models.ForeignKey(
        AwsAccount,
        on_delete=models.PROTECT,
        related_name="golden_image_pipelines",
        verbose_name="AWS account",
    )
    region = models.CharField(max_length=30, validators=[region_validator])
    name = models.CharField(max_length=100)
    golden_desktop = models.ForeignKey(
        Desktop, on_delete=models.PROTECT, related_name="golden_image_pipelines"
    )
    target_bundles = models.ManyToManyField(Bundle, blank=True, related_name="golden_image_pipelines")
    schedule_cron = models.CharField(
        max_length=100,
        default="0 2 * * *",
        validators=[validate_cron],
        help_text="Cron expression in UTC; nightly at 02:00 by default.",
    )
    copy_to_regions = models.JSONField(default=list, blank=True)
    retention_count = models.PositiveIntegerField(default=3, validators=[MinValueValidator(1)])
    image_name_prefix = models.CharField(max_length=40, validators=[image_name_prefix_validator])
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="pipeline_name_per_customer"),
            models.CheckConstraint(
                condition=models.Q(retention_count__gte=1), name="pipeline_keeps_an_image"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.name}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        account = self.aws_account if self.aws_account_id is not None else None
        if account is not None and self.customer_id is not None and account.customer_id != self.customer_id:
            errors["aws_account"] = f"{account} belongs to another customer; choose one of {self.customer}'s."
        elif account is not None:
            # The golden desktop is imaged in the pipeline's account, whose image only its bundles can use.
            golden = self.golden_desktop if self.golden_desktop_id is not None else None
            errors.update(same_account_errors(self, golden_desktop=golden))
        if errors:
            raise ValidationError(errors)

    def clean_target_bundles(self, bundles) -> None:
        """The many-to-many is saved after clean(), so a form calls this with the bundles it will set:
        each must be in the pipeline's account (the database refuses others too, migration 0011)."""
        if self.aws_account_id is None:
            return
        strangers = sorted(str(b) for b in bundles if b.aws_account_id != self.aws_account_id)
        if strangers:
            raise ValidationError(
                {
                    "target_bundles": f"{', '.join(strangers)}: not in account {self.aws_account.account_id}, "
                    "where the pipeline makes its image."
                }
            )
