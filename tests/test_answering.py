"""The answering page: link states, what the page promises and asks, the signed-in route."""

import datetime as dt
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from surveys.core.tenancy import organization_scope
from surveys.core.tokens import invitation_path, token_hash
from surveys.models import ActionPlan, RoundStatus
from surveys.services.results import results_publish
from tests.support.factories import MembershipFactory, RoundFactory, SurveyFactory, invite
from tests.support.pulses import form, open_pulse, stored
from tests.support.survey_data import team_round


def test_the_answer_route_is_the_invitation_path():
    assert reverse("answer", kwargs={"organization_slug": "acme", "token": "abc-_XYZ09"}) == invitation_path(
        org_slug="acme", token="abc-_XYZ09"
    )


def test_the_page_opens_without_signing_in_and_asks_every_item_as_a_labelled_group(client, tenant, other_tenant):
    pulse = open_pulse(tenant)
    page = client.get(pulse.url)
    assert page.status_code == 200
    html = page.content.decode()
    fieldsets = re.findall(r"<fieldset.*?</fieldset>", html, re.S)
    assert len(fieldsets) == 12 and "12 short questions, about 3 minutes." in html  # 12 seconds each
    for fieldset in fieldsets:
        assert re.search(r"<legend>.*Question \d+ of 12.*</legend>", fieldset, re.S)
        assert fieldset.count('type="radio"') == 6
        assert fieldset.count("<label") == 6  # every radio sits inside its own label
        assert re.search(r'value="skip" checked><span>Prefer not to say', fieldset)
    assert "Strongly disagree" in fieldsets[0] and "Strongly agree" in fieldsets[0]
    assert "I have a real say in how I organise my own work." in html
    assert html.count("Since the last pulse, how often…") == 4  # two items of exhaustion, two of mental distance
    assert "Never" in html and "Always" in html
    assert page["Cache-Control"].startswith("max-age=0")
    assert '<meta name="robots" content="noindex, nofollow">' in html


def test_the_page_states_the_privacy_promise_with_the_rounds_locked_k(client, tenant):
    pulse = open_pulse(tenant)
    pulse.round.k = 7  # locked when the round opened; the organisation has since moved to 5
    pulse.round.save()
    html = client.get(pulse.url).content.decode()
    promise = html[html.index("privacy-promise") : html.index("<form")]
    assert "Your answers are not linked to you." in promise
    assert "Results are shown only for groups of at least 7 people" in promise
    assert "after the pulse closes" in promise
    assert "There is no list of who answered" in promise
    assert "when everyone in a group answers, that number shows that everyone did" in promise
    assert "This is not an evaluation of you." in promise
    assert "at least 5 people" not in html


def test_the_comment_box_warns_against_identifying_details_and_shows_its_limit(client, tenant):
    html = client.get(open_pulse(tenant).url).content.decode()
    assert re.search(r'<label for="comment">', html)
    assert 'maxlength="2000"' in html and "Up to 2,000 characters" in html
    assert "Please leave out names" in html
    assert 'aria-describedby="comment-warning comment-limit"' in html


def test_no_comment_box_when_the_survey_takes_no_comments(client, tenant):
    html = client.get(open_pulse(tenant, comments_enabled=False).url).content.decode()
    assert "<textarea" not in html


def test_support_resources_of_the_survey_and_the_organisation_are_on_the_page(client, tenant):
    tenant.org.support_text = "Talk to the wellbeing team."
    tenant.org.support_links = "Assistance line | https://example.org/help\nBad | javascript:alert(1)"
    tenant.org.save()
    pulse = open_pulse(tenant, support_text="This survey's own helper.", support_links="https://example.org/survey")
    html = client.get(pulse.url).content.decode()
    assert 'href="#support"' in html and 'id="support"' in html
    assert "Talk to the wellbeing team." in html and "This survey&#x27;s own helper." in html
    assert '<a href="https://example.org/help" rel="noreferrer">Assistance line</a>' in html
    assert '<a href="https://example.org/survey"' in html
    assert "javascript:" not in html


def test_the_page_costs_three_queries(client, tenant, django_assert_num_queries):
    pulse = open_pulse(tenant)
    # the organisation the link names (its scope first: row-level security), invitation,
    # round (with survey), answered?, items
    with django_assert_num_queries(5):
        assert client.get(pulse.url).status_code == 200


