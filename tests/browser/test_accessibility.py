"""Every page a person can reach, checked with axe-core at desktop and phone widths: no serious
or critical accessibility violation, and nothing wider than a 390 px phone screen.

Each role signs in and follows every link the product shows (within the organisation, the
account pages and the answering page), as the crawl in test_pages_auth does without a browser.
"""

import os
import re
from urllib.parse import urldefrag, urlparse

import pytest

from surveys.models import ActionPlan
from tests.support.browser import AXE, accessibility_problems, assert_fits_screen
from tests.support.factories import PASSWORD, SurveyFactory, TeamFactory
from tests.support.pulses import open_pulse
from tests.support.results_data import history

pytestmark = pytest.mark.usefixtures("question_bank")

SKIP = ("/accounts/logout", "/api/", "/admin/", ".csv", "/static/", "/media/")
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _axe_installed():
    if not AXE.exists():
        message = f"axe-core not found at {AXE} (make install-dev installs it with npm)"
        if os.environ.get("PULSE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def organisation(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org, name="Team pulse")
        sales = TeamFactory(parent=tenant.root, name="Sales")
        field = TeamFactory(parent=sales, name="Field")
        rounds = history(tenant, survey, rounds=5, others={sales: (7, 2), field: (3, 3)})
        ActionPlan.objects.create(
            team=tenant.engineering, round=rounds[-1], title="Protect Friday afternoons", status="in_progress"
        )
    return tenant


def _shape(path: str) -> str:
    """A page's route: its path with every id replaced, so each kind of page is checked once."""
    return re.sub(r"/\d+/", "/N/", path)


def _crawl(page, start: list[str], limit: int = 60) -> list[str]:
    """Same-origin pages reachable from `start` by links, one per route, in the order found."""
    seen: dict[str, str] = {}
    queue = list(start)
    origin = urlparse(page.url).netloc if page.url.startswith("http") else None
    while queue and len(seen) < limit:
        url = queue.pop(0)
        page.goto(url)
        path = _shape(urlparse(page.url).path)
        if path in seen:
            continue
        seen[path] = page.url
        # A link marked download (a CSV, a person's data as JSON) is a file, not a page.
        for href in page.eval_on_selector_all("a[href]:not([download])", "links => links.map(a => a.href)"):
            href = urldefrag(href)[0]
            parsed = urlparse(href)
            if (origin and parsed.netloc != origin) or any(part in href for part in SKIP):
                continue
            if _shape(parsed.path) not in seen:
                queue.append(href)
        origin = origin or urlparse(page.url).netloc
    return list(seen.values())


def _sign_in(page, membership):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def _check(page, urls: list[str]) -> list[str]:
    problems = []
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        for url in urls:
            page.goto(url)
            problems += [f"{url} at {size['width']} px: {p}" for p in accessibility_problems(page)]
            if size is PHONE:
                try:
                    assert_fits_screen(page)
                except AssertionError as wide:
                    problems.append(str(wide))
    return problems


@pytest.mark.parametrize("role", ["hr", "manager", "employee"])
def test_every_page_a_role_reaches_passes_axe_at_desktop_and_phone_widths(browser, live_server, organisation, role):
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    page = context.new_page()
    try:
        _sign_in(page, getattr(organisation, role))
        urls = _crawl(page, ["/"])
        assert len(urls) >= {"hr": 15, "manager": 4, "employee": 1}[role], urls
        problems = _check(page, urls)
        assert problems == [], "\n".join(problems)
    finally:
        context.close()


def test_pages_without_an_account_pass_axe(browser, live_server, tenant):
    pulse = open_pulse(tenant)
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    page = context.new_page()
    try:
        pages = ["/accounts/login/", "/accounts/password/reset/", f"/answer/acme/{pulse.token}/", "/no-such-page/"]
        problems = _check(page, [live_server.url + p for p in pages])
        assert problems == [], "\n".join(problems)
    finally:
        context.close()


def test_the_check_itself_catches_a_violation(page):
    page.goto("/accounts/login/")
    assert accessibility_problems(page) == []
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<button></button>')")
    assert any(problem.startswith("button-name (critical)") for problem in accessibility_problems(page))


def test_the_api_documentation_passes_axe_at_both_widths(browser, live_server, tenant):
    """Pulse's own page around Swagger UI (surveys/api_docs.html), once Swagger UI has drawn it."""
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    page = context.new_page()
    try:
        _sign_in(page, tenant.hr)
        problems = []
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            page.goto("/api/v1/docs/")
            page.get_by_role("button", name="Authorize").wait_for()
            problems += [f"API docs at {size['width']} px: {p}" for p in accessibility_problems(page)]
        assert page.get_by_role("heading", name="API documentation").is_visible()
        assert problems == [], "\n".join(problems)
    finally:
        context.close()
