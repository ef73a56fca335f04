from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    """Jobs, their items, and the append-only audit log."""

    name = "orchestration"
    verbose_name = "Jobs and audit"
