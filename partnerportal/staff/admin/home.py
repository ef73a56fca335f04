"""The console's home page: Django's admin index with the fleet overview above the list of models.

The admin site is Django's default one (its URLs are wired in partnerportal/urls.py), so the index gets
its template and extra context here rather than through a subclassed site.
"""

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from partnerportal.staff.dashboard import staff_dashboard
from tenants.access import principal_for_user

_django_index = admin.site.index


def console_index(request: HttpRequest, extra_context: dict | None = None):
    dashboard = staff_dashboard(principal=principal_for_user(request.user), now=timezone.now())
    return _django_index(request, {"dashboard": dashboard, **(extra_context or {})})


admin.site.index_template = "admin/staff/dashboard.html"
admin.site.index = console_index  # type: ignore[method-assign]
