"""The three jobs: opening (snapshot, k lock, invitations), half-way reminders, closing.

Every job is run twice somewhere below: the second run must send and create nothing."""

import datetime as dt
import re
import time

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.core import mail
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from surveys import tasks
from surveys.core.tenancy import OrganizationScopeError, organization_scope
from surveys.core.tokens import invitation_path, token_hash
from surveys.models import (
    Invitation,
    Participation,
    Question,
    Round,
    RoundQuestion,
    RoundStatus,
    RoundTeam,
    Survey,
    SurveyQuestion,
)
from surveys.services import jobs
from surveys.services import rounds as round_services
from surveys.services.invitations import round_invitations_send, round_reminders_send
from surveys.services.organization import organization_update
from tests.support.concurrency import at_once
from tests.support.factories import MembershipFactory, RoundFactory, SurveyFactory, UserFactory, invite, scheduled_round
from wellbeing.celery import app

LINK = re.compile(re.escape(settings.PULSE_BASE_URL) + r"/answer/(?P<slug>[a-z0-9-]+)/(?P<token>[A-Za-z0-9_-]{40,})/")
NOW = timezone.now


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a block as if outside a test transaction: on_commit work (sending) happens."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def run(commit):
    """run(job, **kwargs): one run of a job, as beat or cron would run it."""

    def run_job(job, **kwargs):
        with commit():
            return job(**kwargs)

    return run_job


def links_by_email(messages) -> dict[str, str]:
    return {message.to[0]: LINK.search(message.body)["token"] for message in messages}


def acme_people(tenant):
    return {tenant.employee, tenant.manager, tenant.hr, tenant.admin}


# --- opening -------------------------------------------------------------------------------


def test_open_job_opens_only_due_rounds_and_schedules_the_next(tenant, run):
    due_survey = SurveyFactory(organization=tenant.org, name="Due")
    later_survey = SurveyFactory(organization=tenant.org, name="Later")
    due = scheduled_round(due_survey)
    later = scheduled_round(later_survey, opens_in=dt.timedelta(days=2))

    report = run(jobs.rounds_open_due)

    due.refresh_from_db()
    later.refresh_from_db()
    assert report.opened == 1
    assert due.status == RoundStatus.OPEN and due.opened_at is not None
    assert later.status == RoundStatus.SCHEDULED and later.opened_at is None
    with tenant.scope():
        following = Round.objects.get(survey=due_survey, status=RoundStatus.SCHEDULED)
    assert following.number == 2 and following.opens_at >= due.closes_at


def test_opening_snapshots_active_members_of_the_subtree_who_have_a_team(tenant, run):
    survey = SurveyFactory(organization=tenant.org, root_team=tenant.engineering)
    round_ = scheduled_round(survey)
    product_person = MembershipFactory(organization=tenant.org, team=tenant.product)
    MembershipFactory(organization=tenant.org, team=tenant.product, is_active=False)
    MembershipFactory(organization=tenant.org, team=None)
    MembershipFactory(organization=tenant.org, team=tenant.platform, user=UserFactory(is_active=False))

    run(jobs.rounds_open_due)

    with tenant.scope():
        invited = {(i.membership_id, i.team_id) for i in Invitation.objects.filter(round=round_)}
    # HR and admin sit in the root team, outside Engineering: not invited.
    assert invited == {
        (tenant.employee.pk, tenant.platform.pk),
        (tenant.manager.pk, tenant.engineering.pk),
        (product_person.pk, tenant.product.pk),
    }
    round_.refresh_from_db()
    assert round_.invited_count == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [tenant.employee.user.email, tenant.manager.user.email, product_person.user.email]
    )


