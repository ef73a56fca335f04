"""`manage.py reconcile`: bring our rows up to date with AWS and print the drift report."""

from django.core.management.base import BaseCommand, CommandError

from orchestration.actors import Actor
from orchestration.management.command_helpers import account_get, add_wait_arguments, job_wait
from orchestration.services.reconcile import (
    ReconcileInvalid,
    reconcile_report_lines,
    reconcile_start,
    reconcile_start_all,
)

ACTOR = Actor.system("manage.py reconcile")


class Command(BaseCommand):
    help = (
        "Reconcile one account (--account) or every verified account with AWS: one job per account, one "
        "item per region. A reconciliation already running is reused. --wait prints the drift report."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", default="", help="12-digit AWS account id (default: all verified).")
        parser.add_argument("--region", action="append", default=[], help="Only this region (repeatable).")
        add_wait_arguments(parser, help="Wait for the jobs and print the drift report.")

    def handle(self, *args, **options) -> None:
        if options["account"]:
            account = account_get(options["account"])
            try:
                jobs = [reconcile_start(actor=ACTOR, aws_account=account, regions=options["region"] or None)]
            except ReconcileInvalid as invalid:
                raise CommandError(str(invalid)) from invalid
        else:
            if options["region"]:
                raise CommandError("--region needs --account.")
            jobs = [job for job, _ in reconcile_start_all(actor=ACTOR)]
        for job in jobs:
            self.stdout.write(
                f"Job {job.pk}: reconciling account {job.params['aws_account_id']} ({job.status})."
            )
        if not options["wait"]:
            return
        for job in jobs:
            job_wait(job, poll_seconds=options["poll_seconds"])
            self.stdout.write("\n".join(reconcile_report_lines(job)))
