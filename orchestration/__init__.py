"""The machinery: the AWS boundary, durable jobs, workflows (services), thin Celery tasks, the audit log."""
