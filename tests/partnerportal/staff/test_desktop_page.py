"""A desktop's page in the console: its actions (confirmed, through the same service as the list), its
state timeline, sessions, jobs and audit trail; AWS's facts first and read-only; no Delete anywhere."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from orchestration.models import Job
from tenants.models import DesktopActivity, DesktopStateChange
from tests.factories import AuditEventFactory, DesktopFactory, JobItemFactory, UserFactory

pytestmark = pytest.mark.django_db
OURS = {"PartnerManaged": "true"}


def _page(client, desktop) -> str:
    response = client.get(reverse("admin:tenants_desktop_change", args=[desktop.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _act_url(desktop, action: str) -> str:
    return reverse("admin:tenants_desktop_act", args=[desktop.pk, action])


def test_the_page_shows_timeline_sessions_jobs_and_audit(staff_client):
    desktop = DesktopFactory(tags=OURS, missing_from_aws_since=timezone.now())
    now = timezone.now()
    for minutes, state in ((30, "PENDING"), (20, "AVAILABLE"), (10, "STOPPED")):
        DesktopStateChange.objects.create(
            desktop=desktop, state=state, changed_at=now - timedelta(minutes=minutes)
        )
    DesktopActivity.objects.create(
        desktop=desktop,
        connection_state="DISCONNECTED",
        last_connected_at=now - timedelta(hours=1),
        source="GATEWAY",
    )
    item = JobItemFactory(job__customer=desktop.aws_account.customer, desktop=desktop, status="SUCCEEDED")
    AuditEventFactory(
        customer=desktop.aws_account.customer,
        target_id=desktop.workspace_id,
        action="StopWorkspaces",
        job=item.job,
    )
    page = _page(staff_client, desktop)
    timeline = page[page.index('id="desktop-timeline"') : page.index('id="desktop-sessions"')]
    # Newest first: the row written when the desktop was made (AVAILABLE, now), then the three above.
    assert re.findall(r"<td>([A-Z_]+)</td>", timeline) == ["AVAILABLE", "STOPPED", "AVAILABLE", "PENDING"]
    assert "reported by gateway" in page
    job_url = reverse("admin:orchestration_job_change", args=[item.job_id])
    assert f'<a href="{job_url}">Job {item.job_id}: Create desktops</a>' in page
    audit = page[page.index('id="desktop-audit"') :]
    assert "StopWorkspaces" in audit and f'<a href="{job_url}">job {item.job_id}</a>' in audit
    # AWS's own facts come first; what the control plane found is read-only, not an input.
    assert page.index("field-workspace_id") < page.index("field-missing_from_aws_since")
    assert 'name="missing_from_aws_since' not in page and 'name="stopped_by_aws_at' not in page
    assert 'name="power_policy"' in page


def test_buttons_follow_the_state_and_no_delete_is_offered(staff_client):
    available = DesktopFactory(tags=OURS, state="AVAILABLE")
    page = _page(staff_client, available)
    actions = page[
        page.index('id="desktop-actions"') : page.index("</div>", page.index('id="desktop-actions"'))
    ]
    for action in ("stop", "reboot", "rebuild", "terminate"):
        assert f'href="{_act_url(available, action)}"' in actions
    assert _act_url(available, "start") not in actions  # AWS starts only STOPPED desktops
    assert "deletelink" not in page and "/delete/" not in page
    changelist = staff_client.get(reverse("admin:tenants_desktop_changelist")).content.decode()
    assert "delete_selected" not in changelist
    assert staff_client.get(reverse("admin:tenants_desktop_delete", args=[available.pk])).status_code == 403


def test_an_action_from_the_page_is_confirmed_first_then_makes_a_job(staff_client):
    desktop = DesktopFactory(tags=OURS, state="AVAILABLE")
    confirm = staff_client.get(_act_url(desktop, "stop"))
    assert confirm.status_code == 200 and Job.objects.count() == 0
    assert f"Stop {desktop.workspace_id}?" in confirm.content.decode()
    done = staff_client.post(_act_url(desktop, "stop"), follow=True)
    job = Job.objects.get()
    assert (job.kind, job.total_items) == ("DESKTOP_STOP", 1)
    assert done.redirect_chain[-1][0] == reverse("admin:tenants_desktop_change", args=[desktop.pk])
    assert f'href="{reverse("admin:orchestration_job_change", args=[job.pk])}">Follow job {job.pk}</a>' in (
        done.content.decode()
    )


def test_a_help_desk_user_gets_power_buttons_only_and_cannot_post_terminate(client):
    desktop = DesktopFactory(tags=OURS, state="AVAILABLE")
    user = UserFactory(username="helpdesk", is_staff=True)
    user.groups.add(Group.objects.get(name="Help desk"))
    client.force_login(user)
    page = _page(client, desktop)
    assert _act_url(desktop, "stop") in page and _act_url(desktop, "terminate") not in page
    assert client.post(_act_url(desktop, "terminate")).status_code == 403
    assert Job.objects.count() == 0
