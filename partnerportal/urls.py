"""Top-level URLs: the partner staff admin, the REST API and a health check."""

from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "WorkSpaces Core partner control plane"
admin.site.site_title = "Partner control plane"
admin.site.index_title = "Operations"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("partnerportal.api.urls")),
    path("account/two-factor/", include("partnerportal.twofactor.urls")),
    path("healthz", views.healthz, name="healthz"),
]
