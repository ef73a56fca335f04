"""Periodic work that spans layers (the API's own tables and orchestration's): kept thin."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="partnerportal.housekeeping", ignore_result=True)
def housekeeping() -> dict[str, int]:
    from orchestration.services.housekeeping import schedule_runs_prune
    from partnerportal.api.housekeeping import idempotency_keys_prune

    counts = {"schedule_runs": schedule_runs_prune(), "idempotency_keys": idempotency_keys_prune()}
    logger.info("housekeeping deleted %s", counts)
    return counts
