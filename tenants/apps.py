from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _staff_roles_complete(sender, **kwargs) -> None:
    """After every migrate: each staff role holds every permission it lists, new models' included."""
    from django.contrib.auth.models import Group, Permission

    from tenants.access import staff_roles_sync

    staff_roles_sync(Group, Permission)


class TenantsConfig(AppConfig):
    """Customers (tenants) and the AWS resources the control plane manages for them."""

    name = "tenants"
    verbose_name = "Customers and resources"

    def ready(self) -> None:
        post_migrate.connect(_staff_roles_complete, dispatch_uid="tenants.staff_roles")
