"""`manage.py account_byol`: BYOL account setup (R3): show the state, list the /16s, enable with a confirmed CIDR."""

from django.core.management.base import BaseCommand, CommandError

from orchestration.actors import Actor
from orchestration.aws.errors import AwsError
from orchestration.management.command_helpers import (
    account_get,
    add_account_arguments,
    add_wait_arguments,
    job_wait,
    refused,
)
from orchestration.models import Job
from orchestration.services.byol import (
    ByolSetupInvalid,
    byol_cidr_ranges,
    byol_setup_start,
    byol_status_sync,
)
from tenants.models import AwsAccount


class Command(BaseCommand):
    help = (
        "Without options: DescribeAccount and DescribeAccountModifications. --list-cidrs: the /16 "
        "management ranges AWS offers inside --constraint. --cidr X --confirm X: ModifyAccount with that "
        "range, which can never be changed afterwards (the CIDR must be typed twice)."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser)
        parser.add_argument("--list-cidrs", action="store_true", help="List the available /16 ranges.")
        parser.add_argument(
            "--constraint", default="10.0.0.0/8", help="Private range to search (a /16 or larger)."
        )
        parser.add_argument("--limit", type=int, default=25, help="Stop listing after this many ranges.")
        parser.add_argument("--cidr", default="", help="The /16 management range to configure.")
        parser.add_argument("--confirm", default="", help="The same CIDR again: the change is irreversible.")
        add_wait_arguments(parser)

    def handle(self, *args, **options) -> None:
        account = account_get(options["account"])
        if options["list_cidrs"] and options["cidr"]:
            raise CommandError("Either list the ranges or choose one, not both at once.")
        try:
            if options["cidr"]:
                self._setup(account, options)
            elif options["list_cidrs"]:
                self._list(account, options["constraint"], options["limit"])
            else:
                self._status(account)
        except ByolSetupInvalid as invalid:
            raise refused(invalid) from invalid
        except AwsError as error:
            raise CommandError(f"AWS answered {error.code}: {error.message}") from error

    def _status(self, account: AwsAccount) -> None:
        status = byol_status_sync(aws_account=account)
        self.stdout.write(
            f"DedicatedTenancySupport: {status.account.dedicated_tenancy_support or '-'}; "
            f"management CIDR: {status.account.management_cidr_range or '-'}"
        )
        if not status.modifications:
            self.stdout.write("No account modifications: BYOL has not been set up.")
        for modification in status.modifications:
            error = (
                f" {modification.error_code}: {modification.error_message}" if modification.error_code else ""
            )
            self.stdout.write(
                f"  {modification.state} {modification.management_cidr_range} since {modification.started_at}{error}"
            )

    def _list(self, account: AwsAccount, constraint: str, limit: int) -> None:
        shown, token = 0, ""
        while shown < limit:
            page = byol_cidr_ranges(aws_account=account, constraint=constraint, next_token=token)
            for cidr in page.ranges[: limit - shown]:
                self.stdout.write(cidr)
                shown += 1
            token = page.next_token
            if not token:
                break
        if not shown:
            self.stdout.write(f"AWS offers no /16 inside {constraint}.")
        elif token:
            self.stdout.write("(more available: raise --limit or narrow --constraint)")

    def _setup(self, account: AwsAccount, options) -> None:
        job = byol_setup_start(
            actor=Actor.system("manage.py account_byol"),
            aws_account=account,
            cidr=options["cidr"],
            confirmation=options["confirm"],
        )
        self.stdout.write(
            f"Job {job.pk}: enabling BYOL with management CIDR {job.params['management_cidr_range']}."
        )
        if options["wait"]:
            self._wait(job, options["poll_seconds"])

    def _wait(self, job: Job, poll_seconds: float) -> None:
        job_wait(
            job,
            poll_seconds=poll_seconds,
            report=lambda job: self.stdout.write(f"{job.status} {job.result or ''}".rstrip()),
        )
        for item in job.items.filter(status="FAILED"):
            self.stdout.write(f"  failed: {item.error_code} {item.error_message}")
