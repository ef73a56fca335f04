"""Bearer API tokens: `Authorization: Bearer wsc_<key id>_<secret>`, a customer's or a staff member's."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from tenants.access import Principal, principal_for_token
from tenants.models import API_TOKEN_PREFIX, ApiToken


class TokenUser:
    """The request's user for a token: authenticated, never a Django user (no pk), carrying its principal."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, token: ApiToken, principal: Principal):
        self.token = token
        self.customer = token.customer
        self.principal = principal

    def get_username(self) -> str:
        return f"token:{self.token.name}"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Finds the token by its key id and compares the secret in constant time; a token that is revoked,
    expired, or whose owner is inactive (or no longer staff) fails."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(f"{self.keyword} {API_TOKEN_PREFIX}_"):
            return None
        parts = header[len(self.keyword) + 1 :].strip().split("_", 2)
        if len(parts) != 3:
            raise exceptions.AuthenticationFailed("Malformed API token.")
        _, key_id, secret = parts
        token = ApiToken.objects.select_related("customer", "staff_user").filter(key_id=key_id).first()
        now = timezone.now()
        if token is None or not token.matches(secret) or not token.is_usable(now):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API token.")
        principal = principal_for_token(token)
        if not principal.capabilities:
            raise exceptions.AuthenticationFailed("This API token grants nothing any more.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return TokenUser(token, principal), token

    def authenticate_header(self, request) -> str:
        return self.keyword