def test_opening_counts_the_invited_people_of_each_team_beside_the_invitations(tenant, other_tenant, run):
    survey = SurveyFactory(organization=tenant.org)
    round_ = scheduled_round(survey)
    theirs = scheduled_round(SurveyFactory(organization=other_tenant.org))
    MembershipFactory(organization=tenant.org, team=tenant.platform)

    run(jobs.rounds_open_due)

    with tenant.scope():
        snapshot = dict(RoundTeam.objects.filter(round=round_).values_list("team_id", "invited"))
        counted = Invitation.objects.filter(round=round_).values_list("team_id").annotate(n=Count("id"))
        assert {team: n for team, n in snapshot.items() if n} == dict(counted.order_by())
        # Employee and the new person in Platform, the manager in Engineering, HR and admin at the
        # root; Product is in the frozen tree with nobody invited.
        assert snapshot == {tenant.platform.pk: 2, tenant.engineering.pk: 1, tenant.root.pk: 2, tenant.product.pk: 0}
        assert sum(snapshot.values()) == Round.objects.get(pk=round_.pk).invited_count
        parents = dict(RoundTeam.objects.filter(round=round_).values_list("team_id", "parent_id"))
        assert parents == {
            team.pk: team.parent_id for team in (tenant.root, tenant.engineering, tenant.platform, tenant.product)
        }
    with other_tenant.scope():
        assert set(RoundTeam.objects.filter(round=theirs).values_list("team_id", flat=True)) == {
            other_tenant.platform.pk,
            other_tenant.product.pk,
            other_tenant.engineering.pk,
            other_tenant.root.pk,
        }
    # Opening again changes nothing: the round is no longer scheduled.
    run(jobs.rounds_open_due)
    with tenant.scope():
        assert dict(RoundTeam.objects.filter(round=round_).values_list("team_id", "invited")) == snapshot


def test_the_team_a_person_counts_for_is_frozen_when_the_round_opens(tenant, run):
    round_ = scheduled_round(SurveyFactory(organization=tenant.org))
    run(jobs.rounds_open_due)
    with tenant.scope():
        tenant.employee.team = tenant.product
        tenant.employee.save()
        assert Invitation.objects.get(round=round_, membership=tenant.employee).team == tenant.platform


def test_opening_locks_k_and_freezes_the_questions(tenant, run):
    organization_update(organization=tenant.org, name="Acme", k=6, k_comments=12, support_text="", support_links="")
    survey = SurveyFactory(organization=tenant.org)
    round_ = scheduled_round(survey)
    run(jobs.rounds_open_due)
    organization_update(organization=tenant.org, name="Acme", k=3, k_comments=3, support_text="", support_links="")
    with tenant.scope():
        survey.survey_questions.filter(position__gte=5).delete()
        round_.refresh_from_db()
        frozen = list(RoundQuestion.objects.filter(round=round_).values_list("question__code", flat=True))
    assert (round_.k, round_.k_comments) == (6, 12)
    assert len(frozen) == 12 and frozen[:2] == ["aut-1", "aut-2"]


def test_invitation_emails_carry_a_link_whose_hash_is_stored_and_are_sent_once(tenant, run):
    round_ = scheduled_round(SurveyFactory(organization=tenant.org, name="Team pulse"))
    run(jobs.rounds_open_due)

    assert len(mail.outbox) == 4
    with tenant.scope():
        invitations = {i.membership.user.email: i for i in Invitation.objects.filter(round=round_)}
    for message in mail.outbox:
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html"
        match = LINK.search(message.body)
        assert match and match["slug"] == "acme"
        assert match.group(0) in html
        invitation = invitations[message.to[0]]
        assert invitation.token_hash == token_hash(match["token"])
        assert invitation.sent_at is not None
        assert "Team pulse" in message.body and "12 short questions, about 3 minutes" in message.body
        assert "at least 5 people" in message.body and "only after the round closes" in message.body
        assert "not linked to you" in message.body and "no list of who answered" in message.body
        assert timezone.localtime(round_.closes_at).strftime("%H:%M") in message.body
        assert match["token"] not in str(Invitation.all_organizations.values_list("token_hash", flat=True))

    run(jobs.rounds_open_due)
    run(jobs.rounds_open_due, now=NOW() + dt.timedelta(hours=1))
    assert len(mail.outbox) == 4
    with tenant.scope():
        assert Invitation.objects.filter(round=round_).count() == 4
        assert Round.objects.filter(survey=round_.survey).count() == 2  # the open one and the next


