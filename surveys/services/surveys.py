"""Surveys: create and change a programme (questions, cadence, teams, support resources).

Each rule is a small `*_check` function that raises PulseError; forms call them field by field
so every mistake shows at once beside its field, and the services call them all again so no
other caller (API, shell) can skip one.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.core.names import name_check
from surveys.engine.scheduling import longest_open_days
from surveys.models import (
    Cadence,
    Construct,
    Membership,
    Organization,
    Question,
    Round,
    RoundStatus,
    Scale,
    Survey,
    SurveyQuestion,
    Team,
)
from surveys.services.organization import support_check
from surveys.services.rounds import round_schedule_next

#: A pulse stays short: about 12 seconds an item, so 20 items is already four minutes.
MAX_QUESTIONS = 20
CUSTOM_QUESTION_MAX_LENGTH = 300
_CUSTOM_POSITION = 1000


@dataclass(frozen=True)
class SurveyFields:
    """Everything HR decides about a survey, as the form or an API hands it over."""

    name: str
    questions: Sequence[Question]
    cadence: str
    open_days: int
    starts_on: dt.date
    root_team: Team | None = None
    new_questions: Sequence[str] = ()
    comments_enabled: bool = True
    support_text: str = ""
    support_links: str = ""
    is_active: bool = True
    invitation_text: str = ""
    reminder_text: str = ""


#: HR's own opening of the invitation or reminder e-mail stays a paragraph or two.
MESSAGE_TEXT_MAX_LENGTH = 1200


def survey_name_check(*, name: str, survey: Survey | None = None) -> str:
    name = name_check(name, code="name")
    if not name:
        raise PulseError(_("Give the survey a name."), code="name")
    others = Survey.objects.filter(name__iexact=name)
    if survey is not None:
        others = others.exclude(pk=survey.pk)
    if others.exists():
        raise PulseError(_("Another survey already has this name. Choose a different one."), code="name")
    return name


def survey_window_check(*, cadence: str, open_days: int) -> None:
    """A round must close before the next one opens, so rounds never overlap."""
    if cadence not in Cadence.values:
        raise PulseError(_("Choose how often the pulse runs."), code="cadence")
    longest = longest_open_days(cadence)
    if not 1 <= open_days <= longest:
        label = Cadence(cadence).label.lower()
        raise PulseError(
            _(
                "With a round %(cadence)s, a round can stay open between 1 and %(longest)s days, "
                "so it closes before the next one opens."
            )
            % {"cadence": label, "longest": longest},
            code="open_days",
        )


def survey_start_check(*, starts_on: dt.date, survey: Survey | None = None) -> None:
    unchanged = survey is not None and survey.starts_on == starts_on
    if not unchanged and starts_on < timezone.localdate():
        raise PulseError(_("The first opening date cannot be in the past."), code="starts_on")


def survey_new_questions_check(*, texts: Sequence[str]) -> list[str]:
    """Clean the organisation's own new questions: trimmed, non-empty, no repeats."""
    cleaned: list[str] = []
    for text in texts:
        text = " ".join(text.split())
        if len(text) > CUSTOM_QUESTION_MAX_LENGTH:
            raise PulseError(
                _("A question can be at most %(limit)s characters.") % {"limit": CUSTOM_QUESTION_MAX_LENGTH},
                code="new_questions",
            )
        if text and text.lower() not in {t.lower() for t in cleaned}:
            cleaned.append(text)
    return cleaned


def survey_message_text_check(*, text: str, code: str) -> str:
    """HR's own words for an e-mail: plain text, trimmed, at most MESSAGE_TEXT_MAX_LENGTH
    characters, no control characters but line breaks (they reach every invitee's inbox)."""
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    if len(text) > MESSAGE_TEXT_MAX_LENGTH:
        raise PulseError(
            _("Keep it to %(limit)s characters (%(length)s now).")
            % {
                "limit": number_format(MESSAGE_TEXT_MAX_LENGTH, force_grouping=True),
                "length": number_format(len(text), force_grouping=True),
            },
            code=code,
        )
    if any(ord(character) < 32 and character != "\n" for character in text):
        raise PulseError(_("Use plain text: no tabs or control characters."), code=code)
    return text


def survey_questions_check(*, organization: Organization, questions: Sequence[Question], new_count: int) -> None:
    if any(q.organization_id not in (None, organization.pk) or not q.is_active for q in questions):
        raise PulseError(_("One of the chosen questions is not available."), code="questions")
    total = len({q.pk for q in questions}) + new_count
    if total == 0:
        raise PulseError(_("Choose at least one question."), code="questions")
    if total > MAX_QUESTIONS:
        raise PulseError(
            _("Keep the pulse short: choose at most %(most)s questions (%(total)s chosen).")
            % {"most": MAX_QUESTIONS, "total": total},
            code="questions",
        )


