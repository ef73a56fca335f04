"""`manage.py desktops_create`: the scriptable entry point to bulk desktop creation."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orchestration.management.command_helpers import (
    account_get,
    add_account_arguments,
    add_as_user_argument,
    add_wait_arguments,
    command_actor,
    failed_desktop_lines,
    job_outcome_check,
    job_progress_line,
    job_wait,
    refused,
    user_names_given,
)
from orchestration.services.desktops import DesktopCreateInvalid, DesktopCreateRequest, desktop_create_bulk
from tenants.choices import RunningMode
from tenants.models import Bundle, Directory


class Command(BaseCommand):
    help = (
        "Create WorkSpaces Core desktops for a customer account: for listed directory users, or N "
        "user-decoupled ones. Validates everything before any AWS call; prints the job id."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser)
        parser.add_argument("--directory", required=True, help="WorkSpaces directory id (d-...).")
        parser.add_argument("--bundle", required=True, help="Bundle id (wsb-...).")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--users", help="Directory user names, comma-separated.")
        who.add_argument("--users-file", type=Path, help="File of user names, one per line.")
        who.add_argument("--count", type=int, help="Number of user-decoupled desktops ([UNDEFINED]).")
        parser.add_argument(
            "--running-mode", default=RunningMode.MANUAL, help="MANUAL (default) or ALWAYS_ON."
        )
        parser.add_argument("--compute-type", default="", help="Override the bundle's compute type.")
        parser.add_argument("--root-volume-gib", type=int)
        parser.add_argument("--user-volume-gib", type=int)
        add_as_user_argument(parser)
        add_wait_arguments(parser)

    def handle(self, *args, **options) -> None:
        account = account_get(options["account"])
        directory = Directory.objects.filter(directory_id=options["directory"]).first()
        if directory is None:
            raise CommandError(
                f"No directory {options['directory']} is known; register or reconcile it first."
            )
        bundle = Bundle.objects.filter(bundle_id=options["bundle"]).first()
        if bundle is None:
            raise CommandError(f"No bundle {options['bundle']} is known.")
        user_names = user_names_given(options["users"], options["users_file"])
        if user_names:
            # The parsed list, before anything is made: what a person typed is what will be asked for.
            self.stdout.write(f"{len(user_names)} user names: {', '.join(user_names)}")
        actor = command_actor(options["as_user"], command="desktops_create")
        request = DesktopCreateRequest(
            customer=account.customer,
            aws_account=account,
            directory=directory,
            bundle=bundle,
            running_mode=options["running_mode"],
            user_names=user_names,
            count=options["count"] or 0,
            compute_type=options["compute_type"],
            root_volume_gib=options["root_volume_gib"],
            user_volume_gib=options["user_volume_gib"],
        )
        try:
            job = desktop_create_bulk(actor=actor, request=request)
        except DesktopCreateInvalid as invalid:
            raise refused(invalid, outcome="Nothing was created") from invalid
        self.stdout.write(f"Job {job.pk}: creating {job.total_items} desktops.")
        if options["wait"]:
            job_wait(
                job,
                poll_seconds=options["poll_seconds"],
                report=lambda job: self.stdout.write(job_progress_line(job, done="available")),
            )
            for line in failed_desktop_lines(job, label="user_name"):
                self.stdout.write(line)
            job_outcome_check(job)
