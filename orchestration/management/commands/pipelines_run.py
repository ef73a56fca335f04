"""`manage.py pipelines_run`: run a golden-image pipeline now, or move due pipelines on (beat's tick)."""

import time

from django.core.management.base import BaseCommand, CommandError

from orchestration.choices import JobStatus
from orchestration.services.pipelines import (
    golden_image_pipelines_due,
    pipeline_run_advance,
    pipeline_run_now,
)
from tenants.models import GoldenImagePipeline


class Command(BaseCommand):
    help = (
        "Without --pipeline: do what beat's tick does (start due pipelines, move running ones on). "
        "With --pipeline ID: start a run for this minute; --wait moves it on until it finishes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--pipeline", type=int, help="The pipeline's id (see the admin).")
        parser.add_argument("--wait", action="store_true", help="Move the run on until it finishes.")
        parser.add_argument("--poll-seconds", type=float, default=10.0)

    def handle(self, *args, **options) -> None:
        if options["pipeline"] is None:
            self.stdout.write(f"started {golden_image_pipelines_due()} run(s)")
            return
        pipeline = GoldenImagePipeline.objects.filter(pk=options["pipeline"]).first()
        if pipeline is None:
            raise CommandError(f"No golden-image pipeline {options['pipeline']}.")
        run = pipeline_run_now(pipeline=pipeline)
        if run is None:
            raise CommandError("A run for this minute exists already; try again in a minute.")
        self.stdout.write(f"run {run.pk} for window {run.window_start:%Y-%m-%d %H:%M} UTC")
        while options["wait"]:
            run.refresh_from_db()
            self.stdout.write(f"  step {run.step or 'start'}: {run.status}")
            if run.status != JobStatus.RUNNING:
                break
            time.sleep(options["poll_seconds"])
            pipeline_run_advance(run_id=run.pk)
        if run.status in (JobStatus.FAILED, JobStatus.PARTIAL):
            raise CommandError(run.error)
