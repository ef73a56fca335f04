from django.apps import AppConfig


class TenantsConfig(AppConfig):
    """Customers (tenants) and the AWS resources the control plane manages for them."""

    name = "tenants"
    verbose_name = "Customers and resources"
