"""What the management commands share: the customer account they name, who asks, how a refused request
is shown, and how `--wait` follows a job. Lives outside `commands/` so Django does not take it for one."""

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from orchestration.actors import Actor
from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus, JobStatus
from orchestration.models import Job
from orchestration.names import (
    accepted_names,
    parse_id_list,
    refusal_lines,
    user_names_check,
    user_names_option_check,
)
from orchestration.selectors import job_progress
from orchestration.services.errors import RequestInvalid
from tenants.models import AwsAccount

MAX_NAMES_FILE_BYTES = 1_000_000


def add_account_arguments(parser, *, region: bool = False) -> None:
    """`--account` (required) and, for commands that work in one region, `--region`."""
    parser.add_argument("--account", required=True, help="12-digit AWS account id of the customer.")
    if region:
        parser.add_argument("--region", default="", help="Region (default: the account's default region).")


def add_as_user_argument(parser) -> None:
    parser.add_argument(
        "--as-user", default="", help="Username to record as the requester (default: system)."
    )


def add_wait_arguments(
    parser, *, poll_seconds: float = 2.0, help: str = "Print progress until the job finishes."
) -> None:
    parser.add_argument("--wait", action="store_true", help=help)
    parser.add_argument(
        "--poll-seconds", type=float, default=poll_seconds, help="Seconds between looks with --wait."
    )


def account_get(account_id: str) -> AwsAccount:
    """The connected account with this id (and its customer), or a CommandError."""
    account = AwsAccount.objects.select_related("customer").filter(account_id=account_id).first()
    if account is None:
        raise CommandError(f"No AWS account {account_id} is connected.")
    return account


def command_actor(username: str, *, command: str) -> Actor:
    """The user named by `--as-user`, or the command itself (a system actor) when none is named."""
    if not username:
        return Actor.system(f"manage.py {command}")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user {username!r}.")
    return Actor.for_user(user)


def _names_file_text(path: Path) -> str:
    if not path.is_file():
        raise CommandError(f"{path} is not a file.")
    if path.stat().st_size > MAX_NAMES_FILE_BYTES:
        raise CommandError(f"{path} is larger than {MAX_NAMES_FILE_BYTES} bytes; split it into several jobs.")
    return path.read_text()


def names_given(text: str | None, path: Path | None) -> list[str]:
    """AWS ids (WorkSpaces, directories) from a comma-separated option or from a file of one a line."""
    if text:
        return parse_id_list(text)
    if path is None:
        return []
    return parse_id_list(_names_file_text(path))


def user_names_given(text: str | None, path: Path | None) -> list[str]:
    """Directory user names from `--users a,b` or a file of one a line, every one checked first.

    In a file one line is one name; a name a directory cannot hold, a duplicate or an ambiguous
    `"Smith, John"` refuses the whole list with one line per problem, before anything is made.
    """
    if text:
        checks, where = user_names_option_check(text), "name"
    elif path is not None:
        checks, where = user_names_check(_names_file_text(path).splitlines()), "line"
    else:
        return []
    problems = refusal_lines(checks, where=where)
    if problems:
        raise CommandError("Nothing was created; these user names are refused:\n  " + "\n  ".join(problems))
    return accepted_names(checks)


def refused(invalid: RequestInvalid, *, outcome: str = "Nothing was changed") -> CommandError:
    """The refusal as a CommandError: what was not done, then one line per field message."""
    lines = [f"  {field}: {message}" for field, messages in invalid.errors.items() for message in messages]
    return CommandError(f"{outcome}:\n" + "\n".join(lines))


def job_wait(job: Job, *, poll_seconds: float, report: Callable[[Job], None] | None = None) -> None:
    """Look at the job every `poll_seconds` until it finishes; `report` is told after each look."""
    while True:
        job.refresh_from_db()
        if report is not None:
            report(job)
        if job.status in JOB_TERMINAL_STATUSES:
            return
        time.sleep(poll_seconds)


def job_progress_line(job: Job, *, done: str = "done") -> str:
    """`RUNNING: 3 done, 1 failed, 6 in progress of 10`; `done` names what a succeeded item is."""
    progress = job_progress(job=job)
    return (
        f"{job.status}: {progress.succeeded} {done}, {progress.failed} failed, "
        f"{progress.in_flight} in progress of {progress.total}"
    )


def failed_desktop_lines(job: Job, *, label: str) -> list[str]:
    """The first 20 failed items of a desktop job, each named by its desktop's `label` field (or its id)."""
    items = job.items.filter(status=JobItemStatus.FAILED).select_related("desktop")[:20]
    return [
        f"  failed: {getattr(item.desktop, label) if item.desktop else item.pk}: "
        f"{item.error_code} {item.error_message}"
        for item in items
    ]


def adoption_report(out, job: Job) -> None:
    """After an adoption or release: the failed WorkSpaces with their reasons, then what to do about the
    customer's temporary stack."""
    for item in job.items.filter(status=JobItemStatus.FAILED).order_by("sequence")[:20]:
        out.write(f"  failed: {item.aws_resource_id}: {item.error_code} {item.error_message}")
    next_step = (job.result or {}).get("next_step")
    if next_step:
        out.write(next_step)


# A job that ended so did not do all it was asked: `--wait` makes the command exit non-zero.
JOB_NOT_DONE_STATUSES = (JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELLED)
CONFIRM_SAMPLE = 10


def add_yes_argument(parser, *, help: str = "Do not ask: the answer is yes (scripts).") -> None:
    parser.add_argument("--yes", action="store_true", help=help)


def confirm(out, question: str, *, yes: bool, stdin: TextIO | None = None) -> None:
    """Ask `question` on the terminal and go on only on "yes"; `--yes` answers for scripts. With no
    terminal to ask on (cron, CI, a pipe) and no --yes, nothing is done: a CommandError says so."""
    if yes:
        return
    stream = stdin or sys.stdin
    if not stream.isatty():
        raise CommandError(
            f"{question}\nNothing was sent: there is no terminal to ask on; add --yes to confirm."
        )
    out.write(f"{question}\nType yes to go on: ", ending="")
    out.flush()
    if stream.readline().strip().lower() != "yes":
        raise CommandError("Not confirmed; nothing was sent.")


def desktops_sample(workspace_ids: list[str]) -> str:
    """`ws-a, ws-b, … and 45 more`: enough for a person to recognise a selection."""
    shown = ", ".join(workspace_ids[:CONFIRM_SAMPLE])
    more = len(workspace_ids) - CONFIRM_SAMPLE
    return shown + (f" and {more} more" if more > 0 else "")


def job_outcome_check(job: Job) -> None:
    """After `--wait`: a job that ended partly or wholly failed (or cancelled) is a non-zero exit."""
    if job.status in JOB_NOT_DONE_STATUSES:
        progress = job_progress(job=job)
        raise CommandError(
            f"Job {job.pk} ended {job.get_status_display()}: {progress.failed} of {progress.total} failed."
        )
