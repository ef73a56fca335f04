"""Issue 12 item 3: a desktop row is never deleted; one AWS no longer knows is forgotten (soft, audited,
its history kept), and one AWS still lists is refused."""

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.aws.types import WorkspaceSpec
from orchestration.aws.workspaces import workspaces_create_batch
from orchestration.models import AuditEvent
from orchestration.services.accounts import account_access
from orchestration.services.desktop_forget import DesktopForgetInvalid, desktop_forget
from partnerportal.devstack import demo_account_connect
from tenants.models import Desktop, DesktopStateChange
from tests.factories import BundleFactory, CustomerFactory, DesktopFactory, DirectoryFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


@pytest.fixture
def rows(simulator, demo_world_ready):
    """`listed`: a desktop whose WorkSpace AWS lists; `gone`: one whose WorkSpace AWS no longer knows."""
    demo = demo_world_ready["accounts"][0]
    account = demo_account_connect(simulator=simulator, customer=CustomerFactory(name="Acme"), demo=demo)
    made = workspaces_create_batch(
        account_access(account),
        [
            WorkspaceSpec(
                directory_id=demo["directory_id"],
                user_name="alice",
                bundle_id=demo["bundle_id"],
                workspace_name="wsc-forget-test",
                running_mode="MANUAL",
            )
        ],
    )
    directory = DirectoryFactory(aws_account=account, directory_id=demo["directory_id"])
    bundle = BundleFactory(aws_account=account)
    listed = DesktopFactory(
        aws_account=account,
        directory=directory,
        bundle=bundle,
        workspace_id=made.created["wsc-forget-test"].workspace_id,
        user_name="alice",
    )
    gone = DesktopFactory(
        aws_account=account, directory=directory, bundle=bundle, workspace_id="ws-gone00001"
    )
    gone.state = "STOPPED"
    gone.save()
    simulator.clear_calls()
    return listed, gone


@pytest.mark.slow
def test_a_desktop_aws_no_longer_lists_is_forgotten_and_keeps_its_history(rows, simulator):
    _, gone = rows
    history = DesktopStateChange.objects.filter(desktop=gone).count()
    assert history >= 2
    desktop_forget(actor=ACTOR, desktops=[gone])
    gone.refresh_from_db()
    assert gone.unmanaged_at is not None and gone.unmanaged_reason == "FORGOTTEN"
    assert DesktopStateChange.objects.filter(desktop=gone).count() == history
    event = AuditEvent.objects.get(action="ForgetDesktop")
    assert (event.outcome, event.target_id, event.actor_label) == ("SUCCEEDED", "ws-gone00001", "test")
    assert [c["operation"] for c in simulator.calls() if not c["operation"].startswith("sts:")] == [
        "DescribeWorkspaces"
    ]


@pytest.mark.slow
def test_a_desktop_aws_still_lists_is_refused_and_nothing_is_forgotten(rows):
    listed, gone = rows
    with pytest.raises(DesktopForgetInvalid) as refused:
        desktop_forget(actor=ACTOR, desktops=[listed, gone])
    assert f"AWS still lists {listed.workspace_id}" in str(refused.value)
    assert not Desktop.objects.filter(unmanaged_at__isnull=False).exists()
    event = AuditEvent.objects.get(action="ForgetDesktop")
    assert (event.outcome, event.target_id) == ("REFUSED", listed.workspace_id)
    with pytest.raises(DesktopForgetInvalid, match="already unmanaged"):
        desktop_forget(actor=ACTOR, desktops=[gone])
        desktop_forget(actor=ACTOR, desktops=[gone])


@pytest.mark.slow
def test_the_staff_console_forgets_and_never_deletes_a_desktop(rows, staff_client):
    listed, gone = rows
    assert staff_client.get(reverse("admin:tenants_desktop_delete", args=[gone.pk])).status_code == 403
    changelist = reverse("admin:tenants_desktop_changelist")
    staff_client.post(
        changelist,
        {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [gone.pk], "index": 0, "post": "yes"},
    )
    assert Desktop.objects.filter(pk=gone.pk).exists()
    page = staff_client.post(
        changelist,
        {"action": "forget_desktops", helpers.ACTION_CHECKBOX_NAME: [gone.pk], "index": 0, "post": "yes"},
        follow=True,
    )
    assert "Forgot 1 desktop(s)" in page.content.decode()
    assert Desktop.objects.get(pk=gone.pk).unmanaged_reason == "FORGOTTEN"
    for url in ("admin:tenants_awsaccount_delete", "admin:tenants_customer_delete"):
        target = gone.aws_account if "awsaccount" in url else gone.aws_account.customer
        assert staff_client.get(reverse(url, args=[target.pk])).status_code == 403
