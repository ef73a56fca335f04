"""REST API routes, under /api/v1/."""

from django.urls import path

from partnerportal.api import views

app_name = "api"

urlpatterns = [
    path("session-events", views.SessionEventsView.as_view(), name="session-events"),
]
