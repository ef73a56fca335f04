"""Signing in and out of the customer pages, and where `/` sends people."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse


class PortalLoginView(auth_views.LoginView):
    """The customer's own login page; partner staff are sent to the staff console."""

    template_name = "selfservice/login.html"
    redirect_authenticated_user = False

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.user.is_authenticated:
            return redirect("admin:index" if request.user.is_staff else "selfservice:home")
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self) -> str:
        if self.request.user.is_staff:
            return reverse("admin:index")
        return super().get_success_url()

    def get_default_redirect_url(self) -> str:
        return reverse("selfservice:home")


class PortalLogoutView(auth_views.LogoutView):
    next_page = "selfservice:login"


def root(request: HttpRequest) -> HttpResponse:
    """`/`: staff to their console, everyone else to the customer pages (or their login)."""
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("admin:index")
    return redirect("selfservice:home")
