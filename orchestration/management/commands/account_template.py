"""`manage.py account_template`: the CloudFormation template (or plain IAM policy) to send a customer."""

import json

from django.core.management.base import BaseCommand, CommandError

from orchestration.management.command_helpers import account_get, add_account_arguments
from orchestration.onboarding.template import RoleOptions
from orchestration.services.onboarding import (
    TEMPLATE_FORMATS,
    account_cloudformation_template,
    account_permissions_policy,
)


class Command(BaseCommand):
    help = (
        "Print the CloudFormation template that creates the partner role in a customer's account "
        "(trust in the partner account with this connection's External ID, tag-based permissions), "
        "or with --policy-only the same permissions as one IAM policy document."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser)
        parser.add_argument(
            "--format", choices=TEMPLATE_FORMATS, default=None, help="yaml (template default) or json."
        )
        parser.add_argument(
            "--policy-only", action="store_true", help="Only the permissions policy, as IAM JSON."
        )
        parser.add_argument(
            "--byol-setup", action="store_true", help="Grant ModifyAccount (BYOL setup) by default."
        )
        parser.add_argument(
            "--image-sharing",
            action="store_true",
            help="Grant UpdateWorkspaceImagePermission on PartnerManaged images by default.",
        )
        parser.add_argument(
            "--directory-id",
            action="append",
            default=[],
            help="Only this AD directory may have WorkSpaces authorized on it (repeat for more).",
        )
        parser.add_argument(
            "--vpc-id",
            action="append",
            default=[],
            help="Only this VPC may get WorkSpaces security groups (repeat for more).",
        )

    def handle(self, *args, **options) -> None:
        account = account_get(options["account"])
        try:
            role_options = RoleOptions(
                byol_setup=options["byol_setup"],
                image_sharing=options["image_sharing"],
                directory_ids=tuple(options["directory_id"]),
                vpc_ids=tuple(options["vpc_id"]),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["policy_only"]:
            if options["format"] == "yaml":
                raise CommandError(
                    "IAM policies are JSON documents: drop --format yaml, or drop --policy-only."
                )
            self.stdout.write(
                json.dumps(account_permissions_policy(aws_account=account, options=role_options), indent=2)
            )
            return
        self.stdout.write(
            account_cloudformation_template(
                aws_account=account, fmt=options["format"] or "yaml", options=role_options
            ),
            ending="",
        )