def survey_create(
    *, organization: Organization, created_by: Membership | None, fields: SurveyFields, launch: bool = False
) -> Survey:
    """Create a survey as a draft: nobody is invited until HR launches it (`survey_launch`),
    after a preview and a test e-mail if they like. `launch` creates it launched at once (the
    demo, the API's callers that ask for it)."""
    name = _check(organization=organization, fields=fields, survey=None)
    with transaction.atomic():
        survey = Survey.objects.create(organization=organization, created_by=created_by, **_plain(fields, name))
        _set_questions(survey=survey, fields=fields)
        if launch:
            survey_launch(survey=survey)
    return survey


def survey_launch(*, survey: Survey, now: dt.datetime | None = None) -> Round | None:
    """Launch a draft: from now on its rounds are planned, the first one at once (HR saw its
    date and scope on the confirmation). Returns the scheduled round (None while paused)."""
    now = now or timezone.now()
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if not survey.is_draft:
            raise PulseError(_("This survey is already launched."), code="already_launched", status=409)
        survey.launched_at = now
        survey.save(update_fields=["launched_at"])
        return round_schedule_next(survey=survey, now=now)


def survey_pause(*, survey: Survey) -> Survey:
    """Stop planning rounds: the scheduled one goes; a round already open runs to its close."""
    return _set_running(survey=survey, running=False)


def survey_resume(*, survey: Survey) -> Survey:
    """Plan rounds again, the next one from today."""
    return _set_running(survey=survey, running=True)


def _set_running(*, survey: Survey, running: bool) -> Survey:
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        survey.is_active = running
        survey.save(update_fields=["is_active"])
        Round.objects.filter(survey=survey, status=RoundStatus.SCHEDULED).delete()
        if survey.is_planning:
            round_schedule_next(survey=survey)
    return survey


def survey_update(*, survey: Survey, fields: SurveyFields) -> Survey:
    """Change a survey. Rounds already open keep their questions, teams and `k`; the scheduled
    round is planned again from the new cadence and dates."""
    name = _check(organization=survey.organization, fields=fields, survey=survey)
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        for attribute, value in _plain(fields, name).items():
            setattr(survey, attribute, value)
        survey.save()
        _set_questions(survey=survey, fields=fields)
        Round.objects.filter(survey=survey, status=RoundStatus.SCHEDULED).delete()
        if survey.is_planning:
            round_schedule_next(survey=survey)
    return survey


def _check(*, organization: Organization, fields: SurveyFields, survey: Survey | None) -> str:
    name = survey_name_check(name=fields.name, survey=survey)
    new_questions = survey_new_questions_check(texts=fields.new_questions)
    survey_questions_check(organization=organization, questions=fields.questions, new_count=len(new_questions))
    survey_window_check(cadence=fields.cadence, open_days=fields.open_days)
    survey_start_check(starts_on=fields.starts_on, survey=survey)
    if fields.root_team is not None and fields.root_team.organization_id != organization.pk:
        raise PulseError(_("Choose one of your organisation's teams."), code="root_team")
    support_check(text=fields.support_text, links=fields.support_links)
    survey_message_text_check(text=fields.invitation_text, code="invitation_text")
    survey_message_text_check(text=fields.reminder_text, code="reminder_text")
    return name


def _plain(fields: SurveyFields, name: str) -> dict:
    return {
        "name": name,
        "cadence": fields.cadence,
        "open_days": fields.open_days,
        "starts_on": fields.starts_on,
        "root_team": fields.root_team,
        "comments_enabled": fields.comments_enabled,
        "support_text": fields.support_text.strip(),
        "support_links": fields.support_links.strip(),
        "is_active": fields.is_active,
        "invitation_text": survey_message_text_check(text=fields.invitation_text, code="invitation_text"),
        "reminder_text": survey_message_text_check(text=fields.reminder_text, code="reminder_text"),
    }


def _set_questions(*, survey: Survey, fields: SurveyFields) -> None:
    """Bank items in bank order, then the organisation's own questions, new ones last."""
    custom = [
        _custom_question(survey.organization, text) for text in survey_new_questions_check(texts=fields.new_questions)
    ]
    chosen = {q.pk: q for q in [*fields.questions, *custom]}
    ordered = sorted(chosen.values(), key=lambda q: (q.organization_id is not None, q.position, q.pk))
    SurveyQuestion.objects.filter(survey=survey).delete()
    SurveyQuestion.objects.bulk_create(
        SurveyQuestion(organization=survey.organization, survey=survey, question=q, position=i)
        for i, q in enumerate(ordered)
    )


def _custom_question(organization: Organization, text: str) -> Question:
    """The organisation's agree-scale question with this text, reused if it already exists."""
    existing = Question.objects.filter(organization=organization, text__iexact=text).first()
    if existing is not None:
        if not existing.is_active:
            existing.is_active = True
            existing.save(update_fields=["is_active"])
        return existing
    count = Question.all_organizations.filter(organization=organization).count()
    return Question.all_organizations.create(
        organization=organization,
        code=f"own-{secrets.token_hex(6)}",
        construct=Construct.CUSTOM,
        scale=Scale.AGREE,
        text=text,
        position=_CUSTOM_POSITION + count,
    )
