"""The results pages in a real browser: the team dashboard (desktop and phone), the heatmap,
the empty states and the action plan form."""

import pytest
from playwright.sync_api import expect

from surveys.models import ActionPlan
from tests.support.browser import accessibility_problems, assert_fits_screen, unlabelled_controls
from tests.support.factories import RoundFactory, SurveyFactory, TeamFactory
from tests.support.results_data import history, published_round, spread

pytestmark = pytest.mark.usefixtures("question_bank")


@pytest.fixture
def survey_history(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org, name="Team pulse")
        sales = TeamFactory(parent=tenant.root, name="Sales")
        field = TeamFactory(parent=sales, name="Field")  # 3 people: always hidden
        rounds = history(tenant, survey, rounds=5, others={sales: (7, 2), field: (3, 3)})
        ActionPlan.objects.create(
            team=tenant.engineering,
            round=rounds[-1],
            title="Protect Friday afternoons for focus work",
            description="No meetings after 13:00 on Fridays. We check in at the next retro whether it helped.",
            status="in_progress",
        )
    return survey, rounds


def test_team_dashboard_on_desktop(page, shot, sign_in, tenant, other_tenant, survey_history):
    sign_in(page, tenant.manager)
    page.get_by_role("link", name="Acme/Engineering", exact=True).click()
    expect(page.get_by_role("heading", name="Engineering", exact=True)).to_be_visible()
    assert page.get_by_role("heading", name="Conditions for good work").is_visible()
    assert page.get_by_text("Likely improved").first.is_visible()
    assert page.get_by_role("img", name="Autonomy index by round").is_visible()
    assert page.get_by_role("heading", name="Teams in Engineering").is_visible()
    assert page.get_by_text("the new deploy pipeline saves us hours").first.is_visible()
    assert unlabelled_controls(page) == []
    shot(page, "team-dashboard")

    # Keyboard: the round picker and the plan controls are reachable and named.
    page.get_by_label("Results of").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Show"
    _, rounds = survey_history
    page.get_by_label("Results of").select_option(str(rounds[1].pk))
    page.get_by_role("button", name="Show").click()
    assert "round 2" in page.locator(".lead").first.text_content()
    assert page.get_by_text("Not enough rounds yet").first.is_visible()

    page.get_by_label("Status of “Protect Friday afternoons for focus work”").select_option("done")
    page.get_by_role("button", name="Update “Protect Friday afternoons for focus work”").click()
    expect(page.get_by_text("is now done")).to_be_visible()
    assert "round 2" in page.locator(".lead").first.text_content()  # back on the round it showed


def test_team_dashboard_on_a_phone(phone, shot, sign_in, tenant, survey_history):
    sign_in(phone, tenant.manager)
    phone.goto(f"/o/acme/teams/{tenant.engineering.pk}/")
    assert phone.get_by_role("heading", name="Engineering", exact=True).is_visible()
    assert_fits_screen(phone)
    shot(phone, "team-dashboard-phone")


def test_heatmap(page, shot, sign_in, tenant, survey_history):
    sign_in(page, tenant.hr)
    page.get_by_role("link", name="Results", exact=True).click()
    expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible()
    table = page.get_by_role("table", name="Results by team")
    assert table.get_by_role("link", name="Platform").count() == 0  # folded below two levels
    table.get_by_role("link", name="Show 2 below Engineering").click()
    expect(table.get_by_role("link", name="Platform")).to_be_visible()
    page.get_by_role("link", name="show every team").click()
    expect(table.get_by_role("row", name="Field")).to_be_visible()
    assert page.get_by_text("63–100 good").is_visible()
    field = table.get_by_role("row", name="Field")
    assert "Counted with Sales: 3 people, fewer than 5." in field.text_content()
    assert unlabelled_controls(page) == []
    shot(page, "results-heatmap")
    table.get_by_role("link", name="Product").click()
    expect(page.get_by_role("heading", name="Product", exact=True)).to_be_visible()


