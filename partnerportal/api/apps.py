from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API for automation (no models); the label stays `api` as before the move."""

    name = "partnerportal.api"
    label = "api"
    verbose_name = "REST API"
