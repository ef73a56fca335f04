from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API for automation (its one model keeps Idempotency-Key answers); label `api` as before."""

    name = "partnerportal.api"
    label = "api"
    verbose_name = "REST API"
