"""Survey pages and services, round scheduling, HR round buttons, organisation settings."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone

from surveys.core.exceptions import PulseError
from surveys.engine.scheduling import next_window, restarted_window, slot_date, slot_window
from surveys.models import (
    Cadence,
    Construct,
    Participation,
    Question,
    Response,
    Round,
    RoundStatus,
    Scale,
    Survey,
)
from surveys.services.surveys import SurveyFields, survey_create, survey_launch, survey_update
from tests.support.errors import refused
from tests.support.factories import RoundFactory, SurveyFactory, invite

TODAY = timezone.localdate
CORE_CODES = ["aut-1", "aut-2", "com-1", "com-2", "rel-1", "rel-2", "ben-1", "ben-2"]
CORE_CODES += ["exh-1", "exh-4", "dis-1", "dis-4"]  # two items for each burnout sign (bank v3)


def bank(*codes):
    return list(Question.all_organizations.filter(organization=None, code__in=codes))


def form_data(**overrides):
    """A valid survey form post: core items, every two weeks, starting next Monday."""
    data = {
        "name": "Team pulse",
        "questions": [str(q.pk) for q in bank(*CORE_CODES)],
        "cadence": "biweekly",
        "open_days": "5",
        "starts_on": (TODAY() + dt.timedelta(days=3)).isoformat(),
        "root_team": "",
        "comments_enabled": "on",
        "support_text": "",
        "support_links": "",
        "new_question_1": "",
        "new_question_2": "",
        "new_question_3": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def without_csrf(response) -> str:
    """The page as text, without the per-render CSRF token of the sign-out form."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def url(tenant, path=""):
    return f"/o/{tenant.org.slug}/{path}"


# --- scheduling ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "starts_on", "expected"),
    [
        (Cadence.WEEKLY, dt.date(2027, 12, 22), [dt.date(2027, 12, 22), dt.date(2027, 12, 29), dt.date(2028, 1, 5)]),
        (Cadence.BIWEEKLY, dt.date(2027, 2, 22), [dt.date(2027, 2, 22), dt.date(2027, 3, 8), dt.date(2027, 3, 22)]),
        (
            Cadence.MONTHLY,
            dt.date(2027, 1, 31),
            [dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 31), dt.date(2027, 4, 30)],
        ),
        (Cadence.MONTHLY, dt.date(2027, 11, 30), [dt.date(2027, 11, 30), dt.date(2027, 12, 30), dt.date(2028, 1, 30)]),
        (Cadence.MONTHLY, dt.date(2028, 1, 29), [dt.date(2028, 1, 29), dt.date(2028, 2, 29), dt.date(2028, 3, 29)]),
        (Cadence.MONTHLY, dt.date(2027, 12, 31), [dt.date(2027, 12, 31), dt.date(2028, 1, 31), dt.date(2028, 2, 29)]),
    ],
)
def test_round_days_follow_the_cadence_and_clamp_to_the_month_end(cadence, starts_on, expected):
    assert [slot_date(cadence=cadence, starts_on=starts_on, index=i) for i in range(len(expected))] == expected


def test_rounds_open_and_close_at_the_same_local_time_across_a_clock_change(settings):
    settings.TIME_ZONE = "Europe/London"
    settings.PULSE_ROUND_OPEN_HOUR = 9
    window = slot_window(opens_on=dt.date(2027, 3, 26), open_days=5)  # clocks go forward on 28 March
    london = zoneinfo.ZoneInfo("Europe/London")
    assert window.opens_at.astimezone(london).replace(tzinfo=None) == dt.datetime(2027, 3, 26, 9)
    assert window.closes_at.astimezone(london).replace(tzinfo=None) == dt.datetime(2027, 3, 31, 9)
    assert window.closes_at.astimezone(dt.UTC) - window.opens_at.astimezone(dt.UTC) == dt.timedelta(days=5, hours=-1)


