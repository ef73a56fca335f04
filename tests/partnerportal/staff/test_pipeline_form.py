"""The golden-image pipeline form: chained customer -> account -> region -> golden desktop and bundles
(htmx asks for the chain again), and a choice from outside the chain refused on the page, never a
database error."""

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from partnerportal.staff.admin.policies import GoldenImagePipelineForm
from tenants.models import GoldenImagePipeline
from tests.factories import AwsAccountFactory, BundleFactory, CustomerFactory, DesktopFactory

pytestmark = pytest.mark.django_db


def test_a_bundle_of_another_account_is_refused_by_the_form():
    desktop = DesktopFactory()
    account = desktop.aws_account
    pipeline = GoldenImagePipeline.objects.create(
        customer=account.customer,
        aws_account=account,
        region="us-east-1",
        name="nightly",
        golden_desktop=desktop,
        schedule_cron="0 3 * * *",
        image_name_prefix="golden",
        enabled=False,
    )
    own = BundleFactory(aws_account=account)
    stranger = BundleFactory(aws_account=AwsAccountFactory(customer=account.customer))
    data = {key: value for key, value in model_to_dict(pipeline).items() if value is not None}

    form = GoldenImagePipelineForm(data={**data, "target_bundles": [own.pk, stranger.pk]}, instance=pipeline)
    assert not form.is_valid()
    # Not even offered: the chain holds only the pipeline's account's bundles in its region.
    assert "Select a valid choice" in str(form.errors["target_bundles"])

    form = GoldenImagePipelineForm(data={**data, "target_bundles": [own.pk]}, instance=pipeline)
    assert form.is_valid(), form.errors


def _options(page: str, field: str) -> list[str]:
    import re

    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', page, re.S)
    assert select, field
    return re.findall(r'<option value="([^"]*)"', select.group(1))


@pytest.fixture
def two_customers():
    mine = AwsAccountFactory(customer=CustomerFactory(name="Acme"), regions=["us-east-1", "eu-west-1"])
    theirs = AwsAccountFactory(customer=CustomerFactory(name="Globex"))
    golden = DesktopFactory(aws_account=mine, region="us-east-1")
    DesktopFactory(
        aws_account=mine, region="eu-west-1", directory__region="eu-west-1", bundle__region="eu-west-1"
    )
    bundle = BundleFactory(aws_account=mine, region="us-east-1", name="standard")
    BundleFactory(aws_account=mine, region="eu-west-1", name="elsewhere")
    stranger_desktop = DesktopFactory(aws_account=theirs)
    BundleFactory(aws_account=theirs, name="theirs")
    return {"mine": mine, "golden": golden, "bundle": bundle, "stranger_desktop": stranger_desktop}


def test_the_add_page_offers_nothing_below_the_customer_until_one_is_chosen(staff_client, two_customers):
    page = staff_client.get(reverse("admin:tenants_goldenimagepipeline_add")).content.decode()
    assert len(_options(page, "customer")) == 3  # the empty choice and two customers
    assert _options(page, "aws_account") == [""] and _options(page, "golden_desktop") == [""]
    chain = reverse("admin:tenants_goldenimagepipeline_chain")
    assert f'hx-get="{chain}"' in page and 'hx-select="#pipeline-chain"' in page
    assert 'name="target_bundles"' not in page  # no bundle to tick before the account and region


def test_each_choice_narrows_the_next(staff_client, two_customers):
    mine, golden, bundle = two_customers["mine"], two_customers["golden"], two_customers["bundle"]
    chain = reverse("admin:tenants_goldenimagepipeline_chain")
    page = staff_client.get(chain, {"customer": mine.customer_id}).content.decode()
    assert page.startswith('<div id="pipeline-chain">')
    assert _options(page, "aws_account") == ["", str(mine.pk)]
    page = staff_client.get(chain, {"customer": mine.customer_id, "aws_account": mine.pk}).content.decode()
    assert _options(page, "region") == ["", "us-east-1", "eu-west-1"]
    assert _options(page, "golden_desktop") == [""]  # no region yet: no desktop
    page = staff_client.get(
        chain, {"customer": mine.customer_id, "aws_account": mine.pk, "region": "us-east-1"}
    ).content.decode()
    assert _options(page, "golden_desktop") == ["", str(golden.pk)]  # not the eu-west-1 one, nor Globex's
    assert f'value="{bundle.pk}"' in page and "elsewhere" not in page and "theirs" not in page
    assert f"standard ({bundle.bundle_id}; Standard (2 vCPU, 4 GiB); 80 + 50 GiB)" in page


def test_a_posted_choice_outside_the_chain_is_refused(staff_client, two_customers):
    mine = two_customers["mine"]
    data = {
        "customer": mine.customer_id,
        "aws_account": mine.pk,
        "region": "us-east-1",
        "name": "nightly",
        "golden_desktop": two_customers["stranger_desktop"].pk,
        "schedule_cron": "0 3 * * *",
        "retention_count": 3,
        "image_name_prefix": "golden",
    }
    page = staff_client.post(reverse("admin:tenants_goldenimagepipeline_add"), data)
    assert page.status_code == 200 and b"Select a valid choice" in page.content
    assert not GoldenImagePipeline.objects.exists()
    data["golden_desktop"] = two_customers["golden"].pk
    data["target_bundles"] = [two_customers["bundle"].pk]
    answer = staff_client.post(reverse("admin:tenants_goldenimagepipeline_add"), data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    pipeline = GoldenImagePipeline.objects.get()
    assert list(pipeline.target_bundles.all()) == [two_customers["bundle"]]


def test_a_checkbox_is_followed_by_its_own_spaced_label_without_a_colon(staff_client):
    page = staff_client.get(reverse("admin:tenants_goldenimagepipeline_add")).content.decode()
    row = page[page.index('class="flex-container checkbox-row"') :]
    row = row[: row.index("</div>")]
    # Django admin's checkbox label: after the box, padded by the admin's vCheckboxLabel rule, no colon.
    assert '<label for="id_enabled" class="vCheckboxLabel">Enabled</label>' in row
    assert row.index('id="id_enabled"') < row.index("<label")
