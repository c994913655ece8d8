"""Reads for the results pages: a team's dashboard, the results heatmap and the home page's
latest figures.

Every figure comes from the result selectors (`surveys.selectors.results`), so from published
Result rows only; a round that is not published is never offered. What this module adds is
which survey and round to show (and why a requested one is not shown), which teams around a
team the viewer may see (`surveys.access.visible_teams`), and the team's action plans. How the
figures are shown (cards, heatmap lines, the folded tree) is `surveys.presentation.results`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from surveys.access import visible_teams
from surveys.core.ids import whole_number
from surveys.engine.changes import (
    CHANGE_RULE_VERSION,
    LOOKBACK,
    Change,
    comparison_words,
)
from surveys.models import (
    BURNOUT_SIGNS,
    PILLARS,
    UNDER_WAY_STATES,
    ActionPlan,
    Membership,
    Round,
    RoundStatus,
    Survey,
    Team,
)
from surveys.presentation.results import (
    CONSTRUCT_HINTS,
    ConstructCard,
    HeatmapLine,
    folded_tree,
    heatmap_lines,
)
from surveys.selectors.coverage import Coverage, team_coverage
from surveys.selectors.results import (
    CHANCE_ONE_IN,
    ConstructResult,
    ConstructTrend,
    Flag,
    StabilityInUse,
    TeamRoundResults,
    TeamTrend,
    ViewFlags,
    cached_flags,
    heatmap_flags,
    heatmap_teams,
    org_heatmap,
    stability_as_of,
    team_round_comments,
    team_round_results,
    team_trend,
    where_to_look,
)

# ------------------------------------------------------------------------------------------
# Which survey and round


@dataclass(frozen=True)
class RoundChoice:
    """The survey and round a results page shows, among those it may show."""

    surveys: tuple[Survey, ...]  # surveys covering the page's teams, by name
    published: tuple[tuple[Survey, tuple[Round, ...]], ...]  # those with published rounds, newest first
    survey: Survey | None = None
    round: Round | None = None  # always a published round
    pending: Round | None = None  # the chosen survey's newest round still open or being prepared
    notice: str = ""  # why the requested survey or round is not the one shown

    @property
    def k(self) -> int | None:
        """The threshold the page states about the round it shows (`Round.shown_k`)."""
        return self.round.shown_k if self.round else None


def surveys_covering(paths: Iterable[str]) -> Q:
    """Surveys that include a team at one of `paths` or a team below it: the whole
    organisation's, those rooted at or above such a team, and those rooted inside its subtree."""
    condition = Q(root_team__isnull=True)
    above: set[str] = set()
    for path in paths:
        above.update(Team.path_prefixes(path))
        condition |= Team(path=path).subtree_filter("root_team__")
    return condition | Q(root_team__path__in=sorted(above))


def results_round_choice(
    *, surveys: QuerySet[Survey], survey_id: str | None = None, round_id: str | None = None
) -> RoundChoice:
    """The requested round (or the latest published round of the requested survey) when it
    is one of `surveys`' published rounds; otherwise the latest published round of the
    survey published most recently, with a notice saying why. Two queries."""
    survey_list = list(surveys.select_related("root_team").order_by("name"))
    rounds = _rounds_of(survey_list)
    published: dict[int, list[Round]] = {}
    pending: dict[int, Round] = {}
    for round_ in rounds:
        if round_.status == RoundStatus.PUBLISHED:
            published.setdefault(round_.survey_id, []).append(round_)
        else:
            pending.setdefault(round_.survey_id, round_)
    # A round that published nothing is listed, never the default.
    with_results = {survey_id: [r for r in listed if r.teams_published] for survey_id, listed in published.items()}
    with_results = {survey_id: listed for survey_id, listed in with_results.items() if listed}
    chosen, notice = _requested_round(rounds, round_id)
    survey = chosen.survey if chosen else None
    if survey is None and survey_id:
        survey = next((s for s in survey_list if s.pk == whole_number(survey_id)), None)
        notice = notice or ("" if survey else _("That survey has no results to show here."))
    survey = survey or _default_survey(survey_list, with_results, pending)
    if survey is not None and chosen is None:
        chosen = next(iter(with_results.get(survey.pk, ())), None)
    return RoundChoice(
        surveys=tuple(survey_list),
        published=tuple((s, tuple(published[s.pk])) for s in survey_list if s.pk in published),
        survey=survey,
        round=chosen,
        pending=pending.get(survey.pk) if survey is not None else None,
        notice=notice + (" " + _("Showing the latest results instead.") if notice and chosen else ""),
    )


