"""Whole journeys through the product, as a new customer would take them, in a real browser."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from surveys.core.tenancy import organization_scope
from surveys.models import Answer, Invitation, Participation, Response, Result, Round, RoundStatus
from surveys.services.responses import response_submit
from tests.support.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.usefixtures("question_bank")

ROSTER = "email,name,team,role,manages\nhr@fresh.test,Hana Hall,Fresh,hr,Fresh\n" + "".join(
    f"dev{n}@fresh.test,Dev {n},Fresh/Engineering,employee,\n" for n in range(1, 7)
)
LINK = re.compile(r"https?://\S+/answer/fresh/[\w-]+/")


def test_new_hr_imports_a_roster_opens_a_round_and_an_employee_answers_from_the_link(page, phone, shot, sign_in, db):
    organization = OrganizationFactory(slug="fresh", name="Fresh Start")
    hr = MembershipFactory(organization=organization, role="hr", user__email="hr@fresh.test")

    # HR: roster first.
    sign_in(page, hr)
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("link", name="Import roster").first.click()
    page.get_by_label("Roster file (CSV)").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": ROSTER.encode()}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("status").filter(has_text="Nothing has changed yet.")).to_be_visible()
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_role("status").filter(has_text="The roster is imported.")).to_be_visible()
    shot(page, "journey-1-roster-imported")

    # HR: a survey with the defaults (the twelve core items), then its first round, now.
    page.get_by_role("link", name="Surveys").click()
    page.get_by_role("link", name="Create your first survey").click()
    page.get_by_label("Name", exact=True).fill("Team pulse")
    page.get_by_role("button", name="Save as a draft").click()
    expect(page.get_by_role("heading", name="A draft: nobody is invited yet")).to_be_visible()
    page.get_by_role("link", name="Launch…").click()
    page.get_by_role("button", name="Launch the survey").click()
    page.get_by_role("link", name="Open round 1 now").click()
    page.get_by_role("button", name="Open round 1 and send invitations").click()
    expect(page.get_by_text("Invitations are on their way to 7 people.")).to_be_visible()
    shot(page, "journey-2-round-open")

    # The invitation e-mail (plain text and HTML) carries a personal link.
    invitation_mail = next(m for m in mail.outbox if m.to == ["dev1@fresh.test"])
    assert invitation_mail.alternatives and "text/html" in invitation_mail.alternatives[0][1]
    link = LINK.search(invitation_mail.body)[0]
    path = "/" + link.split("/", 3)[3]

    # The employee answers on a phone, then the link says they already did.
    phone.goto(path)
    expect(phone.get_by_text("Part 1 of 7")).to_be_visible()
    phone.get_by_role("group", name=re.compile(r"^Question 1 of 12\b")).get_by_text("Agree", exact=True).tap()
    for _ in range(5):  # on to the last part of questions
        phone.get_by_role("link", name="Next", exact=True).tap()
    phone.get_by_role("group", name=re.compile(r"^Question 12 of 12\b")).get_by_text("Rarely").tap()
    phone.get_by_role("link", name="Next", exact=True).tap()
    phone.get_by_role("button", name="Send my answers").tap()
    expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()
    shot(phone, "journey-3-answered-on-a-phone")
    phone.goto(path)
    expect(phone.get_by_role("heading", name="You have already answered this pulse, thank you")).to_be_visible()
    shot(phone, "journey-4-link-says-already-answered")

    with organization_scope(organization):
        assert Participation.objects.count() == 1
        assert sorted(Answer.objects.values_list("value", flat=True)) == [2, 4]
        round_ = Round.objects.get(status=RoundStatus.OPEN)
        # Five more colleagues answer; then HR closes the round and aggregation publishes it.
        for invitation in Invitation.objects.filter(round=round_, membership__user__email__startswith="dev")[1:]:
            response_submit(invitation=invitation, answers={q.pk: 4 for q in round_.questions.all()})
    page.reload()
    page.get_by_role("link", name="Close round 1 now").click()
    page.get_by_role("button", name="Close round 1 now").click()
    expect(page.get_by_text("Round 1 is closed. Its results are ready: 2 teams with figures.")).to_be_visible()
    expect(page.locator("table").first.get_by_text("Results ready")).to_be_visible()
    shot(page, "journey-5-round-closed-and-published")
    with organization_scope(organization):
        assert Response.objects.count() == 6
        published = Result.objects.get(round=round_, team__path="Fresh")
        assert published.n == 6 and published.invited == 7
