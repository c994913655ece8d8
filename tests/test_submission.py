"""Submitting a pulse: exactly one anonymous response per person, nothing stored on bad input,
and nothing in the database that links what was said to who said it."""

import datetime as dt
import threading
import uuid

import pytest
from django.db import OperationalError, connection, transaction

from surveys.access import access_invitation
from surveys.core.exceptions import PulseError
from surveys.core.tokens import token_hash
from surveys.models import Answer, Comment, Participation, Question, Response, RoundStatus
from surveys.services.responses import _round_hold_open, response_submit
from tests.support.factories import MembershipFactory, invite
from tests.support.pulses import form, open_pulse, stored

NOTHING = {"Participation": 0, "Response": 0, "Answer": 0, "Comment": 0}


def test_a_submission_writes_one_participation_and_one_anonymous_response_with_the_team_snapshot(
    client, tenant, other_tenant
):
    pulse = open_pulse(tenant)
    assert pulse.invitation.team == tenant.platform
    tenant.employee.team = tenant.product  # moved after the round opened: still counts for Platform
    tenant.employee.save()
    response = client.post(
        pulse.url, form(pulse, [5, 4, None, 2, 1, None, 3, 3, 1, 2, 5, 4], comment="  More quiet time.\r\n ")
    )
    assert response.status_code == 302 and response["Location"] == pulse.thanks_url
    assert stored() == {"Participation": 1, "Response": 1, "Answer": 10, "Comment": 1}
    participation = Participation.all_organizations.get()
    assert (participation.round, participation.membership) == (pulse.round, tenant.employee)
    said = Response.all_organizations.get()
    assert (said.organization, said.round, said.team) == (tenant.org, pulse.round, tenant.platform)
    answers = Answer.all_organizations.filter(response=said)
    assert {(a.round_id, a.team_id, a.organization_id) for a in answers} == {
        (pulse.round.pk, tenant.platform.pk, tenant.org.pk)
    }
    chosen = zip(pulse.question_ids, [5, 4, None, 2, 1, None, 3, 3, 1, 2, 5, 4], strict=True)
    assert {a.question_id: a.value for a in answers} == {qid: value for qid, value in chosen if value}
    comment = Comment.all_organizations.get()
    assert (comment.round, comment.team, comment.text) == (pulse.round, tenant.platform, "More quiet time.")


def test_only_a_comment_is_a_submission_too(client, tenant):
    pulse = open_pulse(tenant)
    assert client.post(pulse.url, form(pulse, comment="Thanks for asking.")).status_code == 302
    assert stored() == {"Participation": 1, "Response": 1, "Answer": 0, "Comment": 1}


def test_a_second_submission_is_already_answered_and_stores_nothing_new(client, tenant):
    pulse = open_pulse(tenant)
    client.post(pulse.url, form(pulse, [4, 4], comment="first"))
    before = stored()
    again = client.post(pulse.url, form(pulse, [1, 1], comment="second"))
    assert again.status_code == 409
    assert b"You have already answered this pulse, thank you" in again.content
    assert stored() == before
    with pytest.raises(PulseError) as raised:
        response_submit(invitation=pulse.invitation, answers={pulse.question_ids[0]: 2}, comment="")
    assert raised.value.code == "already_answered"
    assert stored() == before


BAD_FORMS = {
    "value above the scale": (lambda p: form(p, [6]), "answer_invalid"),
    "value zero": (lambda p: form(p, [0]), "answer_invalid"),
    "not a number": (lambda p: form(p, ["abc"]), "answer_invalid"),
    "not a whole number": (lambda p: form(p, ["2.5"]), "answer_invalid"),
    "negative": (lambda p: form(p, ["-1"]), "answer_invalid"),
    "question not in the round": (
        lambda p: {**form(p, [3]), f"q{Question.all_organizations.get(code='aut-3').pk}": "4"},
        "question_unknown",
    ),
    "question that does not exist": (lambda p: {**form(p, [3]), "q999999": "4"}, "question_unknown"),
    "two answers to one question": (
        lambda p: {**form(p), f"q{p.question_ids[0]}": ["2", "5"]},
        "answer_invalid",
    ),
    "comment too long": (lambda p: form(p, [3], comment="x" * 2001), "comment_too_long"),
    "nothing answered and no comment": (lambda p: form(p, comment="  \r\n "), "empty_submission"),
}


