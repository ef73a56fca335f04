"""Golden-image pipelines (seed rule R11): image the golden desktop, point bundles at it, copy, prune.

Each pipeline fires on its cron schedule (UTC). A firing is a ScheduleRun row, unique per
(pipeline, window), so two beats or a retried tick make one rebuild per window (F6). The run moves
through steps, and every step is recorded before the next begins, so a crash anywhere resumes where it
stopped (F10):

    start     the golden desktop is STOPPED (MANUAL, idle-stopped overnight): start it and wait
    image     CreateWorkspaceImage as a job, named `<prefix>-<window>`; the job adopts the image by
              that name if a crash lost the answer, so a window never makes a second image
    bundles   UpdateWorkspaceBundle on every target bundle not already on the new image
    copy      CopyWorkspaceImage to the pipeline's other regions, as a job
    prune     delete this pipeline's images beyond the retention count that no bundle uses

A failed image stops the run before `bundles`: the bundles stay on the last good image and the run
says why. Beat's tick (every minute) both starts due runs and moves running ones on; nothing waits.
"""

import logging
from datetime import datetime
from typing import TypedDict, Unpack

from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.errors import AwsError
from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus, JobStatus
from orchestration.models import Job, JobItem, ScheduleRun
from orchestration.services.bundles import BundleInvalid, bundle_update_image
from orchestration.services.desktop_actions import DesktopAction, DesktopActionInvalid, desktop_action_bulk
from orchestration.services.images import (
    ImageInvalid,
    image_copy,
    image_create_from_desktop,
    image_delete,
    image_description_safe,
)
from orchestration.services.schedules import cron_last_fire, schedule_run_claim
from tenants.choices import DesktopState, ImageState
from tenants.models import Bundle, GoldenImagePipeline, Image

logger = logging.getLogger(__name__)

SCHEDULE_PREFIX = "golden-image:"
STEP_START = "start"
STEP_IMAGE = "image"
STEP_BUNDLES = "bundles"
STEP_COPY = "copy"
STEP_PRUNE = "prune"


class _RunResult(TypedDict, total=False):
    """What a run records in ScheduleRun.result as it goes: the jobs it started and what came of them."""

    start_job_id: int
    image_job_id: int
    image_name: str
    image_id: str
    bundles_updated: list[str]
    copy_job_id: int
    copy_error: str
    pruned: list[str]
    kept_in_use: list[str]


def pipeline_schedule_name(pipeline: GoldenImagePipeline) -> str:
    return f"{SCHEDULE_PREFIX}{pipeline.pk}"


def pipeline_image_name(pipeline: GoldenImagePipeline, window: datetime) -> str:
    """The deterministic image name of one window: how a resumed run finds what it made."""
    return f"{pipeline.image_name_prefix}-{window:%Y%m%d-%H%M}"


def golden_image_pipelines_due(*, now: datetime | None = None) -> int:
    """Beat's tick: claim the current window of every due pipeline, then advance every running run.

    Returns how many runs were started.
    """
    now = now or timezone.now()
    started = 0
    for pipeline in GoldenImagePipeline.objects.filter(enabled=True, customer__is_active=True):
        window = cron_last_fire(pipeline.schedule_cron, now)
        created = pipeline.created_at.replace(second=0, microsecond=0)
        if window is None or window < created:
            continue  # a schedule never fires for a window from before the pipeline existed
        if schedule_run_claim(schedule=pipeline_schedule_name(pipeline), window_start=window):
            started += 1
    for run_id in ScheduleRun.objects.filter(
        schedule__startswith=SCHEDULE_PREFIX, status=JobStatus.RUNNING
    ).values_list("pk", flat=True):
        pipeline_run_advance(run_id=run_id)
    return started


def pipeline_run_now(*, pipeline: GoldenImagePipeline, now: datetime | None = None) -> ScheduleRun | None:
    """Staff's "run now": a run for the current minute, unless one exists for it already."""
    window = (now or timezone.now()).replace(second=0, microsecond=0)
    run = schedule_run_claim(schedule=pipeline_schedule_name(pipeline), window_start=window)
    if run is not None:
        pipeline_run_advance(run_id=run.pk)
    return run


