"""The customer pages in a real browser: an admin's day with a real worker and the simulator, and what an
operator and a viewer do not find. Screenshots of every page go to var/screenshots/."""

import pytest
from playwright.sync_api import expect

from tenants.choices import MembershipRole
from tests.factories import CustomerMembershipFactory, DesktopFactory
from tests.partnerportal.selfservice.browser.conftest import sign_in

PASSWORD = "correct horse battery staple"  # the user factory's
CSV = "user_name\nann\nben\nDoe, Jane\ncat\ndan\neve\n"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_an_admin_creates_from_a_csv_watches_the_job_stops_one_and_sees_usage(
    page,
    live_server,
    stack_factory,
    customer_account,
    shoot,
    tmp_path,
):
    stack_factory().start()
    CustomerMembershipFactory(
        customer=customer_account["customer"], role=MembershipRole.ADMIN, user__username="acme-admin"
    )
    base = live_server.url
    page.goto(f"{base}/portal/login/")
    shoot(page, "01-login")
    sign_in(page, base, "acme-admin", PASSWORD)
    shoot(page, "02-home-empty")

    page.get_by_role("link", name="New desktops").first.click()
    shoot(page, "03-new-desktops")
    csv_file = tmp_path / "users.csv"
    csv_file.write_text(CSV)
    page.get_by_label("Directory", exact=True).select_option(index=1)
    page.get_by_label("Bundle", exact=True).select_option(index=1)
    page.get_by_label("Or a CSV file of user names").set_input_files(str(csv_file))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-summary")).to_contain_text("5 desktops will be created; 1 line refused")
    expect(page.locator("#preview-table")).to_contain_text("one line is one name")
    shoot(page, "04-new-desktops-preview")

    page.locator("#create-confirm").click()
    page.wait_for_url(f"{base}/portal/jobs/*/")
    page.evaluate("window.stillTheSamePage = true")  # gone if the page reloads
    expect(page.locator("#job-percent")).to_have_text("100 %", timeout=180_000)
    expect(page.locator("#job-status")).to_have_text("Succeeded")
    expect(page.get_by_role("cell", name="Done.")).to_have_count(5)  # the outcomes moved on too
    assert page.evaluate("window.stillTheSamePage") is True
    shoot(page, "05-job-done")

    page.get_by_role("link", name="Desktops", exact=True).click()
    shoot(page, "06-desktops")
    page.get_by_role("row").filter(has_text="ann").get_by_role("link").first.click()
    expect(page.locator("#desktop-state")).to_have_text("AVAILABLE")
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Stop 1 desktop?")
    shoot(page, "07-stop-confirm")
    page.get_by_role("button", name="Yes, stop 1 desktop").click()
    expect(page.locator("#desktop-state")).to_have_text("STOPPED", timeout=120_000)
    shoot(page, "08-desktop-stopped")

    page.get_by_role("link", name="Usage").click()
    expect(page.locator("#usage-chart")).to_have_attribute("data-chart-ready", "yes")
    shoot(page, "09-usage")
    page.get_by_role("link", name="Home").click()
    shoot(page, "10-home")
    for name, link in [
        ("11-jobs", "Jobs"),
        ("12-power-policies", "Power policies"),
        ("13-audit", "Audit log"),
        ("14-api-tokens", "API tokens"),
        ("15-members", "Members"),
        ("16-existing", "Existing WorkSpaces"),
    ]:
        page.get_by_role("link", name=link, exact=True).click()
        shoot(page, name)
    page.get_by_role("link", name="Power policies", exact=True).click()
    page.get_by_role("link", name="New policy").click()
    shoot(page, "17-power-policy-grid")
    page.get_by_role("link", name="Webhooks", exact=True).click()
    page.get_by_label("URL").fill("https://hooks.example.org/workspaces")
    page.get_by_label("Job finished").check()
    page.get_by_label("Desktop needs attention").check()
    page.get_by_role("button", name="Register the endpoint").click()
    expect(page.locator("#webhook-secret")).to_contain_text("whsec_")
    shoot(page, "18-webhooks")


def _fleet_for(role: str):
    membership = CustomerMembershipFactory(role=role, user__username=f"someone-{role.lower()}")
    desktop = DesktopFactory(aws_account__customer=membership.customer, tags={"PartnerManaged": "true"})
    return membership, desktop


def test_an_operator_finds_no_create_or_terminate(page, live_server, transactional_db, shoot):
    _, desktop = _fleet_for(MembershipRole.OPERATOR)
    sign_in(page, live_server.url, "someone-operator", PASSWORD)
    expect(page.get_by_role("link", name="New desktops")).to_have_count(0)
    page.get_by_role("link", name="Desktops", exact=True).click()
    expect(page.locator("#bulk-action option")).to_have_text(
        ["Start", "Stop", "Reboot", "Rebuild", "Restore"]
    )
    shoot(page, "20-operator-desktops")
    page.goto(f"{live_server.url}/portal/desktops/{desktop.pk}/")
    expect(page.get_by_role("button", name="Stop")).to_have_count(1)
    expect(page.get_by_role("button", name="Terminate")).to_have_count(0)
    shoot(page, "21-operator-desktop")


def test_a_viewer_finds_no_action_at_all(page, live_server, transactional_db, shoot):
    _, desktop = _fleet_for(MembershipRole.VIEWER)
    sign_in(page, live_server.url, "someone-viewer", PASSWORD)
    page.get_by_role("link", name="Desktops", exact=True).click()
    expect(page.locator("#bulk-action")).to_have_count(0)
    expect(page.locator("input[name=desktop]")).to_have_count(0)
    page.goto(f"{live_server.url}/portal/desktops/{desktop.pk}/")
    expect(page.locator("form[aria-label=Actions]")).to_have_count(0)
    expect(page.get_by_role("button")).to_have_text(["Sign out"])
    shoot(page, "22-viewer-desktop")
