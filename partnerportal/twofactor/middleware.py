"""Sends a signed-in user who must pass a second factor, and has not in this session, to do so."""

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django_otp import user_has_device

from .policy import two_factor_required

# Paths a user who has not yet passed the second factor may still reach.
OPEN_PREFIXES = ("/account/two-factor/", "/admin/logout/", "/static/", "/healthz")


class TwoFactorRequiredMiddleware:
    """After django-otp's OTPMiddleware: `request.user.is_verified()` says whether this session passed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()  # type: ignore[attr-defined]
            and not request.path.startswith(OPEN_PREFIXES)
            and two_factor_required(user)
        ):
            if request.path.startswith("/api/"):
                # A session that has not passed the second factor gets no API either (tokens are apart).
                return JsonResponse({"detail": "Two-factor sign-in is required."}, status=403)
            step = "twofactor:verify" if user_has_device(user) else "twofactor:enrol"
            return HttpResponseRedirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
