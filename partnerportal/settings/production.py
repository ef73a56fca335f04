"""Production: every secret comes from the environment and has no default; start-up fails without it."""

import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import STATIC_ROOT, env


def required(name: str) -> str:
    """Read a variable that production cannot run without, failing with its name."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Production needs the environment variable {name}; it is not set.")
    return value


DEBUG = False
SECRET_KEY = required("DJANGO_SECRET_KEY")
DATABASES = {"default": env.db_url_config(required("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
ALLOWED_HOSTS = [host.strip() for host in required("ALLOWED_HOSTS").split(",") if host.strip()]
FIELD_ENCRYPTION_KEYS = [key.strip() for key in required("FIELD_ENCRYPTION_KEYS").split(",") if key.strip()]
# Every customer's role trusts this account: a default here would be a trust given to a stranger.
PARTNER_AWS_ACCOUNT_ID = required("PARTNER_AWS_ACCOUNT_ID")
if not re.fullmatch(r"\d{12}", PARTNER_AWS_ACCOUNT_ID):
    raise ImproperlyConfigured(
        f"PARTNER_AWS_ACCOUNT_ID must be a 12-digit AWS account id, not {PARTNER_AWS_ACCOUNT_ID!r}."
    )
# The image collects static files here at build time (outside the installed packages); whitenoise serves them.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(STATIC_ROOT)))
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"https://{h}" for h in ALLOWED_HOSTS])

# Staff sign in with a second factor (TOTP or a recovery code); enrolment at their first sign-in.
OTP_REQUIRED_FOR_STAFF = env.bool("OTP_REQUIRED_FOR_STAFF", default=True)

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Shared by every web process, so API throttles and login limits hold across them.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", default=CELERY_BROKER_URL),  # noqa: F405
    }
}
