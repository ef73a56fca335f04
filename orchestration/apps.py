from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    """Jobs, their items, and the append-only audit log."""

    name = "orchestration"
    verbose_name = "Jobs and audit"

    def ready(self) -> None:
        from celery.signals import worker_init, worker_process_init

        from orchestration.engine.heartbeat import heartbeat_enable

        # A Celery worker's processes beat while they hold items (orchestration/engine/heartbeat.py),
        # named by the worker's node name (worker_init's sender is the worker).
        worker_init.connect(
            lambda sender=None, **_: heartbeat_enable(node=getattr(sender, "hostname", None)), weak=False
        )
        worker_process_init.connect(lambda **_: heartbeat_enable(), weak=False)
