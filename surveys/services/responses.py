"""Submitting a pulse: the one write an employee makes, and the one place where what a person
said and the fact that they answered are stored side by side (docs/privacy.md, "Storage").
Why the path is this lean: docs/decisions/2026-11-24-lean-submission-path.md."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.core.ids import whole_number
from surveys.core.tenancy import organization_scope
from surveys.models import (
    SCALE_POINTS,
    Answer,
    AnsweringPhase,
    Comment,
    Invitation,
    Participation,
    Response,
    Round,
    RoundQuestion,
    Survey,
)
from surveys.models.rounds import answering_phase

COMMENT_MAX_LENGTH = 2000
SKIPPED = (None, "", "skip")

ALREADY_ANSWERED = "You have already answered this pulse. Thank you."
NOT_OPEN_YET = "This pulse is not open yet."
CLOSED = "This pulse has closed, so answers can no longer be sent."


def response_submit(*, invitation: Invitation, answers: Mapping[Any, int | str | None], comment: str = "") -> None:
    """Record one person's answers to one round, exactly once, without linking them to the person.

    `answers` maps question ids to 1–5 (skipped items absent, None, "" or "skip"). What was said
    (Response, its Answers, the Comment) carries the round and the invitation's TEAM SNAPSHOT and
    nothing else; the fact that the person answered (Participation) carries the round and the
    person and nothing else. Both are written in one transaction, under a share lock on the round
    so that closing it waits for submissions already under way. Returns nothing on purpose: the
    caller knows who submitted and must not get a handle on what was said.

    Raises PulseError (and stores nothing) for a round not open now, a value outside 1–5, a
    question not in the round, an oversized comment, an empty submission, or a second submission.
    """
    with organization_scope(invitation.organization):
        try:
            with transaction.atomic():
                state = _round_hold_open(round_id=invitation.round_id)
                values = _answer_values(in_round=state.question_ids, answers=answers)
                text = _comment_text(comments_enabled=state.comments_enabled, comment=comment)
                if not values and not text:
                    raise PulseError(
                        _("Please choose an answer for at least one question, or write a comment."),
                        code="empty_submission",
                    )
                if connection.vendor == "postgresql":
                    _submission_write(invitation=invitation, values=values, text=text)
                else:
                    Participation(
                        organization_id=invitation.organization_id,
                        round_id=invitation.round_id,
                        membership_id=invitation.membership_id,
                    ).save()
                    _what_was_said_write(invitation=invitation, values=values, text=text)
        except IntegrityError:
            # Two submissions with the same link: the unique constraint made the second wait for
            # the first and then fail, and its transaction rolled back whole.
            answered = Participation.objects.filter(
                round_id=invitation.round_id, membership_id=invitation.membership_id
            )
            if answered.exists():
                raise PulseError(ALREADY_ANSWERED, code="already_answered", status=409) from None
            raise


def _answer_values(*, in_round: frozenset[int], answers: Mapping[Any, int | str | None]) -> dict[int, int]:
    values = {}
    for key, raw in answers.items():
        question_id = whole_number(key)
        if question_id not in in_round:
            raise PulseError(
                _("One of the questions is not part of this pulse. Please reload the page and answer again."),
                code="question_unknown",
            )
        if raw in SKIPPED:
            continue
        value = whole_number(raw)
        if value is None or not 1 <= value <= SCALE_POINTS:
            raise PulseError(
                _("Each answer must be one of the %(points)s choices offered (or “Prefer not to say”).")
                % {"points": SCALE_POINTS},
                code="answer_invalid",
            )
        values[question_id] = value
    return values


def _comment_text(*, comments_enabled: bool, comment: str | None) -> str:
    # Browsers send line breaks as CRLF but count them as one character against maxlength.
    text = (comment or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if not text:
        return ""
    if not comments_enabled:
        raise PulseError(_("This pulse does not take comments."), code="comments_disabled")
    if len(text) > COMMENT_MAX_LENGTH:
        raise PulseError(
            _("Your comment is %(length)s characters long; the limit is %(limit)s. Please shorten it.")
            % {
                "length": number_format(len(text), force_grouping=True),
                "limit": number_format(COMMENT_MAX_LENGTH, force_grouping=True),
            },
            code="comment_too_long",
        )
    return text


@dataclass(frozen=True)
class _RoundState:
    question_ids: frozenset[int]
    comments_enabled: bool


def _round_hold_open(*, round_id: int) -> _RoundState:
    """Read the round under a share lock, refuse unless it is open right now, and return what
    validating the answers needs (its frozen questions, whether its survey takes comments).

    On PostgreSQL, FOR SHARE lets submissions run side by side but makes `round_close`'s UPDATE
    wait until every submission that saw the round open has committed, so none lands after the
    close (and after aggregation has read the answers). SQLite serialises writers anyway. One
    small query on purpose: this is the hot path of the busiest page.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(ROUND_STATE_FOR_SHARE, [round_id])
            status, opens_at, closes_at, comments_enabled, question_ids = cursor.fetchone()
    else:
        status, opens_at, closes_at, comments_enabled = (
            Round.objects.filter(pk=round_id).values_list("status", "opens_at", "closes_at", "survey__comments_enabled")
        ).get()
        question_ids = RoundQuestion.objects.filter(round_id=round_id).values_list("question_id", flat=True)
    phase = answering_phase(status=status, opens_at=opens_at, closes_at=closes_at, now=timezone.now())
    if phase == AnsweringPhase.OPEN:
        return _RoundState(question_ids=frozenset(question_ids), comments_enabled=comments_enabled)
    if phase == AnsweringPhase.NOT_OPEN_YET:
        raise PulseError(NOT_OPEN_YET, code="round_not_open", status=409)
    raise PulseError(CLOSED, code="round_closed", status=409)


