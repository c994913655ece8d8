"""Playwright driving Debian's chromium against the live test server.

Screenshots of every page go to artifacts/screenshots/ (look at them). Without chromium the
browser tests are skipped locally with the reason; CI sets PULSE_REQUIRE_BROWSER=1 so a missing
browser fails the run instead.
"""

import os
import re
from pathlib import Path

import pytest

from tests.support.factories import PASSWORD

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
# between browser steps are ordinary blocking calls, which is what this flag allows.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("PULSE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


# One browser a module, not a session: Playwright's sync API keeps an event loop running in the
# worker's thread while it lives, and a later module's async_to_sync (django-health-check's
# checks, for one) refuses to run beside it.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("PULSE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, **context_options):
    context = browser.new_context(**context_options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    return context, page


@pytest.fixture
def page(browser, live_server):
    context, page = _page(browser, viewport={"width": 1280, "height": 860}, base_url=live_server.url)
    yield page
    assert not page.js_errors, page.js_errors
    context.close()


@pytest.fixture
def phone(browser, live_server):
    context, page = _page(browser, base_url=live_server.url, **PHONE)
    yield page
    assert not page.js_errors, page.js_errors
    context.close()


@pytest.fixture
def shot():
    """shot(page, "name") saves a full-page screenshot to artifacts/screenshots/name.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in():
    """sign_in(page, membership) signs in through the real login form."""

    def go(page, membership, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(membership.user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")
        return page

    return go
