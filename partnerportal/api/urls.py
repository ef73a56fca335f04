"""REST API v1 routes, under /api/v1/, and its schema and documentation (served without any CDN)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from partnerportal.api.views.base import not_found
from partnerportal.api.views.desktops import DesktopViewSet
from partnerportal.api.views.jobs import JobViewSet
from partnerportal.api.views.policies import PowerPolicyViewSet
from partnerportal.api.views.pools import PoolViewSet
from partnerportal.api.views.reports import AuditEventViewSet, UsageViewSet
from partnerportal.api.views.resources import (
    AwsAccountViewSet,
    BundleViewSet,
    CustomerViewSet,
    DirectoryViewSet,
    ImageViewSet,
)
from partnerportal.api.views.session_events import SessionEventViewSet
from partnerportal.api.views.webhooks import WebhookDeliveryViewSet, WebhookEndpointViewSet

app_name = "api"

router = SimpleRouter(trailing_slash=False)
router.register("customers", CustomerViewSet, basename="customer")
router.register("aws-accounts", AwsAccountViewSet, basename="aws-account")
router.register("directories", DirectoryViewSet, basename="directory")
router.register("images", ImageViewSet, basename="image")
router.register("bundles", BundleViewSet, basename="bundle")
router.register("desktops", DesktopViewSet, basename="desktop")
router.register("jobs", JobViewSet, basename="job")
router.register("power-policies", PowerPolicyViewSet, basename="power-policy")
router.register("pools", PoolViewSet, basename="pool")
router.register("usage", UsageViewSet, basename="usage")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("session-events", SessionEventViewSet, basename="session-events")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="swagger-ui"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    *router.urls,
    # Anything else under /api/v1/ is a problem-details 404, not Django's HTML page.
    re_path(r"^.*$", not_found, name="not-found"),
]
