"""A golden-image pipeline's bundles from another account: a form error on the page, not a database error."""

import pytest
from django.forms.models import model_to_dict

from partnerportal.staff.admin.policies import GoldenImagePipelineForm
from tenants.models import GoldenImagePipeline
from tests.factories import AwsAccountFactory, BundleFactory, DesktopFactory

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
    assert "not in account" in str(form.errors["target_bundles"])

    form = GoldenImagePipelineForm(data={**data, "target_bundles": [own.pk]}, instance=pipeline)
    assert form.is_valid(), form.errors