@pytest.mark.parametrize("case", BAD_FORMS, ids=list(BAD_FORMS))
def test_bad_input_stores_nothing_and_re_renders_what_was_entered(case, client, tenant):
    pulse = open_pulse(tenant)
    make, code = BAD_FORMS[case]
    data = make(pulse)
    data[f"q{pulse.question_ids[1]}"] = "4"
    data["comment"] = data["comment"] or "Kept while I fix it."
    if code == "empty_submission":
        data[f"q{pulse.question_ids[1]}"], data["comment"] = "skip", ""
    page = client.post(pulse.url, data)
    assert page.status_code == 400
    assert stored() == NOTHING
    html = page.content.decode()
    assert '<div class="callout error" role="alert" id="answer-error"' in html
    assert "Your answers have not been sent yet." in html
    if case != "two answers to one question":  # the form refuses that one before the service
        with pytest.raises(PulseError) as raised:
            response_submit(invitation=pulse.invitation, answers=_answers(data), comment=data["comment"])
        assert raised.value.code == code
        assert raised.value.message in html.replace("&#x27;", "'").replace("&quot;", '"')
    if code != "empty_submission":
        assert f'name="q{pulse.question_ids[1]}" value="4" checked>' in html
        assert data["comment"][:100] in html
    assert stored() == NOTHING


def _answers(data):
    return {key[1:]: value for key, value in data.items() if key.startswith("q") and isinstance(value, str)}


@pytest.mark.parametrize("value", [7, 0, -3, True, 2.5, "3.0", " ", "٣", None])
def test_the_service_takes_only_whole_numbers_from_1_to_5(value, tenant):
    pulse = open_pulse(tenant)
    answers = {pulse.question_ids[0]: value, pulse.question_ids[1]: 4}
    if value is None:  # None means skipped: the other answer goes in
        response_submit(invitation=pulse.invitation, answers=answers, comment="")
        assert stored()["Answer"] == 1
        return
    with pytest.raises(PulseError) as raised:
        response_submit(invitation=pulse.invitation, answers=answers, comment="")
    assert raised.value.code == "answer_invalid"
    assert stored() == NOTHING


def test_a_comment_at_the_limit_passes_even_with_browser_line_breaks(client, tenant):
    pulse = open_pulse(tenant)
    text = ("y" * 99 + "\r\n") * 20  # 2,000 characters as typed, 2,020 as posted
    assert client.post(pulse.url, form(pulse, comment=text)).status_code == 302
    assert len(Comment.all_organizations.get().text) == 1999  # trailing line break stripped


def test_a_comment_is_refused_when_the_survey_takes_none(tenant):
    pulse = open_pulse(tenant, comments_enabled=False)
    with pytest.raises(PulseError) as raised:
        response_submit(invitation=pulse.invitation, answers={pulse.question_ids[0]: 3}, comment="Hello")
    assert raised.value.code == "comments_disabled"
    assert stored() == NOTHING


@pytest.mark.parametrize(
    ("status", "shift", "code", "text"),
    [
        (RoundStatus.SCHEDULED, dt.timedelta(days=2), "round_not_open", b"This pulse is not open yet"),
        (RoundStatus.OPEN, dt.timedelta(days=2), "round_not_open", b"This pulse is not open yet"),
        (RoundStatus.CLOSED, dt.timedelta(0), "round_closed", b"This pulse has closed"),
        (RoundStatus.PUBLISHED, dt.timedelta(0), "round_closed", b"This pulse has closed"),
        (RoundStatus.OPEN, -dt.timedelta(days=10), "round_closed", b"This pulse has closed"),
    ],
    ids=["scheduled", "open-but-before-its-window", "closed", "published", "open-but-past-its-window"],
)
def test_a_round_that_is_not_open_takes_nothing(status, shift, code, text, client, tenant):
    pulse = open_pulse(tenant)
    pulse.round.status = status
    pulse.round.opens_at += shift
    pulse.round.closes_at += shift
    pulse.round.save()
    page = client.post(pulse.url, form(pulse, [3, 3], comment="hello"))
    assert page.status_code == 409 and text in page.content
    assert stored() == NOTHING
    with pytest.raises(PulseError) as raised:
        response_submit(invitation=pulse.invitation, answers={pulse.question_ids[0]: 3}, comment="")
    assert raised.value.code == code
    assert stored() == NOTHING


