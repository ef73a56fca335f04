"""`manage.py desktops_create`: the scriptable entry point to bulk desktop creation."""

import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from orchestration.actors import Actor
from orchestration.choices import JOB_TERMINAL_STATUSES
from orchestration.forms import parse_user_names
from orchestration.models import Job
from orchestration.selectors import job_progress
from orchestration.services.desktops import DesktopCreateInvalid, DesktopCreateRequest, desktop_create_bulk
from tenants.choices import RunningMode
from tenants.models import AwsAccount, Bundle, Directory

MAX_USERS_FILE_BYTES = 1_000_000


class Command(BaseCommand):
    help = (
        "Create WorkSpaces Core desktops for a customer account: for listed directory users, or N "
        "user-decoupled ones. Validates everything before any AWS call; prints the job id."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", required=True, help="12-digit AWS account id of the customer.")
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
        parser.add_argument(
            "--as-user", default="", help="Username to record as the requester (default: system)."
        )
        parser.add_argument("--wait", action="store_true", help="Print progress until the job finishes.")
        parser.add_argument("--poll-seconds", type=float, default=2.0, help="Progress interval with --wait.")

    def handle(self, *args, **options) -> None:
        account = AwsAccount.objects.select_related("customer").filter(account_id=options["account"]).first()
        if account is None:
            raise CommandError(f"No AWS account {options['account']} is connected.")
        directory = Directory.objects.filter(directory_id=options["directory"]).first()
        if directory is None:
            raise CommandError(
                f"No directory {options['directory']} is known; register or reconcile it first."
            )
        bundle = Bundle.objects.filter(bundle_id=options["bundle"]).first()
        if bundle is None:
            raise CommandError(f"No bundle {options['bundle']} is known.")
        user_names = self._user_names(options)
        actor = self._actor(options["as_user"])
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
            lines = [
                f"  {field}: {message}" for field, messages in invalid.errors.items() for message in messages
            ]
            raise CommandError("Nothing was created:\n" + "\n".join(lines)) from invalid
        self.stdout.write(f"Job {job.pk}: creating {job.total_items} desktops.")
        if options["wait"]:
            self._wait(job, options["poll_seconds"])

    def _user_names(self, options) -> list[str]:
        if options["users"]:
            return parse_user_names(options["users"])
        path: Path | None = options["users_file"]
        if path is None:
            return []
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        if path.stat().st_size > MAX_USERS_FILE_BYTES:
            raise CommandError(
                f"{path} is larger than {MAX_USERS_FILE_BYTES} bytes; split it into several jobs."
            )
        return parse_user_names(path.read_text())

    def _actor(self, username: str) -> Actor:
        if not username:
            return Actor.system("manage.py desktops_create")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        return Actor.for_user(user)

    def _wait(self, job: Job, poll_seconds: float) -> None:
        while True:
            job.refresh_from_db()
            progress = job_progress(job=job)
            self.stdout.write(
                f"{job.status}: {progress.succeeded} available, {progress.failed} failed, "
                f"{progress.in_flight} in progress of {progress.total}"
            )
            if job.status in JOB_TERMINAL_STATUSES:
                break
            time.sleep(poll_seconds)
        if progress.failed:
            for item in job.items.filter(status="FAILED").select_related("desktop")[:20]:
                self.stdout.write(
                    f"  failed: {item.desktop.user_name if item.desktop else item.pk}: {item.error_code} {item.error_message}"
                )
