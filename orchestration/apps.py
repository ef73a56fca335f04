from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    """Jobs, their items, and the append-only audit log."""

    name = "orchestration"
    verbose_name = "Jobs and audit"

    def ready(self) -> None:
        from celery.signals import worker_init, worker_process_init

        from orchestration.engine.heartbeat import heartbeat_enable

        # A Celery worker's processes beat while they hold items (orchestration/engine/heartbeat.py).
        worker_init.connect(lambda **_: heartbeat_enable(), weak=False)
        worker_process_init.connect(lambda **_: heartbeat_enable(), weak=False)