def test_a_submission_costs_four_statements_on_postgresql(postgres, client, tenant):
    pulse = open_pulse(tenant)
    with CaptureQueriesContext(connection) as context:
        response = client.post(pulse.url, {**form(pulse, [4, 2]), "comment": "Fine."})
    assert response.status_code == 302
    # the organisation, the invitation, the round's state under its lock, and one statement
    # writing the participation flag, the response, its answers and the comment (the test's
    # savepoints stand for the transaction's BEGIN and COMMIT, which are not statements)
    own = [q["sql"] for q in context.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(own) == 4, own
    assert stored() == {"Participation": 1, "Response": 1, "Answer": 2, "Comment": 1}
    again = client.post(pulse.url, {**form(pulse, [1]), "comment": "Twice?"})
    assert b"already answered" in again.content
    assert stored() == {"Participation": 1, "Response": 1, "Answer": 2, "Comment": 1}


def _link_invalid_page(client, url):
    page = client.get(url)
    assert page.status_code == 404
    assert b"This link does not work" in page.content
    return page.content


def test_a_link_that_does_not_work_gives_one_page_whatever_the_reason(client, tenant, other_tenant):
    pulse = open_pulse(tenant)
    theirs = open_pulse(other_tenant)
    pages = {
        "unknown organisation": _link_invalid_page(client, invitation_path(org_slug="nobody", token=pulse.token)),
        "unknown token": _link_invalid_page(client, invitation_path(org_slug="acme", token="forged-token")),
        "other organisation's token": _link_invalid_page(client, invitation_path(org_slug="acme", token=theirs.token)),
    }
    pulse.invitation.token_hash = token_hash("a newer reminder link")
    pulse.invitation.save()
    pages["replaced by a reminder"] = _link_invalid_page(client, pulse.url)
    assert len(set(pages.values())) == 1, "the page must not say why the link failed"
    assert _link_invalid_page(client, pulse.thanks_url) == pages["unknown token"]


def test_a_person_who_has_left_cannot_use_their_link(client, tenant):
    pulse = open_pulse(tenant)
    tenant.employee.is_active = False
    tenant.employee.save()
    _link_invalid_page(client, pulse.url)


def test_a_round_not_open_yet_says_when_it_opens(client, tenant):
    pulse = open_pulse(tenant)
    opens = timezone.now() + dt.timedelta(days=3)
    pulse.round.status, pulse.round.opens_at, pulse.round.closes_at = (
        RoundStatus.SCHEDULED,
        opens,
        opens + dt.timedelta(days=5),
    )
    pulse.round.save()
    page = client.get(pulse.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "This pulse is not open yet" in html
    assert opens.strftime("%-d %B %Y") in html
    assert 'class="answer-form' not in html and 'id="support"' in html


def test_a_scheduled_round_whose_time_has_come_is_about_to_open(client, tenant):
    pulse = open_pulse(tenant)
    pulse.round.status = RoundStatus.SCHEDULED
    pulse.round.save()
    assert b"about to open" in client.get(pulse.url).content


def test_a_closed_round_says_so(client, tenant):
    pulse = open_pulse(tenant)
    for status in (RoundStatus.CLOSED, RoundStatus.PUBLISHED):
        pulse.round.status = status
        pulse.round.save()
        html = client.get(pulse.url).content.decode()
        assert "This pulse has closed" in html and 'class="answer-form' not in html
    pulse.round.status = RoundStatus.OPEN
    pulse.round.closes_at = timezone.now() - dt.timedelta(minutes=1)
    pulse.round.opens_at = pulse.round.closes_at - dt.timedelta(days=5)
    pulse.round.save()
    assert b"This pulse has closed" in client.get(pulse.url).content


def test_after_answering_the_link_says_already_answered_with_support(client, tenant):
    tenant.org.support_text = "Talk to the wellbeing team."
    tenant.org.save()
    pulse = open_pulse(tenant)
    assert client.post(pulse.url, form(pulse, [4, 4])).status_code == 302
    page = client.get(pulse.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "You have already answered this pulse, thank you" in html
    assert "Talk to the wellbeing team." in html and 'class="answer-form' not in html
    pulse.round.status = RoundStatus.CLOSED
    pulse.round.save()
    assert b"already answered" in client.get(pulse.url).content


def test_the_thanks_page_is_only_for_those_who_answered(client, tenant):
    pulse = open_pulse(tenant)
    page = client.get(pulse.thanks_url)
    assert page.status_code == 302 and page["Location"] == pulse.url


def test_the_thanks_page_shows_support_and_the_teams_action_plans_newest_first(
    client, tenant, other_tenant, django_assert_num_queries
):
    tenant.org.support_links = "Assistance line | https://example.org/help"
    tenant.org.save()
    pulse = open_pulse(tenant)
    now = timezone.now()
    published = RoundFactory(survey=pulse.round.survey, status=RoundStatus.PUBLISHED)
    plan = {"organization": tenant.org, "team": tenant.platform}
    ActionPlan.all_organizations.create(**plan, title="Older plan", created_at=now - dt.timedelta(days=30))
    ActionPlan.all_organizations.create(**plan, title="Newer plan", round=published, created_at=now)
    ActionPlan.all_organizations.create(**plan, title="From the open round", round=pulse.round)
    ActionPlan.all_organizations.create(organization=tenant.org, team=tenant.product, title="Another team's plan")
    ActionPlan.all_organizations.create(organization=other_tenant.org, team=other_tenant.platform, title="Globex plan")
    # Moving the person afterwards changes nothing: the thanks page follows the invitation's team.
    tenant.employee.team = tenant.product
    tenant.employee.save()
    response = client.post(pulse.url, form(pulse, [5]))
    assert response["Location"] == pulse.thanks_url
    # organisation, invitation, round, answered?, action plans, team, its ancestors, their published results
    with django_assert_num_queries(8):
        html = client.get(pulse.thanks_url).content.decode()
    assert "<h1>Thank you</h1>" in html
    assert "Assistance line" in html
    assert html.index("Newer plan") < html.index("Older plan")
    for hidden in ("From the open round", "Another team's plan", "Globex plan"):
        assert hidden not in html
    assert "Your team's last published results" in html


def test_the_signed_in_route_shows_the_members_own_pulse_and_thanks(login, tenant):
    pulse = open_pulse(tenant)
    client = login(tenant.employee)
    url = f"/o/acme/pulses/{pulse.round.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and page.content.count(b"<fieldset") == 12
    response = client.post(url, form(pulse, [3, 3, 3]))
    assert response.status_code == 302 and response["Location"] == url + "thanks/"
    assert b"<h1>Thank you</h1>" in client.get(url + "thanks/").content
    assert b"already answered" in client.get(url).content


def test_the_signed_in_route_is_404_without_an_invitation_to_that_round(login, tenant, other_tenant):
    pulse = open_pulse(tenant)  # only the employee is invited
    url = f"/o/acme/pulses/{pulse.round.pk}/"
    assert login(tenant.manager).get(url).status_code == 404
    assert login(tenant.manager).post(url, form(pulse, [3])).status_code == 404
    colleague = MembershipFactory(organization=tenant.org, team=tenant.platform)
    assert login(colleague).get(url).status_code == 404
    theirs = open_pulse(other_tenant)
    assert login(tenant.employee).get(f"/o/acme/pulses/{theirs.round.pk}/").status_code == 404
    assert login(tenant.employee).get("/o/acme/pulses/999999/").status_code == 404


def test_the_signed_in_page_costs_few_queries(login, tenant, django_assert_num_queries):
    pulse = open_pulse(tenant)
    client = login(tenant.employee)
    # session, user, membership (middleware), invitation, round, answered?, items
    with django_assert_num_queries(7):
        assert client.get(f"/o/acme/pulses/{pulse.round.pk}/").status_code == 200


def test_home_lists_open_pulses_with_an_answer_now_link_until_answered(login, tenant):
    pulse = open_pulse(tenant)
    later = RoundFactory(survey=SurveyFactory(organization=tenant.org), status=RoundStatus.SCHEDULED)
    invite(later, tenant.employee)
    client = login(tenant.employee)
    html = client.get("/o/acme/").content.decode()
    assert html.count("Answer now") == 1
    assert f'href="/o/acme/pulses/{pulse.round.pk}/">Answer now' in html
    client.post(f"/o/acme/pulses/{pulse.round.pk}/", form(pulse, [2]))
    assert "Answer now" not in client.get("/o/acme/").content.decode()


def test_opening_the_link_changes_nothing_so_mail_scanners_cannot_answer_for_anyone(client, tenant):
    pulse = open_pulse(tenant)
    assert client.head(pulse.url).status_code == 200
    assert client.get(pulse.url).status_code == 200
    assert client.get(pulse.thanks_url).status_code == 302
    assert b'class="answer-form' in client.get(pulse.url).content  # still unanswered
    assert client.put(pulse.url).status_code == 405
    assert set(stored().values()) == {0}


def _published_round(survey, sizes, value, number=None):
    round_ = team_round(survey, sizes, value=value, number=number)
    with organization_scope(survey.organization):
        results_publish(round_id=round_.pk)
    return round_


def test_the_thanks_page_shows_the_teams_last_published_results_and_what_changed(client, tenant):
    pulse = open_pulse(tenant)
    survey = pulse.round.survey
    for number, value in ((11, 2), (12, 2), (13, 4), (14, 4)):
        _published_round(survey, {tenant.platform: 8}, value, number=number)
    client.post(pulse.url, form(pulse, [5]))
    html = client.get(pulse.thanks_url).content.decode()
    assert "Your team's last published results" in html
    # Every item answered 4 in the latest round: (4 - 1) * 25 = 75 for every condition.
    assert html.count(">75<") >= 4
    assert "Likely improved" in html  # 2 -> 4 on every item, with no spread at all


def test_a_team_too_small_to_show_sees_the_nearest_larger_group(client, tenant):
    pulse = open_pulse(tenant)
    _published_round(pulse.round.survey, {tenant.platform: 2, tenant.product: 6}, 3)
    client.post(pulse.url, form(pulse, [5]))
    html = client.get(pulse.thanks_url).content.decode()
    assert "Results for Engineering" in html
    assert "Platform is smaller than 5" in html
    assert ">50<" in html  # (3 - 1) * 25


def test_the_thanks_page_shows_nothing_from_a_round_that_is_not_published(client, tenant):
    pulse = open_pulse(tenant)
    team_round(pulse.round.survey, {tenant.platform: 8}, value=5)  # closed, not aggregated
    client.post(pulse.url, form(pulse, [5]))
    html = client.get(pulse.thanks_url).content.decode()
    assert "No published results for Platform yet" in html
    assert ">100<" not in html
