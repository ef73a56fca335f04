"""Exactly one run per schedule window (F6): a run claims a unique (schedule, window) row first.

Two beats, a retried task or a redelivered message all try the same claim; the database lets exactly
one of them have it, and the others return without doing anything.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orchestration.choices import JobStatus
from orchestration.engine.heartbeat import worker_id
from orchestration.models import ScheduleRun
from tenants.models.policies import parse_cron


def window_start_for(now: datetime, interval_seconds: float) -> datetime:
    """The start of the fixed window of `interval_seconds` that `now` falls in (aligned to the epoch)."""
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % interval_seconds, tz=UTC)


def _claimant() -> str:
    return worker_id()


def schedule_run_claim(*, schedule: str, window_start: datetime) -> ScheduleRun | None:
    """The run row for this window if the caller is the first to claim it, else None."""
    try:
        with transaction.atomic():
            return ScheduleRun.objects.create(
                schedule=schedule, window_start=window_start, claimed_by=_claimant()
            )
    except IntegrityError:
        return None


@contextmanager
def schedule_exclusive(schedule: str) -> Iterator[bool]:
    """Yield True if no other run of `schedule` is under way anywhere, holding that until the block ends.

    Claims stop two runs of one window; this stops a run of the next window from starting while a slow
    one still works on the same rows. A session-level PostgreSQL advisory lock: the server drops it when
    the holder's connection dies, so a killed worker never leaves it held.
    """
    key = int.from_bytes(hashlib.blake2b(schedule.encode(), digest_size=8).digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (held,) = cursor.fetchone()
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def schedule_run_finish(run: ScheduleRun, *, result: dict, error: str = "") -> None:
    """Record how the run ended; a run with an error is FAILED, and the next window tries again."""
    run.status = JobStatus.FAILED if error else JobStatus.SUCCEEDED
    run.result = result
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "result", "error", "finished_at", "updated_at"])


def schedules_install(*, reset: bool = False) -> dict[str, str]:
    """Write the standard schedules into django-celery-beat's tables; safe to run at every deploy.

    A schedule that exists is left as staff set it in the admin, unless `reset` asks for the declared
    interval again. Returns what happened to each: created, reset or kept.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    outcome: dict[str, str] = {}
    with transaction.atomic():
        for name, entry in settings.STANDARD_BEAT_SCHEDULE.items():
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=max(1, round(entry["schedule"])), period=IntervalSchedule.SECONDS
            )
            options = entry.get("options", {})
            declared = {
                "task": entry["task"],
                "interval": interval,
                "queue": options.get("queue"),
                "expire_seconds": options.get("expires"),
                "enabled": True,
            }
            existing = PeriodicTask.objects.filter(name=name).first()
            if existing is None:
                PeriodicTask.objects.create(name=name, **declared)
                outcome[name] = "created"
            elif reset:
                for key, value in declared.items():
                    setattr(existing, key, value)
                existing.save()
                outcome[name] = "reset"
            else:
                outcome[name] = "kept"
    return outcome


def cron_last_fire(expression: str, now: datetime) -> datetime | None:
    """The latest time at or before `now` (UTC, whole minutes) that the expression fires, within a year."""
    schedule = parse_cron(expression)
    now = now.astimezone(UTC).replace(second=0, microsecond=0)
    times = sorted(((h, m) for h in schedule.hour for m in schedule.minute), reverse=True)
    for back in range(367):
        day = (now - timedelta(days=back)).date()
        # celery counts days of the week from Sunday = 0; Python's isoweekday has Sunday = 7.
        if (
            day.month not in schedule.month_of_year
            or day.day not in schedule.day_of_month
            or day.isoweekday() % 7 not in schedule.day_of_week
        ):
            continue
        for hour, minute in times:
            fire = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
            if fire <= now:
                return fire
    return None