def test_a_replaced_link_cannot_submit(client, tenant):
    pulse = open_pulse(tenant)
    pulse.invitation.token_hash = token_hash("the reminder's new link")
    pulse.invitation.save()
    page = client.post(pulse.url, form(pulse, [3]))
    assert page.status_code == 404 and b"This link does not work" in page.content
    assert stored() == NOTHING
    with pytest.raises(PulseError) as raised:
        access_invitation(org_slug="acme", token=pulse.token)
    assert raised.value.code == "link_invalid"


def test_a_forged_link_cannot_submit(client, tenant):
    open_pulse(tenant)
    page = client.post("/answer/acme/not-a-real-token/", {"comment": "hello"})
    assert page.status_code == 404
    assert stored() == NOTHING


def test_another_organisations_link_does_not_work_under_this_organisations_address(client, tenant, other_tenant):
    theirs = open_pulse(other_tenant)
    ours = open_pulse(tenant)
    for url in (f"/answer/acme/{theirs.token}/", f"/answer/globex/{ours.token}/"):
        page = client.post(url, form(theirs, [3], comment="hello"))
        assert page.status_code == 404 and b"This link does not work" in page.content
    assert stored() == NOTHING


def test_the_signed_in_route_submits_with_the_same_rules(login, tenant):
    pulse = open_pulse(tenant)
    client = login(tenant.employee)
    url = f"/o/acme/pulses/{pulse.round.pk}/"
    assert client.post(url, form(pulse, [9])).status_code == 400
    assert stored() == NOTHING
    assert client.post(url, form(pulse, [2])).status_code == 302
    assert client.post(url, form(pulse, [2])).status_code == 409
    # The link and the signed-in route are one invitation: answering by one closes the other.
    assert b"already answered" in client.get(pulse.url).content
    assert stored() == {"Participation": 1, "Response": 1, "Answer": 1, "Comment": 0}


# --- Structure: what is stored cannot be joined to a person ------------------------------------

ALLOWED_COLUMNS = {
    Response: {"id", "organization_id", "round_id", "team_id"},
    Answer: {"id", "organization_id", "round_id", "team_id", "response_id", "question_id", "value"},
    Comment: {"id", "organization_id", "round_id", "team_id", "text"},
}
ALLOWED_TARGETS = {"surveys_organization", "surveys_round", "surveys_team", "surveys_question", "surveys_response"}


def test_the_tables_of_what_was_said_have_no_column_that_reaches_a_person(tenant):
    with connection.cursor() as cursor:
        for model, allowed in ALLOWED_COLUMNS.items():
            table = model._meta.db_table
            columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            assert columns == allowed, table
            targets = {target for _, target in connection.introspection.get_relations(cursor, table).values()}
            assert targets <= ALLOWED_TARGETS, (table, targets)


def test_the_order_of_responses_cannot_be_matched_to_the_order_of_participations(client, tenant):
    pulse = open_pulse(tenant)
    people = [MembershipFactory(organization=tenant.org, team=tenant.platform) for _ in range(12)]
    created = []
    for person in people:
        _, token = invite(pulse.round, person)
        before = set(Response.all_organizations.values_list("id", flat=True))
        assert client.post(f"/answer/acme/{token}/", form(pulse, [3])).status_code == 302
        (new,) = set(Response.all_organizations.values_list("id", flat=True)) - before
        created.append(new)
    participations = list(Participation.all_organizations.order_by("id").values_list("membership_id", flat=True))
    assert participations == [person.pk for person in people]  # participations do follow submission order
    assert all(isinstance(key, uuid.UUID) and key.version == 4 for key in created)
    by_key = list(Response.all_organizations.order_by("id").values_list("id", flat=True))
    assert by_key != created, "responses sorted by key must not replay the submission order"
    for model in (Answer, Comment):
        assert model._meta.pk.get_internal_type() == "UUIDField"


