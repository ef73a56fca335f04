"""Pool pages in a real browser: the portal's and the staff console's pool page draw the 24-hour chart
(Chart.js from the portal's static files) with no script or style blocked by the Content-Security-Policy.
Screenshots go to var/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tenants.choices import MembershipRole
from tenants.models import PoolDesktop, PoolSample
from tests.factories import AwsAccountFactory, CustomerMembershipFactory, StaffUserFactory
from tests.partnerportal.selfservice.browser.conftest import sign_in
from tests.pool_world import add_desktops, make_pool

PASSWORD = "correct horse battery staple"  # the user factory's
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
WINDOWS = [
    {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00", "min": 8, "buffer": 4},
    {"days": [5], "start": "10:00", "end": "14:00", "min": 2, "buffer": 1},
]


def _pool_with_a_day_of_history():
    account = AwsAccountFactory(customer__name="Acme", customer__slug="acme")
    pool = make_pool(
        account,
        name="call centre",
        min_size=2,
        max_size=12,
        buffer=2,
        schedule=WINDOWS,
        time_zone="Europe/Berlin",
    )
    members = add_desktops(pool, 6)
    now = timezone.now()
    for n, member in enumerate(members[:3]):
        PoolDesktop.objects.filter(pk=member.pk).update(assigned_user=f"user{n}", assigned_at=now)
    for minutes in range(0, 24 * 60, 20):
        busy = 3 + (minutes // 120) % 4
        PoolSample.objects.create(
            pool=pool,
            taken_at=now - timedelta(minutes=minutes),
            size=busy + 2,
            assigned=busy,
            warm=2,
            stopped=0,
            target=busy + 2,
        )
    return account, pool


def _watch_policy(page) -> list[str]:
    """What the Content-Security-Policy blocked on these pages, with the page and the source."""
    blocked: list[str] = []

    def seen(message) -> None:
        text = message.text
        if "Content Security Policy" in text:
            blocked.append(f"{page.url} {message.location.get('url')}: {message.text[:400]}")

    page.on("console", seen)
    return blocked


def test_the_portal_pool_page_draws_its_chart(page, live_server, transactional_db, shoot):
    account, pool = _pool_with_a_day_of_history()
    CustomerMembershipFactory(customer=account.customer, role=MembershipRole.VIEWER, user__username="viewer")
    blocked = _watch_policy(page)
    sign_in(page, live_server.url, "viewer", PASSWORD)
    page.get_by_role("link", name="Pools").click()
    expect(page.get_by_role("link", name="call centre")).to_be_visible()
    shoot(page, "30-portal-pools")
    page.get_by_role("link", name="call centre").click()
    expect(page.locator("canvas[data-pool-chart]")).to_have_attribute("data-chart-ready", "yes")
    expect(page.locator('[data-count="assigned"]')).to_have_text("3")
    expect(page.locator("td.pool-window")).to_have_count(5 * 10 + 4)
    shoot(page, "31-portal-pool")
    # On a narrow screen the menu folds behind its button, whose icon comes from our static files.
    page.set_viewport_size({"width": 800, "height": 900})
    expect(page.locator(".navbar-toggler-icon")).to_be_visible()
    shoot(page, "33-portal-pool-narrow")
    assert blocked == [], "\n".join(blocked)


def test_the_staff_pool_page_draws_its_chart(page, live_server, transactional_db, shoot):
    _, pool = _pool_with_a_day_of_history()
    StaffUserFactory(username="ops")
    blocked = _watch_policy(page)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/tenants/pool/{pool.pk}/change/")
    expect(page.locator("canvas[data-pool-chart]")).to_have_attribute("data-chart-ready", "yes")
    expect(page.locator('input[name="w1_days"][value="5"]')).to_be_checked()
    shoot(page, "32-staff-pool")
    assert blocked == [], "\n".join(blocked)
