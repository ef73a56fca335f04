"""Fixtures of the staff console's tests."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from orchestration.actors import Actor
from orchestration.models import ScheduleRun, WebhookDelivery
from orchestration.services.webhooks import webhook_endpoint_create
from partnerportal.devstack import demo_account_connect
from tenants.models import ApiToken, GoldenImagePipeline
from tests.factories import (
    AuditEventFactory,
    BundleFactory,
    CustomerFactory,
    CustomerMembershipFactory,
    DesktopFactory,
    DirectoryFactory,
    ImageFactory,
    JobItemFactory,
    PowerPolicyFactory,
    StaffUserFactory,
)
from tests.pool_world import make_pool


@pytest.fixture
def world(simulator, demo_world_ready):
    """A row of every registered model, the AWS ones for an account the simulator knows."""
    customer = CustomerFactory(name="Acme", slug="acme")
    account = demo_account_connect(
        simulator=simulator, customer=customer, demo=demo_world_ready["accounts"][0]
    )
    desktop = DesktopFactory(aws_account=account, directory=DirectoryFactory(aws_account=account))
    ImageFactory(aws_account=account)
    bundle = BundleFactory(aws_account=account)
    policy = PowerPolicyFactory(customer=customer)
    pipeline = GoldenImagePipeline.objects.create(
        customer=customer,
        aws_account=account,
        region="us-east-1",
        name="nightly",
        golden_desktop=desktop,
        schedule_cron="0 3 * * *",
        image_name_prefix="golden",
        enabled=False,
    )
    pipeline.target_bundles.add(bundle)
    make_pool(account, directory=desktop.directory, bundle=bundle)
    ApiToken.issue(customer=customer, name="ci")
    CustomerMembershipFactory(customer=customer)
    JobItemFactory(job__customer=customer)
    AuditEventFactory(customer=customer)
    ScheduleRun.objects.create(schedule="idle-sweep", window_start=timezone.now())
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="sweep", task="orchestration.jobs_sweep", interval=interval, enabled=False
    )
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    CrontabSchedule.objects.create(minute="5")
    SolarSchedule.objects.create(event="sunrise", latitude=50, longitude=4)
    Group.objects.get_or_create(name="Some group")
    endpoint, _ = webhook_endpoint_create(
        actor=Actor.system("test"), customer=customer, url="http://127.0.0.1:9/hook", events=["job.finished"]
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_key="job:1", event_type="job.finished", payload={}, status="FAILED"
    )
    owner = StaffUserFactory(username="owner")
    TOTPDevice.objects.create(user=owner, name="app")
    StaticToken.objects.create(device=StaticDevice.objects.create(user=owner, name="codes"), token="recover1")
    seen = {"user_agent": "test", "ip_address": "192.0.2.1", "username": "ops", "http_accept": "*/*"}
    AccessAttempt.objects.create(
        **seen, path_info="/admin/login/", get_data="", post_data="", failures_since_start=1
    )
    AccessLog.objects.create(**seen, path_info="/admin/login/")
    AccessFailureLog.objects.create(**seen, path_info="/admin/login/")
    assert policy.pk
    simulator.clear_calls()
