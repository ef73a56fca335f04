"""`manage.py desktops_adopt`: adopt WorkSpaces the customer already runs (after they deployed the
temporary adoption stack)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from orchestration.management.command_helpers import (
    account_get,
    add_account_arguments,
    add_as_user_argument,
    add_wait_arguments,
    add_yes_argument,
    adoption_report,
    command_actor,
    confirm,
    desktops_sample,
    job_outcome_check,
    job_progress_line,
    job_wait,
    names_given,
    refused,
)
from orchestration.services.adoption import AdoptionInvalid, adoption_start


class Command(BaseCommand):
    stealth_options = ("stdin",)  # call_command(..., stdin=...) in tests: where the confirmation is read
    help = (
        "Adopt untracked WorkSpaces of a customer account (those reconciliation lists as not managed): "
        "tag each PartnerManaged=true through the customer's temporary adoption role and make its desktop "
        "row. Everything is checked before any AWS call."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--workspace-ids", help="WorkSpace ids, comma-separated.")
        which.add_argument("--ids-file", type=Path, help="File of WorkSpace ids, one per line.")
        add_yes_argument(parser)
        add_as_user_argument(parser)
        add_wait_arguments(parser)

    def handle(self, *args, **options) -> None:
        account = account_get(options["account"])
        actor = command_actor(options["as_user"], command="desktops_adopt")
        workspace_ids = names_given(options["workspace_ids"], options["ids_file"])
        if len(workspace_ids) > 1:
            confirm(
                self.stdout,
                f"This will adopt {len(workspace_ids)} WorkSpaces of {account.customer.name} "
                f"({account.account_id}): {desktops_sample(workspace_ids)}.",
                yes=options["yes"],
                stdin=options.get("stdin"),
            )
        try:
            job = adoption_start(
                actor=actor,
                aws_account=account,
                workspace_ids=workspace_ids,
            )
        except AdoptionInvalid as invalid:
            raise refused(invalid, outcome="Nothing was sent") from invalid
        self.stdout.write(
            f"Job {job.pk} will adopt {job.total_items} WorkSpace{'s' if job.total_items != 1 else ''}."
        )
        if options["wait"]:
            job_wait(
                job,
                poll_seconds=options["poll_seconds"],
                report=lambda job: self.stdout.write(job_progress_line(job, done="adopted")),
            )
            adoption_report(self.stdout, job)
            job_outcome_check(job)
