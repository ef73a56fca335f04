"""The staff console in a real browser with a real worker and the simulator: the home page, 30 desktops
created from the chained form with the job's bar moving to 100 % without a reload, 10 stopped from the
list, one rebooted from its own page. Screenshots of every page at two sizes; no column is cut off."""

import re

import pytest
from playwright.sync_api import expect

from orchestration.models import Job
from tests.factories import StaffUserFactory
from tests.partnerportal.staff.browser.conftest import columns_fit, staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(420)]

# Records every text #job-percent shows and every state of the job's stacked bar (its data-segments:
# succeeded, failed, skipped, with AWS, queued), from the page's own DOM (htmx swaps it in place).
WATCH_PERCENT = """() => {
  const bar = () => document.querySelector('#job-progress svg.job-bar').getAttribute('data-segments');
  window.percentsSeen = [document.querySelector('#job-percent').innerText];
  window.barsSeen = [bar()];
  window.stillTheSamePage = true;
  new MutationObserver(() => {
    const now = document.querySelector('#job-percent');
    if (now && window.percentsSeen[window.percentsSeen.length - 1] !== now.innerText) {
      window.percentsSeen.push(now.innerText);
    }
    const segments = document.querySelector('#job-progress svg.job-bar') && bar();
    if (segments && window.barsSeen[window.barsSeen.length - 1] !== segments) {
      window.barsSeen.push(segments);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def _intermediate(segments: str) -> bool:
    """A bar neither all queued nor all finished: AWS has some of the work, or some of it is done."""
    succeeded, failed, skipped, with_aws, queued = (int(n) for n in segments.split())
    total = succeeded + failed + skipped + with_aws + queued
    return with_aws > 0 or 0 < succeeded + failed + skipped < total


def _follow_job_to_the_end(page, shoot, name: str) -> tuple[list[str], list[str]]:
    page.wait_for_url(re.compile(r".*/admin/orchestration/job/\d+/change/$"))
    expect(page.locator("#job-percent")).to_be_visible()
    page.evaluate(WATCH_PERCENT)
    expect(page.locator("#job-percent")).to_have_text("100 %", timeout=240_000)
    assert page.evaluate("window.stillTheSamePage") is True  # no reload: htmx swapped the part
    shoot(page, name)
    return page.evaluate("window.percentsSeen"), page.evaluate("window.barsSeen")


def test_create_watch_stop_ten_and_reboot_one(page, live_server, stack_factory, customer_account, shoot):
    stack_factory().start()
    StaffUserFactory(username="ops")
    base = live_server.url
    staff_sign_in(page, base, "ops")
    shoot(page, "01-home-empty")

    page.goto(f"{base}/admin/tenants/desktop/create/")
    # One customer and one account: both chosen already; the directory then narrows the bundles.
    expect(page.locator("#id_aws_account")).to_have_value(str(customer_account["aws_account"].pk))
    page.select_option("#id_directory", str(customer_account["directory"].pk))
    page.wait_for_load_state("networkidle")  # htmx asked for the chained choices again
    expect(page.locator("#id_bundle option")).to_have_count(2)
    page.select_option("#id_bundle", str(customer_account["bundle"].pk))
    page.fill("#id_count", "30")
    shoot(page, "02-create-desktops")
    page.click("input[type=submit][value='Create desktops']")
    page.wait_for_url(re.compile(r".*/admin/orchestration/job/\d+/change/$"))
    create_job = Job.objects.get(kind="DESKTOP_CREATE")
    shoot(page, "03-job-running")
    seen, bars = _follow_job_to_the_end(page, shoot, "04-job-done")
    print("create job, #job-percent and bar states seen without a reload:", seen, bars)
    assert seen[-1] == "100 %" and len(seen) >= 2, seen  # it moved, from below 100 % to 100 %
    # The bar passed through at least one state between "all queued" and "all done" on the way.
    assert bars[-1] == "30 0 0 0 0" and any(_intermediate(b) for b in bars[:-1]), bars
    expect(page.locator("#job-status")).to_have_text("Succeeded")
    expect(page.locator("#job-items tbody tr")).to_have_count(30)
    create_job.refresh_from_db()
    assert create_job.status == "SUCCEEDED"

    page.goto(f"{base}/admin/")
    expect(page.locator("#dash-desktops tfoot")).to_contain_text("30")
    shoot(page, "05-home")

    page.goto(f"{base}/admin/tenants/desktop/")
    shoot(page, "06-desktops")
    assert columns_fit(page, 1440) == [] and columns_fit(page, 1280) == []
    boxes = page.locator("#result_list tbody input.action-select")
    for n in range(10):
        boxes.nth(n).check()
    page.select_option("select[name=action]", "stop_desktops")
    page.click("button[name=index]")
    message = page.locator("ul.messagelist li").first
    expect(message).to_contain_text("will stop 10 desktops")
    shoot(page, "07-stop-ten-message")
    message.get_by_role("link", name=re.compile(r"Follow job \d+")).click()
    _follow_job_to_the_end(page, shoot, "08-stop-job-done")
    expect(page.locator("#job-status")).to_have_text("Succeeded")

    page.goto(f"{base}/admin/orchestration/job/")
    shoot(page, "09-jobs")
    assert columns_fit(page, 1440) == [] and columns_fit(page, 1280) == []

    page.goto(f"{base}/admin/tenants/desktop/?state__exact=AVAILABLE")
    page.locator("#result_list tbody th a").first.click()
    expect(page.locator("#desktop-state")).to_have_text("AVAILABLE")
    shoot(page, "10-desktop")
    page.locator("#desktop-actions").get_by_role("link", name="Reboot").click()
    expect(page.locator("h1")).to_contain_text("Reboot ws-")
    shoot(page, "11-reboot-confirm")
    page.get_by_role("button", name="Yes, reboot it").click()
    expect(page.locator("ul.messagelist li").first).to_contain_text("will reboot 1 desktop")
    shoot(page, "12-desktop-after-reboot")
    page.locator("ul.messagelist").get_by_role("link", name=re.compile(r"Follow job \d+")).click()
    _follow_job_to_the_end(page, shoot, "13-reboot-job-done")
    expect(page.locator("#job-status")).to_have_text("Succeeded")
    item_link = page.locator("#job-items tbody a").first
    item_link.click()
    shoot(page, "14-job-item")
