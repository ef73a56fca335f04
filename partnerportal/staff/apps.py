from django.apps import AppConfig


class StaffConfig(AppConfig):
    """Partner staff's console. Its admin modules register the models of `tenants` and `orchestration`,
    so the admin URLs and template names keep those apps' labels (/admin/tenants/desktop/…)."""

    name = "partnerportal.staff"
    label = "staff"
    verbose_name = "Partner staff console"