def test_the_next_window_skips_slots_that_are_over_and_never_overlaps_the_last_round():
    start = dt.date(2027, 1, 4)
    now = slot_window(opens_on=dt.date(2027, 1, 20), open_days=5).opens_at
    window = next_window(cadence=Cadence.WEEKLY, starts_on=start, open_days=5, not_before=None, now=now)
    assert window.opens_at.date() == dt.date(2027, 1, 18)  # still open: 18 to 23 January
    after = next_window(cadence=Cadence.WEEKLY, starts_on=start, open_days=5, not_before=window.closes_at, now=now)
    assert after.opens_at.date() == dt.date(2027, 1, 25)


def test_a_round_opened_early_gets_its_full_window_from_now():
    planned = slot_window(opens_on=dt.date(2027, 1, 4), open_days=5)
    early = planned.opens_at - dt.timedelta(days=2)
    assert restarted_window(window=planned, open_days=5, now=early).opens_at == early
    assert restarted_window(window=planned, open_days=5, now=early).closes_at == early + dt.timedelta(days=5)
    on_time = planned.opens_at + dt.timedelta(minutes=4)
    assert restarted_window(window=planned, open_days=5, now=on_time) == planned


# --- the survey service --------------------------------------------------------------------


def fields(**overrides):
    values = {
        "name": "Team pulse",
        "questions": bank(*CORE_CODES),
        "cadence": Cadence.WEEKLY,
        "open_days": 3,
        "starts_on": TODAY() + dt.timedelta(days=7),
    }
    values.update(overrides)
    return SurveyFields(**values)


def test_a_survey_is_created_as_a_draft_and_launching_schedules_its_first_round(tenant):
    with tenant.scope():
        survey = survey_create(organization=tenant.org, created_by=tenant.hr, fields=fields())
        assert survey.is_draft and not Round.objects.filter(survey=survey).exists()
        survey_launch(survey=survey)
        rounds = list(Round.objects.filter(survey=survey))
        assert list(survey.survey_questions.values_list("question__code", flat=True)) == CORE_CODES
    assert [r.number for r in rounds] == [1] and rounds[0].status == RoundStatus.SCHEDULED
    assert timezone.localtime(rounds[0].opens_at).date() == survey.starts_on
    assert rounds[0].closes_at - rounds[0].opens_at == dt.timedelta(days=3)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"name": "  "}, "name"),
        ({"questions": []}, "questions"),
        ({"open_days": 7}, "open_days"),
        ({"cadence": Cadence.MONTHLY, "open_days": 28}, "open_days"),
        ({"starts_on": dt.date(2020, 1, 1)}, "starts_on"),
        ({"support_links": "Help | javascript:alert(1)"}, "support_links"),
        ({"new_questions": ["x" * 301]}, "new_questions"),
    ],
)
def test_the_survey_service_refuses_bad_input_and_saves_nothing(tenant, overrides, code):
    with tenant.scope():
        with refused(code):
            survey_create(organization=tenant.org, created_by=tenant.hr, fields=fields(**overrides))
        assert not Survey.objects.exists() and not Round.objects.exists()


def test_a_survey_takes_only_its_own_organizations_teams_and_questions(tenant, other_tenant):
    theirs = Question.all_organizations.create(
        organization=other_tenant.org, code="theirs", construct=Construct.CUSTOM, text="Theirs?"
    )
    with tenant.scope():
        with refused("root_team"):
            survey_create(organization=tenant.org, created_by=None, fields=fields(root_team=other_tenant.engineering))
        with refused("questions", match="not available"):
            survey_create(organization=tenant.org, created_by=None, fields=fields(questions=[theirs]))
        assert not Survey.objects.exists()


def test_at_most_twenty_questions(tenant):
    everything = list(Question.all_organizations.filter(organization=None, is_active=True))
    with tenant.scope(), pytest.raises(PulseError, match="at most 20"):
        survey_create(organization=tenant.org, created_by=None, fields=fields(questions=everything))


def test_custom_questions_are_the_organizations_and_reused_by_text(tenant, other_tenant):
    with tenant.scope():
        first = survey_create(
            organization=tenant.org,
            created_by=None,
            fields=fields(new_questions=["I know what is expected of me this month.", "", "  "]),
        )
        second = survey_create(
            organization=tenant.org,
            created_by=None,
            fields=fields(name="Other", new_questions=["i know what is expected of me this month."]),
        )
        own = Question.objects.get(organization=tenant.org)
        assert [sq.question for sq in second.survey_questions.all()][-1] == own
        assert first.survey_questions.last().question == own
    assert (own.construct, own.scale, own.organization) == (Construct.CUSTOM, Scale.AGREE, tenant.org)
    with other_tenant.scope():
        assert not Question.objects.filter(pk=own.pk).exists()


