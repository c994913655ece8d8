"""The answering page in a real browser: touch on a phone, keyboard on a desktop, errors, states.

`question_bank` brings back the question bank (a data migration) that earlier live-server tests
flushed.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from surveys.models import ActionPlan, ActionPlanStatus, Answer, Comment, Participation, Response, RoundStatus
from surveys.services.results import results_publish
from tests.support.browser import assert_fits_screen, unlabelled_controls
from tests.support.pulses import open_pulse
from tests.support.survey_data import team_round

pytestmark = pytest.mark.usefixtures("question_bank")


def _group(page, number: int):
    """Question `number`, if it is on screen: role locators leave hidden parts out."""
    return page.get_by_role("group", name=re.compile(rf"^Question {number} of 12\b"))


def _next(page, times: int = 1) -> None:
    """On to the next part of the form, by its Next link (only the part on screen has one)."""
    for _ in range(times):
        page.get_by_role("link", name="Next", exact=True).click()


def _tab_to(page, text: str) -> None:
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == text:
            return
    raise AssertionError(f"no {text!r} within twelve Tab presses")


def test_answer_on_a_phone_by_touch_then_the_link_says_already_answered(phone, shot, tenant):
    tenant.org.support_text = "Our wellbeing team is here for you, in confidence."
    tenant.org.support_links = "Employee assistance line (24/7) | https://example.org/assistance"
    tenant.org.save()
    pulse = open_pulse(tenant)
    ActionPlan.all_organizations.create(
        organization=tenant.org,
        team=tenant.platform,
        title="No meetings on Wednesday mornings",
        description="Focus time for everyone, starting next month.",
        status=ActionPlanStatus.IN_PROGRESS,
    )
    for number, value in ((11, 2), (12, 2), (13, 4), (14, 4)):  # earlier, published rounds
        earlier = team_round(pulse.round.survey, {tenant.platform: 8}, value=value, number=number)
        with tenant.scope():
            results_publish(round_id=earlier.pk)
    phone.goto(pulse.url)
    expect(phone.get_by_text("Your answers are anonymous: here is how")).to_be_visible()
    expect(phone.get_by_text("Part 1 of 7")).to_be_visible()
    assert _group(phone, 3).count() == 0  # one part on screen at a time
    assert unlabelled_controls(phone) == []
    assert_fits_screen(phone)
    shot(phone, "answer-phone")
    box = _group(phone, 1).get_by_label("Agree", exact=True).locator("xpath=ancestor::label").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300, box  # a thumb-sized target
    _group(phone, 1).get_by_text("Agree", exact=True).tap()
    _group(phone, 2).get_by_text("Strongly agree").tap()
    _group(phone, 2).get_by_text("Prefer not to say").tap()  # changed my mind: skip it after all
    _next(phone, 4)
    expect(phone.get_by_text("Part 5 of 7")).to_be_visible()
    _group(phone, 9).get_by_text("Sometimes").tap()
    shot(phone, "answer-phone-part-5")
    _next(phone, 2)
    phone.get_by_label("Anything else you would like to say? (optional)").fill("More focus time, please.")
    assert phone.locator("#comment-count").inner_text() == "1,976 left."
    phone.get_by_role("button", name="Send my answers").tap()
    expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()
    assert phone.get_by_role("link", name="Employee assistance line (24/7)").is_visible()
    assert phone.get_by_text("No meetings on Wednesday mornings").is_visible()
    assert phone.get_by_text("Likely improved").first.is_visible()
    assert_fits_screen(phone)
    shot(phone, "answer-thanks-phone")
    assert Participation.all_organizations.filter(round=pulse.round).count() == 1
    assert sorted(Answer.all_organizations.filter(round=pulse.round).values_list("value", flat=True)) == [3, 4]
    assert Comment.all_organizations.get(round=pulse.round).text == "More focus time, please."
    phone.goto(pulse.url)
    expect(phone.get_by_role("heading", name="You have already answered this pulse, thank you")).to_be_visible()
    assert phone.get_by_text("Our wellbeing team is here for you").is_visible()
    shot(phone, "answer-already-phone")


def test_answer_by_keyboard_alone_with_a_visible_focus(page, shot, tenant):
    pulse = open_pulse(tenant)
    page.goto(pulse.url)
    first = f"q{pulse.question_ids[0]}"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == first:
            break
    assert page.evaluate("document.activeElement.value") == "skip"  # the default choice takes the focus
    page.keyboard.press("ArrowUp")
    assert page.evaluate("[document.activeElement.name, document.activeElement.value]") == [first, "5"]
    outline = page.evaluate("getComputedStyle(document.activeElement.closest('label')).outlineStyle")
    assert outline == "solid", "the focused choice must show where the keyboard is"
    shot(page, "answer-keyboard-focus")
    page.keyboard.press("Enter")  # Enter on a choice must not send a half-answered form
    page.wait_for_timeout(300)
    assert page.url.endswith(pulse.url)
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # from "Prefer not to say", the list wraps round to the first choice
    assert page.evaluate("document.activeElement.value") == "1"
    for part in range(2, 8):  # Next, then the focus is on the new part's heading
        _tab_to(page, "Next")
        page.keyboard.press("Enter")
        expect(page.get_by_text(f"Part {part} of 7")).to_be_visible()
        expect(page.locator(f"#step-{part} .step-title")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "comment"
    page.keyboard.type("Typed with the keyboard.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Send my answers"
    shot(page, "answer-desktop")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    shot(page, "answer-thanks-desktop")
    values = dict(Answer.all_organizations.values_list("question_id", "value"))
    assert values == {pulse.question_ids[0]: 5, pulse.question_ids[1]: 1}


# `live_server` is named so these run as live-server tests (outside a test transaction) even
# though the browser fixture is picked by name inside the test.
@pytest.mark.parametrize("device", ["page", "phone"])
def test_a_refused_submission_keeps_every_choice_and_says_why(device, request, live_server, shot, tenant):
    browser_page = request.getfixturevalue(device)
    pulse = open_pulse(tenant)
    browser_page.goto(pulse.url)
    _next(browser_page, 6)
    browser_page.get_by_role("button", name="Send my answers").click()
    alert = browser_page.get_by_role("alert")  # the whole form comes back, every part on screen
    expect(alert).to_contain_text("at least one question")
    assert browser_page.evaluate("document.activeElement.id") == "answer-error"
    shot(browser_page, f"answer-error-empty-{device}")
    _group(browser_page, 1).get_by_text("Disagree", exact=True).click()
    _group(browser_page, 10).get_by_text("Often", exact=True).click()
    # An old browser that ignores maxlength sends too long a comment: the server refuses it.
    browser_page.evaluate("document.getElementById('comment').removeAttribute('maxlength')")
    browser_page.get_by_label("Anything else you would like to say? (optional)").fill("word " * 420)
    browser_page.get_by_role("button", name="Send my answers").click()
    expect(browser_page.get_by_role("alert")).to_contain_text("the limit is 2,000")
    assert _group(browser_page, 1).get_by_label("Disagree", exact=True).is_checked()
    assert _group(browser_page, 10).get_by_label("Often", exact=True).is_checked()
    assert _group(browser_page, 5).get_by_label("Prefer not to say").is_checked()
    assert browser_page.locator("#comment").input_value() == "word " * 420
    if device == "phone":
        assert_fits_screen(browser_page)
    shot(browser_page, f"answer-error-comment-{device}")
    assert Response.all_organizations.count() == 0 and Participation.all_organizations.count() == 0


@pytest.mark.parametrize("device", ["page", "phone"])
def test_the_other_states_of_a_link(device, request, live_server, shot, tenant):
    browser_page = request.getfixturevalue(device)
    pulse = open_pulse(tenant)
    opens = timezone.now() + dt.timedelta(days=2)
    pulse.round.status, pulse.round.opens_at, pulse.round.closes_at = (
        RoundStatus.SCHEDULED,
        opens,
        opens + dt.timedelta(days=5),
    )
    pulse.round.save()
    browser_page.goto(pulse.url)
    expect(browser_page.get_by_role("heading", name="This pulse is not open yet")).to_be_visible()
    shot(browser_page, f"answer-not-open-{device}")
    pulse.round.status, pulse.round.opens_at = RoundStatus.CLOSED, timezone.now() - dt.timedelta(days=6)
    pulse.round.closes_at = timezone.now() - dt.timedelta(days=1)
    pulse.round.save()
    browser_page.goto(pulse.url)
    expect(browser_page.get_by_role("heading", name="This pulse has closed")).to_be_visible()
    shot(browser_page, f"answer-closed-{device}")
    browser_page.goto("/answer/acme/this-is-not-a-link/")
    expect(browser_page.get_by_role("heading", name="This link does not work")).to_be_visible()
    if device == "phone":
        assert_fits_screen(browser_page)
    shot(browser_page, f"answer-link-invalid-{device}")


def test_a_signed_in_employee_answers_from_the_home_page(page, shot, sign_in, tenant):
    pulse = open_pulse(tenant)
    sign_in(page, tenant.employee)
    page.get_by_role("link", name=f"Answer now for {pulse.round.survey.name}").click()
    expect(page.get_by_role("heading", name=pulse.round.survey.name)).to_be_visible()
    assert unlabelled_controls(page) == []
    _next(page)
    _group(page, 3).get_by_text("Neither agree nor disagree").click()
    _next(page, 5)
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert page.url.endswith(f"/o/acme/pulses/{pulse.round.pk}/thanks/")
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_text("No pulse is waiting for you")).to_be_visible()
