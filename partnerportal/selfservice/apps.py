from django.apps import AppConfig


class SelfServiceConfig(AppConfig):
    name = "partnerportal.selfservice"
    label = "selfservice"
    verbose_name = "Customer self-service pages"