ROUND_STATE_FOR_SHARE = f"""
    SELECT r.status, r.opens_at, r.closes_at, s.comments_enabled,
           ARRAY(SELECT q.question_id FROM {RoundQuestion._meta.db_table} q WHERE q.round_id = r.id)
    FROM {Round._meta.db_table} r JOIN {Survey._meta.db_table} s ON s.id = r.survey_id
    WHERE r.id = %s
    FOR SHARE OF r
"""


def _what_was_said_write(*, invitation: Invitation, values: dict[int, int], text: str) -> None:
    said = {
        "organization_id": invitation.organization_id,
        "round_id": invitation.round_id,
        "team_id": invitation.team_id,
    }
    # Model(...).save() rather than objects.create(): the same scope check in TenantModel.save,
    # without building a filtered queryset just to insert one row (this is the hot path).
    response = Response(**said)
    response.save()
    _answers_insert(response_id=response.pk, said=said, values=values)
    if text:
        Comment(text=text, **said).save()


ANSWER_COLUMNS = ("id", "organization_id", "response_id", "round_id", "team_id", "question_id", "value")


def _answer_rows(*, response_id: uuid.UUID, said: dict[str, int], values: dict[int, int]) -> tuple[str, list]:
    """The answers as the VALUES of one parametrised multi-row INSERT (random keys, like the
    model's default): placeholders and parameters."""
    prep_uuid = Answer._meta.pk.get_db_prep_value
    response_key = prep_uuid(response_id, connection)
    rows = []
    for question_id, value in values.items():
        rows += [prep_uuid(uuid.uuid4(), connection), said["organization_id"], response_key]
        rows += [said["round_id"], said["team_id"], question_id, value]
    return ", ".join(["(" + ", ".join(["%s"] * len(ANSWER_COLUMNS)) + ")"] * len(values)), rows


def _answers_insert(*, response_id: uuid.UUID, said: dict[str, int], values: dict[int, int]) -> None:
    if not values:
        return
    placeholders, rows = _answer_rows(response_id=response_id, said=said, values=values)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {Answer._meta.db_table} ({', '.join(ANSWER_COLUMNS)}) VALUES {placeholders}", rows)


def _submission_write(*, invitation: Invitation, values: dict[int, int], text: str) -> None:
    """PostgreSQL: the participation flag and what was said (response, answers, comment) in ONE
    statement of data-modifying CTEs, each an INSERT of its own rows, nothing linking them; a
    second submission fails on the participation's unique constraint and writes none of them.
    One round trip instead of four on the busiest path (docs/decisions/2026-11-24-lean-submission-path.md)."""
    said = {
        "organization_id": invitation.organization_id,
        "round_id": invitation.round_id,
        "team_id": invitation.team_id,
    }
    response_id = uuid.uuid4()
    parts = [
        f"INSERT INTO {Participation._meta.db_table} (organization_id, round_id, membership_id) VALUES (%s, %s, %s)",
        f"INSERT INTO {Response._meta.db_table} (id, organization_id, round_id, team_id) VALUES (%s, %s, %s, %s)",
    ]
    params: list = [invitation.organization_id, invitation.round_id, invitation.membership_id]
    params += [response_id, *said.values()]
    if values:
        # Arrays, not a row of placeholders per answer: the statement's text stays the same
        # whatever the answers, so the driver parses it once per process, not per submission.
        parts.append(
            f"INSERT INTO {Answer._meta.db_table} ({', '.join(ANSWER_COLUMNS)}) "
            "SELECT unnest(%s::uuid[]), %s, %s, %s, %s, unnest(%s::bigint[]), unnest(%s::smallint[])"
        )
        params += [[uuid.uuid4() for _ in values], said["organization_id"], response_id, said["round_id"]]
        params += [said["team_id"], list(values), list(values.values())]
    if text:
        parts.append(
            f"INSERT INTO {Comment._meta.db_table} (id, organization_id, round_id, team_id, text) "
            "VALUES (%s, %s, %s, %s, %s)"
        )
        params += [uuid.uuid4(), *said.values(), text]
    ctes = ", ".join(f"write_{number} AS ({part})" for number, part in enumerate(parts))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} SELECT 1", params)
