"""Durable jobs (the database, not the broker, is the truth), the append-only audit log and webhooks."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from orchestration.choices import (
    ActorKind,
    AuditOutcome,
    JobItemStatus,
    JobKind,
    JobStatus,
    Queue,
    WebhookDeliveryStatus,
)
from tenants.models import Customer, Desktop


class Job(models.Model):
    """One piece of requested work (create 300 desktops, import an image) made of items.

    Progress is counted from the items' rows, never from broker callbacks.
    """

    kind = models.CharField(max_length=30, choices=JobKind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="jobs")
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    queue = models.CharField(max_length=12, choices=Queue.choices, default=Queue.BULK)
    params = models.JSONField(default=dict, blank=True)
    requested_by_kind = models.CharField(max_length=15, choices=ActorKind.choices)
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_label = models.CharField(max_length=200, help_text="Who asked, as it read when they asked.")
    total_items = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(
        default=dict, blank=True, help_text="What the job found or made, for people (e.g. a drift report)."
    )
    poll_scheduled_for = models.DateTimeField(
        null=True, blank=True, help_text="When the job's one pending poll of AWS is due (one at a time)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="job_status_created")]

    def __str__(self) -> str:
        return f"Job {self.pk} {self.kind} ({self.status})"


class JobItem(models.Model):
    """One unit of a job, claimed by one task at a time through a lease.

    `attempts` counts deliveries that claimed it: past the job's limit the item fails as poison.
    `retries` counts the times it was given back for a later delivery: its backoff grows with them.
    `aws_resource_id` is written the moment AWS returns it, before anything else.
    Only the job engine (orchestration/engine) changes `status`.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    sequence = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=JobItemStatus.choices, default=JobItemStatus.PENDING)
    desktop = models.ForeignKey(
        Desktop, null=True, blank=True, on_delete=models.SET_NULL, related_name="job_items"
    )
    params = models.JSONField(default=dict, blank=True)
    aws_resource_id = models.CharField(max_length=100, blank=True)
    aws_request_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(
        default=0,
        help_text="Times given back for a later delivery (throttled, transient): its backoff grows.",
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(
        max_length=200, blank=True, help_text="The worker process whose delivery holds the lease (host:pid)."
    )
    lease_token = models.UUIDField(
        null=True,
        blank=True,
        help_text="The delivery holding the lease: a write from any other delivery is refused (the fence).",
    )
    next_poll_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a create call for this item was sent: a retry looks before it makes.",
    )
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["job", "sequence"], name="job_item_sequence_unique"),
        ]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="job_item_lease"),
            models.Index(fields=["status", "next_poll_at"], name="job_item_poll"),
            models.Index(fields=["job", "status"], name="job_item_job_status"),
        ]

    def __str__(self) -> str:
        return f"Item {self.number} of job {self.job_id} ({self.status})"

    @property
    def number(self) -> int:
        """The item's place in its job as people count it, from 1 (`sequence` is stored from 0)."""
        return self.sequence + 1

    def clean(self) -> None:
        super().clean()
        # A job acts for one customer: its items touch only that customer's desktops (the database
        # refuses others too, orchestration migration 0009).
        if self.desktop_id is not None and self.job_id is not None:
            desktop = Desktop.objects.select_related("aws_account").get(pk=self.desktop_id)
            if desktop.aws_account.customer_id != self.job.customer_id:
                raise ValidationError(
                    {"desktop": f"Desktop {desktop} belongs to another customer than the job's."}
                )


class WorkerHeartbeat(models.Model):
    """A worker process that runs deliveries, and when it last said it was alive.

    Written every JOB_WORKER_HEARTBEAT_SECONDS by a thread in the process (orchestration/engine/heartbeat.py);
    the sweeper frees the items of a process silent for JOB_WORKER_STALE_SECONDS.
    """

    worker = models.CharField(max_length=200, unique=True, help_text="host:pid of the process.")
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker} (last beat {self.beat_at:%H:%M:%S})"


class AuditEvent(models.Model):
    """One action, AWS mutation or local refusal, as it happened. Append-only.

    It names the actor, the customer, the action, the target, the AWS request id and the outcome. The
    links to customer, user and job are not database constraints and are never cascaded: an event
    outlives what it describes, and the `*_label` fields keep what the names read at the time.
    """

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(max_length=15, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    customer_label = models.CharField(max_length=200, blank=True)
    aws_account_id = models.CharField(max_length=12, blank=True)
    region = models.CharField(max_length=30, blank=True)
    action = models.CharField(
        max_length=80, help_text="The AWS operation or local action, e.g. CreateWorkspaces."
    )
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=200, blank=True)
    aws_request_id = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="audit_customer_time"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.target_id} {self.outcome}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("Audit events are append-only; this one exists already.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only; they cannot be deleted.")


class ScheduleRun(models.Model):
    """One run of a scheduled piece of work for one window: its unique row makes the run happen once.

    A second beat, a retry or a redelivery that tries to claim the same (schedule, window) finds the row
    and does nothing (F6). A multi-step run (a golden-image rebuild) keeps its progress in `step` and
    `result`, so a crash resumes where it stopped instead of starting over (F10).
    """

    schedule = models.CharField(max_length=100, help_text='e.g. "idle-sweep" or "golden-image:7".')
    window_start = models.DateTimeField()
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.RUNNING)
    step = models.CharField(max_length=40, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-window_start", "schedule"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "window_start"], name="one_run_per_schedule_window"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} @ {self.window_start:%Y-%m-%d %H:%M} ({self.status})"


class WebhookEndpoint(models.Model):
    """An HTTPS endpoint of a customer's (its tenant's events) or of the partner's (every customer's).

    The signing secret is kept encrypted (FIELD_ENCRYPTION_KEYS) and shown once, when it is made.
    """

    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        help_text="Empty: the partner's own endpoint, told of every customer's events.",
    )
    url = models.URLField(max_length=500, help_text="HTTPS, on the public internet.")
    events = models.JSONField(default=list, help_text="The event types it is sent (WebhookEventType).")
    description = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(default=True)
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id", "url"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint, with every attempt's outcome; retried with backoff until it is
    acknowledged (a 2xx) or out of attempts.

    `event_key` names the source fact ("job:42", "desktop-state:913"): unique per endpoint, so a fact
    is queued once however many collectors see it. `event_id` is sent with every attempt, so a receiver
    can drop a repeat.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_key = models.CharField(max_length=100)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_key"], name="one_delivery_per_event_and_endpoint"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookCursor(models.Model):
    """How far the collector has read one source of events (a row id or a time)."""

    source = models.CharField(max_length=40, unique=True)
    position = models.BigIntegerField(default=0)
    read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.source} @ {self.position}"
