"""Thin Celery tasks: ids in, one service call, nothing else. Names are explicit and pinned by a test.

Every job kind runs on the same two tasks, `orchestration.job_items_run` and `orchestration.job_poll`;
orchestration/services/jobs.py finds the kind's runner.
"""

from celery import shared_task
from django.conf import settings


def delivery_time_limits() -> tuple[int, int]:
    """A delivery's (soft, hard) time limits: their own settings, independent of the lease (which the
    worker's heartbeat renews while the delivery runs). The soft limit ends the delivery as a failure
    (orchestration.engine.runner.job_deliver); the hard limit, always a little later, kills a delivery
    stuck where the soft one cannot reach."""
    soft = max(5, settings.JOB_TASK_SOFT_TIME_LIMIT_SECONDS)
    return soft, max(soft + 5, settings.JOB_TASK_TIME_LIMIT_SECONDS)


BATCH_SOFT_TIME_LIMIT, BATCH_TIME_LIMIT = delivery_time_limits()


@shared_task(
    name="orchestration.job_items_run",
    time_limit=BATCH_TIME_LIMIT,
    soft_time_limit=BATCH_SOFT_TIME_LIMIT,
    ignore_result=True,
)
def job_items_run(job_id: int, item_ids: list[int]) -> None:
    from orchestration.services.jobs import job_items_run as run

    run(job_id=job_id, item_ids=item_ids)


@shared_task(name="orchestration.job_poll", ignore_result=True)
def job_poll(job_id: int) -> None:
    from orchestration.services.jobs import job_poll as poll

    poll(job_id=job_id)


# Desktop creation once had tasks of its own. Messages already queued under these names in a running
# deployment when it is upgraded still run: they forward to the generic tasks' path.
@shared_task(
    name="orchestration.desktop_create_batch",
    time_limit=BATCH_TIME_LIMIT,
    soft_time_limit=BATCH_SOFT_TIME_LIMIT,
    ignore_result=True,
)
def desktop_create_batch(job_id: int, item_ids: list[int]) -> None:
    from orchestration.services.jobs import job_items_run as run

    run(job_id=job_id, item_ids=item_ids)


@shared_task(name="orchestration.desktop_create_poll", ignore_result=True)
def desktop_create_poll(job_id: int) -> None:
    from orchestration.services.jobs import job_poll as poll

    poll(job_id=job_id)


@shared_task(name="orchestration.reconcile_all", ignore_result=True)
def reconcile_all() -> int:
    from orchestration.services.reconcile import reconcile_all as run

    return run()


@shared_task(name="orchestration.idle_sweep", ignore_result=True)
def idle_sweep() -> dict:
    from orchestration.services.power import idle_sweep_run

    return idle_sweep_run()


@shared_task(name="orchestration.idle_sweep_account", ignore_result=True)
def idle_sweep_account(aws_account_id: str, now: str) -> dict:
    from datetime import datetime

    from orchestration.services.power import idle_sweep_account_run

    return idle_sweep_account_run(aws_account_id=aws_account_id, now=datetime.fromisoformat(now))


@shared_task(name="orchestration.pools_manage", ignore_result=True)
def pools_manage() -> dict:
    from orchestration.services.pools import pools_manage_due

    return pools_manage_due()


@shared_task(name="orchestration.golden_image_pipelines_due", ignore_result=True)
def golden_image_pipelines_due() -> int:
    from orchestration.services.pipelines import golden_image_pipelines_due as run

    return run()


@shared_task(name="orchestration.jobs_sweep", ignore_result=True)
def jobs_sweep() -> dict[str, int]:
    from orchestration.services.jobs import jobs_sweep as sweep

    return sweep()


@shared_task(name="orchestration.webhooks_dispatch", ignore_result=True)
def webhooks_dispatch() -> dict[str, int]:
    from orchestration.services.webhooks import webhooks_dispatch as dispatch

    return dispatch()


@shared_task(name="orchestration.webhook_deliver", ignore_result=True)
def webhook_deliver(delivery_id: int) -> str:
    from orchestration.services.webhooks import webhook_deliver as deliver

    return deliver(delivery_id)