def pipeline_run_advance(*, run_id: int) -> None:
    """Move one run on by as many steps as are ready; a run another process holds is left to it."""
    with transaction.atomic():
        run = ScheduleRun.objects.select_for_update(skip_locked=True).filter(pk=run_id).first()
        if run is None or run.status != JobStatus.RUNNING:
            return
        pipeline_id = int(run.schedule.removeprefix(SCHEDULE_PREFIX))
        pipeline = (
            GoldenImagePipeline.objects.select_related("customer", "aws_account__customer", "golden_desktop")
            .filter(pk=pipeline_id)
            .first()
        )
        if pipeline is None:
            _finish(run, JobStatus.CANCELLED, "The pipeline was deleted.")
            return
        actor = Actor.schedule(f"golden-image pipeline {pipeline.name}")
        try:
            while run.status == JobStatus.RUNNING and _step(run, pipeline, actor):
                pass
        except AwsError as error:
            # Throttling or a transient answer: the next tick tries the same step again.
            run.result = {**run.result, "last_error": str(error)}
            run.save(update_fields=["result", "updated_at"])
            logger.info("pipeline %s step %s: %s", pipeline.pk, run.step, error)


def _step(run: ScheduleRun, pipeline: GoldenImagePipeline, actor: Actor) -> bool:
    """Do the run's current step if it can be done now; True to go on to the next one."""
    step = run.step or STEP_START
    if step == STEP_START:
        return _step_start(run, pipeline, actor)
    if step == STEP_IMAGE:
        return _step_image(run, pipeline, actor)
    if step == STEP_BUNDLES:
        return _step_bundles(run, pipeline, actor)
    if step == STEP_COPY:
        return _step_copy(run, pipeline, actor)
    return _step_prune(run, pipeline, actor)


def _goto(run: ScheduleRun, step: str, **result: Unpack[_RunResult]) -> bool:
    run.step = step
    run.result = {**run.result, **result}
    run.save(update_fields=["step", "result", "updated_at"])
    return True


def _finish(run: ScheduleRun, status: str, error: str = "", **result: Unpack[_RunResult]) -> bool:
    run.status = status
    run.error = error
    run.result = {**run.result, **result}
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "result", "finished_at", "updated_at"])
    return False


def _job_outcome(job_id: int) -> Job | None:
    """The job if it is finished, None while it runs."""
    job = Job.objects.filter(pk=job_id).first()
    return job if job is not None and job.status in JOB_TERMINAL_STATUSES else None


def _job_errors(job: Job) -> str:
    failed = JobItem.objects.filter(job=job, status=JobItemStatus.FAILED).values_list(
        "error_code", "error_message"
    )
    return "; ".join(f"{code}: {message}" for code, message in failed) or job.error or job.status


def _step_start(run: ScheduleRun, pipeline: GoldenImagePipeline, actor: Actor) -> bool:
    desktop = pipeline.golden_desktop
    desktop.refresh_from_db()
    start_job_id = run.result.get("start_job_id")
    if desktop.state == DesktopState.AVAILABLE:
        return _goto(run, STEP_IMAGE)
    if start_job_id is None and desktop.state == DesktopState.STOPPED:
        try:
            job = desktop_action_bulk(
                actor=actor, customer=pipeline.customer, desktops=[desktop], action=DesktopAction.START
            )
        except DesktopActionInvalid as invalid:
            return _finish(run, JobStatus.FAILED, f"Could not start the golden desktop: {invalid}")
        _goto(run, STEP_START, start_job_id=job.pk)
        return False  # the start job runs; the next tick looks again
    if start_job_id is not None:
        finished = _job_outcome(start_job_id)
        if finished is None:
            return False  # still starting
        if finished.status != JobStatus.SUCCEEDED:
            return _finish(
                run, JobStatus.FAILED, f"The golden desktop did not start: {_job_errors(finished)}"
            )
        return _goto(run, STEP_IMAGE)
    if desktop.state in (DesktopState.STARTING, DesktopState.PENDING, DesktopState.REBOOTING):
        return False  # coming up on its own
    return _finish(
        run,
        JobStatus.FAILED,
        f"The golden desktop {desktop.workspace_id} is {desktop.state}; it must be AVAILABLE to be imaged.",
    )


