"""Enumerations for jobs and the audit log."""

from django.db import models


class JobKind(models.TextChoices):
    """What a job does; each kind has one runner (orchestration/services/jobs.py lists them)."""

    DESKTOP_CREATE = "DESKTOP_CREATE", "Create desktops"
    DESKTOP_START = "DESKTOP_START", "Start desktops"
    DESKTOP_STOP = "DESKTOP_STOP", "Stop desktops"
    DESKTOP_REBOOT = "DESKTOP_REBOOT", "Reboot desktops"
    DESKTOP_REBUILD = "DESKTOP_REBUILD", "Rebuild desktops"
    DESKTOP_RESTORE = "DESKTOP_RESTORE", "Restore desktops"
    DESKTOP_MODIFY = "DESKTOP_MODIFY", "Modify desktops"
    DESKTOP_MAINTENANCE = "DESKTOP_MAINTENANCE", "Set desktops' admin maintenance"
    DESKTOP_MIGRATE = "DESKTOP_MIGRATE", "Migrate desktops to another bundle"
    DESKTOP_TERMINATE = "DESKTOP_TERMINATE", "Terminate desktops"
    DESKTOP_ADOPT = "DESKTOP_ADOPT", "Adopt existing WorkSpaces"
    DESKTOP_RELEASE = "DESKTOP_RELEASE", "Release desktops to the customer"
    IMAGE_IMPORT = "IMAGE_IMPORT", "Import image"
    IMAGE_CREATE = "IMAGE_CREATE", "Create image from desktop"
    IMAGE_COPY = "IMAGE_COPY", "Copy image"
    ACCOUNT_BYOL_SETUP = "ACCOUNT_BYOL_SETUP", "BYOL account setup"
    DIRECTORY_REGISTER = "DIRECTORY_REGISTER", "Register directory"
    RECONCILE = "RECONCILE", "Reconcile with AWS"
    IDLE_SWEEP = "IDLE_SWEEP", "Idle-timeout stops"
    POOL_MANAGE = "POOL_MANAGE", "Pool manager run"


class JobStatus(models.TextChoices):
    """A job's lifecycle; SUCCEEDED/FAILED/PARTIAL/CANCELLED are terminal."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL", "Partially succeeded"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


JOB_TERMINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELLED)


class JobItemStatus(models.TextChoices):
    """One unit of a job: PENDING → RUNNING (leased) → WAITING (polling AWS) → SUCCEEDED or FAILED; or
    SKIPPED from the start (a selected desktop the action does not apply to: nothing was tried, nothing failed)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    WAITING = "WAITING", "Waiting on AWS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


JOB_ITEM_TERMINAL_STATUSES = (JobItemStatus.SUCCEEDED, JobItemStatus.FAILED, JobItemStatus.SKIPPED)


class ActorKind(models.TextChoices):
    """Who asked for a job or caused an audited action."""

    STAFF = "STAFF", "Partner staff"
    CUSTOMER_USER = "CUSTOMER_USER", "Customer user"
    API_TOKEN = "API_TOKEN", "API token"
    SCHEDULE = "SCHEDULE", "Schedule"
    SYSTEM = "SYSTEM", "System"


class Queue(models.TextChoices):
    """Celery queues, one per class of work, so bulk work never delays a person's click."""

    INTERACTIVE = "interactive"
    BULK = "bulk"
    POLL = "poll"
    PERIODIC = "periodic"


# What a worker that does everything consumes (`celery worker -Q ...`).
ALL_QUEUES = ",".join(queue.value for queue in Queue)


class AuditOutcome(models.TextChoices):
    """How an audited action ended."""

    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    REFUSED = "REFUSED", "Refused locally (never sent to AWS)"
    UNKNOWN = "UNKNOWN", "Unknown (the answer was lost; AWS may have acted)"


class WebhookEventType(models.TextChoices):
    """What a webhook endpoint can subscribe to."""

    JOB_FINISHED = "job.finished", "Job finished"
    DESKTOP_STATE_CHANGED = "desktop.state_changed", "Desktop state changed"
    DESKTOP_NEEDS_ATTENTION = "desktop.needs_attention", "Desktop needs attention"
    IMAGE_READY = "image.ready", "Image ready"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    DELIVERED = "DELIVERED", "Delivered"
    FAILED = "FAILED", "Failed"