# --- PostgreSQL: two submissions at once, and a close racing a submission ----------------------
# Threads need committed data, so these tests run outside a test transaction (and need the
# question bank put back after earlier transactional tests flushed it).


def _in_thread(target, *args):
    errors = []

    def run():
        try:
            target(*args)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@pytest.mark.postgres
def test_two_submissions_with_the_same_link_at_the_same_moment_store_one(
    postgres, transactional_db, question_bank, tenant
):
    pulse = open_pulse(tenant)
    barrier = threading.Barrier(2)
    outcomes = []

    def submit(value):
        invitation = access_invitation(org_slug="acme", token=pulse.token)
        barrier.wait()
        try:
            response_submit(invitation=invitation, answers={pulse.question_ids[0]: value}, comment=f"from {value}")
            outcomes.append("stored")
        except PulseError as error:
            outcomes.append(error.code)

    threads = [_in_thread(submit, value) for value in (1, 5)]
    for thread, errors in threads:
        thread.join(timeout=30)
        assert not errors, errors
    assert sorted(outcomes) == ["already_answered", "stored"]
    assert stored() == {"Participation": 1, "Response": 1, "Answer": 1, "Comment": 1}
    (value,) = Answer.all_organizations.values_list("value", flat=True)
    (text,) = Comment.all_organizations.values_list("text", flat=True)
    assert text == f"from {value}"  # the winner's answer and comment, nothing of the loser's


@pytest.mark.postgres
def test_closing_a_round_waits_for_submissions_under_way_but_they_do_not_wait_for_each_other(
    postgres, transactional_db, question_bank, tenant
):
    pulse = open_pulse(tenant)
    holding, release = threading.Event(), threading.Event()

    def submission_under_way():
        with transaction.atomic():
            _round_hold_open(round_id=pulse.round.pk)
            holding.set()
            release.wait(timeout=30)

    def another_submission():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '500ms'")
            _round_hold_open(round_id=pulse.round.pk)

    thread, errors = _in_thread(submission_under_way)
    assert holding.wait(timeout=30)
    try:
        other, other_errors = _in_thread(another_submission)
        other.join(timeout=30)
        assert not other_errors, "submissions must not serialise against each other"
        closing = pytest.raises(OperationalError, match="lock timeout")
        with closing, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '500ms'")
            cursor.execute("UPDATE surveys_round SET status = 'closed' WHERE id = %s", [pulse.round.pk])
    finally:
        release.set()
        thread.join(timeout=30)
    assert not errors, errors
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '5s'")
        cursor.execute("UPDATE surveys_round SET status = 'closed' WHERE id = %s", [pulse.round.pk])
    with pytest.raises(PulseError) as raised:
        response_submit(invitation=pulse.invitation, answers={pulse.question_ids[0]: 3}, comment="")
    assert raised.value.code == "round_closed"
    assert stored() == NOTHING


def test_an_invitation_round_trip_keeps_the_organisation_scope(tenant, other_tenant):
    """The service scopes itself to the invitation's organisation: it cannot be used to write into
    another organisation while serving one."""
    pulse = open_pulse(tenant)
    with other_tenant.scope(), pytest.raises(Exception, match="refusing to switch"):
        response_submit(invitation=pulse.invitation, answers={pulse.question_ids[0]: 3}, comment="")
    assert stored() == NOTHING
    response_submit(invitation=pulse.invitation, answers={pulse.question_ids[0]: 3}, comment="")
    assert Response.all_organizations.get().organization == tenant.org
