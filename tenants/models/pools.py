"""Pools: user-decoupled desktops kept warm, handed to users on request, sized by a weekly schedule.

A pool lives in one customer's AWS account, region and directory, and makes its desktops from one
bundle. `PoolDesktop` ties a desktop to its pool and records who holds it; `PoolSample` keeps the pool's
counts over time for the pages' 24-hour chart. The database keeps a pool inside one tenant (composite
foreign keys and triggers, tenants migration 0014) and lets a user hold at most one desktop per pool.
"""

import zoneinfo
from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tenants.choices import RunningMode

from .accounts import AwsAccount, region_validator
from .customers import Customer
from .policies import PowerPolicy
from .resources import Bundle, Desktop, Directory, same_account_errors

# A pool can never be larger than one desktop-create request.
POOL_MAX_SIZE = 5000
POOL_WINDOW_KEYS = {"days", "start", "end", "min", "buffer"}


def parse_pool_windows(value: object) -> list[dict]:
    """The capacity schedule checked and normalised; ValidationError naming what is wrong.

    [{"days": [0-6, Monday is 0], "start": "HH:MM", "end": "HH:MM", "min": n, "buffer": n}, ...]; a window
    ends after it starts on the same day, and two windows never overlap on a day.
    """
    if value in (None, "", []):
        return []
    if not isinstance(value, list):
        raise ValidationError("A capacity schedule is a list of weekly windows.")
    windows = []
    for number, window in enumerate(value, start=1):
        if not isinstance(window, dict) or set(window) != POOL_WINDOW_KEYS:
            raise ValidationError(f"Window {number} needs exactly: days, start, end, min, buffer.")
        days = window["days"]
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days)
        ):
            raise ValidationError(f"Window {number}: days are numbers 0 (Monday) to 6 (Sunday).")
        try:
            start, end = time.fromisoformat(window["start"]), time.fromisoformat(window["end"])
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"Window {number}: start and end are times like 08:00.") from exc
        if start >= end:
            raise ValidationError(
                f"Window {number} must end after it starts ({window['start']}–{window['end']})."
            )
        for key in ("min", "buffer"):
            amount = window[key]
            if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= POOL_MAX_SIZE:
                raise ValidationError(f"Window {number}: {key} is a whole number from 0 to {POOL_MAX_SIZE}.")
        windows.append({**window, "days": sorted(set(days))})
    for i, first in enumerate(windows):
        for second in windows[i + 1 :]:
            shared = set(first["days"]) & set(second["days"])
            if shared and first["start"] < second["end"] and second["start"] < first["end"]:
                raise ValidationError(
                    f"Windows {first['start']}–{first['end']} and {second['start']}–{second['end']} overlap "
                    f"on day {min(shared)}: the target would be ambiguous."
                )
    return windows


def validate_pool_windows(value: object) -> None:
    parse_pool_windows(value)


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone {value!r} (use a name like Europe/Berlin).") from exc


