"""Reads for the survey pages. Nothing here counts answers or participations: while a round is
open, HR sees how many people were invited, the reporting units planned from the roster, and
the noisy estimates taken at fixed times (`ParticipationSnapshot`, docs/privacy.md, "While a
round is open"), never a figure that moves when someone answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy

from surveys.core.words import Words
from surveys.engine.aggregation import team_forest
from surveys.engine.scheduling import Window, next_window, restarted_window
from surveys.models import (
    Construct,
    Membership,
    Organization,
    ParticipationSnapshot,
    Question,
    Round,
    RoundStatus,
    Survey,
    Team,
)
from surveys.privacy.live import (
    LIVE_HOURS,
    LIVE_MIN_PEOPLE,
    PLANNING_RATES,
    live_period_start,
    response_to_show,
    shown_chance,
    shown_percent,
)
from surveys.privacy.units import reporting_units


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
    label: Words
    questions: list[Question]


def question_groups() -> list[QuestionGroup]:
    """The bank and the organisation's own active questions, grouped by construct in bank order."""
    labels = {**dict(Construct.choices), Construct.CUSTOM: gettext_lazy("Your organisation's questions")}
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


def round_window_if_launched_now(*, survey: Survey) -> Window:
    """The window the first round of a draft would get if HR launched it now."""
    now = timezone.now()
    return next_window(
        cadence=survey.cadence, starts_on=survey.starts_on, open_days=survey.open_days, not_before=None, now=now
    )


def team_choices() -> QuerySet[Team]:
    return Team.objects.order_by("path")


# ------------------------------------------------------------------------------------------
# Planning: which teams a round would show, from the roster


@dataclass(frozen=True)
class PlannedTeam:
    team: Team
    depth: int
    people: int  # on the roster in the team itself
    unit_people: int  # in the reporting unit its people would be counted in
    counted_with: Team | None  # another team's unit holds its people
    joined: tuple[Team, ...]  # other teams its own unit would hold
    chances: tuple[float, ...]  # of its unit being shown, at each of PLANNING_RATES
    k: int = 0

    @property
    def percent_to_show(self) -> int | None:
        """The response of its unit at which its figures are shown (None: counted with another)."""
        return None if self.counted_with else response_to_show(self.unit_people, self.k)


@dataclass(frozen=True)
class SurveyPlan:
    """What a round of the survey opened now would group and likely show (docs/privacy.md,
    "Reporting units"), worked out from today's roster and the organisation's `k`."""

    k: int
    rates: tuple[float, ...]
    teams: tuple[PlannedTeam, ...]  # every team with people on the roster, in tree order
    expected: tuple[float, ...]  # teams expected to be shown at each rate

    @property
    def units(self) -> int:
        return sum(1 for team in self.teams if team.counted_with is None)


def survey_plan(*, survey: Survey, organization: Organization) -> SurveyPlan:
    """Reporting units as `round_open` would freeze them now (with the `k` it would lock), and
    for each the chance its figures are shown if every invitee answers with probability 60,
    70, 80 or 90%. Two queries."""
    k = Round.thresholds_to_come(organization)[0]
    scope = Team.objects.order_by("path")
    if survey.root_team is not None:
        scope = scope.filter(survey.root_team.subtree_filter())
    teams = {team.pk: team for team in scope}
    if survey.root_team is not None:
        teams[survey.root_team.pk] = survey.root_team
    counts = dict(survey_invitees(survey=survey).values_list("team_id").annotate(n=Count("id")).order_by())
    root = survey.root_team.pk if survey.root_team else None
    links = [(pk, 0 if pk == root or team.parent_id not in teams else team.parent_id) for pk, team in teams.items()]
    forest = team_forest(np.array(links, dtype=np.int64).reshape(-1, 2))
    people = np.array([counts.get(pk, 0) for pk in forest.ids.tolist()], dtype=np.int64)
    home = reporting_units(parent=forest.parent, invited=people, k=k)
    unit_people = np.bincount(home[home >= 0], weights=people[home >= 0], minlength=len(home)).astype(int)
    ids = forest.ids.tolist()
    depth = [0] * len(ids)
    for node, up in enumerate(forest.parent.tolist()):
        depth[node] = depth[up] + 1 if up >= 0 else 0
    planned = []
    for node, pk in enumerate(ids):
        if not people[node]:
            continue
        unit = int(home[node])
        size = int(unit_people[unit])
        planned.append(
            PlannedTeam(
                team=teams[pk],
                depth=depth[node],
                people=int(people[node]),
                unit_people=size,
                counted_with=teams[ids[unit]] if unit != node else None,
                joined=tuple(teams[ids[other]] for other in np.flatnonzero(home == node).tolist() if other != node),
                chances=tuple(shown_chance(size, rate, k) for rate in PLANNING_RATES) if unit == node else (),
                k=k,
            )
        )
    expected = tuple(sum(team.chances[i] for team in planned if team.chances) for i in range(len(PLANNING_RATES)))
    return SurveyPlan(k=k, rates=PLANNING_RATES, teams=tuple(planned), expected=expected)


# ------------------------------------------------------------------------------------------
# While a round is open: the latest estimate


@dataclass(frozen=True)
class LiveGroup:
    team: Team
    depth: int
    percent: int  # an estimate, rounded (privacy.live.shown_percent)
    invited: int


@dataclass(frozen=True)
class LiveParticipation:
    """The latest noisy estimate of an open round's participation, as HR's pages show it."""

    round: Round
    taken_at: dt.datetime | None  # None: none taken yet
    next_at: dt.datetime
    groups: tuple[LiveGroup, ...] = ()
    units_shown: int = 0  # estimate, clipped to 0..units
    units: int = 0
    min_people: int = LIVE_MIN_PEOPLE

    @property
    def few_shown(self) -> bool:
        """Closing now would likely show figures for at most a quarter of the units."""
        return self.taken_at is not None and self.units > 0 and self.units_shown <= self.units / 4


def round_live(*, round_: Round, now: dt.datetime | None = None) -> LiveParticipation:
    """The latest estimate of an open round's participation (two queries)."""
    now = now or timezone.now()
    latest = ParticipationSnapshot.objects.filter(round=round_).order_by("-period_start").first()
    next_at = live_period_start(now) + dt.timedelta(hours=LIVE_HOURS)
    if latest is None:
        return LiveParticipation(round=round_, taken_at=None, next_at=next_at)
    teams = Team.objects.in_bulk([int(pk) for pk in latest.groups])
    groups = sorted(
        (
            LiveGroup(teams[int(pk)], teams[int(pk)].depth, shown_percent(estimate, invited), invited)
            for pk, (estimate, invited) in latest.groups.items()
            if int(pk) in teams
        ),
        key=lambda group: group.team.path,
    )
    top = min((group.depth for group in groups), default=0)
    groups = [LiveGroup(g.team, g.depth - top, g.percent, g.invited) for g in groups]
    return LiveParticipation(
        round=round_,
        taken_at=latest.taken_at,
        next_at=next_at,
        groups=tuple(groups),
        units_shown=min(max(latest.units_shown, 0), latest.units),
        units=latest.units,
    )
