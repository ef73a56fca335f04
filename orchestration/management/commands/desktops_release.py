"""`manage.py desktops_release`: hand managed desktops back to the customer (a customer leaving)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orchestration.management.command_helpers import (
    account_get,
    add_account_arguments,
    add_as_user_argument,
    add_wait_arguments,
    adoption_report,
    command_actor,
    job_outcome_check,
    job_progress_line,
    job_wait,
    names_given,
    refused,
)
from orchestration.services.adoption import AdoptionInvalid, release_start


class Command(BaseCommand):
    help = (
        "Release desktops of a customer account: remove their PartnerManaged tag through the customer's "
        "temporary adoption role. The desktops keep running; this control plane stops managing them and "
        "keeps their history. Needs --yes."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--workspace-ids", help="WorkSpace ids, comma-separated.")
        which.add_argument("--ids-file", type=Path, help="File of WorkSpace ids, one per line.")
        parser.add_argument(
            "--yes", action="store_true", help="Confirm: these desktops leave our management."
        )
        add_as_user_argument(parser)
        add_wait_arguments(parser)

    def handle(self, *args, **options) -> None:
        if not options["yes"]:
            raise CommandError(
                "Released desktops are no longer managed here (adopting them again needs the customer's "
                "temporary stack); add --yes to confirm."
            )
        account = account_get(options["account"])
        actor = command_actor(options["as_user"], command="desktops_release")
        try:
            job = release_start(
                actor=actor,
                aws_account=account,
                workspace_ids=names_given(options["workspace_ids"], options["ids_file"]),
            )
        except AdoptionInvalid as invalid:
            raise refused(invalid, outcome="Nothing was sent") from invalid
        self.stdout.write(
            f"Job {job.pk} will release {job.total_items} desktop{'s' if job.total_items != 1 else ''}."
        )
        if options["wait"]:
            job_wait(
                job,
                poll_seconds=options["poll_seconds"],
                report=lambda job: self.stdout.write(job_progress_line(job, done="released")),
            )
            adoption_report(self.stdout, job)
            job_outcome_check(job)
