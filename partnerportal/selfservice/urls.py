"""The customer pages, under /portal/."""

from django.urls import path

from partnerportal.selfservice.views import auth, create, desktops, home, jobs, usage

app_name = "selfservice"

urlpatterns = [
    path("login/", auth.PortalLoginView.as_view(), name="login"),
    path("logout/", auth.PortalLogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("desktops/", desktops.desktop_index, name="desktops"),
    path("desktops/new/", create.desktop_create, name="desktop_create"),
    path("desktops/action/", desktops.desktop_action, name="desktop_action"),
    path("desktops/<int:pk>/", desktops.desktop_detail, name="desktop"),
    path("desktops/<int:pk>/state/", desktops.desktop_state, name="desktop_state"),
    path("jobs/", jobs.job_index, name="jobs"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job"),
    path("jobs/<int:pk>/progress/", jobs.job_progress_part, name="job_progress"),
    path("usage/", usage.usage, name="usage"),
    path("usage.csv", usage.usage_csv, name="usage_csv"),
]
