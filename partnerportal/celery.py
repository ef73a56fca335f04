"""The Celery application: configured from Django settings (CELERY_*), one queue per class of work."""

import os

from celery import Celery
from kombu import Queue

from orchestration.choices import Queue as WorkQueue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerportal.settings.development")

app = Celery("partnerportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Declared explicitly so a worker started with -Q only consumes what it was told to.
app.conf.task_queues = [Queue(queue.value) for queue in WorkQueue]
app.autodiscover_tasks()
