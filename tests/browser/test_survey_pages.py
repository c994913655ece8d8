"""HR's survey pages and organisation settings in a real browser."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from surveys.models import Round, RoundStatus, Survey
from tests.support.browser import assert_fits_screen, unlabelled_controls
from tests.support.factories import MembershipFactory, RoundFactory, SurveyFactory

pytestmark = pytest.mark.usefixtures("question_bank")


def test_survey_list_starts_empty_with_a_way_forward(page, shot, sign_in, tenant):
    sign_in(page, tenant.hr)
    page.get_by_role("link", name="Surveys").click()
    expect(page.get_by_role("heading", name="Surveys")).to_be_visible()
    assert page.get_by_text("No survey yet.").is_visible()
    shot(page, "survey-list-empty")
    page.get_by_role("link", name="Create your first survey").click()
    expect(page.get_by_role("heading", name="New survey")).to_be_visible()


def test_create_a_survey_fix_a_mistake_and_open_its_first_round(page, shot, sign_in, tenant, other_tenant):
    for n in range(3):
        MembershipFactory(organization=tenant.org, team=tenant.product, user__email=f"product{n}@acme.test")
    sign_in(page, tenant.hr)
    page.goto("/o/acme/surveys/new/")
    assert unlabelled_controls(page) == []
    assert page.locator('input[name="questions"]:checked').count() == 12
    shot(page, "survey-form")

    page.get_by_label("Name", exact=True).fill("Team pulse")
    page.get_by_label("Every week").check()
    page.get_by_label("Days each round stays open").fill("9")
    page.get_by_label("How I plan my working day is largely up to me.").check()
    page.get_by_label("New question 1").fill("I know what is expected of me this month.")
    page.get_by_label("First opening date").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Save as a draft").click()

    assert page.get_by_role("alert").is_visible()
    assert page.get_by_text("between 1 and 6 days").is_visible()
    assert page.get_by_label("New question 1").input_value() == "I know what is expected of me this month."
    assert page.get_by_label("How I plan my working day is largely up to me.").is_checked()
    shot(page, "survey-form-errors")

    page.get_by_label("Days each round stays open").fill("4")
    page.get_by_role("button", name="Save as a draft").click()
    expect(page.get_by_role("heading", name="A draft: nobody is invited yet")).to_be_visible()
    assert len(mail.outbox) == 0
    shot(page, "survey-draft")
    page.get_by_role("link", name="Launch…").click()
    expect(page.get_by_role("heading", name="Launch “Team pulse”?")).to_be_visible()
    shot(page, "survey-launch-confirm")
    page.get_by_role("button", name="Launch the survey").click()
    expect(page.get_by_text("“Team pulse” is launched.")).to_be_visible()
    assert page.get_by_text("Scheduled").first.is_visible()

    page.get_by_role("link", name="Open round 1 now").click()
    expect(page.get_by_role("heading", name="Open round 1 now?")).to_be_visible()
    shot(page, "round-open-confirm")
    page.get_by_role("button", name="Open round 1 and send invitations").click()
    expect(page.get_by_text("Invitations are on their way to 7 people.")).to_be_visible()
    assert len(mail.outbox) == 7
    table = page.locator("table").first
    assert table.get_by_text("Open", exact=True).is_visible()
    # Never a live count: estimates are taken every few hours, for groups of 20 or more.
    assert "never a live count" in page.content()
    shot(page, "survey-detail-open-round")
    page.get_by_role("link", name="Surveys").first.click()
    expect(page.get_by_text("Round 1 open")).to_be_visible()
    shot(page, "survey-list")

    with tenant.scope():
        survey = Survey.objects.get()
        assert Round.objects.filter(survey=survey, status=RoundStatus.SCHEDULED).count() == 1
        assert Round.objects.get(survey=survey, number=1).invited_count == 7


def test_close_a_round_early_after_confirming(page, shot, sign_in, tenant):
    survey = SurveyFactory(organization=tenant.org, name="Team pulse")
    RoundFactory(survey=survey, number=1, invited_count=4, opens_at=timezone.now() - dt.timedelta(days=1))
    sign_in(page, tenant.hr)
    page.goto(f"/o/acme/surveys/{survey.pk}/")
    page.get_by_role("link", name="Close round 1 now").click()
    expect(page.get_by_role("heading", name="Close round 1 now?")).to_be_visible()
    shot(page, "round-close-confirm")
    page.get_by_role("button", name="Close round 1 now").click()
    # The demo and the tests run Celery eagerly: aggregation has already published the round,
    # and nobody answered, so it says there is nothing to show rather than "ready".
    expect(page.get_by_text("Round 1 is closed. It has nothing to show")).to_be_visible()


def test_survey_pages_fit_a_phone(phone, shot, sign_in, tenant):
    survey = SurveyFactory(organization=tenant.org, name="Team pulse")
    RoundFactory(survey=survey, number=1, invited_count=4)
    sign_in(phone, tenant.hr)
    for path, name in (
        ("/o/acme/surveys/new/", "survey-form-phone"),
        (f"/o/acme/surveys/{survey.pk}/", "survey-detail-phone"),
        ("/o/acme/surveys/", "survey-list-phone"),
        ("/o/acme/settings/", "settings-phone"),
    ):
        phone.goto(path)
        assert_fits_screen(phone, path)
        shot(phone, name)


def test_settings_page_refuses_a_weaker_threshold_and_saves_a_good_one(page, shot, sign_in, tenant):
    sign_in(page, tenant.hr)
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_text("Changes apply to rounds that open later.")).to_be_visible()
    assert unlabelled_controls(page) == []
    shot(page, "settings")
    page.get_by_label("Anonymity threshold").fill("8")
    page.get_by_label("Comment threshold").fill("6")
    page.get_by_label("Support message").fill("Talk to People & Culture any time.")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("cannot be below the anonymity threshold")).to_be_visible()
    assert page.get_by_label("Support message").input_value() == "Talk to People & Culture any time."
    shot(page, "settings-errors")
    page.get_by_label("Comment threshold").fill("12")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved")).to_be_visible()
    tenant.org.refresh_from_db()
    assert (tenant.org.k, tenant.org.k_comments) == (8, 12)