def _rounds_of(surveys: list[Survey]) -> list[Round]:
    """The surveys' published rounds and those under way (open, or closed and being
    prepared), newest first, each with its survey attached."""
    by_id = {survey.pk: survey for survey in surveys}
    statuses = (RoundStatus.PUBLISHED, *UNDER_WAY_STATES)
    rounds = list(Round.objects.filter(survey_id__in=list(by_id), status__in=statuses).order_by("-number"))
    for round_ in rounds:
        round_.survey = by_id[round_.survey_id]
    return rounds


def _requested_round(rounds: list[Round], round_id: str | None) -> tuple[Round | None, str]:
    """The published round asked for, or None with why it is not shown."""
    if not round_id:
        return None, ""
    asked = next((r for r in rounds if r.pk == whole_number(round_id)), None)
    if asked is not None and asked.status == RoundStatus.PUBLISHED:
        return asked, ""
    return None, _round_notice(asked)


def _round_notice(round_: Round | None) -> str:
    if round_ is None:
        return _("That round has no results to show here.")
    words = {"number": round_.number, "survey": round_.survey.name}
    if round_.status == RoundStatus.OPEN:
        return _("Round %(number)s of “%(survey)s” is still open: its results appear after it closes.") % words
    return _("Round %(number)s of “%(survey)s” has closed and its results are being prepared.") % words


def _default_survey(surveys: list[Survey], published: dict, pending: dict) -> Survey | None:
    """The survey published most recently; else one with a round under way; else the newest."""
    if published:
        return max((s for s in surveys if s.pk in published), key=lambda s: published[s.pk][0].closes_at)
    if pending:
        return next(s for s in surveys if s.pk in pending)
    return max(surveys, key=lambda s: (s.is_active, s.created_at), default=None)


# ------------------------------------------------------------------------------------------
# Team dashboard


@dataclass(frozen=True)
class DashboardFigures:
    """What a dashboard shows of a published round: its team's figures, cards, trend, sub-teams
    and comments. Published results never change, so neither do these for the same team,
    rounds and sub-teams (`TeamDashboard.figures_key`)."""

    results: TeamRoundResults
    pillars: tuple[ConstructCard, ...] = ()
    signs: tuple[ConstructCard, ...] = ()  # exhaustion and mental distance
    trend: TeamTrend | None = None
    subteams: tuple[HeatmapLine, ...] = ()
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeamDashboard:
    team: Team
    crumbs: tuple[tuple[str, Team | None], ...]  # each ancestor's name, top first, with its team if visible
    choice: RoundChoice
    plans: tuple[ActionPlan, ...]
    children: tuple[Team, ...] = ()  # the sub-teams of the round's scope the viewer may see, by path
    coverage: Coverage | None = None  # what the round's figures hold for this team, or why it has none
    above_survey: bool = False  # the survey covers only a team below this one
    may_open: frozenset[int] = frozenset()  # of the teams the coverage names, those the viewer may open
    stability: StabilityInUse = StabilityInUse()  # the estimate the round's change flags use

    @property
    def published(self) -> bool:
        """The round has figures for this team."""
        return self.coverage is not None and self.coverage.shown

    @property
    def k(self) -> int | None:
        return self.choice.k

    @property
    def parent(self) -> Team | None:
        """The nearest team above that the viewer may open (where a small team's answers count)."""
        return next((team for _, team in reversed(self.crumbs) if team is not None), None)

    @property
    def chance_one_in(self) -> int:
        """A stable team sees a flag by chance in a year in fewer than one in this many teams."""
        return CHANCE_ONE_IN

    @property
    def comparison_words(self) -> str:
        """The one comparison every card makes, in words, at the survey's cadence."""
        survey = self.choice.survey
        return comparison_words(survey.cadence) if survey else ""

    @functools.cached_property
    def figures(self) -> DashboardFigures | None:
        """Read only when the page is drawn: a page whose figures are cached as HTML (the key
        below) reads no result at all. None without a published round."""
        if self.choice.round is None:
            return None
        return _figures(self.team, self.choice.round, self.children, self.stability)

    @property
    def figures_key(self) -> str:
        """Names everything the figures part of the page is drawn from, so a cached drawing
        is reused exactly while none of it changed: the change rule's version and the stability
        estimate its flags use, the team (and its name), the round and the published rounds its
        trend and flags look back on, the sub-teams
        shown (and their names), the survey's settings the page quotes (comments, cadence, the
        team it covers), the team above and whether this team has results. What the page says
        about the figures' coverage (other teams' names) is drawn on every visit, outside it.
        Empty without a round."""
        round_ = self.choice.round
        if round_ is None:
            return ""
        survey = round_.survey
        parent = self.parent
        identity = [
            CHANGE_RULE_VERSION,
            self.stability.token,
            self.team.pk,
            self.team.path,
            round_.pk,
            [r.pk for r in _trend_rounds(self.choice)],
            [[team.pk, team.path] for team in self.children],
            [survey.comments_enabled, survey.cadence, survey.root_team.path if survey.root_team else None],
            [parent.pk, parent.path] if parent else None,
            [self.published, self.above_survey],
            round_.answers_purged_at is not None,  # its comments deleted under retention
        ]
        digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:32]
        return f"{round_.organization_id}:{self.team.pk}:{round_.pk}:{digest}"

    # What the page reads of the figures.
    @property
    def results(self) -> TeamRoundResults | None:
        return self.figures.results if self.figures else None

    @property
    def pillars(self) -> tuple[ConstructCard, ...]:
        return self.figures.pillars if self.figures else ()

    @property
    def signs(self) -> tuple[ConstructCard, ...]:
        return self.figures.signs if self.figures else ()

    @property
    def trend(self) -> TeamTrend | None:
        return self.figures.trend if self.figures else None

    @property
    def subteams(self) -> tuple[HeatmapLine, ...]:
        return self.figures.subteams if self.figures else ()

    @property
    def comments(self) -> tuple[str, ...]:
        return self.figures.comments if self.figures else ()

    @property
    def trends(self) -> tuple[ConstructTrend, ...]:
        """The measures' trends, or nothing when no round shown has a figure for this team."""
        constructs = self.trend.constructs if self.trend else ()
        return constructs if any(p.score for c in constructs for p in c.points) else ()


