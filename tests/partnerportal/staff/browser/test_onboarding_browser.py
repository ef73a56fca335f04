"""The onboarding wizard in a real browser with a real worker and the simulator: a new customer to its
first desktops AVAILABLE, every step from the console's home, each page saved at two sizes."""

import re

import pytest
from playwright.sync_api import expect

from tenants.models import AwsAccount, Desktop
from tests.factories import StaffUserFactory
from tests.integration.world import aws_runs_fast
from tests.partnerportal.staff.browser.conftest import staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(420)]
DESKTOPS = 5


def _at_step(page, step: str, timeout: float = 10_000) -> None:
    expect(page.locator("#wizard-step")).to_have_attribute("data-step", step, timeout=timeout)


def test_the_wizard_from_a_new_customer_to_its_first_desktops(
    page, live_server, stack_factory, simulator, shoot
):
    demo = simulator.create_demo_world(ready=False)["accounts"][0]
    aws_runs_fast(simulator)
    stack_factory().start()
    StaffUserFactory(username="ops")
    base = live_server.url
    staff_sign_in(page, base, "ops")

    page.locator("#onboard-link").click()
    _at_step(page, "customer")
    shoot(page, "wizard-01-customer")
    page.fill("#id_new_name", "Initech")
    page.get_by_role("button", name="Next: the AWS account").click()

    _at_step(page, "account")
    page.fill("#id_account_id", demo["account_id"])
    page.fill("#id_name", "Production")
    page.select_option("#id_default_region", demo["region"])
    page.check("#id_byop_enabled")
    shoot(page, "wizard-02-account")
    page.get_by_role("button", name="Save and show the template").click()

    _at_step(page, "template")
    account = AwsAccount.objects.get(account_id=demo["account_id"])
    assert account.awaiting_role and account.customer.name == "Initech"
    expect(page.locator("#wizard-external-id")).to_have_value(account.external_id)
    expect(page.locator("#wizard-template-download")).to_have_attribute(
        "href", f"/admin/tenants/awsaccount/{account.pk}/template/"
    )
    shoot(page, "wizard-03-template")
    # The customer deploys the stack from the template: their role now trusts our External ID.
    simulator.update_account(demo["account_id"], external_id=account.external_id)

    # Left and resumed from the accounts list: the rows say it waits for the role ARN.
    page.goto(f"{base}/admin/tenants/awsaccount/")
    page.locator("#onboard-link").click()
    page.locator("#wizard-resumable").get_by_role("link", name="Role ARN").click()
    _at_step(page, "role")
    page.fill("#id_role_arn", "arn:aws:iam::999999999999:role/WorkSpacesCorePartnerRole")
    page.get_by_role("button", name="Save the role ARN").click()
    expect(page.locator(".errorlist").first).to_contain_text("names another account")
    expect(page.locator("#id_role_arn")).to_have_value(
        "arn:aws:iam::999999999999:role/WorkSpacesCorePartnerRole"
    )
    shoot(page, "wizard-04-role-refused")
    page.fill("#id_role_arn", demo["role_arn"])
    page.get_by_role("button", name="Save the role ARN").click()

    _at_step(page, "verify")
    shoot(page, "wizard-05-verify")
    page.locator("#wizard-verify").click()

    _at_step(page, "byol")
    expect(page.locator("ul.messagelist li").first).to_contain_text("Connected")
    shoot(page, "wizard-06-byol")
    cidr = page.locator("input[name=cidr]").first.get_attribute("value")
    page.locator("input[name=cidr]").first.check()
    page.fill("#id_confirmation", cidr)
    page.get_by_role("button", name=re.compile("Enable BYOL")).click()
    expect(page.locator("#job-progress")).to_be_visible()
    shoot(page, "wizard-07-byol-running")

    _at_step(page, "directory", timeout=120_000)  # the page moved on by itself when the job ended
    shoot(page, "wizard-08-directory")
    page.locator(f"input[name=directory_id][value='{demo['directory_id']}']").check()
    page.get_by_role("button", name="Register the directory").click()

    _at_step(page, "image", timeout=120_000)
    shoot(page, "wizard-09-image")
    ami = next(a for a in demo["amis"] if a["kind"] == "importable")
    page.locator(f"input[name=ami_id][value='{ami['image_id']}']").check()
    page.get_by_role("button", name="Import the image").click()
    expect(page.locator("#job-progress")).to_be_visible()
    shoot(page, "wizard-10-image-importing")

    _at_step(page, "bundle", timeout=180_000)
    shoot(page, "wizard-11-bundle")
    page.get_by_role("button", name="Create the bundle").click()

    _at_step(page, "desktops")
    page.locator("#id_directory").select_option(index=1)
    page.locator("#id_bundle").select_option(index=1)
    page.fill("#id_count", str(DESKTOPS))
    shoot(page, "wizard-12-desktops")
    page.get_by_role("button", name="Create the desktops").click()

    _at_step(page, "done")
    expect(page.locator("#job-percent")).to_be_visible()
    shoot(page, "wizard-13-desktops-running")
    expect(page.locator("#job-percent")).to_have_text("100 %", timeout=180_000)
    expect(page.locator("#job-status")).to_have_text("Succeeded")
    shoot(page, "wizard-14-done")
    assert Desktop.objects.filter(aws_account=account, state="AVAILABLE").count() == DESKTOPS
    account.refresh_from_db()
    assert account.dedicated_tenancy_management_cidr_range == cidr
