"""Seed a demo: a partner ops login, a demo customer with a customer-admin login, and its AWS account.

The account is the simulator's demo customer acme (`simulator.world`), so `manage.py runstack` can point
it at a running simulator and everything staff click reaches "AWS".
"""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenants.choices import AuthMode, MembershipRole
from tenants.models import AwsAccount, Customer, CustomerMembership

DEMO_STAFF_USERNAME = "ops"
DEMO_CUSTOMER_USERNAME = "acme-admin"
# The documented demo password: seed_demo runs only with DEBUG on.
DEFAULT_DEMO_PASSWORD = "demo-partner-portal"  # noqa: S105
DEMO_ACCOUNT_ID = "111111111111"
DEMO_ROLE_ARN = f"arn:aws:iam::{DEMO_ACCOUNT_ID}:role/WorkSpacesCorePartnerRole"


class Command(BaseCommand):
    help = "Create (or refresh) the demo logins and demo customer. Development only; idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD),
            help=f"Password for both demo logins (default: $DEMO_PASSWORD or {DEFAULT_DEMO_PASSWORD}).",
        )

    @transaction.atomic
    def handle(self, *args, password: str, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo makes logins with a known password; it runs only with DEBUG on.")
        user_model = get_user_model()

        staff, _ = user_model.objects.get_or_create(username=DEMO_STAFF_USERNAME)
        staff.is_staff = staff.is_superuser = True
        staff.email = "ops@partner.example"
        staff.set_password(password)
        staff.save()

        customer, _ = Customer.objects.get_or_create(slug="acme", defaults={"name": "Acme Corp (demo)"})
        customer_admin, _ = user_model.objects.get_or_create(username=DEMO_CUSTOMER_USERNAME)
        customer_admin.email = "it-admin@acme.example"
        customer_admin.set_password(password)
        customer_admin.save()
        CustomerMembership.objects.update_or_create(
            user=customer_admin, defaults={"customer": customer, "role": MembershipRole.ADMIN}
        )
        account, _ = AwsAccount.objects.get_or_create(
            account_id=DEMO_ACCOUNT_ID,
            defaults={
                "customer": customer,
                "name": "Acme production",
                "auth_mode": AuthMode.ASSUME_ROLE,
                "role_arn": DEMO_ROLE_ARN,
                "default_region": "us-east-1",
                "regions": ["us-east-1"],
                "byop_enabled": True,
            },
        )
        self.stdout.write(
            f"Demo ready: staff login {DEMO_STAFF_USERNAME!r}, customer login {DEMO_CUSTOMER_USERNAME!r}, "
            f"customer {customer.name!r}, AWS account {account.account_id} (External ID {account.external_id})."
        )