def test_editing_plans_the_scheduled_round_again_and_leaves_the_open_round_alone(tenant):
    with tenant.scope():
        survey = survey_create(organization=tenant.org, created_by=None, fields=fields(), launch=True)
        scheduled = Round.objects.get(survey=survey)
        now = timezone.now()
        scheduled.status = RoundStatus.OPEN
        scheduled.opens_at = now - dt.timedelta(hours=1)
        scheduled.closes_at = now + dt.timedelta(days=2)
        scheduled.save()
        survey_update(
            survey=survey,
            fields=fields(cadence=Cadence.MONTHLY, open_days=10, starts_on=TODAY() + dt.timedelta(days=1)),
        )
        rounds = list(Round.objects.filter(survey=survey).order_by("number"))
    assert [(r.number, r.status) for r in rounds] == [(1, "open"), (2, "scheduled")]
    assert rounds[0].closes_at - rounds[0].opens_at == dt.timedelta(days=2, hours=1)
    assert rounds[1].opens_at >= rounds[0].closes_at
    assert rounds[1].closes_at - rounds[1].opens_at == dt.timedelta(days=10)


def test_pausing_a_survey_removes_its_scheduled_round(tenant):
    with tenant.scope():
        survey = survey_create(organization=tenant.org, created_by=None, fields=fields(), launch=True)
        survey_update(survey=survey, fields=fields(is_active=False))
        assert not Round.objects.filter(survey=survey).exists()
        survey_update(survey=survey, fields=fields(is_active=True))
        assert Round.objects.filter(survey=survey, status=RoundStatus.SCHEDULED).count() == 1


# --- survey pages --------------------------------------------------------------------------


def test_the_survey_list_is_empty_at_first_and_says_what_to_do(login, tenant):
    page = login(tenant.hr).get(url(tenant, "surveys/"))
    assert page.status_code == 200
    assert "No survey yet" in page.content.decode() and "Create your first survey" in page.content.decode()


def test_the_survey_list_shows_each_survey_in_a_fixed_number_of_queries(
    login, tenant, other_tenant, django_assert_num_queries
):
    for n in range(4):
        survey = SurveyFactory(organization=tenant.org, name=f"Pulse {n}")
        RoundFactory(survey=survey, number=1)
    SurveyFactory(organization=other_tenant.org, name="Globex secret pulse")
    client = login(tenant.hr)
    with django_assert_num_queries(4):
        page = client.get(url(tenant, "surveys/"))
    text = page.content.decode()
    assert all(f"Pulse {n}" in text for n in range(4)) and "Globex secret pulse" not in text
    assert "Round 1 open" in text


def test_the_create_form_preselects_the_core_items_and_offers_the_rest_grouped(login, tenant):
    text = login(tenant.hr).get(url(tenant, "surveys/new/")).content.decode()
    checked = set(re.findall(r'name="questions" value="(\d+)" id="question-\d+" checked', text))
    assert checked == {str(q.pk) for q in bank(*CORE_CODES)}
    for legend in ("Autonomy", "Competence", "Relatedness", "Beneficence", "Exhaustion", "Mental distance"):
        assert f"<legend>{legend}</legend>" in text
    assert "How I plan my working day is largely up to me." in text  # a non-core item, with its text
    assert "I can choose the order in which I tackle my tasks." not in text  # bank version 1: retired
    assert "<legend>Working conditions (not scored)</legend>" in text
    active = Question.all_organizations.filter(organization=None, is_active=True).count()
    assert text.count('name="questions"') == active == 32


