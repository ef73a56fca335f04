from django.apps import AppConfig


class PartnerPortalConfig(AppConfig):
    """Project-level app: holds the demo seeding command and project templates."""

    name = "partnerportal"
    verbose_name = "Partner portal"

    def ready(self) -> None:
        # Connects the login-failure counters (signals) before any request is served.
        from . import login_throttle  # noqa: F401
