"""Brute force on the login form (S6): after a few failures from one address or for one user name,
further attempts are refused for a while, before the password is even checked.

Failures are counted in the cache (Redis in production, shared by every web process) through Django's
`user_login_failed` signal; a successful login clears the counts for that address and name.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

KEY_PREFIX = "login-failures"


def _client_address(request: HttpRequest | None) -> str:
    # Behind the TLS proxy REMOTE_ADDR is the proxy; the proxy must pass the client's address there
    # (e.g. gunicorn --forwarded-allow-ips), never a header a client can set.
    return (request.META.get("REMOTE_ADDR") if request is not None else "") or "unknown"


def _keys(request: HttpRequest | None, username: str) -> list[str]:
    return [f"{KEY_PREFIX}:ip:{_client_address(request)}", f"{KEY_PREFIX}:user:{username.strip().lower()}"]


def login_locked(request: HttpRequest, username: str) -> bool:
    """True when the address or the user name has used up its failures for now."""
    counts = cache.get_many(_keys(request, username))
    return any(count >= settings.LOGIN_FAILURES_ALLOWED for count in counts.values())


@receiver(user_login_failed)
def _count_failure(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    for key in _keys(request, credentials.get("username", "")):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


@receiver(user_logged_in)
def _clear_failures(sender, request: HttpRequest | None, user, **kwargs) -> None:
    cache.delete_many(_keys(request, user.get_username()))


def throttled_admin_login(request: HttpRequest, extra_context=None) -> HttpResponse:
    """The admin's login view, refusing attempts while the address or the name is locked out."""
    if request.method == "POST" and login_locked(request, request.POST.get("username", "")):
        minutes = settings.LOGIN_LOCKOUT_SECONDS // 60
        context = {
            **admin.site.each_context(request),
            "title": "Too many failed logins",
            "minutes": minutes,
        }
        return TemplateResponse(request, "registration/login_locked.html", context, status=429)
    return admin.site.login(request, extra_context)
