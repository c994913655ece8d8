"""A survey's life for HR: drafted, previewed as an employee, tested on oneself, launched with
its first round's date and scope in words, paused and resumed; its invitation and reminder
opening in HR's own words, previewed as typed (docs/architecture.md, "Surveys")."""

import datetime as dt
import re

from django.core import mail
from django.utils import timezone

from surveys.engine.scheduling import Window
from surveys.models import Invitation, Round, RoundStatus, Survey
from surveys.services.jobs import rounds_open_due
from surveys.views import surveys as survey_views
from tests.support.factories import SurveyFactory
from tests.test_surveys import form_data, url


def _create(client, tenant, **overrides) -> Survey:
    response = client.post(url(tenant, "surveys/new/"), form_data(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant.scope():
        return Survey.objects.get(name=overrides.get("name", "Team pulse"))


def test_a_new_survey_is_a_draft_that_invites_nobody(login, tenant):
    client = login(tenant.hr)
    survey = _create(client, tenant)
    assert survey.is_draft
    page = client.get(url(tenant, f"surveys/{survey.pk}/")).content.decode()
    assert "A draft: nobody is invited yet" in page and "Draft" in page
    assert "Preview the pulse" in page and "Send a test to hr@acme.test" in page and "Launch…" in page
    with tenant.scope():
        assert not Round.objects.filter(survey=survey).exists()
        rounds_open_due()
        assert not Round.objects.filter(survey=survey).exists()  # the jobs leave drafts alone
        assert not Invitation.objects.exists()


def test_the_preview_is_the_answering_page_and_keeps_nothing(login, tenant):
    client = login(tenant.hr)
    survey = _create(client, tenant)
    page = client.get(url(tenant, f"surveys/{survey.pk}/preview/")).content.decode()
    assert "Preview." in page and "Nothing you choose here is saved or sent." in page
    with tenant.scope():
        asked = survey.survey_questions.count()
    assert page.count('class="card item"') == asked
    assert 'class="step"' in page and "Part 1 of" in page and "Send my answers" not in page
    assert 'data-preview="true"' in page
    # Employees and other organisations cannot open it.
    assert login(tenant.employee).get(url(tenant, f"surveys/{survey.pk}/preview/")).status_code == 403


def test_a_test_send_reaches_only_hr_with_the_preview_link(login, tenant):
    client = login(tenant.hr)
    survey = _create(client, tenant, invitation_text="We want to hear from you, honestly.")
    response = client.post(url(tenant, f"surveys/{survey.pk}/test/"), follow=True)
    assert "A test invitation and a test reminder are on their way to hr@acme.test" in response.content.decode()
    assert [message.to for message in mail.outbox] == [["hr@acme.test"], ["hr@acme.test"]]
    invitation, reminder = mail.outbox
    assert invitation.subject.startswith("Test: Acme: your") and reminder.subject.startswith("Test: Acme")
    assert "We want to hear from you, honestly." in invitation.body
    assert f"/o/acme/surveys/{survey.pk}/preview/" in invitation.body
    with tenant.scope():
        assert not Invitation.objects.exists() and not Round.objects.filter(survey=survey).exists()


def test_launch_says_when_and_for_whom_before_it_plans_the_first_round(login, tenant):
    client = login(tenant.hr)
    survey = _create(client, tenant)
    confirm = client.get(url(tenant, f"surveys/{survey.pk}/launch/")).content.decode()
    assert "Launch “Team pulse”?" in confirm and "Round 1 opens on" in confirm
    assert re.search(r"\d+ people in the whole organisation get an e-mail", confirm)
    with tenant.scope():
        assert not Round.objects.filter(survey=survey).exists()
    response = client.post(url(tenant, f"surveys/{survey.pk}/launch/"), follow=True)
    assert "“Team pulse” is launched. Round 1 opens" in response.content.decode()
    with tenant.scope():
        survey.refresh_from_db()
        assert not survey.is_draft
        assert Round.objects.get(survey=survey).status == RoundStatus.SCHEDULED
    # Launching again changes nothing.
    again = client.post(url(tenant, f"surveys/{survey.pk}/launch/"), follow=True).content.decode()
    assert "already launched" in again


def test_a_first_round_whose_time_has_come_opens_as_soon_as_the_survey_is_launched(login, tenant, monkeypatch):
    client = login(tenant.hr)
    survey = _create(client, tenant)
    now = timezone.now()
    past = Window(opens_at=now - dt.timedelta(hours=5), closes_at=now + dt.timedelta(days=4))
    monkeypatch.setattr(survey_views, "round_window_if_launched_now", lambda survey: past)
    confirm = re.sub(r"\s+", " ", client.get(url(tenant, f"surveys/{survey.pk}/launch/")).content.decode())
    assert "Round 1 opens <strong>as soon as you launch it</strong>" in confirm and "Round 1 opens on" not in confirm


def test_pause_and_resume(login, tenant):
    client = login(tenant.hr)
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org, name="Running pulse")
        from surveys.services.rounds import round_schedule_next

        round_schedule_next(survey=survey)
    client.post(url(tenant, f"surveys/{survey.pk}/pause/"))
    with tenant.scope():
        survey.refresh_from_db()
        assert not survey.is_active and not Round.objects.filter(survey=survey, status=RoundStatus.SCHEDULED).exists()
    page = client.get(url(tenant, f"surveys/{survey.pk}/")).content.decode()
    assert "Paused." in page and "Resume" in page
    client.post(url(tenant, f"surveys/{survey.pk}/pause/"), {"resume": "1"})
    with tenant.scope():
        survey.refresh_from_db()
        assert survey.is_active and Round.objects.filter(survey=survey, status=RoundStatus.SCHEDULED).exists()


def test_hr_s_own_words_open_the_invitation_and_the_reminder(login, tenant):
    client = login(tenant.hr)
    form = client.get(url(tenant, "surveys/new/")).content.decode()
    assert "Invitation and reminder" in form and 'id="invitation-preview"' in form
    # The preview button re-draws the page with the typed words and saves nothing.
    data = form_data(invitation_text="Our own opening.", reminder_text="A nudge from us.", preview="1")
    preview = client.post(url(tenant, "surveys/new/"), data).content.decode()
    assert "Our own opening." in preview and "A nudge from us." in preview
    with tenant.scope():
        assert not Survey.objects.exists()
    # The live preview answers with both texts.
    live = client.post(url(tenant, "surveys/messages/preview/"), data).json()
    assert "Our own opening." in live["invitation"] and "A nudge from us." in live["reminder"]
    assert "[your personal link]" in live["invitation"]


def test_bad_words_are_refused_and_kept(login, tenant):
    client = login(tenant.hr)
    page = client.post(url(tenant, "surveys/new/"), form_data(invitation_text="x" * 1300)).content.decode()
    assert "Keep it to 1,200 characters" in page and "x" * 1300 in page
    with tenant.scope():
        assert not Survey.objects.exists()


def test_other_organisations_and_employees_reach_none_of_it(login, tenant, other_tenant):
    with other_tenant.scope():
        theirs = SurveyFactory(organization=other_tenant.org, launched_at=None)
    client = login(tenant.hr)
    for suffix in ("preview/", "launch/"):
        assert client.get(url(tenant, f"surveys/{theirs.pk}/{suffix}")).status_code == 404
    for suffix in ("test/", "pause/"):
        assert client.post(url(tenant, f"surveys/{theirs.pk}/{suffix}")).status_code == 404
    assert login(tenant.employee).post(url(tenant, "surveys/messages/preview/"), {}).status_code == 403