def test_every_link_is_different(tenant, run):
    scheduled_round(SurveyFactory(organization=tenant.org))
    run(jobs.rounds_open_due)
    tokens = list(links_by_email(mail.outbox).values())
    assert len(set(tokens)) == len(tokens) == 4


def test_a_round_opened_late_with_less_than_half_its_time_left_gets_its_full_window(tenant, run):
    round_ = scheduled_round(SurveyFactory(organization=tenant.org, open_days=4), opens_in=dt.timedelta(days=-3))
    now = NOW()
    run(jobs.rounds_open_due, now=now)
    round_.refresh_from_db()
    assert round_.opens_at == now and round_.closes_at == now + dt.timedelta(days=4)


def test_a_round_is_not_opened_while_the_previous_one_is_still_open(tenant, run):
    survey = SurveyFactory(organization=tenant.org)
    RoundFactory(survey=survey, number=1)
    waiting = scheduled_round(survey, number=2)
    report = run(jobs.rounds_open_due)
    waiting.refresh_from_db()
    assert report.opened == 0 and waiting.status == RoundStatus.SCHEDULED


def test_paused_surveys_and_inactive_organizations_open_nothing(tenant, other_tenant, run):
    paused = scheduled_round(SurveyFactory(organization=tenant.org, is_active=False))
    theirs = scheduled_round(SurveyFactory(organization=other_tenant.org))
    other_tenant.org.is_active = False
    other_tenant.org.save()
    run(jobs.rounds_open_due)
    for round_ in (paused, theirs):
        round_.refresh_from_db()
        assert round_.status == RoundStatus.SCHEDULED
    assert mail.outbox == []


def test_the_open_job_schedules_a_round_for_a_survey_that_has_none(tenant, run):
    survey = SurveyFactory(organization=tenant.org, starts_on=timezone.localdate() + dt.timedelta(days=3))
    report = run(jobs.rounds_open_due)
    assert report.scheduled == 1
    with tenant.scope():
        round_ = Round.objects.get(survey=survey)
    assert round_.status == RoundStatus.SCHEDULED and round_.number == 1
    assert timezone.localtime(round_.opens_at).date() == survey.starts_on
    assert timezone.localtime(round_.opens_at).hour == settings.PULSE_ROUND_OPEN_HOUR


# --- cross-tenant --------------------------------------------------------------------------


def test_jobs_keep_each_organizations_rounds_to_its_own_people(tenant, other_tenant, run):
    ours = scheduled_round(SurveyFactory(organization=tenant.org))
    theirs = scheduled_round(SurveyFactory(organization=other_tenant.org))
    run(jobs.rounds_open_due)

    for round_, own in ((ours, tenant), (theirs, other_tenant)):
        invitations = Invitation.all_organizations.filter(round=round_)
        assert {i.organization_id for i in invitations} == {own.org.pk}
        assert {i.membership_id for i in invitations} == {m.pk for m in acme_people(own)}
    by_domain = {message.to[0].split("@")[1]: LINK.search(message.body)["slug"] for message in mail.outbox}
    assert by_domain == {"acme.test": "acme", "globex.test": "globex"}


def test_opening_one_organizations_round_never_touches_anothers(tenant, other_tenant, commit):
    ours = scheduled_round(SurveyFactory(organization=tenant.org))
    theirs = scheduled_round(SurveyFactory(organization=other_tenant.org))
    with tenant.scope(), commit():
        round_services.round_open(round_=ours)
        with pytest.raises(ObjectDoesNotExist):
            round_services.round_open(round_=theirs)
    theirs.refresh_from_db()
    assert theirs.status == RoundStatus.SCHEDULED
    assert not Invitation.all_organizations.filter(organization=other_tenant.org).exists()
    assert all(message.to[0].endswith("@acme.test") for message in mail.outbox)


def test_the_per_round_tasks_run_in_the_rounds_own_organization(tenant, other_tenant):
    theirs = RoundFactory(survey=SurveyFactory(organization=other_tenant.org))
    for membership in acme_people(other_tenant):
        invite(theirs, membership)
    with tenant.scope(), pytest.raises(OrganizationScopeError):
        tasks.round_invitations_send.delay(theirs.pk)
    assert mail.outbox == []
    assert tasks.round_invitations_send.delay(theirs.pk).get() == 4
    assert all(message.to[0].endswith("@globex.test") for message in mail.outbox)


