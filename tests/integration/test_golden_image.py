"""Golden-image pipelines end to end: a real worker, two beats, the simulator, and a crash (F10)."""

import time

import pytest
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.models import AuditEvent, ScheduleRun
from orchestration.services.desktop_actions import DesktopAction, desktop_action_bulk
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from orchestration.services.pipelines import pipeline_run_advance, pipeline_run_now
from tenants.models import Bundle, Desktop, GoldenImagePipeline, Image
from tests.integration.conftest import wait_for_job
from tests.integration.stack import SHORT_LEASE

pytestmark = pytest.mark.integration


def _golden_desktop(world, stack) -> Desktop:
    job = desktop_create_bulk(
        actor=Actor.system("test"),
        request=DesktopCreateRequest(
            customer=world["customer"],
            aws_account=world["aws_account"],
            directory=world["directory"],
            bundle=world["bundle"],
            user_names=["golden"],
        ),
    )
    assert wait_for_job(job, stack).status == "SUCCEEDED"
    return Desktop.objects.get(job_items__job=job)


def _pipeline(world, desktop, *, cron: str, copy_to=(), retention: int = 2) -> GoldenImagePipeline:
    pipeline = GoldenImagePipeline.objects.create(
        customer=world["customer"],
        aws_account=world["aws_account"],
        region=world["directory"].region,
        name="nightly, win11",
        golden_desktop=desktop,
        schedule_cron=cron,
        copy_to_regions=list(copy_to),
        retention_count=retention,
        image_name_prefix="golden",
    )
    pipeline.target_bundles.add(world["bundle"])
    return pipeline


def _wait_run(pipeline, stack, timeout=120, drive=False) -> ScheduleRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(ScheduleRun.objects.filter(schedule=f"golden-image:{pipeline.pk}"))
        if runs and all(run.status != "RUNNING" for run in runs):
            return runs[0]
        if drive:
            for run in runs:
                pipeline_run_advance(run_id=run.pk)
        stack.supervise()
        time.sleep(0.3)
    raise AssertionError(f"pipeline run did not finish: {list(ScheduleRun.objects.values())}\n{stack.logs()}")


def test_a_crash_after_create_workspace_image_resumes_to_one_image_and_one_bundle_update(
    stack_factory, customer_account, simulator
):
    world = customer_account
    account = world["aws_account"]
    account.regions = ["us-east-1", "us-west-2"]
    account.save()
    stack = stack_factory(
        {
            "ORCHESTRATION_FAILPOINTS": "image.after_create_call:1",
            "GOLDEN_IMAGE_TICK_SECONDS": "1",
            **SHORT_LEASE,
        }
    ).start()
    desktop = _golden_desktop(world, stack)
    old_image = world["bundle"].image
    now = timezone.now()
    # Due this very minute, and not again until tomorrow: one window in this test.
    pipeline = _pipeline(world, desktop, cron=f"{now.minute} {now.hour} * * *", copy_to=["us-west-2"])
    simulator.clear_calls()
    stack.add_beat("beat-2")  # F6: a second beat ticks too

    run = _wait_run(pipeline, stack)

    assert run.status == "SUCCEEDED", (run.error, run.result)
    assert ScheduleRun.objects.filter(schedule=f"golden-image:{pipeline.pk}").count() == 1
    calls = simulator.call_counts()
    assert calls.get("CreateWorkspaceImage") == 1
    assert calls.get("UpdateWorkspaceBundle") == 1
    assert calls.get("CopyWorkspaceImage") == 1
    name = run.result["image_name"]
    assert name == f"golden-{run.window_start:%Y%m%d-%H%M}"
    images = Image.objects.filter(name=name)
    assert sorted(images.values_list("region", flat=True)) == ["us-east-1", "us-west-2"]
    new_image = images.get(region="us-east-1")
    bundle = Bundle.objects.get(pk=world["bundle"].pk)
    assert bundle.image == new_image and bundle.image != old_image
    assert stack.worker.starts >= 1
    assert "image.after_create_call" in "".join(p.name for p in stack.workdir.glob("failpoint-*"))
    assert AuditEvent.objects.filter(action="UpdateWorkspaceBundle", outcome="SUCCEEDED").count() == 1
    print(
        f"\nFIGURE F10 crashes=1 images_per_window={calls.get('CreateWorkspaceImage')} "
        f"bundle_updates={calls.get('UpdateWorkspaceBundle')} runs_per_window=1 beats=2"
    )


def test_a_failed_image_leaves_the_bundles_on_the_last_good_one_and_says_why(
    stack_factory, customer_account, simulator
):
    world = customer_account
    stack = stack_factory().start(beat=False)
    desktop = _golden_desktop(world, stack)
    old_image = Bundle.objects.get(pk=world["bundle"].pk).image
    pipeline = _pipeline(world, desktop, cron="0 2 * * *")
    simulator.schedule_fault("CreateWorkspaceImage", "error", code="InvalidResourceStateException")
    simulator.clear_calls()

    assert pipeline_run_now(pipeline=pipeline) is not None
    run = _wait_run(pipeline, stack, drive=True)

    assert run.status == "FAILED"
    assert "bundles stay on their last good image" in run.error and "InvalidResourceState" in run.error
    assert Bundle.objects.get(pk=world["bundle"].pk).image == old_image
    assert simulator.call_counts().get("UpdateWorkspaceBundle", 0) == 0


def test_a_stopped_golden_desktop_is_started_and_old_images_beyond_retention_are_pruned(
    stack_factory, customer_account, simulator
):
    world = customer_account
    stack = stack_factory().start(beat=False)
    desktop = _golden_desktop(world, stack)
    pipeline = _pipeline(world, desktop, cron="0 2 * * *", retention=1)
    yesterday = timezone.now() - timezone.timedelta(days=1)
    first = pipeline_run_now(pipeline=pipeline, now=yesterday)
    assert _wait_run(pipeline, stack, drive=True).status == "SUCCEEDED"
    first.refresh_from_db()
    first_image = first.result["image_id"]
    # The idle sweep stopped the golden desktop overnight.
    stop = desktop_action_bulk(
        actor=Actor.system("test"),
        customer=world["customer"],
        desktops=[desktop],
        action=DesktopAction.STOP,
    )
    assert wait_for_job(stop, stack).status == "SUCCEEDED"
    simulator.clear_calls()

    second = pipeline_run_now(pipeline=pipeline)
    run = _wait_run(pipeline, stack, drive=True)

    second.refresh_from_db()
    assert second.status == "SUCCEEDED", (second.error, second.result)
    calls = simulator.call_counts()
    assert calls.get("StartWorkspaces") == 1 and calls.get("CreateWorkspaceImage") == 1
    assert second.result["pruned"] == [first_image]
    assert calls.get("DeleteWorkspaceImage") == 1
    assert not Image.objects.filter(image_id=first_image).exists()
    assert Bundle.objects.get(pk=world["bundle"].pk).image.image_id == second.result["image_id"]
    assert run.status == "SUCCEEDED"
