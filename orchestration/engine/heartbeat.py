"""Worker heartbeats: a dead worker process is noticed in seconds, not when its items' lease runs out.

Every worker process that claims items runs one daemon thread that, every JOB_WORKER_HEARTBEAT_SECONDS,
writes its WorkerHeartbeat row and renews the lease of the items its deliveries hold. A process killed
by SIGKILL (or by the hard time limit) stops beating; the sweeper then frees its items as soon as the
row is JOB_WORKER_STALE_SECONDS old. A process that never beats (a test calling the engine directly)
keeps the plain lease: its items are freed when the lease set at claim time expires.

Only processes that Celery started as workers beat (`heartbeat_enable`, called from the worker signals
in orchestration/apps.py): a thread of its own would outlive a test's transaction in the test process.
"""

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from orchestration.choices import JobItemStatus
from orchestration.models import JobItem, WorkerHeartbeat

logger = logging.getLogger(__name__)

_enabled = False
_node: str | None = None
_thread_pid: int | None = None
_lock = threading.Lock()


def worker_id() -> str:
    """This process, as claims and heartbeats name it: the Celery worker's node name (`-n w1@hostA`; the
    host's name outside a worker) and the pid, which a forked pool process has of its own. Two workers on
    one host, or containers sharing a hostname, are told apart by their node names."""
    return f"{_node or socket.gethostname()}:{os.getpid()}"


def heartbeat_enable(node: str | None = None) -> None:
    """Mark this process as a worker: its first claim starts the heartbeat thread. `node` is the Celery
    worker's node name; the pool processes it forks keep it."""
    global _enabled, _node
    _enabled = True
    if node:
        _node = node


def heartbeat_once() -> None:
    """One beat: this process is alive, and the items its deliveries hold keep their lease."""
    now = timezone.now()
    me = worker_id()
    WorkerHeartbeat.objects.update_or_create(
        worker=me,
        defaults={"beat_at": now},
        create_defaults={
            "beat_at": now,
            "started_at": now,
        },
    )
    # Rows a delivery of this process is writing right now are skipped, not waited for: waiting on them
    # while that delivery's next statement waits on a row this one holds is a deadlock. They are being
    # released or renewed by that write; the next beat renews whatever is still held.
    held = JobItem.objects.filter(status=JobItemStatus.RUNNING, claimed_by=me).select_for_update(
        skip_locked=True
    )
    with transaction.atomic():
        JobItem.objects.filter(pk__in=held.values("pk")).update(
            lease_expires_at=now + timedelta(seconds=settings.JOB_ITEM_LEASE_SECONDS)
        )


def _beat_forever(stop: threading.Event) -> None:
    while not stop.wait(settings.JOB_WORKER_HEARTBEAT_SECONDS):
        try:
            heartbeat_once()
        except Exception:  # a database blip: beat again next time; the sweeper's margin covers a few misses
            logger.warning("worker heartbeat failed", exc_info=True)
            connection.close()


def heartbeat_ensure() -> None:
    """Start this process's heartbeat thread if it is a worker and has none (a fork has none yet)."""
    global _thread_pid
    if not _enabled or _thread_pid == os.getpid():
        return
    with _lock:
        if _thread_pid == os.getpid():
            return
        heartbeat_once()  # beat before the first claim is written, so the claim is never of a silent process
        thread = threading.Thread(
            target=_beat_forever, args=(threading.Event(),), name="worker-heartbeat", daemon=True
        )
        thread.start()
        _thread_pid = os.getpid()


def workers_stale(*, now=None) -> list[str]:
    """Worker processes silent for longer than JOB_WORKER_STALE_SECONDS."""
    now = now or timezone.now()
    return list(
        WorkerHeartbeat.objects.filter(
            beat_at__lt=now - timedelta(seconds=settings.JOB_WORKER_STALE_SECONDS)
        ).values_list("worker", flat=True)
    )
