"""`manage.py account_verify`: prove a customer account connection works, and record the outcome."""

from django.core.management.base import BaseCommand, CommandError

from orchestration.actors import Actor
from orchestration.management.command_helpers import account_get, add_account_arguments
from orchestration.services.onboarding import account_verify


class Command(BaseCommand):
    help = (
        "Assume the customer's role with our External ID, check GetCallerIdentity names their account and "
        "DescribeAccount answers; store the outcome on the account. Exits non-zero when it is not verified."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser)

    def handle(self, *args, **options) -> None:
        account = account_get(options["account"])
        result = account_verify(actor=Actor.system("manage.py account_verify"), aws_account=account)
        if not result.ok:
            raise CommandError(f"{account.account_id} {result.status}: {result.message}")
        self.stdout.write(f"{account.account_id} {result.status}: {result.message}")
