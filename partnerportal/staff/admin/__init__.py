"""Partner staff's admin: customers and their resources, jobs and the audit log, one module per aggregate.

AWS-owned fields are read-only; changes to AWS go through audited services (admin actions and forms).
Django's admin autodiscovery imports this package (`partnerportal.staff.admin`); the registrations keep
the models' own app labels, so the URLs stay /admin/tenants/…/ and /admin/orchestration/…/.
"""

from . import (  # noqa: F401
    accounts,
    audit,
    bundles,
    customers,
    desktops,
    directories,
    home,
    images,
    jobs,
    policies,
    pools,
    schedules,
    signin,
    tokens,
    users,
    webhooks,
)
