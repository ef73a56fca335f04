"""`manage.py adoption_template`: the temporary adoption/release stack to send a customer."""

from django.core.management.base import BaseCommand

from orchestration.management.command_helpers import account_get, add_account_arguments
from orchestration.services.adoption import adoption_stack_quick_create_url, adoption_stack_template


class Command(BaseCommand):
    help = (
        "Print the CloudFormation template of the customer's temporary adoption/release stack (a role "
        "that may only set or remove PartnerManaged on WorkSpaces); with --console-url, where to deploy it."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser)
        parser.add_argument(
            "--console-url",
            action="store_true",
            help="Print the CloudFormation console page to deploy it at.",
        )

    def handle(self, *args, **options) -> None:
        account = account_get(options["account"])
        if options["console_url"]:
            self.stdout.write(adoption_stack_quick_create_url(aws_account=account))
            return
        self.stdout.write(adoption_stack_template(aws_account=account), ending="")
