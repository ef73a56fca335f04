"""Development: one machine, SQLite under var/ unless DATABASE_URL says otherwise, the simulator as AWS."""

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# A fixed key is acceptable only here: development data is disposable.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="development-only-not-secret-key-0123456789abcdef")  # noqa: S105
# A fixed Fernet key for development data only; production has no default.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMDAwMDA="]
)
VAR_DIR.mkdir(exist_ok=True)
# Serve static files straight from the apps; production serves the collected copy.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# `make run` has web, worker and beat writing one SQLite file. A transaction that reads and then writes
# fails at once with "database is locked" when another writer got in between (waiting cannot help it),
# so each transaction takes the write lock when it begins, and waits up to 20 s for it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
# A receiver on this machine is the usual webhook target while developing.
WEBHOOK_ALLOW_INSECURE_URLS = env.bool("WEBHOOK_ALLOW_INSECURE_URLS", default=True)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=True)
