"""`manage.py desktops_action`: the scriptable entry point to actions on one desktop or thousands."""

import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from orchestration.actors import Actor
from orchestration.choices import JOB_TERMINAL_STATUSES
from orchestration.forms import parse_user_names
from orchestration.models import Job
from orchestration.selectors import job_progress
from orchestration.services.desktop_actions import (
    DesktopAction,
    DesktopActionInvalid,
    desktop_action_bulk,
    desktop_action_summary,
    desktop_action_targets,
)
from tenants.models import AwsAccount

MAX_IDS_FILE_BYTES = 1_000_000
# Destroying or wiping desktops is never done by a typo: these need --yes.
NEEDS_CONFIRMATION = {DesktopAction.TERMINATE, DesktopAction.REBUILD}


class Command(BaseCommand):
    help = (
        "Start, stop, reboot, rebuild, restore, modify, put in or out of admin maintenance, migrate or "
        "terminate desktops of one customer account. Validates everything before any AWS call; prints "
        "the job id and which desktops were not eligible."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=[a.value for a in DesktopAction])
        parser.add_argument("--account", required=True, help="12-digit AWS account id of the customer.")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--workspace-ids", help="WorkSpace ids, comma-separated.")
        which.add_argument("--ids-file", type=Path, help="File of WorkSpace ids, one per line.")
        which.add_argument("--directory", help="Every live desktop of this directory (d-...).")
        parser.add_argument("--state", default="", help="With --directory: only desktops in this state.")
        parser.add_argument("--compute-type", default="", help="modify: the new compute type.")
        parser.add_argument("--root-volume-gib", type=int, help="modify: the new root volume size.")
        parser.add_argument("--user-volume-gib", type=int, help="modify: the new user volume size.")
        parser.add_argument("--running-mode", default="", help="modify: MANUAL or ALWAYS_ON.")
        parser.add_argument("--bundle", default="", help="migrate: the bundle to move to (wsb-...).")
        parser.add_argument("--yes", action="store_true", help="Confirm terminate or rebuild.")
        parser.add_argument(
            "--as-user", default="", help="Username to record as the requester (default: system)."
        )
        parser.add_argument("--wait", action="store_true", help="Print progress until the job finishes.")
        parser.add_argument("--poll-seconds", type=float, default=2.0, help="Progress interval with --wait.")

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action in NEEDS_CONFIRMATION and not options["yes"]:
            raise CommandError(f"{action} cannot be undone; add --yes to confirm.")
        account = AwsAccount.objects.select_related("customer").filter(account_id=options["account"]).first()
        if account is None:
            raise CommandError(f"No AWS account {options['account']} is connected.")
        actor = self._actor(options["as_user"])
        try:
            desktops = desktop_action_targets(
                aws_account=account,
                workspace_ids=self._workspace_ids(options),
                directory_id=options["directory"] or "",
                state=options["state"],
            )
            job = desktop_action_bulk(
                actor=actor,
                customer=account.customer,
                desktops=desktops,
                action=action,
                params=self._params(options),
            )
        except DesktopActionInvalid as invalid:
            lines = [
                f"  {field}: {message}" for field, messages in invalid.errors.items() for message in messages
            ]
            raise CommandError("Nothing was sent:\n" + "\n".join(lines)) from invalid
        self.stdout.write(desktop_action_summary(job=job))
        if options["wait"]:
            self._wait(job, options["poll_seconds"])

    def _params(self, options) -> dict:
        """Every parameter option given: the service refuses, by name, those the action does not take."""
        given = {
            "compute_type": options["compute_type"],
            "root_volume_gib": options["root_volume_gib"],
            "user_volume_gib": options["user_volume_gib"],
            "running_mode": options["running_mode"],
            "bundle_id": options["bundle"],
        }
        return {name: value for name, value in given.items() if value not in (None, "")}

    def _workspace_ids(self, options) -> list[str]:
        if options["workspace_ids"]:
            return parse_user_names(options["workspace_ids"])
        path: Path | None = options["ids_file"]
        if path is None:
            return []
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        if path.stat().st_size > MAX_IDS_FILE_BYTES:
            raise CommandError(
                f"{path} is larger than {MAX_IDS_FILE_BYTES} bytes; split it into several jobs."
            )
        return parse_user_names(path.read_text())

    def _actor(self, username: str) -> Actor:
        if not username:
            return Actor.system("manage.py desktops_action")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        return Actor.for_user(user)

    def _wait(self, job: Job, poll_seconds: float) -> None:
        while True:
            job.refresh_from_db()
            progress = job_progress(job=job)
            self.stdout.write(
                f"{job.status}: {progress.succeeded} done, {progress.failed} failed, "
                f"{progress.in_flight} in progress of {progress.total}"
            )
            if job.status in JOB_TERMINAL_STATUSES:
                break
            time.sleep(poll_seconds)
        for item in job.items.filter(status="FAILED").select_related("desktop")[:20]:
            name = item.desktop.workspace_id if item.desktop else item.pk
            self.stdout.write(f"  failed: {name}: {item.error_code} {item.error_message}")
