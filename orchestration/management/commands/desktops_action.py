"""`manage.py desktops_action`: the scriptable entry point to actions on one desktop or thousands."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orchestration.management.command_helpers import (
    account_get,
    add_account_arguments,
    add_as_user_argument,
    add_wait_arguments,
    add_yes_argument,
    command_actor,
    confirm,
    desktops_sample,
    failed_desktop_lines,
    job_outcome_check,
    job_progress_line,
    job_wait,
    names_given,
    refused,
)
from orchestration.services.desktop_actions import (
    ACTIONS,
    DesktopAction,
    DesktopActionInvalid,
    desktop_action_bulk,
    desktop_action_summary,
    desktop_action_targets,
)

# Destroying or wiping desktops is never done by a typo: these need --yes.
NEEDS_CONFIRMATION = {DesktopAction.TERMINATE, DesktopAction.REBUILD}


class Command(BaseCommand):
    # call_command(..., stdin=...) in tests: where the confirmation is read from.
    stealth_options = ("stdin",)
    help = (
        "Start, stop, reboot, rebuild, restore, modify, put in or out of admin maintenance, migrate or "
        "terminate desktops of one customer account. Validates everything before any AWS call; prints "
        "the job id and which desktops were not eligible."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=[a.value for a in DesktopAction])
        add_account_arguments(parser)
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
        add_yes_argument(
            parser,
            help="Do not ask: the answer is yes. Needed for terminate and rebuild, and to act on more "
            "than one desktop without a terminal to ask on.",
        )
        add_as_user_argument(parser)
        add_wait_arguments(parser)

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action in NEEDS_CONFIRMATION and not options["yes"]:
            raise CommandError(f"{action} cannot be undone; add --yes to confirm.")
        account = account_get(options["account"])
        actor = command_actor(options["as_user"], command="desktops_action")
        try:
            desktops = desktop_action_targets(
                aws_account=account,
                workspace_ids=names_given(options["workspace_ids"], options["ids_file"]),
                directory_id=options["directory"] or "",
                state=options["state"],
            )
            if len(desktops) > 1:
                confirm(
                    self.stdout,
                    f"This will {ACTIONS[action].verb} {len(desktops)} desktops of {account.customer.name} "
                    f"({account.account_id}): {desktops_sample([d.workspace_id or d.workspace_name for d in desktops])}.",
                    yes=options["yes"],
                    stdin=options.get("stdin"),
                )
            job = desktop_action_bulk(
                actor=actor,
                customer=account.customer,
                desktops=desktops,
                action=action,
                params=self._params(options),
            )
        except DesktopActionInvalid as invalid:
            raise refused(invalid, outcome="Nothing was sent") from invalid
        self.stdout.write(desktop_action_summary(job=job))
        if options["wait"]:
            job_wait(
                job,
                poll_seconds=options["poll_seconds"],
                report=lambda job: self.stdout.write(job_progress_line(job)),
            )
            for line in failed_desktop_lines(job, label="workspace_id"):
                self.stdout.write(line)
            job_outcome_check(job)

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
