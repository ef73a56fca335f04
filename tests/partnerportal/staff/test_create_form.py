"""The create-desktops form chains customer -> account -> directory and bundle: only valid choices are
offered, bundles are named unambiguously, and a posted choice outside the chain is refused."""

import pytest
from django.urls import reverse

from orchestration.models import Job
from tests.factories import AwsAccountFactory, BundleFactory, CustomerFactory, DirectoryFactory

pytestmark = pytest.mark.django_db
URL = "admin:tenants_desktop_create"


def _options(page: str, field: str) -> list[str]:
    import re

    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', page, re.S)
    assert select, field
    return re.findall(r'<option value="([^"]*)"', select.group(1))


@pytest.fixture
def two_customers():
    mine = AwsAccountFactory(customer=CustomerFactory(name="Acme"))
    theirs = AwsAccountFactory(customer=CustomerFactory(name="Globex"))
    directory = DirectoryFactory(aws_account=mine, region="us-east-1")
    DirectoryFactory(aws_account=mine, region="eu-west-1", directory_id="d-euwest0001")
    DirectoryFactory(aws_account=mine, state="DEREGISTERED")
    same_name = [
        BundleFactory(aws_account=mine, name="standard"),
        BundleFactory(aws_account=mine, name="standard"),
    ]
    BundleFactory(aws_account=mine, name="elsewhere", region="eu-west-1")
    DirectoryFactory(aws_account=theirs)
    BundleFactory(aws_account=theirs, name="standard")
    return {"mine": mine, "theirs": theirs, "directory": directory, "same_name": same_name}


def test_nothing_below_the_customer_is_offered_before_one_is_chosen(staff_client, two_customers):
    page = staff_client.get(reverse(URL)).content.decode()
    assert len(_options(page, "customer")) == 3  # the empty choice and two customers
    assert _options(page, "aws_account") == [""]
    assert _options(page, "directory") == [""] and _options(page, "bundle") == [""]
    assert 'hx-get="/admin/tenants/desktop/create/"' in page and 'hx-select="#create-fields"' in page


def test_each_choice_narrows_the_next(staff_client, two_customers):
    mine, directory = two_customers["mine"], two_customers["directory"]
    page = staff_client.get(reverse(URL), {"customer": mine.customer_id}).content.decode()
    assert _options(page, "aws_account") == ["", str(mine.pk)]
    # The customer's only account is chosen for them: its registered directories are offered.
    directories = _options(page, "directory")
    assert len(directories) == 3 and str(directory.pk) in directories  # two registered, not the deregistered
    page = staff_client.get(
        reverse(URL), {"customer": mine.customer_id, "aws_account": mine.pk, "directory": directory.pk}
    ).content.decode()
    bundles = _options(page, "bundle")
    assert sorted(bundles[1:]) == sorted(str(b.pk) for b in two_customers["same_name"])  # not eu-west-1's
    for bundle in two_customers["same_name"]:
        assert f"standard ({bundle.bundle_id}; Standard (2 vCPU, 4 GiB); 80 + 50 GiB)" in page


def test_a_posted_account_of_another_customer_is_refused(staff_client, two_customers):
    mine, theirs = two_customers["mine"], two_customers["theirs"]
    page = staff_client.post(
        reverse(URL),
        {
            "customer": mine.customer_id,
            "aws_account": theirs.pk,
            "directory": two_customers["directory"].pk,
            "bundle": two_customers["same_name"][0].pk,
            "running_mode": "MANUAL",
            "count": 2,
        },
    ).content.decode()
    assert "Select a valid choice" in page
    assert Job.objects.count() == 0


def test_a_valid_chained_choice_makes_the_job(staff_client, two_customers):
    mine = two_customers["mine"]
    response = staff_client.post(
        reverse(URL),
        {
            "customer": mine.customer_id,
            "aws_account": mine.pk,
            "directory": two_customers["directory"].pk,
            "bundle": two_customers["same_name"][0].pk,
            "running_mode": "MANUAL",
            "count": 2,
        },
    )
    job = Job.objects.get()
    assert response.status_code == 302 and job.customer_id == mine.customer_id and job.total_items == 2
