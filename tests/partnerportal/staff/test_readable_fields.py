"""Fields people read and tick instead of typing JSON: regions as boxes, a pipeline's runs numbered from 1
with its status on its page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from orchestration.models import ScheduleRun
from orchestration.services.pipelines import pipeline_schedule_name
from tenants.models import AwsAccount, GoldenImagePipeline
from tests.factories import CustomerFactory, DesktopFactory

pytestmark = pytest.mark.django_db


def test_an_accounts_regions_are_ticked_not_typed(staff_client):
    customer = CustomerFactory()
    page = staff_client.get(reverse("admin:tenants_awsaccount_add")).content.decode()
    assert 'type="checkbox" name="regions" value="eu-west-1"' in page
    assert "eu-west-1 — Europe (Ireland)" in page
    response = staff_client.post(
        reverse("admin:tenants_awsaccount_add"),
        {
            "customer": customer.pk,
            "account_id": "210987654322",
            "auth_mode": "ASSUME_ROLE",
            "role_arn": "arn:aws:iam::210987654322:role/PartnerWorkSpacesCore",
            "default_region": "eu-west-1",
            "regions": ["eu-west-1", "eu-central-1"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AwsAccount.objects.get(account_id="210987654322").regions == ["eu-west-1", "eu-central-1"]


def _pipeline() -> GoldenImagePipeline:
    desktop = DesktopFactory()
    return GoldenImagePipeline.objects.create(
        customer=desktop.aws_account.customer,
        aws_account=desktop.aws_account,
        region="us-east-1",
        name="nightly",
        golden_desktop=desktop,
        schedule_cron="0 3 * * *",
        image_name_prefix="golden",
        enabled=False,
        copy_to_regions=["eu-west-1"],
    )


def test_a_pipelines_page_numbers_its_runs_from_one_and_says_its_status(staff_client):
    pipeline = _pipeline()
    ScheduleRun.objects.create(schedule="idle-sweep", window_start=timezone.now())  # another schedule's
    url = reverse("admin:tenants_goldenimagepipeline_change", args=[pipeline.pk])
    assert "Never run yet. Disabled." in staff_client.get(url).content.decode()
    first = ScheduleRun.objects.create(
        schedule=pipeline_schedule_name(pipeline), window_start=timezone.now(), status="SUCCEEDED"
    )
    page = staff_client.get(url).content.decode()
    assert first.pk > 1 and "<td>Run 1</td>" in page and "Run 2" not in page  # not its row id
    assert "Last run succeeded" in page
    assert 'type="checkbox" name="copy_to_regions" value="eu-west-1" ' in page and "checked" in page


def test_a_power_policys_business_hours_are_a_weekly_grid(staff_client):
    from tenants.models import PowerPolicy
    from tests.factories import PowerPolicyFactory

    policy = PowerPolicyFactory(
        schedule={
            "timezone": "Europe/Berlin",
            "windows": [{"days": [0, 1], "start": "08:00", "end": "10:00"}],
        }
    )
    url = reverse("admin:tenants_powerpolicy_change", args=[policy.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="schedule-h-0-8" value="1" aria-label="Mon 08:00" checked' in page
    assert 'name="schedule-h-2-8" value="1" aria-label="Wed 08:00">' in page  # Wednesday not ticked
    assert '<option value="Europe/Berlin" selected>' in page
    assert '"windows"' not in page  # no JSON to type
    ticked = {f"schedule-h-{day}-{hour}": "1" for day in range(5) for hour in range(9, 17)}
    response = staff_client.post(
        url,
        {
            "customer": policy.customer_id,
            "name": policy.name,
            "stop_after_disconnect_minutes": 30,
            "stop_after_no_session_minutes": "",
            "schedule-timezone": "Europe/Paris",
            **ticked,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = PowerPolicy.objects.get(pk=policy.pk)
    assert policy.schedule == {
        "timezone": "Europe/Paris",
        "windows": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
    }
