"""The customer pages as each role sees them: login, home, desktops, actions, new desktops, jobs, usage."""

import pytest
from django.test import Client

from orchestration.models import Job
from tenants.choices import DesktopState, MembershipRole
from tenants.models import Desktop
from tests.factories import AuditEventFactory, CustomerMembershipFactory, StaffUserFactory

ADMIN, OPERATOR, VIEWER = MembershipRole.ADMIN, MembershipRole.OPERATOR, MembershipRole.VIEWER
pytestmark = pytest.mark.django_db


def test_a_customer_user_signs_in_on_the_portal_login_and_lands_home(db):
    membership = CustomerMembershipFactory(user__username="acme-admin", customer__name="Acme")
    client = Client()
    assert client.get("/portal/login/").status_code == 200
    response = client.post(
        "/portal/login/", {"username": "acme-admin", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302 and response["Location"] == "/portal/"
    home = client.get("/portal/")
    assert home.status_code == 200
    assert membership.customer.name in home.content.decode()


def test_a_wrong_password_is_refused_on_the_page(db):
    CustomerMembershipFactory(user__username="acme-admin")
    response = Client().post("/portal/login/", {"username": "acme-admin", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_staff_who_land_on_the_portal_are_sent_to_the_staff_console(db):
    client = Client()
    client.force_login(StaffUserFactory(username="ops"))
    assert client.get("/portal/login/")["Location"] == "/admin/"
    assert client.get("/portal/")["Location"] == "/admin/"
    assert client.get("/")["Location"] == "/admin/"


def test_staff_signing_in_on_the_portal_page_go_to_the_staff_console(db):
    StaffUserFactory(username="ops")
    response = Client().post(
        "/portal/login/", {"username": "ops", "password": "correct horse battery staple"}
    )
    assert response["Location"] == "/admin/"


def test_root_sends_customers_to_the_portal_and_strangers_to_its_login(tenant):
    assert tenant.clients[VIEWER].get("/")["Location"] == "/portal/"
    anonymous = Client()
    assert anonymous.get("/")["Location"] == "/portal/"
    assert anonymous.get("/portal/")["Location"] == "/portal/login/?next=/portal/"


def test_a_user_without_membership_is_refused(db):
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username="loner"))
    assert client.get("/portal/").status_code == 403


def test_logout_ends_the_session(tenant):
    client = tenant.clients[VIEWER]
    assert client.post("/portal/logout/")["Location"] == "/portal/login/"
    assert client.get("/portal/").status_code == 302


def test_home_shows_states_hours_jobs_and_attention(tenant_mid_month):
    tenant = tenant_mid_month
    page = tenant.clients[VIEWER].get("/portal/").content.decode()
    assert "Desktops needing attention" in page
    assert tenant.desktops[2].workspace_id in page  # the ERROR one
    assert f"Job {tenant.job.pk}" in page
    assert "9.00" in page  # three desktops, three hours AVAILABLE each, this month


@pytest.mark.parametrize(
    ("role", "nav_create", "actions"),
    [(ADMIN, True, True), (OPERATOR, False, True), (VIEWER, False, False)],
)
@pytest.mark.slow
def test_navigation_and_actions_follow_the_role(tenant, role, nav_create, actions):
    page = tenant.clients[role].get("/portal/desktops/").content.decode()
    assert ("New desktops" in page) is nav_create
    assert ('name="action"' in page) is actions
    assert ('value="terminate"' in page) is (role == ADMIN)
    detail = tenant.clients[role].get(f"/portal/desktops/{tenant.desktops[0].pk}/").content.decode()
    assert ('value="stop"' in detail) is actions
    assert ('value="terminate"' in detail) is (role == ADMIN)


@pytest.mark.slow
def test_the_desktop_list_searches_filters_sorts_and_pages(tenant):
    client = tenant.clients[VIEWER]
    page = client.get("/portal/desktops/", {"q": "acme-user1"}).content.decode()
    assert "acme-user1" in page and "acme-user2" not in page
    page = client.get("/portal/desktops/", {"state": "ERROR"}).content.decode()
    assert tenant.desktops[2].workspace_id in page and tenant.desktops[0].workspace_id not in page
    page = client.get("/portal/desktops/", {"sort": "user_name"}).content.decode()
    assert page.index("acme-user0") < page.index("acme-user1") < page.index("acme-user2")
    page = client.get("/portal/desktops/", {"directory": tenant.directory.directory_id}).content.decode()
    assert "acme-user0" in page
    second = client.get("/portal/desktops/", {"page": 2}).content.decode()
    assert "No desktops match." in second


def test_a_desktop_page_shows_its_timeline_and_audit_trail(tenant):
    page = tenant.clients[VIEWER].get(f"/portal/desktops/{tenant.desktops[0].pk}/").content.decode()
    assert "State timeline" in page and "STOPPED" in page
    assert tenant.event.action in page and "acme-admin" in page
    assert f"Job {tenant.job.pk}" in page


def test_an_action_first_shows_what_will_happen_then_makes_a_job(tenant):
    client = tenant.clients[OPERATOR]
    desktop = tenant.desktops[0]
    before = Job.objects.count()
    confirm = client.post("/portal/desktops/action/", {"action": "stop", "desktop": [desktop.pk]})
    assert confirm.status_code == 200
    assert "disconnected" in confirm.content.decode()
    assert Job.objects.count() == before
    done = client.post(
        "/portal/desktops/action/", {"action": "stop", "desktop": [desktop.pk], "confirmed": "yes"}
    )
    assert done.status_code == 302 and done["Location"] == f"/portal/desktops/{desktop.pk}/"
    job = Job.objects.latest("pk")
    assert (Job.objects.count(), job.kind, job.customer_id) == (
        before + 1,
        "DESKTOP_STOP",
        tenant.customer.pk,
    )
    assert job.requested_by_label == "acme-operator"


def test_a_bulk_action_on_a_selection_goes_to_its_job(tenant):
    client = tenant.clients[ADMIN]
    ids = [d.pk for d in tenant.desktops]
    response = client.post("/portal/desktops/action/", {"action": "stop", "desktop": ids, "confirmed": "yes"})
    job = Job.objects.latest("pk")
    assert response["Location"] == f"/portal/jobs/{job.pk}/"
    assert job.total_items == 3
    assert job.result["eligible"] == 2  # the ERROR one cannot be stopped; its item fails at once


def test_an_action_none_can_take_says_why_on_the_confirmation_page(tenant):
    response = tenant.clients[ADMIN].post(
        "/portal/desktops/action/",
        {"action": "start", "desktop": [tenant.desktops[0].pk], "confirmed": "yes"},
    )
    assert response.status_code == 400
    assert "None of the 1 selected desktops is eligible" in response.content.decode()


@pytest.mark.parametrize(("role", "action"), [(VIEWER, "stop"), (OPERATOR, "terminate"), (VIEWER, "reboot")])
def test_an_action_the_role_lacks_is_refused_and_makes_nothing(tenant, role, action):
    before = Job.objects.count()
    response = tenant.clients[role].post(
        "/portal/desktops/action/", {"action": action, "desktop": [tenant.desktops[0].pk], "confirmed": "yes"}
    )
    assert response.status_code == 403
    assert Job.objects.count() == before


def test_the_job_page_and_its_progress_part(tenant):
    client = tenant.clients[VIEWER]
    page = client.get(f"/portal/jobs/{tenant.job.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "AWS accepted it; waiting for AWS to finish." in page and "Done." in page
    part = client.get(f"/portal/jobs/{tenant.job.pk}/progress/").content.decode()
    assert '<progress class="job-progress" value="1" max="2"' in part
    assert "50 %" in part
    tenant.job.status = "SUCCEEDED"
    tenant.job.save(update_fields=["status"])
    assert "hx-trigger" not in client.get(f"/portal/jobs/{tenant.job.pk}/progress/").content.decode()
    assert str(tenant.job.pk) in client.get("/portal/jobs/").content.decode()


def test_usage_shows_a_chart_source_a_table_and_a_csv(tenant_mid_month):
    tenant = tenant_mid_month
    client = tenant.clients[VIEWER]
    page = client.get("/portal/usage/").content.decode()
    assert 'id="usage-chart-data"' in page and "<script" in page
    assert "acme-user0" in page and "9.00" in page
    csv = client.get("/portal/usage.csv").content.decode()
    assert csv.splitlines()[0].startswith("customer,aws_account_id")
    rows = csv.splitlines()[1:]
    assert len(rows) == 3, "|".join(rows)


def test_usage_of_an_unreadable_month_falls_back_to_this_month(tenant):
    assert tenant.clients[VIEWER].get("/portal/usage/", {"month": "2026-13"}).status_code == 200


def test_desktop_state_part_keeps_looking_only_while_the_state_moves(tenant):
    desktop = tenant.desktops[2]  # no job works on it
    client = tenant.clients[VIEWER]
    assert "hx-trigger" not in client.get(f"/portal/desktops/{desktop.pk}/state/").content.decode()
    # A job still working on a desktop (its item WAITING) keeps the page looking too.
    assert "hx-trigger" in client.get(f"/portal/desktops/{tenant.desktops[1].pk}/state/").content.decode()
    Desktop.objects.filter(pk=desktop.pk).update(state=DesktopState.STOPPING)
    assert "hx-trigger" in client.get(f"/portal/desktops/{desktop.pk}/state/").content.decode()


def test_the_audit_csv_cannot_run_as_a_spreadsheet_formula(tenant):
    AuditEventFactory(
        customer=tenant.customer, error_message='=HYPERLINK("https://evil.example.com","x")', outcome="FAILED"
    )
    csv = tenant.clients[VIEWER].get("/portal/audit.csv").content.decode()
    assert "'=HYPERLINK" in csv
    assert ",=HYPERLINK" not in csv and ',"=HYPERLINK' not in csv
