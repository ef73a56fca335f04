from django.apps import AppConfig


class PartnerPortalConfig(AppConfig):
    """Project-level app: holds the demo seeding command and project templates."""

    name = "partnerportal"
    verbose_name = "Partner portal"