#: Published rounds a dashboard's trend shows, up to the round shown.
TREND_ROUNDS = 12


def team_dashboard(
    *, membership: Membership, team: Team, survey_id: str | None = None, round_id: str | None = None
) -> TeamDashboard:
    """What the team dashboard shows, for a team the viewer already reached through
    `access_team`: which round, the path above, the plans, which sub-teams, and (read when
    drawn) the figures. Comments only when the selector releases them for this node; sub-teams
    only those the viewer may see. A bounded number of queries, whatever the number of rounds,
    sub-teams or plans."""
    choice = results_round_choice(
        surveys=Survey.objects.filter(surveys_covering([team.path])), survey_id=survey_id, round_id=round_id
    )
    visible = visible_teams(membership)
    crumbs = _crumbs(visible, team)
    plans = tuple(ActionPlan.objects.filter(team=team).select_related("round__survey", "owner__user"))
    if choice.round is None:
        return TeamDashboard(team, crumbs, choice, plans)
    return TeamDashboard(
        team=team,
        crumbs=crumbs,
        choice=choice,
        plans=plans,
        children=tuple(heatmap_teams(round=choice.round, teams=visible.filter(parent=team))),
        coverage=(coverage := team_coverage(team=team, round=choice.round)),
        above_survey=_above(team, choice.round.survey),
        may_open=frozenset(visible.filter(pk__in=coverage.links).values_list("pk", flat=True)),
        stability=stability_as_of(round=choice.round),
    )


def _trend_rounds(choice: RoundChoice) -> list[Round]:
    """The published rounds the trend shows and its flags compare: the last TREND_ROUNDS (or
    the cadence's look-back, if longer) up to the round shown."""
    assert choice.round is not None
    listed = dict(choice.published).get(choice.round.survey, ())
    count = max(TREND_ROUNDS, LOOKBACK[choice.round.survey.cadence])
    return [r for r in listed if r.number <= choice.round.number][:count]


def _figures(team: Team, round_: Round, children: Sequence[Team], stability: StabilityInUse) -> DashboardFigures:
    results = team_round_results(team=team, round=round_)
    trend = team_trend(team=team, survey=round_.survey, rounds=TREND_ROUNDS, until=round_, stability=stability)
    changes = {c.construct: c.change for c in trend.constructs}
    cards = {
        c.construct: ConstructCard(c, CONSTRUCT_HINTS.get(c.construct, ""), _shown_change(c, changes))
        for c in results.constructs
    }
    released = results.published and results.comments_released
    return DashboardFigures(
        results=results,
        pillars=tuple(cards[c] for c in PILLARS if c in cards),
        signs=tuple(cards[c] for c in BURNOUT_SIGNS if c in cards),
        trend=trend,
        subteams=heatmap_lines(org_heatmap(round=round_, rows_of=children)) if children else (),
        comments=tuple(team_round_comments(team=team, round=round_)) if released else (),
    )


