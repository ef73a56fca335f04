"""Task names are part of the wire contract with queued messages and beat schedules: pin them."""

from partnerportal.celery import app


def test_registered_task_names_are_pinned():
    app.loader.import_default_modules()
    ours = sorted(name for name in app.tasks if name.startswith("orchestration."))
    assert ours == [
        "orchestration.desktop_create_batch",
        "orchestration.desktop_create_poll",
        "orchestration.job_items_run",
        "orchestration.job_poll",
        "orchestration.jobs_sweep",
        "orchestration.reconcile_all",
    ]


def test_the_sweeper_runs_from_beat_on_the_periodic_queue():
    entry = app.conf.beat_schedule["jobs-sweep"]
    assert entry["task"] == "orchestration.jobs_sweep"
    assert entry["options"]["queue"] == "periodic"
