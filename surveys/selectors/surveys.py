"""Reads for the survey pages. Nothing here counts answers or participations: while a round is
open, HR sees how many people were invited and nothing that moves when someone answers."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from surveys.engine.scheduling import Window, restarted_window
from surveys.models import (
    Construct,
    Membership,
    Question,
    Round,
    RoundStatus,
    Survey,
    Team,
)


def survey_invitees(*, survey: Survey) -> QuerySet[Membership]:
    """Who a round of `survey` invites: active people who have a team inside its subtree.

    People without a team are left out: their answers could count for no team node.
    """
    people = Membership.objects.filter(is_active=True, user__is_active=True, team__isnull=False)
    if survey.root_team is not None:
        people = people.filter(survey.root_team.subtree_filter("team__"))
    return people


def survey_list() -> QuerySet[Survey]:
    """The organisation's surveys with their open round and next scheduled opening (3 queries
    at most, whatever the number of surveys)."""
    rounds = Round.objects.filter(survey=OuterRef("pk"))
    open_round = rounds.filter(status=RoundStatus.OPEN).order_by("number")
    scheduled = rounds.filter(status=RoundStatus.SCHEDULED).order_by("opens_at")
    return (
        Survey.objects.select_related("root_team")
        .annotate(
            question_count=Count("survey_questions", distinct=True),
            open_number=Subquery(open_round.values("number")[:1]),
            open_closes_at=Subquery(open_round.values("closes_at")[:1]),
            next_opens_at=Subquery(scheduled.values("opens_at")[:1]),
        )
        .order_by("-is_active", "name")
    )


@dataclass
class SurveyOverview:
    survey: Survey
    questions: list[Question]
    rounds: list[Round]
    open_round: Round | None
    next_round: Round | None
    people: int


def survey_overview(*, survey: Survey) -> SurveyOverview:
    """Settings and rounds of one survey for its HR page."""
    questions = [sq.question for sq in survey.survey_questions.select_related("question").order_by("position")]
    rounds = list(Round.objects.filter(survey=survey).order_by("-number"))
    return SurveyOverview(
        survey=survey,
        questions=questions,
        rounds=rounds,
        open_round=next((r for r in rounds if r.status == RoundStatus.OPEN), None),
        next_round=next((r for r in reversed(rounds) if r.status == RoundStatus.SCHEDULED), None),
        people=survey_invitees(survey=survey).count(),
    )


@dataclass
class QuestionGroup:
    construct: str
    label: str
    questions: list[Question]


def question_groups() -> list[QuestionGroup]:
    """The bank and the organisation's own active questions, grouped by construct in bank order."""
    labels = {**dict(Construct.choices), Construct.CUSTOM: "Your organisation's questions"}
    groups: dict[str, QuestionGroup] = {}
    for question in Question.objects.filter(is_active=True).order_by("position", "pk"):
        group = groups.setdefault(question.construct, QuestionGroup(question.construct, labels[question.construct], []))
        group.questions.append(question)
    order = list(Construct.values)
    return sorted(groups.values(), key=lambda g: order.index(g.construct))


def round_window_if_opened_now(*, round_: Round) -> Window:
    """The window a scheduled round would get if HR opened it now (what `round_open` will do)."""
    planned = Window(round_.opens_at, round_.closes_at)
    return restarted_window(window=planned, open_days=round_.survey.open_days, now=timezone.now())


def team_choices() -> QuerySet[Team]:
    return Team.objects.order_by("path")