def test_creating_a_survey_through_the_page(login, tenant):
    client = login(tenant.hr)
    extra = bank("aut-3")[0]
    data = form_data(
        questions=[*form_data()["questions"], str(extra.pk)],
        root_team=str(tenant.engineering.pk),
        new_question_1="I know what is expected of me this month.",
        support_links="Our helpline | https://help.example/acme",
        comments_enabled=None,
    )
    response = client.post(url(tenant, "surveys/new/"), data)
    with tenant.scope():
        survey = Survey.objects.get()
        codes = list(survey.survey_questions.values_list("question__code", flat=True))
    assert response.status_code == 302 and response["Location"] == url(tenant, f"surveys/{survey.pk}/")
    assert survey.root_team == tenant.engineering and survey.comments_enabled is False
    assert survey.created_by == tenant.hr
    assert len(codes) == 14 and codes[-1].startswith("own-") and "aut-3" in codes
    detail = client.get(response["Location"]).content.decode()
    assert "is saved as a draft" in detail and "I know what is expected of me this month." in detail


def test_a_bad_survey_form_explains_each_problem_and_keeps_what_was_typed(login, tenant):
    client = login(tenant.hr)
    chosen = [str(q.pk) for q in bank("aut-1", "exh-2")]
    data = form_data(
        name="Team pulse",
        questions=chosen,
        cadence="weekly",
        open_days="9",
        starts_on="2020-01-01",
        support_links="Help | javascript:alert(1)",
        new_question_1="My own question stays here",
    )
    page = client.post(url(tenant, "surveys/new/"), data)
    text = page.content.decode()
    assert page.status_code == 200
    assert "between 1 and 6 days" in text
    assert "cannot be in the past" in text
    assert "needs an address starting with https://" in text
    assert 'value="Team pulse"' in text and "My own question stays here" in text and 'value="9"' in text
    checked = set(re.findall(r'name="questions" value="(\d+)" id="question-\d+" checked', text))
    assert checked == set(chosen)
    with tenant.scope():
        assert not Survey.objects.exists() and not Question.objects.filter(organization=tenant.org).exists()


def test_a_survey_needs_a_question_and_a_unique_name(login, tenant):
    SurveyFactory(organization=tenant.org, name="Team pulse")
    text = login(tenant.hr).post(url(tenant, "surveys/new/"), form_data(questions=[])).content.decode()
    assert "Choose at least one question." in text
    assert "Another survey already has this name" in text


def test_another_organizations_team_cannot_be_chosen(login, tenant, other_tenant):
    page = login(tenant.hr).post(url(tenant, "surveys/new/"), form_data(root_team=str(other_tenant.engineering.pk)))
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()
    assert not Survey.all_organizations.exists()


def test_editing_a_survey_through_the_page(login, tenant):
    client = login(tenant.hr)
    client.post(url(tenant, "surveys/new/"), form_data())
    with tenant.scope():
        survey = Survey.objects.get()
        assert "is_active" not in client.get(url(tenant, f"surveys/{survey.pk}/edit/")).content.decode()  # a draft
        survey_launch(survey=survey)
    edit_url = url(tenant, f"surveys/{survey.pk}/edit/")
    form = client.get(edit_url).content.decode()
    assert 'value="Team pulse"' in form and 'name="is_active"' in form
    response = client.post(edit_url, form_data(name="Renamed pulse", cadence="monthly", open_days="20", is_active="on"))
    assert response.status_code == 302
    survey.refresh_from_db()
    assert (survey.name, survey.cadence, survey.open_days, survey.is_active) == ("Renamed pulse", "monthly", 20, True)
    bad = client.post(edit_url, form_data(name="", open_days="30", is_active="on")).content.decode()
    assert "This field is required." in bad and "less than or equal to 27" in bad


