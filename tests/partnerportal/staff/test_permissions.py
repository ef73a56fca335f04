"""Issue 12 item 1: every staff console action names the permission it needs, and a staff user who may
only look is refused each one of every registered admin: no row changes, no job, no AWS call."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
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

pytestmark = pytest.mark.django_db

# Every confirmation an action's intermediate page posts back, so an allowed action would really run.
CONFIRMATIONS = {"post": "yes", "confirmed": "1", "apply": "1"}
# An action may be open to whoever sees the rows only if it reads and changes nothing; none is yet.
READ_ONLY_ACTIONS: set[tuple[str, str]] = set()


def _every_action():
    for model, model_admin in admin.site._registry.items():
        for func, name, _ in model_admin._get_base_actions():
            yield model, model_admin, func, name


def _snapshot() -> dict[str, list[dict]]:
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in admin.site._registry}


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


@pytest.fixture
def viewer_client(client):
    """A staff user with every view permission and nothing else (the Auditor role)."""
    viewer = StaffUserFactory(username="viewer", is_superuser=False)
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(viewer)
    return client


def test_every_action_names_a_permission_that_changes_something():
    for model, _, func, name in _every_action():
        needed = set(getattr(func, "allowed_permissions", ()) or ())
        assert needed, f"{model._meta.label} action {name} declares no permission"
        if (model._meta.label, name) not in READ_ONLY_ACTIONS:
            assert needed - {"view"}, f"{model._meta.label} action {name} is open to view-only staff"


def test_a_view_only_staff_user_is_refused_every_action_of_every_admin(world, viewer_client, simulator):
    before = _snapshot()
    refused = 0
    for model, _, _, name in _every_action():
        rows = list(model.objects.values_list("pk", flat=True))
        assert rows, f"the world has no {model._meta.label} row to try {name} on"
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert viewer_client.get(url).status_code == 200, f"the viewer cannot see {model._meta.label}"
        response = viewer_client.post(
            url, {"action": name, helpers.ACTION_CHECKBOX_NAME: rows, "index": 0, **CONFIRMATIONS}
        )
        assert response.status_code in (200, 302), f"{model._meta.label} {name}: {response.status_code}"
        assert _snapshot() == before, f"{model._meta.label} action {name} changed rows for a viewer"
        assert simulator.calls() == [], f"{model._meta.label} action {name} called AWS for a viewer"
        refused += 1
    assert refused >= 40  # every action of every admin was tried


def test_the_same_post_runs_the_action_for_staff_allowed_to(world, staff_client):
    """The refusal above is the permission's doing: the same request revokes as a superuser."""
    token = ApiToken.objects.get()
    url = reverse("admin:tenants_apitoken_changelist")
    staff_client.post(url, {"action": "revoke", helpers.ACTION_CHECKBOX_NAME: [token.pk], "index": 0})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_no_one_reads_a_two_factor_secret_back_in_the_console(staff_client):
    owner = StaffUserFactory(username="owner")
    device = TOTPDevice.objects.create(user=owner, name="app")
    codes = StaticDevice.objects.create(user=owner, name="codes")
    StaticToken.objects.create(device=codes, token="recover1")
    for name in ("config", "qrcode"):
        assert staff_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{name}/").status_code == 403
    page = staff_client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])).content.decode()
    assert device.key not in page
    page = staff_client.get(reverse("admin:otp_static_staticdevice_change", args=[codes.pk])).content.decode()
    assert "recover1" not in page