def _shown_change(result: ConstructResult, changes: dict[str, Change]) -> Change | None:
    """A change flag only beside a score this round shows (never for a hidden one)."""
    return None if result.suppressed else changes.get(result.construct)


def _above(team: Team, survey: Survey) -> bool:
    return survey.root_team is not None and survey.root_team != team and team.contains(survey.root_team)


def _crumbs(visible: QuerySet[Team], team: Team) -> tuple[tuple[str, Team | None], ...]:
    """The team's ancestors by name, each with its team when the viewer may open it."""
    paths = Team.path_prefixes(team.path)[:-1]
    found = {t.path: t for t in visible.filter(path__in=paths)} if paths else {}
    return tuple((Team.name_of(path), found.get(path)) for path in paths)


# ------------------------------------------------------------------------------------------
# Results heatmap and the home page


@dataclass(frozen=True)
class ResultsOverview:
    choice: RoundChoice
    lines: tuple[HeatmapLine, ...] = ()  # the teams shown: two levels, and below any team opened
    all_lines: int = 0  # teams in the round's heatmap
    expanded: bool = False  # every team shown, EVERY_TEAM_PAGE a page
    page: int = 1  # with `expanded`: which page of the teams, from 1
    pages: int = 1
    whole_organisation: bool = False
    look_first: tuple[Flag, ...] = ()  # likely changes, largest first
    flags: ViewFlags = ViewFlags()  # the view's flags: how many comparisons, which teams could miss a drop


#: Teams on a page of the every-team heatmap.
EVERY_TEAM_PAGE = 200


def results_overview(
    *,
    membership: Membership,
    survey_id: str | None = None,
    round_id: str | None = None,
    open_teams: frozenset[int] = frozenset(),
    expand: bool = False,
    page: int = 1,
) -> ResultsOverview:
    """The heatmap of a round: every team for HR and admins; for a manager, the teams they
    lead and those below them; folded below two levels unless opened (`folded_tree`). Only
    the teams on the page are scored: where to look first comes from the view's cached flags
    (computed, with every team's figures, only the first time)."""
    teams = visible_teams(membership)
    if membership.is_hr:
        surveys = Survey.objects.all()
    else:
        surveys = Survey.objects.filter(surveys_covering(_top_paths(teams.values_list("path", flat=True))))
    choice = results_round_choice(surveys=surveys, survey_id=survey_id, round_id=round_id)
    if choice.round is None:
        return ResultsOverview(choice, whole_organisation=membership.is_hr)
    scope = list(heatmap_teams(round=choice.round, teams=None if membership.is_hr else teams))
    folds = folded_tree(scope, open_teams=open_teams, expand=expand)
    pages = max(1, -(-len(folds) // EVERY_TEAM_PAGE)) if expand else 1
    page = min(max(page, 1), pages)
    if expand:  # every team, a page at a time: 2,000 rows at once were 2 MB and tens of seconds
        folds = folds[(page - 1) * EVERY_TEAM_PAGE : page * EVERY_TEAM_PAGE]
    stability = stability_as_of(round=choice.round)
    flags = cached_flags(round=choice.round, team_ids=[team.pk for team in scope], stability=stability)
    if flags is None:  # the view's first time: every team scored, once
        heatmap = org_heatmap(round=choice.round, rows_of=scope)
        flags = heatmap_flags(heatmap, stability=stability)
        wanted = {fold.team.pk for fold in folds}
        shown = dataclasses.replace(heatmap, rows=tuple(row for row in heatmap.rows if row.team.pk in wanted))
    else:
        shown = org_heatmap(round=choice.round, rows_of=[fold.team for fold in folds])
    lines = tuple(
        dataclasses.replace(line, depth=fold.depth, below=fold.below, open=fold.open, toggle=fold.toggle)
        for line, fold in zip(heatmap_lines(shown, flags), folds, strict=True)
    )
    return ResultsOverview(
        choice,
        lines,
        all_lines=len(scope),
        expanded=expand,
        page=page,
        pages=pages,
        whole_organisation=membership.is_hr,
        look_first=where_to_look({team.pk: team for team in scope}, flags),
        flags=flags,
    )


def _top_paths(paths: Iterable[str]) -> list[str]:
    """The paths not below another one of `paths` (the teams a manager leads at the top)."""
    top: list[str] = []
    for path in sorted(paths):
        if not any(Team.path_within(path, parent) for parent in top):
            top.append(path)
    return top