# --- sending failures ----------------------------------------------------------------------


class FailsAfterTwoBackend(LocmemBackend):
    """A mail server that accepts two messages, then falls over."""

    def send_messages(self, messages):
        if len(mail.outbox) >= 2:
            raise OSError("mail server went away")
        return super().send_messages(messages)


def test_a_mail_failure_keeps_what_was_sent_and_the_retry_sends_only_the_rest(tenant, settings):
    round_ = scheduled_round(SurveyFactory(organization=tenant.org))
    settings.EMAIL_BACKEND = "tests.test_jobs.FailsAfterTwoBackend"
    with tenant.scope():
        round_services.round_open(round_=round_)  # outside commit(): the sending is called below
    with tenant.scope(), pytest.raises(OSError):
        round_invitations_send(round_=round_)
    first = links_by_email(mail.outbox)
    assert len(first) == 2
    with tenant.scope():
        assert Invitation.objects.filter(round=round_, sent_at__isnull=False).count() == 2
        for email, token in first.items():
            assert Invitation.objects.get(round=round_, membership__user__email=email).token_hash == token_hash(token)

    with pytest.raises(Retry):  # the task retries mail-server failures later
        tasks.round_invitations_send.apply(args=[round_.pk], throw=True)
    assert len(mail.outbox) == 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.round_invitations_send.delay(round_.pk).get() == 2
    assert len(mail.outbox) == 4 and len({m.to[0] for m in mail.outbox}) == 4


def test_the_open_job_retries_invitations_left_unsent(tenant, settings, run):
    round_ = scheduled_round(SurveyFactory(organization=tenant.org))
    settings.EMAIL_BACKEND = "tests.test_jobs.FailsAfterTwoBackend"
    opened_at = NOW() - dt.timedelta(hours=1)
    run(jobs.rounds_open_due, now=opened_at)  # the failure is logged
    assert len(mail.outbox) == 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    report = run(jobs.rounds_open_due)
    assert report.rounds_resent == 1
    assert len({m.to[0] for m in mail.outbox}) == len(mail.outbox) == 4
    with tenant.scope():
        assert not Invitation.objects.filter(round=round_, sent_at__isnull=True).exists()


# --- reminders -----------------------------------------------------------------------------


def open_round_with_invitations(tenant, commit, *, started_days_ago, days=4):
    round_ = scheduled_round(
        SurveyFactory(organization=tenant.org, open_days=days), opens_in=dt.timedelta(days=-started_days_ago), days=days
    )
    with tenant.scope(), commit():
        round_services.round_open(round_=round_, now=round_.opens_at + dt.timedelta(minutes=1))
    round_.refresh_from_db()
    return round_


def test_no_reminder_before_half_way(tenant, run, commit):
    round_ = open_round_with_invitations(tenant, commit, started_days_ago=1)
    mail.outbox.clear()
    report = run(jobs.reminders_send)
    assert report.rounds_reminded == 0 and mail.outbox == []
    round_.refresh_from_db()
    assert round_.reminders_sent_at is None


