"""The staff console in Debian's chromium (Playwright), with the portal's browser fixtures; screenshots of
every page at 1440×900 and 1280×800 go to var/screenshots/console/."""

import os
from pathlib import Path

import pytest

from tests.integration.conftest import customer_account, preloaded_starter, stack_factory  # noqa: F401

# The portal's launch and context fixtures (chromium, 1440×900) and the integration stack's.
from tests.partnerportal.selfservice.browser.conftest import (  # noqa: F401
    browser_context_args,
    browser_type_launch_args,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
SCREENSHOTS = Path(__file__).resolve().parents[4] / "var" / "screenshots" / "console"
SIZES = ((1440, 900), (1280, 800))
PASSWORD = "correct horse battery staple"  # the user factory's


@pytest.fixture
def shoot():
    """Save the page at each size as var/screenshots/console/<name>-<width>.png (full page); the page is
    left at 1440×900."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> list[Path]:
        paths = []
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            path = SCREENSHOTS / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
        return paths

    return take


def staff_sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


def columns_fit(page, width: int) -> list[str]:
    """The changelist's column headers cut off at this window width: past the window, or past the box
    that holds the table (the admin scrolls it sideways rather than widen the page). None, we hope."""
    page.set_viewport_size({"width": width, "height": 800})
    cut = page.evaluate(
        """(width) => {
             const table = document.querySelector('#result_list');
             if (!table) return [];  // an empty list has no table
             const box = table.parentElement.getBoundingClientRect();
             const edge = Math.min(width, box.right);
             return Array.from(document.querySelectorAll('#result_list thead th'))
               .filter(th => th.getBoundingClientRect().right > edge + 1)
               .map(th => th.innerText.trim());
           }""",
        width,
    )
    page.set_viewport_size({"width": 1440, "height": 900})
    return cut
