from django.apps import AppConfig


class TwoFactorConfig(AppConfig):
    name = "partnerportal.twofactor"
    label = "twofactor"
    verbose_name = "Two-factor sign-in"
