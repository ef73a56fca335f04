"""`make run --demo-fleet N`: the demo customer gets a first fleet, once, through the desktop service."""

import pytest
from django.core.management import load_command_class

from orchestration.choices import JobKind
from orchestration.models import Job
from partnerportal.devstack import DemoRows
from tenants.models import Desktop
from tests.factories import AwsAccountFactory, BundleFactory, DirectoryFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.slow
def test_the_demo_fleet_is_one_create_job_and_only_for_a_customer_without_desktops():
    account = AwsAccountFactory()
    rows = DemoRows(
        aws_account=account,
        directory=DirectoryFactory(aws_account=account),
        bundle=BundleFactory(aws_account=account),
    )
    command = load_command_class("partnerportal", "runstack")
    command._demo_fleet(rows, 6)
    command._demo_fleet(rows, 6)  # a second `make run` finds the fleet and asks for nothing more

    job = Job.objects.get()
    assert (job.kind, job.total_items, job.customer) == (JobKind.DESKTOP_CREATE, 6, account.customer)
    assert sorted(Desktop.objects.values_list("user_name", flat=True)) == [
        f"demo-user{n:02d}" for n in range(1, 7)
    ]
