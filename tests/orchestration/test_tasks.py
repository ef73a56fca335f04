"""Task names are part of the wire contract with queued messages and beat schedules: pin them."""

import pytest

from orchestration.services.schedules import schedules_install
from partnerportal.celery import app


def test_registered_task_names_are_pinned():
    app.loader.import_default_modules()
    ours = sorted(name for name in app.tasks if name.startswith("orchestration."))
    assert ours == [
        "orchestration.desktop_create_batch",
        "orchestration.desktop_create_poll",
        "orchestration.golden_image_pipelines_due",
        "orchestration.idle_sweep",
        "orchestration.idle_sweep_account",
        "orchestration.job_items_run",
        "orchestration.job_poll",
        "orchestration.jobs_sweep",
        "orchestration.pools_manage",
        "orchestration.reconcile_all",
        "orchestration.webhook_deliver",
        "orchestration.webhooks_dispatch",
    ]
    assert sorted(name for name in app.tasks if name.startswith("partnerportal.")) == [
        "partnerportal.housekeeping"
    ]


def test_every_standard_schedule_names_a_registered_task_on_the_periodic_queue(settings):
    app.loader.import_default_modules()
    for name, entry in settings.STANDARD_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
        assert entry["options"]["queue"] == "periodic", name
    assert settings.STANDARD_BEAT_SCHEDULE["jobs-sweep"]["task"] == "orchestration.jobs_sweep"


@pytest.mark.django_db
def test_schedules_install_is_idempotent_and_keeps_staff_edits():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    first = schedules_install()
    assert set(first.values()) == {"created"}
    assert PeriodicTask.objects.filter(name__in=list(first)).count() == len(first)
    sweep = PeriodicTask.objects.get(name="idle-sweep")
    assert sweep.task == "orchestration.idle_sweep" and sweep.queue == "periodic"
    # Staff slow the idle sweep down in the admin; a redeploy must not undo it.
    sweep.interval, _ = IntervalSchedule.objects.get_or_create(every=900, period=IntervalSchedule.SECONDS)
    sweep.save()
    assert set(schedules_install().values()) == {"kept"}
    assert PeriodicTask.objects.get(name="idle-sweep").interval.every == 900
    assert schedules_install(reset=True)["idle-sweep"] == "reset"
    assert PeriodicTask.objects.get(name="idle-sweep").interval.every == 300
    assert PeriodicTask.objects.filter(name__in=list(first)).count() == len(first)
