"""Every job kind's runner, listed once, and the three entry points the generic Celery tasks call.

A kind resolves to its runner here and nowhere else: the registry is built from the runner classes
themselves (each names the kinds it runs), so a kind without a runner, or with two, fails at import and
in tests/orchestration/test_engine.py. orchestration/engine is the machinery the runners share.
"""

from collections.abc import Mapping, Sequence

from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.choices import JOB_TERMINAL_STATUSES, AuditOutcome, JobKind, JobStatus
from orchestration.engine.items import CANCELLED_CODE, items_cancel_unsent
from orchestration.engine.jobs import job_refresh_status
from orchestration.engine.runner import JobRunner, job_deliver, job_poll_run, runners_by_kind
from orchestration.engine.sweeper import jobs_sweep as sweep
from orchestration.models import AuditEvent, Job
from orchestration.services.adoption import AdoptRunner, ReleaseRunner
from orchestration.services.audit import audit_event_for_actor, audit_record_many
from orchestration.services.byol import ByolSetupRunner
from orchestration.services.desktop_actions import DesktopActionRunner
from orchestration.services.desktops import DesktopCreateRunner
from orchestration.services.directories import DirectoryRegisterRunner
from orchestration.services.errors import RequestInvalid
from orchestration.services.images.runner import ImageCopyRunner, ImageCreateRunner, ImageImportRunner
from orchestration.services.pools import PoolManageRunner
from orchestration.services.power import IdleSweepRunner
from orchestration.services.reconcile import ReconcileRunner
from tenants.choices import DesktopState
from tenants.models import Desktop

RUNNERS: Mapping[str, type[JobRunner]] = runners_by_kind(
    DesktopCreateRunner,
    DesktopActionRunner,
    IdleSweepRunner,
    ImageImportRunner,
    ImageCreateRunner,
    ImageCopyRunner,
    ByolSetupRunner,
    DirectoryRegisterRunner,
    ReconcileRunner,
    AdoptRunner,
    ReleaseRunner,
    PoolManageRunner,
)


def runner_for(kind: str) -> type[JobRunner]:
    """The runner of a job kind (every JobKind has exactly one)."""
    return RUNNERS[kind]


def job_items_run(*, job_id: int, item_ids: Sequence[int]) -> None:
    """One delivery of a job's items, whatever its kind."""
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    if kind is None:
        return  # the job was deleted while its message waited: nothing to do
    job_deliver(runner_for(kind), job_id=job_id, item_ids=item_ids)


def job_poll(*, job_id: int) -> None:
    """One poll of a job's waiting items, whatever its kind."""
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    if kind is None:
        return
    job_poll_run(runner_for(kind), job_id=job_id)


def jobs_sweep() -> dict[str, int]:
    """Beat's backstop: re-send lost deliveries and revive lost polls of every kind."""
    return sweep(runner_for)


class JobCancelInvalid(RequestInvalid):
    """A cancel that cannot be done: the job has finished."""


def job_cancel(*, actor: Actor, job: Job) -> int:
    """Stop the job's items that have not reached AWS; returns how many. Items already sent finish as they
    will. Audited (JobCancel), with the cancelled items in one event. A job left with nothing in flight
    becomes CANCELLED if nothing succeeded, otherwise PARTIAL; its runner settles its result as usual.

    Desktops a cancelled create would have made are marked ERROR (Cancelled), as a failed create marks them.
    """
    if job.status in JOB_TERMINAL_STATUSES:
        raise JobCancelInvalid({"job": [f"Job {job.pk} has finished ({job.status}): nothing to cancel."]})
    message = f"Cancelled by {actor.label} before it reached AWS."
    runner = runner_for(job.kind)(job)
    with transaction.atomic():
        Job.objects.select_for_update().filter(pk=job.pk).first()  # one cancel or settle at a time
        cancelled = items_cancel_unsent(job_id=job.pk, message=message)
        if job.kind == JobKind.DESKTOP_CREATE and cancelled:
            now = timezone.now()
            Desktop.objects.filter(
                pk__in=[i.desktop_id for i in cancelled], workspace_id__isnull=True
            ).update(
                state=DesktopState.ERROR,
                error_code=CANCELLED_CODE,
                error_message=message,
                state_changed_at=now,
                updated_at=now,
            )
        audit_record_many([_cancel_event(actor, job, cancelled)])
        refreshed = job_refresh_status(job_id=job.pk, settle=runner.settle)
        if cancelled and refreshed.status == JobStatus.FAILED:
            # Nothing succeeded and nothing is left: the job was cancelled rather than failed.
            Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
    return len(cancelled)


def _cancel_event(actor: Actor, job: Job, cancelled: list) -> AuditEvent:
    event = audit_event_for_actor(
        actor,
        job.customer,
        action="JobCancel",
        outcome=AuditOutcome.SUCCEEDED,
        target_type="job",
        target_id=str(job.pk),
        details={
            "kind": job.kind,
            "cancelled_items": len(cancelled),
            "targets": [i.aws_resource_id or i.desktop_id or i.sequence for i in cancelled[:100]],
        },
    )
    event.job_id = job.pk
    return event