def test_heatmap_on_a_phone(phone, shot, sign_in, tenant, survey_history):
    sign_in(phone, tenant.hr)
    phone.goto("/o/acme/results/")
    assert_fits_screen(phone)
    shot(phone, "results-heatmap-phone")


def test_empty_states(page, shot, sign_in, tenant):
    sign_in(page, tenant.manager)
    page.goto(f"/o/acme/teams/{tenant.platform.pk}/")
    assert page.get_by_text("No survey includes this team yet.").is_visible()
    shot(page, "team-dashboard-no-survey")

    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org, name="Team pulse")
        RoundFactory(survey=survey, number=1)
    page.reload()
    assert page.get_by_text(
        "Results appear after the first round closes, for groups of at least 5 people."
    ).is_visible()
    assert page.get_by_text("Round 1 of Team pulse is open until").is_visible()
    shot(page, "team-dashboard-no-results-yet")

    with tenant.scope():
        published_round(survey, {tenant.platform: spread(3, 4), tenant.product: spread(7, 3)}, number=2)
    page.reload()
    assert page.get_by_text("This team is smaller than 5, so its answers count only in the larger groups above it.")
    assert page.locator(".score-value").count() == 0
    shot(page, "team-dashboard-too-small")


def test_action_plan_form_keeps_what_was_typed(page, shot, sign_in, tenant, survey_history):
    sign_in(page, tenant.manager)
    page.goto(f"/o/acme/teams/{tenant.platform.pk}/")
    page.get_by_role("link", name="Add an action plan").click()
    expect(page.get_by_text("People in Platform see this plan after they answer a pulse")).to_be_visible()
    assert unlabelled_controls(page) == []
    page.get_by_label("What you will do").fill("Pair on the release checklist every Tuesday.")
    page.get_by_label("In progress").check()
    page.get_by_role("button", name="Add plan").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.get_by_text("Give the plan a short title").is_visible()
    assert page.get_by_label("What you will do").input_value() == "Pair on the release checklist every Tuesday."
    assert page.get_by_label("In progress").is_checked()
    shot(page, "action-plan-form-error")

    page.get_by_label("Title").fill("Share the release work")
    page.get_by_role("button", name="Add plan").click()
    expect(page.get_by_text("Plan “Share the release work” added.")).to_be_visible()
    assert page.get_by_role("heading", name="Share the release work").is_visible()
    shot(page, "team-dashboard-small-team-with-plan")


@pytest.mark.parametrize("device", ["page", "phone"])
def test_an_employees_home_between_pulses_shows_their_teams_results_and_plans(
    device, request, live_server, shot, sign_in, tenant, survey_history
):
    browser_page = request.getfixturevalue(device)
    with tenant.scope():
        ActionPlan.objects.create(team=tenant.employee.team, title="A quiet hour every morning", status="planned")
    sign_in(browser_page, tenant.employee)
    expect(browser_page.get_by_text("No pulse is waiting for you")).to_be_visible()
    expect(browser_page.get_by_text("A quiet hour every morning")).to_be_visible()
    assert browser_page.get_by_text("Autonomy").first.is_visible()
    assert browser_page.get_by_role("heading", name="Getting started").count() == 0
    assert accessibility_problems(browser_page) == []
    if device == "phone":
        assert_fits_screen(browser_page)
    shot(browser_page, f"home-employee-between-pulses-{device}")


@pytest.mark.parametrize("device", ["page", "phone"])
def test_hrs_first_sign_in_says_what_to_do_next(device, request, live_server, shot, sign_in, tenant):
    browser_page = request.getfixturevalue(device)
    sign_in(browser_page, tenant.hr)
    card = browser_page.get_by_role("region", name="Getting started")
    expect(card).to_be_visible()
    card.get_by_role("link", name="Create a survey, preview it as an employee, then launch it").click()
    expect(browser_page.get_by_role("heading", name="Surveys", exact=True)).to_be_visible()
    browser_page.go_back()
    assert accessibility_problems(browser_page) == []
    if device == "phone":
        assert_fits_screen(browser_page)
    shot(browser_page, f"home-hr-first-run-{device}")