def _step_image(run: ScheduleRun, pipeline: GoldenImagePipeline, actor: Actor) -> bool:
    image_job_id = run.result.get("image_job_id")
    if image_job_id is None:
        name = pipeline_image_name(pipeline, run.window_start)
        try:
            job = image_create_from_desktop(
                actor=actor,
                desktop=pipeline.golden_desktop,
                name=name,
                description=f"Golden image of {image_description_safe(pipeline.name)} for {run.window_start:%Y-%m-%d %H%M} UTC",
            )
        except ImageInvalid as invalid:
            return _finish(run, JobStatus.FAILED, f"The image was not made: {invalid}")
        run.job = job
        run.save(update_fields=["job", "updated_at"])
        _goto(run, STEP_IMAGE, image_job_id=job.pk, image_name=name)
        return False  # the image takes a while; the next tick looks again
    finished = _job_outcome(image_job_id)
    if finished is None:
        return False
    item = JobItem.objects.filter(job=finished).first()
    if finished.status != JobStatus.SUCCEEDED or item is None or not item.aws_resource_id:
        return _finish(
            run,
            JobStatus.FAILED,
            f"The golden image failed, so the bundles stay on their last good image: {_job_errors(finished)}",
        )
    return _goto(run, STEP_BUNDLES, image_id=item.aws_resource_id)


def _step_bundles(run: ScheduleRun, pipeline: GoldenImagePipeline, actor: Actor) -> bool:
    image = Image.objects.get(image_id=run.result["image_id"])
    updated = list(run.result.get("bundles_updated", []))
    for bundle in pipeline.target_bundles.exclude(image=image).order_by("pk"):
        try:
            bundle_update_image(actor=actor, bundle=bundle, image=image)
        except BundleInvalid as invalid:
            return _finish(run, JobStatus.FAILED, f"Bundle {bundle.bundle_id} was not updated: {invalid}")
        updated.append(bundle.bundle_id)
        run.result = {**run.result, "bundles_updated": updated}
        run.save(update_fields=["result", "updated_at"])
    return _goto(run, STEP_COPY, bundles_updated=updated)


def _step_copy(run: ScheduleRun, pipeline: GoldenImagePipeline, actor: Actor) -> bool:
    regions = [r for r in pipeline.copy_to_regions if r != pipeline.region]
    if not regions:
        return _goto(run, STEP_PRUNE)
    copy_job_id = run.result.get("copy_job_id")
    if copy_job_id is None:
        image = Image.objects.get(image_id=run.result["image_id"])
        try:
            job = image_copy(actor=actor, image=image, regions=regions)
        except ImageInvalid as invalid:
            return _goto(run, STEP_PRUNE, copy_error=str(invalid))
        _goto(run, STEP_COPY, copy_job_id=job.pk)
        return False
    finished = _job_outcome(copy_job_id)
    if finished is None:
        return False
    if finished.status != JobStatus.SUCCEEDED:
        return _goto(run, STEP_PRUNE, copy_error=_job_errors(finished))
    return _goto(run, STEP_PRUNE)


def _step_prune(run: ScheduleRun, pipeline: GoldenImagePipeline, actor: Actor) -> bool:
    """Keep the newest `retention_count` images of this pipeline per region; never one a bundle uses."""
    deleted, kept_in_use = [], []
    regions = {pipeline.region, *pipeline.copy_to_regions}
    images = Image.objects.filter(
        aws_account=pipeline.aws_account,
        region__in=regions,
        name__startswith=f"{pipeline.image_name_prefix}-",
        state__in=[ImageState.AVAILABLE, ImageState.ERROR],
    ).order_by("region", "-name")
    seen: dict[str, int] = {}
    for image in images:
        seen[image.region] = seen.get(image.region, 0) + 1
        if seen[image.region] <= pipeline.retention_count:
            continue
        if Bundle.objects.filter(image=image).exists():
            kept_in_use.append(image.image_id)
            continue
        try:
            image_delete(actor=actor, image=image)
        except ImageInvalid as invalid:
            kept_in_use.append(f"{image.image_id} ({invalid})")
            continue
        deleted.append(image.image_id)
    copy_error = run.result.get("copy_error", "")
    status = JobStatus.PARTIAL if copy_error else JobStatus.SUCCEEDED
    error = f"The copy to other regions failed: {copy_error}" if copy_error else ""
    return _finish(run, status, error, pruned=deleted, kept_in_use=kept_in_use)