def test_half_way_the_same_reminder_to_everyone_invited_answered_or_not_with_a_new_link(tenant, run, commit, client):
    """No list of who has not answered may exist, not even in mail logs: everyone invited gets
    the reminder, and the link of someone who answered says so."""
    round_ = open_round_with_invitations(tenant, commit, started_days_ago=3)
    first_links = links_by_email(mail.outbox)
    mail.outbox.clear()
    with tenant.scope():
        Participation.objects.create(round=round_, membership=tenant.manager)
        before = {i.membership_id: i.token_hash for i in Invitation.objects.filter(round=round_)}

    report = run(jobs.reminders_send)

    assert report.rounds_reminded == 1
    reminded = links_by_email(mail.outbox)
    everyone = {m.user.email for m in (tenant.employee, tenant.manager, tenant.hr, tenant.admin)}
    assert set(reminded) == everyone
    bodies = {message.to[0]: message.body for message in mail.outbox}
    assert bodies[tenant.manager.user.email] == bodies[tenant.employee.user.email].replace(
        reminded[tenant.employee.user.email], reminded[tenant.manager.user.email]
    ).replace(tenant.employee.user.get_short_name(), tenant.manager.user.get_short_name())
    with tenant.scope():
        for invitation in Invitation.objects.filter(round=round_).select_related("membership__user"):
            email = invitation.membership.user.email
            assert invitation.token_hash == token_hash(reminded[email]) != before[invitation.membership_id]
            assert invitation.previous_token_hash == before[invitation.membership_id]
            assert invitation.previous_token_hash == token_hash(first_links[email])
            assert invitation.reminded_at is not None
    for message in mail.outbox:
        assert "reminder" in message.body.lower() and "replaces" in message.body
        assert "says nothing about whether you answered" in message.body
        assert message.alternatives[0][1] == "text/html" and LINK.search(message.alternatives[0][0])
    round_.refresh_from_db()
    assert round_.reminders_sent_at is not None
    # The manager, who answered, follows the reminder's link: it says so.
    page = client.get(invitation_path(org_slug="acme", token=reminded[tenant.manager.user.email]))
    assert b"already answered" in page.content

    mail.outbox.clear()
    run(jobs.reminders_send)
    with tenant.scope():
        round_reminders_send(round_=round_)
    assert mail.outbox == []


def test_people_who_left_after_the_round_opened_get_no_reminder(tenant, run, commit):
    round_ = open_round_with_invitations(tenant, commit, started_days_ago=3)
    mail.outbox.clear()
    tenant.admin.is_active = False
    tenant.admin.save()
    tenant.hr.user.is_active = False
    tenant.hr.user.save()
    run(jobs.reminders_send)
    assert set(links_by_email(mail.outbox)) == {tenant.employee.user.email, tenant.manager.user.email}
    round_.refresh_from_db()
    assert round_.reminders_sent_at is not None


def test_reminders_stop_once_the_round_has_closed(tenant, run, commit):
    round_ = open_round_with_invitations(tenant, commit, started_days_ago=3)
    mail.outbox.clear()
    run(jobs.rounds_close_due, now=round_.closes_at)
    mail.outbox.clear()  # what the publication sent
    run(jobs.reminders_send)
    assert mail.outbox == []


# --- closing -------------------------------------------------------------------------------


def test_close_job_closes_only_rounds_whose_time_is_up_and_hands_each_over_once(tenant, other_tenant, enqueued, run):
    now = NOW()
    over = RoundFactory(
        survey=SurveyFactory(organization=tenant.org), opens_at=now - dt.timedelta(days=5), closes_at=now
    )
    theirs_over = RoundFactory(
        survey=SurveyFactory(organization=other_tenant.org),
        opens_at=now - dt.timedelta(days=5),
        closes_at=now - dt.timedelta(minutes=3),
    )
    running = RoundFactory(survey=SurveyFactory(organization=tenant.org))
    waiting = scheduled_round(SurveyFactory(organization=tenant.org), opens_in=dt.timedelta(days=-9))

    report = run(jobs.rounds_close_due, now=now)
    run(jobs.rounds_close_due, now=now + dt.timedelta(minutes=5))

    assert report.closed == 2
    for round_, status in ((over, "closed"), (theirs_over, "closed"), (running, "open"), (waiting, "scheduled")):
        round_.refresh_from_db()
        assert round_.status == status, round_
    assert over.closed_at == now and over.closes_at == now
    handed_over = [args[0] for task, args in enqueued if task == "surveys.tasks.round_aggregate"]
    assert sorted(handed_over) == sorted([over.pk, theirs_over.pk])


def test_closing_early_ends_the_window_now(tenant):
    round_ = RoundFactory(survey=SurveyFactory(organization=tenant.org))
    now = NOW()
    with tenant.scope():
        round_services.round_close(round_=round_, now=now)
    round_.refresh_from_db()
    assert round_.status == RoundStatus.CLOSED and round_.closes_at == now == round_.closed_at


# --- commands and beat ---------------------------------------------------------------------


