"""Tests: real PostgreSQL and Redis, as in production; fast password hashing."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-not-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105
FIELD_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA="]
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/partnerportal"),
}
# Each test process may run against a separate Redis database (integration tests pick their own).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
AWS_RATE_LIMIT_REDIS_URL = CELERY_BROKER_URL
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the apps, as in development; production serves the collected copy.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Webhook tests send to a receiver on loopback over plain HTTP, with short backoffs.
WEBHOOK_ALLOW_INSECURE_URLS = True
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
WEBHOOK_RETRY_BASE_SECONDS = 0.5
WEBHOOK_RETRY_MAX_SECONDS = 2.0
WEBHOOK_TIMEOUT_SECONDS = 5
WEBHOOK_SETTLE_SECONDS = 2
