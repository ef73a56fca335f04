"""`manage.py reconcile`: bring our rows up to date with AWS and print the drift report."""

import time

from django.core.management.base import BaseCommand, CommandError

from orchestration.actors import Actor
from orchestration.choices import JOB_TERMINAL_STATUSES
from orchestration.services.reconcile import (
    ReconcileInvalid,
    reconcile_report_lines,
    reconcile_start,
    reconcile_start_all,
)
from tenants.models import AwsAccount

ACTOR = Actor.system("manage.py reconcile")


class Command(BaseCommand):
    help = (
        "Reconcile one account (--account) or every verified account with AWS: one job per account, one "
        "item per region. A reconciliation already running is reused. --wait prints the drift report."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", default="", help="12-digit AWS account id (default: all verified).")
        parser.add_argument("--region", action="append", default=[], help="Only this region (repeatable).")
        parser.add_argument(
            "--wait", action="store_true", help="Wait for the jobs and print the drift report."
        )
        parser.add_argument("--poll-seconds", type=float, default=2.0)

    def handle(self, *args, **options) -> None:
        if options["account"]:
            account = (
                AwsAccount.objects.select_related("customer").filter(account_id=options["account"]).first()
            )
            if account is None:
                raise CommandError(f"No AWS account {options['account']} is connected.")
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
            while job.status not in JOB_TERMINAL_STATUSES:
                time.sleep(options["poll_seconds"])
                job.refresh_from_db()
            self.stdout.write("\n".join(reconcile_report_lines(job)))
