"""Issue 12 item 9 in a real browser: under the Content-Security-Policy the staff console signs in, its
own JavaScript runs (the action bar's select-all) and chromium reports no blocked script or style."""

import pytest

from tests.factories import DesktopFactory, StaffUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]
PASSWORD = "right horse battery staple"  # noqa: S105


# pytest-playwright's page (chromium from the browser conftest): a Playwright of the test's own would find
# the session's event loop running in this process and refuse to start.
def test_the_console_works_and_nothing_is_blocked_by_the_policy(page, live_server):
    StaffUserFactory(username="ops", password=PASSWORD)
    desktops = [DesktopFactory() for _ in range(3)]
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/tenants/desktop/")
    page.check("#action-toggle")  # admin/js/actions.js, loaded from 'self'
    checked = page.locator("input.action-select:checked").count()
    assert checked == len(desktops)
    assert "3 of 3 selected" in page.inner_text(".action-counter")

    for path in (
        f"/admin/tenants/desktop/{desktops[0].pk}/change/",
        "/admin/django_celery_beat/periodictask/add/",
        "/admin/auth/user/add/",
        "/account/two-factor/enrol/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        assert "'unsafe-inline'" not in (
            response.headers.get("content-security-policy") or "x'unsafe-inline'"
        )
    # The periodic task form's script (moved to a file) ran: it hides the crontab translation row.
    page.goto(f"{live_server.url}/admin/django_celery_beat/periodictask/add/")
    assert not page.locator(".field-crontab_translation").is_visible()
    assert blocked == []