def test_each_job_is_a_management_command_for_cron(tenant, capsys, commit):
    scheduled_round(SurveyFactory(organization=tenant.org))
    with commit():
        call_command("rounds_open_due")
    assert "1 opened" in capsys.readouterr().out
    assert len(mail.outbox) == 4  # no broker: the sending task ran in process
    call_command("reminders_send")
    call_command("rounds_close_due")
    assert "nothing due" in capsys.readouterr().out


def test_the_beat_schedule_runs_the_jobs_and_the_safety_nets():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    jobs = {
        "surveys.tasks.rounds_open_due",
        "surveys.tasks.rounds_close_due",
        "surveys.tasks.reminders_send",
        "surveys.tasks.plan_reminders_send",
        "surveys.tasks.participation_snapshots_take",
    }
    nets = {
        "surveys.tasks.rounds_aggregate_pending",
        "surveys.tasks.roster_imports_tend",
        "delivery.tasks.messages_resume",
    }
    housekeeping = {"surveys.tasks.answers_purge_due"}  # retention: within the hour is soon enough
    assert set(schedule) == jobs | nets | housekeeping
    assert set(schedule) <= set(app.tasks)
    assert all(schedule[task] <= 15 * 60 for task in jobs)
    assert all(schedule[task] <= 60 * 60 for task in housekeeping)


def test_the_job_tasks_run(tenant):
    scheduled_round(SurveyFactory(organization=tenant.org))
    assert tasks.rounds_open_due.delay().get() == "1 opened"
    assert tasks.reminders_send.delay().get() == "nothing due"
    assert tasks.rounds_close_due.delay().get() == "nothing due"
    assert tasks.participation_snapshots_take.delay().get() == "1 estimates taken"


# --- PostgreSQL: two workers at once ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_open_jobs_at_once_open_and_invite_once(postgres, question_bank, tenant):
    for n in range(30):
        MembershipFactory(organization=tenant.org, team=tenant.product, user__email=f"p{n}@acme.test")
    round_ = scheduled_round(SurveyFactory(organization=tenant.org))
    _, errors = at_once(jobs.rounds_open_due)
    assert errors == []
    assert Invitation.all_organizations.filter(round=round_).count() == 34
    assert sorted(m.to[0] for m in mail.outbox) == sorted({m.to[0] for m in mail.outbox})
    assert len(mail.outbox) == 34
    assert Round.all_organizations.filter(survey=round_.survey, status=RoundStatus.SCHEDULED).count() == 1
    with organization_scope(tenant.org):
        asked = SurveyQuestion.objects.filter(survey=round_.survey).count()
        assert asked == Question.objects.filter(is_core=True).count()
        assert RoundQuestion.objects.filter(round=round_).count() == asked
        assert Survey.objects.count() == 1 and Question.objects.filter(organization=tenant.org).count() == 0


class SlowBackend(LocmemBackend):
    def send_messages(self, messages):
        time.sleep(0.005)
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_email_each_person_once_with_the_stored_link(
    postgres, question_bank, tenant, settings, enqueued
):
    settings.EMAIL_BACKEND = "tests.test_jobs.SlowBackend"
    settings.PULSE_EMAIL_BATCH_SIZE = 5
    for n in range(40):
        MembershipFactory(organization=tenant.org, team=tenant.product, user__email=f"p{n}@acme.test")
    round_ = scheduled_round(SurveyFactory(organization=tenant.org))
    with tenant.scope():
        round_services.round_open(round_=round_)
    counts, errors = at_once(lambda: tasks.round_invitations_send(round_.pk))
    assert errors == [] and sum(counts) == 44
    links = links_by_email(mail.outbox)
    assert len(mail.outbox) == len(links) == 44
    stored = dict(
        Invitation.all_organizations.filter(round=round_).values_list("membership__user__email", "token_hash")
    )
    assert stored == {email: token_hash(token) for email, token in links.items()}


def test_the_jobs_command_runs_every_scheduled_job_in_process(tenant, capsys):
    from django.core.management import call_command

    scheduled_round(SurveyFactory(organization=tenant.org))
    call_command("jobs")
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == [
        entry["task"].rpartition(".")[2] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    ]
    assert "rounds_open_due: 1 opened" in out