def test_the_survey_page_shows_invited_counts_and_nothing_that_moves_when_someone_answers(
    login, tenant, django_assert_num_queries
):
    survey = SurveyFactory(organization=tenant.org)
    open_round = RoundFactory(survey=survey, number=2, invited_count=4)
    RoundFactory(survey=survey, number=1, status=RoundStatus.PUBLISHED, invited_count=4)
    for membership in (tenant.employee, tenant.manager, tenant.hr, tenant.admin):
        invite(open_round, membership)
    client = login(tenant.hr)
    detail = url(tenant, f"surveys/{survey.pk}/")
    # The survey, its questions and rounds, the people taking part, the plan (teams, people per
    # team) and the latest participation estimate.
    with django_assert_num_queries(10):
        before = without_csrf(client.get(detail))
    with tenant.scope():
        Participation.objects.create(round=open_round, membership=tenant.employee)
        Response.objects.create(round=open_round, team=tenant.platform)
    text = without_csrf(client.get(detail))
    assert before == text
    assert "Exact response rates appear after the round closes" in text
    assert "The first estimate of participation is taken at" in text
    assert "Nothing to show" in text and "Close round 2 now" in text
    assert "response rate" not in text.lower().replace("response rates appear", "")


def test_open_now_asks_first_then_opens_and_sends_the_invitations(login, tenant, django_capture_on_commit_callbacks):
    client = login(tenant.hr)
    client.post(url(tenant, "surveys/new/"), form_data())
    with tenant.scope():
        survey = Survey.objects.get()
        survey_launch(survey=survey)
        round_ = Round.objects.get(survey=survey)
    open_url = url(tenant, f"surveys/{survey.pk}/rounds/{round_.pk}/open/")
    confirm = client.get(open_url).content.decode()
    assert "Open round 1 now?" in confirm and "4 people" in confirm
    round_.refresh_from_db()
    assert round_.status == RoundStatus.SCHEDULED and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(open_url, follow=True)
    round_.refresh_from_db()
    assert round_.status == RoundStatus.OPEN and round_.opens_at <= timezone.now()
    assert len(mail.outbox) == 4
    text = response.content.decode()
    assert "Round 1 is open. Invitations are on their way to 4 people." in text
    assert "Open round 2 now" not in text and "Close round 1 now" in text

    again = client.post(open_url, follow=True).content.decode()
    assert "not waiting to open" in again and len(mail.outbox) == 4


def test_close_now_asks_first_then_closes(login, tenant):
    survey = SurveyFactory(organization=tenant.org)
    round_ = RoundFactory(survey=survey, number=1)
    client = login(tenant.hr)
    close_url = url(tenant, f"surveys/{survey.pk}/rounds/{round_.pk}/close/")
    assert "Close round 1 now?" in client.get(close_url).content.decode()
    round_.refresh_from_db()
    assert round_.status == RoundStatus.OPEN
    text = client.post(close_url, follow=True).content.decode()
    round_.refresh_from_db()
    assert round_.status == RoundStatus.CLOSED and round_.closed_at is not None
    assert "results are being prepared" in text
    assert "is not open" in client.post(close_url, follow=True).content.decode()


def test_employees_and_managers_cannot_open_survey_pages(login, tenant):
    survey = SurveyFactory(organization=tenant.org)
    round_ = RoundFactory(survey=survey, number=1)
    pages = [
        "surveys/",
        "surveys/new/",
        f"surveys/{survey.pk}/",
        f"surveys/{survey.pk}/edit/",
        f"surveys/{survey.pk}/rounds/{round_.pk}/close/",
        "settings/",
    ]
    for membership in (tenant.employee, tenant.manager):
        client = login(membership)
        for page in pages:
            assert client.get(url(tenant, page)).status_code == 403, (membership.role, page)
        assert client.post(url(tenant, f"surveys/{survey.pk}/rounds/{round_.pk}/close/")).status_code == 403
    round_.refresh_from_db()
    assert round_.status == RoundStatus.OPEN


def test_another_organizations_survey_and_rounds_are_404(login, tenant, other_tenant):
    theirs = SurveyFactory(organization=other_tenant.org)
    their_round = RoundFactory(survey=theirs, number=1)
    ours = SurveyFactory(organization=tenant.org)
    client = login(tenant.admin)
    for page in (
        f"surveys/{theirs.pk}/",
        f"surveys/{theirs.pk}/edit/",
        f"surveys/{theirs.pk}/rounds/{their_round.pk}/close/",
        f"surveys/{ours.pk}/rounds/{their_round.pk}/close/",
    ):
        assert client.get(url(tenant, page)).status_code == 404, page
        assert client.post(url(tenant, page)).status_code == 404, page
    their_round.refresh_from_db()
    assert their_round.status == RoundStatus.OPEN


