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
        # Before the processes are forked: they start with AWS's service models read.
        worker_init.connect(lambda **_: _aws_models_preload(), weak=False)
        worker_process_init.connect(lambda **_: heartbeat_enable(), weak=False)


def _aws_models_preload() -> None:
    from orchestration.aws.sessions import aws_models_preload

    aws_models_preload()
