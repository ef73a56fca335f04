"""Settings shared by every run mode; everything that varies comes from the environment."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

from orchestration.choices import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env is a convenience for development; the environment always wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "tenants",
    "orchestration",
    "partnerportal",
    "partnerportal.staff",
    "partnerportal.api",
    "partnerportal.twofactor",
    "partnerportal.selfservice",
    "django_htmx",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(); then users who must pass a second factor are sent to do so.
    "django_otp.middleware.OTPMiddleware",
    "partnerportal.twofactor.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it turns a refused sign-in (too many failures) into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Content-Security-Policy on every response (django-csp): scripts and styles from our own origin only,
# no inline code, no plugins, never framed. Templates carry no inline script, style or on* handler.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "partnerportal.urls"
WSGI_APPLICATION = "partnerportal.wsgi.application"
ASGI_APPLICATION = "partnerportal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "partnerportal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'partnerportal.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "admin:login"
# Brute force on sign-in (S6, django-axes): failures are counted per user name AND client address
# together, so nobody can lock a named account out from their own address, nor lock out everyone behind
# one proxy address. A success clears the count.
# Two-factor sign-in (partnerportal.twofactor): staff must when this is on (production turns it on);
# customer users when their customer requires it; anyone who enrolled a device of their own accord.
OTP_REQUIRED_FOR_STAFF = env.bool("OTP_REQUIRED_FOR_STAFF", default=False)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="WorkSpaces Core partner control plane")
# A device's secret and recovery codes are shown once, to their owner: never again in the console.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURES_ALLOWED", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("LOGIN_LOCKOUT_SECONDS", default=900))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/login_locked.html"
AXES_VERBOSE = False
# The client address: REMOTE_ADDR unless a trusted proxy is configured. TRUSTED_PROXY_COUNT is how many
# proxies stand in front of the app (each appends the address it saw to TRUSTED_PROXY_HEADER); only then
# is the header read, and only its entry the nearest trusted proxy wrote (a client can prepend anything).
# docs/deployment-guide.md, "Client addresses behind the proxy".
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_HEADER = env("TRUSTED_PROXY_HEADER", default="HTTP_X_FORWARDED_FOR")
AXES_IPWARE_PROXY_ORDER = "left-most"
AXES_IPWARE_PROXY_COUNT = max(TRUSTED_PROXY_COUNT - 1, 0) if TRUSTED_PROXY_COUNT else None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    (TRUSTED_PROXY_HEADER, "REMOTE_ADDR") if TRUSTED_PROXY_COUNT else ("REMOTE_ADDR",)
)

# Keys that encrypt customer access-key secrets at rest (Fernet, newest first: old keys still decrypt).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# The partner's own AWS identity: the account customers trust in their role's policy.
PARTNER_AWS_ACCOUNT_ID = env("PARTNER_AWS_ACCOUNT_ID", default="123456789012")
# boto3 reads AWS_ENDPOINT_URL itself; it is kept here so the app can say where it points.
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL", default="")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "partnerportal.api.pagination.ApiCursorPagination",
    "PAGE_SIZE": 100,
    # JSON only, bounded in size and nesting; errors as RFC 9457 problem details (docs/api.md).
    "DEFAULT_PARSER_CLASSES": ["partnerportal.api.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "partnerportal.api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "partnerportal.api.schema.ApiAutoSchema",
    # One bucket per API token or signed-in person ("client"); the gateway's session events have their own.
    "DEFAULT_THROTTLE_RATES": {
        "client": env("API_RATE", default="1200/min"),
        "session-events": env("SESSION_EVENTS_RATE", default="600/min"),
    },
}
# The largest request body (bytes) and the deepest JSON nesting the API parses; beyond: 413 and 400.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1_048_576)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
SPECTACULAR_SETTINGS = {
    "TITLE": "WorkSpaces Core partner control plane API",
    "DESCRIPTION": "Desktops, jobs, images, bundles, directories, AWS accounts, power policies, usage and "
    "the audit log of the customers a token sees. Errors are RFC 9457 problem details; every POST takes "
    "an Idempotency-Key. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema name per choice set shared by several fields.
    "ENUM_NAME_OVERRIDES": {
        "DesktopStateEnum": "tenants.choices.DesktopState",
        "DirectoryStateEnum": "tenants.choices.DirectoryState",
        "ImageStateEnum": "tenants.choices.ImageState",
        "TenancyEnum": "tenants.choices.Tenancy",
        "RunningModeEnum": "tenants.choices.RunningMode",
        "CoreRunningModeEnum": ["MANUAL", "ALWAYS_ON"],
        "VerificationStatusEnum": "tenants.choices.VerificationStatus",
        "JobStatusEnum": "orchestration.choices.JobStatus",
        "JobItemStatusEnum": "orchestration.choices.JobItemStatus",
    },
}

# --- Celery -------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
# Results are not used to track work (Job rows are), so nothing is stored per task.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# JSON only: a pickled message from a compromised broker would run code in the worker.
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Ack after the task body ran, so a worker that dies mid-task leaves the message to be redelivered.
CELERY_TASK_ACKS_LATE = True
# A worker killed by a signal (OOM, SIGKILL) must not ack: the message goes back to the queue.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per process, so a long bulk task cannot sit on prefetched interactive work.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task may run at most this long; the hard limit kills a stuck AWS call.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
# Redis redelivers an unacked message after this long: above every time limit, or a running task is duplicated.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
# Keep retrying the broker connection at start-up: compose may start the worker before Redis.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Work lands on a named queue; nothing is routed to the implicit "celery" queue by accident.
CELERY_TASK_DEFAULT_QUEUE = Queue.INTERACTIVE.value
# Restart a worker process after this many tasks, bounding slow leaks in long-lived workers.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
# The beat schedule lives in the database, editable in the admin.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# The periodic work, declared once. `manage.py schedules_install` writes it into django-celery-beat's
# tables (idempotent; staff then edit intervals in the admin and beat's DatabaseScheduler reads them).
STANDARD_BEAT_SCHEDULE = {
    "jobs-sweep": {
        "task": "orchestration.jobs_sweep",
        "schedule": env.float("JOBS_SWEEP_INTERVAL_SECONDS", default=30.0),
        "options": {"queue": Queue.PERIODIC.value, "expires": 60},
    },
    # Brings our rows up to date with AWS for every account and region, and reports drift.
    "reconcile-all": {
        "task": "orchestration.reconcile_all",
        "schedule": env.float("RECONCILE_INTERVAL_SECONDS", default=900.0),
        "options": {"queue": Queue.PERIODIC.value, "expires": 600},
    },
    "idle-sweep": {
        "task": "orchestration.idle_sweep",
        "schedule": env.float("IDLE_SWEEP_INTERVAL_SECONDS", default=300.0),
        "options": {"queue": Queue.PERIODIC.value, "expires": 240},
    },
    "golden-image-pipelines": {
        "task": "orchestration.golden_image_pipelines_due",
        "schedule": env.float("GOLDEN_IMAGE_TICK_SECONDS", default=60.0),
        "options": {"queue": Queue.PERIODIC.value, "expires": 50},
    },
    # Each pool's manager: one run per (pool, window) sizes the pool to its schedule.
    "pools-manage": {
        "task": "orchestration.pools_manage",
        "schedule": env.float("POOL_MANAGE_INTERVAL_SECONDS", default=60.0),
        "options": {"queue": Queue.PERIODIC.value, "expires": 50},
    },
    # Collects new events for webhooks and sends the deliveries that are due.
    "webhooks-dispatch": {
        "task": "orchestration.webhooks_dispatch",
        "schedule": env.float("WEBHOOK_DISPATCH_INTERVAL_SECONDS", default=5.0),
        "options": {"queue": Queue.PERIODIC.value, "expires": 30},
    },
    # Deletes finished schedule runs past their retention and expired Idempotency-Keys (never audit rows).
    "housekeeping": {
        "task": "partnerportal.housekeeping",
        "schedule": env.float("HOUSEKEEPING_INTERVAL_SECONDS", default=86400.0),
        "options": {"queue": Queue.PERIODIC.value, "expires": 3600},
    },
}
# Housekeeping: finished schedule runs are kept this many days; rows go this many per DELETE statement.
SCHEDULE_RUN_RETENTION_DAYS = env.int("SCHEDULE_RUN_RETENTION_DAYS", default=30)
HOUSEKEEPING_BATCH_SIZE = env.int("HOUSEKEEPING_BATCH_SIZE", default=1000)
# Only a file-based beat (tests, a throwaway run) takes the schedule from here; with the database
# scheduler these would overwrite staff's edits at every beat start.
CELERY_BEAT_SCHEDULE = (
    STANDARD_BEAT_SCHEDULE if env.bool("BEAT_SCHEDULE_FROM_SETTINGS", default=False) else {}
)
# Idle-timeout stops: the sweep's window; each window runs once however many beats send it.
IDLE_SWEEP_INTERVAL_SECONDS = STANDARD_BEAT_SCHEDULE["idle-sweep"]["schedule"]
# Pools: the manager's window (one run per pool and window, however many beats send it).
POOL_MANAGE_INTERVAL_SECONDS = STANDARD_BEAT_SCHEDULE["pools-manage"]["schedule"]
# Webhooks (docs/webhooks.md): HTTPS endpoints on the public internet only, unless these say otherwise
# (development and tests send to a receiver on loopback).
WEBHOOK_ALLOW_INSECURE_URLS = env.bool("WEBHOOK_ALLOW_INSECURE_URLS", default=False)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
# A fact younger than this is read again at the next collection, in case a longer transaction commits
# an older one late.
WEBHOOK_SETTLE_SECONDS = env.int("WEBHOOK_SETTLE_SECONDS", default=60)
WEBHOOK_DISPATCH_BATCH = env.int("WEBHOOK_DISPATCH_BATCH", default=500)
# A gateway that reported a session live is believed for this long after its last heartbeat.
SESSION_HEARTBEAT_STALE_SECONDS = env.int("SESSION_HEARTBEAT_STALE_SECONDS", default=600)
# Task events let Flower show live progress.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # botocore logs request bodies at DEBUG; they can carry credentials.
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
    },
}

# --- AWS boundary ---------------------------------------------------------------------------------------
# Attempts per call in botocore's standard retry mode (idempotent calls only; creates get one).
AWS_MAX_ATTEMPTS = env.int("AWS_MAX_ATTEMPTS", default=4)
AWS_CONNECT_TIMEOUT = env.float("AWS_CONNECT_TIMEOUT", default=5.0)
AWS_READ_TIMEOUT = env.float("AWS_READ_TIMEOUT", default=30.0)
# Our own retries of throttled/transient answers on top of botocore's, with capped, jittered backoff.
AWS_CALL_RETRIES = env.int("AWS_CALL_RETRIES", default=6)
AWS_BACKOFF_BASE = env.float("AWS_BACKOFF_BASE", default=0.5)
AWS_BACKOFF_MAX = env.float("AWS_BACKOFF_MAX", default=20.0)
AWS_ASSUME_ROLE_DURATION_SECONDS = env.int("AWS_ASSUME_ROLE_DURATION_SECONDS", default=3600)
# Calls per second per (customer account, region), shared by all workers; 0 turns the limiter off.
AWS_RATE_LIMIT_PER_SECOND = env.float("AWS_RATE_LIMIT_PER_SECOND", default=5.0)
AWS_RATE_LIMIT_BURST = env.int("AWS_RATE_LIMIT_BURST", default=10)
AWS_RATE_LIMIT_MAX_WAIT = env.float("AWS_RATE_LIMIT_MAX_WAIT", default=30.0)
# A job delivery waits at most this long for an account's token; past it, it gives back what it has not
# sent and its worker process serves other accounts until that account's bucket has refilled.
AWS_RATE_LIMIT_DELIVERY_WAIT = env.float("AWS_RATE_LIMIT_DELIVERY_WAIT", default=0.1)
AWS_RATE_LIMIT_REDIS_URL = env("AWS_RATE_LIMIT_REDIS_URL", default=CELERY_BROKER_URL)
# The name we give each WorkSpace: our handle to find it again after a lost CreateWorkspaces response.
WORKSPACE_NAME_PREFIX = env("WORKSPACE_NAME_PREFIX", default="wsc-")

# --- Jobs ------------------------------------------------------------------------------------------------
# How long a claimed item stays leased to its delivery without a sign of life: the worker process that
# runs the delivery renews it with every heartbeat, so it bounds how long a dead worker's items wait,
# not how long a delivery may run.
JOB_ITEM_LEASE_SECONDS = env.int("JOB_ITEM_LEASE_SECONDS", default=60)
# How long one delivery of a job's items may run: set on their own, never derived from the lease (a dead
# worker is found by its heartbeat, so a long limit delays no recovery). The soft limit ends the delivery
# as a failure. One region's reconciliation of 10,000 desktops took 584 s on a loaded 2-core machine
# (bench/reconcile.py), so the limits leave it room.
JOB_TASK_SOFT_TIME_LIMIT_SECONDS = env.int("JOB_TASK_SOFT_TIME_LIMIT_SECONDS", default=900)
JOB_TASK_TIME_LIMIT_SECONDS = env.int("JOB_TASK_TIME_LIMIT_SECONDS", default=960)
# Each worker process that runs deliveries writes a heartbeat row this often; one silent for
# JOB_WORKER_STALE_SECONDS is dead, and the sweeper frees its items at once.
JOB_WORKER_HEARTBEAT_SECONDS = env.float("JOB_WORKER_HEARTBEAT_SECONDS", default=2.0)
JOB_WORKER_STALE_SECONDS = env.float("JOB_WORKER_STALE_SECONDS", default=10.0)
# A create whose answer was lost may still be carried out by AWS this long after it was sent: until
# then a later delivery that finds nothing by name waits rather than creating again.
JOB_CREATE_IN_FLIGHT_SECONDS = env.float(
    "JOB_CREATE_IN_FLIGHT_SECONDS", default=max(120.0, 4 * AWS_READ_TIMEOUT)
)
# Deliveries that claimed an item before it is failed as poison.
JOB_ITEM_MAX_ATTEMPTS = env.int("JOB_ITEM_MAX_ATTEMPTS", default=5)
# Seconds between polls of AWS for desktops still provisioning.
JOB_POLL_INTERVAL_SECONDS = env.float("JOB_POLL_INTERVAL_SECONDS", default=15.0)
# A new desktop's first poll this long after its CreateWorkspaces call (looking earlier only costs
# DescribeWorkspaces calls), then polls follow every JOB_POLL_INTERVAL_SECONDS until it settles. Unset
# (None): one interval before new desktops in the directory are usually seen ready (learned from its
# recent create jobs; the interval until it has had ten).
JOB_CREATE_FIRST_POLL_SECONDS = env.float("JOB_CREATE_FIRST_POLL_SECONDS", default=None)
# A PENDING item older than this with no task on it is assumed lost and re-enqueued by the sweeper.
JOB_LOST_MESSAGE_SECONDS = env.int("JOB_LOST_MESSAGE_SECONDS", default=120)
# An item given back for later (throttled, transient) waits a random time up to base * 2**retries, capped.
JOB_RETRY_BASE_SECONDS = env.float("JOB_RETRY_BASE_SECONDS", default=2.0)
JOB_RETRY_MAX_SECONDS = env.float("JOB_RETRY_MAX_SECONDS", default=60.0)