def test_hr_sees_surveys_and_settings_in_the_navigation(login, tenant):
    hr = login(tenant.hr).get(url(tenant)).content.decode()
    assert 'href="/o/acme/surveys/"' in hr and 'href="/o/acme/settings/"' in hr
    employee = login(tenant.employee).get(url(tenant)).content.decode()
    assert "/o/acme/surveys/" not in employee and "/o/acme/settings/" not in employee


# --- organisation settings -----------------------------------------------------------------


def settings_data(**overrides):
    data = {"name": "Acme", "k": "5", "k_comments": "10", "support_text": "", "support_links": ""}
    data.update(overrides)
    return data


def test_settings_page_saves_and_says_changes_apply_to_later_rounds(login, tenant):
    client = login(tenant.hr)
    page = client.get(url(tenant, "settings/")).content.decode()
    assert "Changes apply to rounds that open later" in page
    response = client.post(
        url(tenant, "settings/"),
        settings_data(name="Acme Ltd", k="7", k_comments="12", support_links="Helpline | tel:+441234567890"),
        follow=True,
    )
    tenant.org.refresh_from_db()
    assert (tenant.org.name, tenant.org.k, tenant.org.k_comments) == ("Acme Ltd", 7, 12)
    assert "Settings saved" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"k": "2"}, "greater than or equal to 3"),
        ({"k": "6", "k_comments": "5"}, "cannot be below the anonymity threshold"),
        ({"support_links": "Click | javascript:alert(1)"}, "needs an address starting with https://"),
        ({"name": ""}, "This field is required."),
        ({"name": "Acme\r\nBcc: everyone@example.com"}, "A name must fit on one line"),
        ({"name": "Acme\x00"}, "Null characters are not allowed."),
        ({"name": "Acme\x1b"}, "cannot contain the control character U+001B"),
        ({"support_links": "\n".join(f"L{n} | https://x.example/{n}" for n in range(11))}, "Keep to 10 links"),
    ],
)
def test_settings_refuse_weaker_thresholds_and_keep_what_was_typed(login, tenant, overrides, message):
    client = login(tenant.hr)
    data = settings_data(support_text="Talk to us any time.", **overrides)
    page = client.post(url(tenant, "settings/"), data)
    text = page.content.decode()
    assert page.status_code == 200 and message in text
    assert "Talk to us any time." in text
    tenant.org.refresh_from_db()
    assert (tenant.org.k, tenant.org.k_comments, tenant.org.support_text) == (5, 10, "")


def test_a_support_text_longer_than_a_few_paragraphs_is_refused(login, tenant):
    page = login(tenant.hr).post(url(tenant, "settings/"), settings_data(support_text="x" * 2_001))
    assert page.status_code == 200
    assert "Ensure this value has at most 2000 characters (it has 2001)." in page.content.decode()
    tenant.org.refresh_from_db()
    assert tenant.org.support_text == ""


def test_the_survey_form_refuses_a_name_on_two_lines_and_an_overlong_support_text(login, tenant):
    client = login(tenant.hr)
    page = client.post(url(tenant, "surveys/new/"), form_data(name="Pulse\nTwo", support_text="y" * 2_001))
    text = page.content.decode()
    assert page.status_code == 200
    assert "A name must fit on one line" in text and "at most 2000 characters" in text
    assert not Survey.all_organizations.exists()


@pytest.mark.parametrize("value", ["³", "٣", "1e3", "-1", "99999999999999999999999"])
def test_a_question_id_that_is_not_a_plain_whole_number_is_a_form_error(login, tenant, value):
    page = login(tenant.hr).post(url(tenant, "surveys/new/"), form_data(questions=[value]))
    assert page.status_code == 200
    assert "Select a valid choice" in page.content.decode()
    assert not Survey.all_organizations.exists()


def test_settings_changes_one_organization_only(login, tenant, other_tenant):
    login(tenant.admin).post(url(tenant, "settings/"), settings_data(k="8", k_comments="8"))
    other_tenant.org.refresh_from_db()
    assert (other_tenant.org.k, other_tenant.org.k_comments) == (5, 10)
