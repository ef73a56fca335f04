"""`manage.py directories`: list, register, deregister, security group and maintenance opt-out (R5, R6, R10)."""

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
from orchestration.services.directories import (
    DirectoryInvalid,
    directory_candidates,
    directory_deregister,
    directory_register,
    directory_required_tenancy,
    directory_set_maintenance_mode,
    directory_set_security_group,
    directory_sync,
)
from tenants.models import AwsAccount, Directory

ACTOR = Actor.system("manage.py directories")


class Command(BaseCommand):
    help = (
        "WorkSpaces directories of a customer account: list (refreshes our rows from AWS and shows the "
        "Directory Service directories not yet registered), register, deregister, security-group, maintenance."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser, region=True)
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="Sync and list directories.")
        register = actions.add_parser("register", help="Register a Directory Service directory (a job).")
        register.add_argument("--directory", required=True, help="Directory Service id, d-…")
        register.add_argument(
            "--subnets", default="", help="Two subnet ids, comma-separated (default: its own)."
        )
        register.add_argument(
            "--tenancy", default="", help="DEDICATED or SHARED (default: by the BYOL rule)."
        )
        add_wait_arguments(register, help="Wait until the job finishes.")
        deregister = actions.add_parser("deregister", help="Deregister (refused while live desktops use it).")
        deregister.add_argument("--directory", required=True)
        group = actions.add_parser("security-group", help="Set the custom security group for new desktops.")
        group.add_argument("--directory", required=True)
        group.add_argument("--group", required=True, help="sg-… in the directory's VPC.")
        maintenance = actions.add_parser("maintenance", help="Monthly maintenance window on or off (R10).")
        maintenance.add_argument("--directory", required=True)
        switch = maintenance.add_mutually_exclusive_group(required=True)
        switch.add_argument("--on", dest="enabled", action="store_true")
        switch.add_argument("--off", dest="enabled", action="store_false")

    def handle(self, *args, **options) -> None:
        account = account_get(options["account"])
        region = options["region"] or account.default_region
        action = options["action"]
        try:
            if action == "list":
                self._list(account, region)
            elif action == "register":
                self._register(account, region, options)
            else:
                directory = Directory.objects.filter(
                    aws_account=account, directory_id=options["directory"]
                ).first()
                if directory is None:
                    raise CommandError(f"No directory {options['directory']} is recorded for this account.")
                if action == "deregister":
                    directory = directory_deregister(actor=ACTOR, directory=directory)
                elif action == "security-group":
                    directory = directory_set_security_group(
                        actor=ACTOR, directory=directory, security_group_id=options["group"]
                    )
                else:
                    directory = directory_set_maintenance_mode(
                        actor=ACTOR, directory=directory, enabled=options["enabled"]
                    )
                self.stdout.write(self._line(directory))
        except DirectoryInvalid as invalid:
            raise refused(invalid) from invalid
        except AwsError as error:
            raise CommandError(str(error)) from error

    @staticmethod
    def _line(directory: Directory) -> str:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(directory.tags.items())) or "no tags"
        return (
            f"{directory.directory_id}  {directory.state or 'not registered'}  {directory.tenancy}  "
            f"{directory.name}  [{tags}]  security group {directory.custom_security_group_id or '-'}  "
            f"maintenance {'on' if directory.maintenance_mode_enabled else 'off'}"
        )

    def _list(self, account: AwsAccount, region: str) -> None:
        report = directory_sync(aws_account=account, region=region)
        self.stdout.write(f"Registered with WorkSpaces in {account.account_id} {region}:")
        for directory in Directory.objects.filter(aws_account=account, region=region).exclude(state=""):
            self.stdout.write("  " + self._line(directory))
        if report["missing"]:
            self.stdout.write(f"  missing from AWS: {', '.join(report['missing'])}")
        self.stdout.write("Directory Service directories not registered:")
        for candidate in directory_candidates(aws_account=account, region=region):
            self.stdout.write(
                f"  {candidate.directory_id}  not registered  {candidate.name}  {candidate.directory_type}  "
                f"subnets {','.join(candidate.subnet_ids)}"
            )
        self.stdout.write(f"Register with tenancy {directory_required_tenancy(aws_account=account)}.")

    def _register(self, account: AwsAccount, region: str, options) -> None:
        job = directory_register(
            actor=ACTOR,
            aws_account=account,
            region=region,
            directory_id=options["directory"],
            subnet_ids=[s.strip() for s in options["subnets"].split(",") if s.strip()],
            tenancy=options["tenancy"],
        )
        self.stdout.write(f"Job {job.pk}: registering {options['directory']} ({job.params['tenancy']}).")
        if not options["wait"]:
            return
        job_wait(job, poll_seconds=options["poll_seconds"])
        item = job.items.get()
        self.stdout.write(
            f"{job.status}{': ' + item.error_code + ' ' + item.error_message if item.error_code else ''}"
        )
        directory = Directory.objects.filter(directory_id=options["directory"]).first()
        if directory is not None:
            self.stdout.write(self._line(directory))
