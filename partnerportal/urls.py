"""Top-level URLs: the partner staff admin, the customer pages, the REST API and a health check."""

from django.contrib import admin
from django.urls import include, path

from . import views
from .selfservice.views.auth import root as portal_root

admin.site.site_header = "WorkSpaces Core partner control plane"
admin.site.site_title = "Partner control plane"
admin.site.index_title = "Operations"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("portal/", include("partnerportal.selfservice.urls")),
    path("api/v1/", include("partnerportal.api.urls")),
    path("account/two-factor/", include("partnerportal.twofactor.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("", portal_root, name="root"),
]
