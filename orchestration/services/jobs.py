"""Every job kind's runner, listed once, and the three entry points the generic Celery tasks call.

A kind resolves to its runner here and nowhere else: the registry is built from the runner classes
themselves (each names the kinds it runs), so a kind without a runner, or with two, fails at import and
in tests/orchestration/test_engine.py. orchestration/engine is the machinery the runners share.
"""

from collections.abc import Mapping, Sequence

from orchestration.engine.runner import JobRunner, job_deliver, job_poll_run, runners_by_kind
from orchestration.engine.sweeper import jobs_sweep as sweep
from orchestration.models import Job
from orchestration.services.adoption import AdoptRunner, ReleaseRunner
from orchestration.services.byol import ByolSetupRunner
from orchestration.services.desktop_actions import DesktopActionRunner
from orchestration.services.desktops import DesktopCreateRunner
from orchestration.services.directories import DirectoryRegisterRunner
from orchestration.services.images.runner import ImageCopyRunner, ImageCreateRunner, ImageImportRunner
from orchestration.services.power import IdleSweepRunner
from orchestration.services.reconcile import ReconcileRunner

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
