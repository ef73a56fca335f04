"""Playwright (pytest-playwright) driving Debian's chromium against the live server, 1440×900.

Playwright's sync API runs an event loop in the test's thread; Django refuses ORM calls from a thread
with a running loop unless told it is safe, which it is here (one thread asks, the loop only waits).
"""

import os
import shutil
from pathlib import Path

import pytest

# The integration stack's fixtures: a real Celery worker and an onboarded customer in the simulator.
from tests.integration.conftest import customer_account, preloaded_starter, stack_factory  # noqa: F401

# Set at import: the database fixtures (session-wide) also run while Playwright's loop is up.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[4] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs it with apt-get)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def shoot():
    """Save a screenshot of the page as var/screenshots/<name>.png (full page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/portal/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/portal/")
