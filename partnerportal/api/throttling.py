"""Throttles with one bucket per client: each API token its own, each signed-in person their own.

DRF's user throttle keys on `user.pk`; a token's user has none, so every token fell back to the
client address and all customers behind one gateway shared a bucket.
"""

from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from partnerportal.api.authentication import TokenUser


def client_key(request) -> str | None:
    """ "token:<id>" or "user:<id>"; None for anonymous requests (keyed by address instead)."""
    user = request.user
    if isinstance(user, TokenUser):
        return f"token:{user.token.pk}"
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


class ClientRateThrottle(SimpleRateThrottle):
    """Every API request, per token or per user (REST_FRAMEWORK's rate "client")."""

    scope = "client"

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": client_key(request) or self.get_ident(request),
        }


class ClientScopedRateThrottle(ScopedRateThrottle):
    """A view's own rate (`throttle_scope`), per token or per user."""

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": client_key(request) or self.get_ident(request),
        }