class Pool(models.Model):
    """User-decoupled desktops kept warm for whoever asks next.

    `min_size` and `buffer` apply outside the capacity schedule's windows; inside a window its own `min`
    and `buffer` do. The buffer counts desktops that are AVAILABLE (or on their way) and unassigned.
    A persistent pool gives a user the same desktop every time; a non-persistent one takes a desktop
    back `release_delay_minutes` after its user disconnects and rebuilds it before anyone else gets it.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="pools")
    aws_account = models.ForeignKey(
        AwsAccount, on_delete=models.PROTECT, related_name="pools", verbose_name="AWS account"
    )
    region = models.CharField(max_length=30, validators=[region_validator])
    directory = models.ForeignKey(Directory, on_delete=models.PROTECT, related_name="pools")
    bundle = models.ForeignKey(Bundle, on_delete=models.PROTECT, related_name="pools")
    name = models.CharField(max_length=100)
    running_mode = models.CharField(
        max_length=10,
        choices=[(RunningMode.MANUAL, "MANUAL"), (RunningMode.ALWAYS_ON, "ALWAYS_ON")],
        default=RunningMode.MANUAL,
        help_text="MANUAL desktops are billed only while running, so spare ones beyond the buffer are stopped.",
    )
    min_size = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(POOL_MAX_SIZE)])
    max_size = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(POOL_MAX_SIZE)]
    )
    buffer = models.PositiveIntegerField(
        default=2, validators=[MaxValueValidator(POOL_MAX_SIZE)], help_text="Warm, unassigned desktops."
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    schedule = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_pool_windows],
        help_text="Weekly windows, each with its own min and buffer, in the pool's time zone.",
    )
    persistent = models.BooleanField(
        default=False,
        help_text="A user keeps the same desktop; otherwise desktops are rebuilt between users.",
    )
    release_delay_minutes = models.PositiveIntegerField(
        default=15, help_text="After a disconnect, how long a non-persistent desktop stays with its user."
    )
    power_policy = models.ForeignKey(
        PowerPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="pools"
    )
    max_unavailable_percent = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Rolling image updates take at most this share of the pool out of service at once.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="pool_name_per_customer"),
            models.UniqueConstraint(fields=["id", "aws_account"], name="pool_id_account"),
            models.CheckConstraint(
                condition=models.Q(min_size__lte=models.F("max_size"))
                & models.Q(buffer__lte=models.F("max_size"))
                & models.Q(max_size__gte=1),
                name="pool_sizes_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(max_unavailable_percent__gte=1, max_unavailable_percent__lte=100),
                name="pool_max_unavailable_percent",
            ),
            models.CheckConstraint(
                condition=~models.Q(running_mode=RunningMode.AUTO_STOP), name="pool_no_auto_stop"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.name}" if self.customer_id else self.name

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values("customer_id", "aws_account_id").first()
            if stored and (
                stored["customer_id"] != self.customer_id or stored["aws_account_id"] != self.aws_account_id
            ):
                errors["aws_account"] = "A pool never moves to another customer or AWS account."
        account = self.aws_account if self.aws_account_id is not None else None
        if account is not None and self.customer_id is not None and account.customer_id != self.customer_id:
            errors["aws_account"] = f"{account} belongs to another customer; choose one of {self.customer}'s."
        elif account is not None:
            directory = self.directory if self.directory_id is not None else None
            bundle = self.bundle if self.bundle_id is not None else None
            errors.update(same_account_errors(self, directory=directory, bundle=bundle))
            for field, resource in (("directory", directory), ("bundle", bundle)):
                if field not in errors and resource is not None and resource.region != self.region:
                    errors[field] = (
                        f"{resource} is in {resource.region}, not the pool's region {self.region}."
                    )
        policy = self.power_policy if self.power_policy_id is not None else None
        if policy is not None and self.customer_id is not None and policy.customer_id != self.customer_id:
            errors["power_policy"] = f"{policy} belongs to another customer; choose one of {self.customer}'s."
        if self.min_size is not None and self.max_size is not None and self.min_size > self.max_size:
            errors["min_size"] = f"The minimum ({self.min_size}) is above the maximum ({self.max_size})."
        if self.buffer is not None and self.max_size is not None and self.buffer > self.max_size:
            errors["buffer"] = f"The buffer ({self.buffer}) is above the maximum ({self.max_size})."
        if self.running_mode == RunningMode.AUTO_STOP:
            errors["running_mode"] = (
                "AUTO_STOP is not available for WorkSpaces Core: use MANUAL or ALWAYS_ON."
            )
        try:
            windows = parse_pool_windows(self.schedule)
        except ValidationError:
            windows = []  # the field's own validator reports it
        too_big = [
            w for w in windows if self.max_size is not None and max(w["min"], w["buffer"]) > self.max_size
        ]
        if too_big:
            w = too_big[0]
            errors["schedule"] = (
                f"Window {w['start']}–{w['end']} asks for min {w['min']} and buffer {w['buffer']}, "
                f"above the pool's maximum of {self.max_size}."
            )
        if errors:
            raise ValidationError(errors)

    def capacity_at(self, now: datetime) -> tuple[int, int, dict | None]:
        """(min, buffer, the window that sets them or None) at `now`, in the pool's time zone."""
        local = now.astimezone(zoneinfo.ZoneInfo(self.time_zone or "UTC"))
        for window in parse_pool_windows(self.schedule):
            start, end = time.fromisoformat(window["start"]), time.fromisoformat(window["end"])
            if local.weekday() in window["days"] and start <= local.time() < end:
                return window["min"], window["buffer"], window
        return self.min_size, self.buffer, None


class PoolAction(models.TextChoices):
    """What the pool asked AWS to do to a desktop and has not seen finish yet."""

    NONE = "", "Nothing"
    CREATE = "create", "Creating"
    START = "start", "Starting"
    STOP = "stop", "Stopping"
    REBUILD = "rebuild", "Rebuilding"
    TERMINATE = "terminate", "Terminating"


class PoolDesktop(models.Model):
    """A desktop of a pool, and who holds it. One row per desktop, for good (history included).

    `assigned_user` is set by one UPDATE that only matches an unassigned row, and a user holds at most
    one desktop of a pool (a partial unique constraint): two requests can never share a desktop.
    """

    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="members")
    desktop = models.OneToOneField(Desktop, on_delete=models.PROTECT, related_name="pool_membership")
    # The pool's and the desktop's account, so composite keys keep both in one tenant.
    aws_account = models.ForeignKey(
        AwsAccount, on_delete=models.PROTECT, related_name="+", verbose_name="AWS account"
    )
    assigned_user = models.CharField(max_length=63, null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    needs_recycle = models.BooleanField(
        default=False, help_text="Held by someone before: rebuilt before anyone else gets it."
    )
    image_id = models.CharField(
        max_length=65,
        blank=True,
        help_text="The WorkSpaces image the desktop was last made or rebuilt from (rolling updates compare it "
        "with the bundle's); empty: not known.",
    )
    pending_action = models.CharField(max_length=10, choices=PoolAction.choices, blank=True, default="")
    pending_job_id = models.BigIntegerField(null=True, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pool_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "assigned_user"],
                condition=models.Q(assigned_user__isnull=False),
                name="one_desktop_per_user_per_pool",
            ),
            models.CheckConstraint(
                condition=models.Q(assigned_user__isnull=True) | models.Q(assigned_at__isnull=False),
                name="pool_assignment_has_time",
            ),
        ]
        indexes = [models.Index(fields=["pool", "assigned_user"], name="pool_desktop_assignment")]

    def __str__(self) -> str:
        return f"{self.pool.name}: desktop {self.desktop_id} ({self.assigned_user or 'free'})"


class PoolSample(models.Model):
    """The pool's counts as the pool manager saw them on one run (the pages' 24-hour chart)."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="samples")
    taken_at = models.DateTimeField()
    size = models.PositiveIntegerField()
    assigned = models.PositiveIntegerField()
    warm = models.PositiveIntegerField()
    stopped = models.PositiveIntegerField()
    target = models.PositiveIntegerField()

    class Meta:
        ordering = ["pool_id", "taken_at"]
        indexes = [models.Index(fields=["pool", "taken_at"], name="pool_sample_time")]

    def __str__(self) -> str:
        return f"{self.pool_id} at {self.taken_at:%Y-%m-%d %H:%M}: {self.size}"
