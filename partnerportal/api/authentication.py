"""Bearer API tokens, one customer each: `Authorization: Bearer wsc_<key id>_<secret>`."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from tenants.models import API_TOKEN_PREFIX, ApiToken


class TokenUser:
    """The request's user for a token: authenticated, never staff, bound to one customer."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, token: ApiToken):
        self.token = token
        self.customer = token.customer

    def get_username(self) -> str:
        return f"token:{self.token.name}"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Finds the token by its key id and compares the secret in constant time; revoked tokens fail."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(f"{self.keyword} {API_TOKEN_PREFIX}_"):
            return None
        parts = header[len(self.keyword) + 1 :].strip().split("_", 2)
        if len(parts) != 3:
            raise exceptions.AuthenticationFailed("Malformed API token.")
        _, key_id, secret = parts
        token = (
            ApiToken.objects.select_related("customer")
            .filter(key_id=key_id, revoked_at__isnull=True, customer__is_active=True)
            .first()
        )
        if token is None or not token.matches(secret):
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return TokenUser(token), token

    def authenticate_header(self, request) -> str:
        return self.keyword
