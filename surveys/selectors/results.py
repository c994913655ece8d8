"""Reads of published results, for every page, e-mail and API endpoint that shows a figure.

They read Result rows (and, for released comments, the comments of the teams a Result froze),
never answers: whatever they return already passed suppression and the audit. Callers decide
who may see which team (`surveys.access`); these functions decide what there is to see.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import QuerySet

from surveys.core.words import Words
from surveys.engine.changes import (
    CHANGE_LOOKBACK,
    CHANGE_RULE_VERSION,
    LOOKBACK,
    MISSED_CHANGE,
    NOT_ENOUGH_ROUNDS,
    ROUNDS_PER_YEAR,
    Change,
    RoundPoint,
    Stability,
    StabilityKey,
    Window,
    chance_flags_per_year,
    page_flags,
    stability_of_record,
    team_changes,
)
from surveys.engine.scoring import (
    UNSURE,
    BurnoutSignal,
    ConstructScore,
    ItemScore,
    burnout_signal,
    construct_score,
    index_points,
    index_tone,
    interval_tone,
    item_score,
    shown_index,
)
from surveys.models import (
    BURNOUT_SIGNS,
    PILLARS,
    ChangeStability,
    Construct,
    Question,
    Result,
    Round,
    RoundQuestion,
    RoundStatus,
    RoundTeam,
    StoredViewFlags,
    Survey,
    Team,
)
from surveys.privacy.comments import released_comment_texts
from surveys.selectors.coverage import Coverage, round_coverage

#: Constructs shown with a score, in page order. Organisation questions are shown as items.
SCORED_CONSTRUCTS = (*PILLARS, *BURNOUT_SIGNS)


@dataclass(frozen=True)
class ItemResult:
    question: Question
    counts: tuple[int, ...] | None  # None: suppressed at this node
    score: ItemScore | None

    @property
    def suppressed(self) -> bool:
        return self.counts is None


@dataclass(frozen=True)
class ConstructResult:
    construct: str
    label: Words
    higher_is_worse: bool
    items: tuple[ItemResult, ...]
    score: ConstructScore | None  # None unless every item of the construct is published

    @property
    def suppressed(self) -> bool:
        return self.score is None


@dataclass(frozen=True)
class TeamRoundResults:
    """One team node's published figures for one round."""

    team: Team
    round: Round
    published: bool  # False: nothing for this node (not enough responses, or not published yet)
    respondents: int | None = None
    invited: int | None = None
    response_rate: float | None = None  # published nodes only (n ≥ k, so at least k were invited)
    items: tuple[ItemResult, ...] = ()
    constructs: tuple[ConstructResult, ...] = ()
    burnout: BurnoutSignal | None = None
    comments_released: bool = False
    covered_teams: tuple[int, ...] = ()  # the teams whose people's answers the figures hold
    partial: bool = False  # some answers of teams below passed above these figures

    def construct(self, construct: str) -> ConstructResult | None:
        return next((c for c in self.constructs if c.construct == construct), None)


def team_round_results(*, team: Team, round: Round) -> TeamRoundResults:
    """A team node's results for a round: items, constructs, burnout signal, participation.
    Two queries."""
    result = _published(Result.objects.filter(round=round, team=team)).first()
    questions = round_questions([round.pk]).get(round.pk, [])
    return team_round_figures(team, round, result, questions)


def published_result_exists(*, team: Team, round: Round) -> bool:
    """Whether the round has published figures for this node. One query."""
    return _published(Result.objects.filter(round=round, team=team)).exists()


def team_round_comments(*, team: Team, round: Round) -> list[str]:
    """The node's released comments: every comment of the teams its Result froze at
    publication (never a part of them), in a random order that is the same on every visit
    (comments have random keys), without dates. Empty unless released. Two queries."""
    result = _published(Result.objects.filter(round=round, team=team, comments_released=True)).first()
    if result is None:
        return []
    return released_comment_texts(round_=round, covered_teams=result.covered_teams)


@dataclass(frozen=True)
class TrendPoint:
    round: Round
    score: ConstructScore | None  # None: not published for this node, or an item suppressed


@dataclass(frozen=True)
class ConstructTrend:
    construct: str
    label: Words
    higher_is_worse: bool
    points: tuple[TrendPoint, ...]  # oldest first
    change: Change


@dataclass(frozen=True)
class TeamTrend:
    team: Team
    survey: Survey
    rounds: tuple[Round, ...]  # published rounds of the survey, oldest first
    constructs: tuple[ConstructTrend, ...]
    participation: tuple[tuple[Round, int | None], ...] = field(default=())  # respondents per round


def team_trend(
    *,
    team: Team,
    survey: Survey,
    rounds: int = 12,
    until: Round | None = None,
    stability: StabilityInUse | None = None,
) -> TeamTrend:
    """A node's constructs across the last `rounds` published rounds of a survey (up to `until`,
    when given: the trend and change flags as they stood at that round), each with its change
    flag. Only rounds published for this node count (docs/privacy.md): a round where it had too
    few responses is a gap, never a zero, and never enters a change window. Three queries, and
    one more when `stability` (`stability_as_of` the last round) is not given."""
    published = Round.objects.filter(survey=survey, status=RoundStatus.PUBLISHED)
    if until is not None:
        published = published.filter(number__lte=until.number)
    recent = list(published.order_by("-number")[: max(rounds, LOOKBACK[survey.cadence])])[::-1]
    by_round = {r.round_id: r for r in Result.objects.filter(team=team, round_id__in=[r.pk for r in recent])}
    questions = round_questions([r.pk for r in recent])
    changes = {}
    if recent:
        estimates = (stability or stability_as_of(round=recent[-1])).estimates
        history = [(r, by_round.get(r.pk)) for r in recent]
        changes = node_changes(history, questions, at=recent[-1], cadence=survey.cadence, stability=estimates)
    recent = recent[-rounds:]
    per_round = [team_round_figures(team, r, by_round.get(r.pk), questions.get(r.pk, [])) for r in recent]
    constructs = tuple(_construct_trend(construct, per_round, changes) for construct in SCORED_CONSTRUCTS)
    participation = tuple((r.round, r.respondents) for r in per_round)
    return TeamTrend(team, survey, tuple(recent), tuple(c for c in constructs if c is not None), participation)


@dataclass(frozen=True)
class LatestResults:
    """For the thanks page: the latest published results of the person's team (or, if it was
    too small to show, of the nearest team above it) and what changed since last time."""

    team: Team
    results: TeamRoundResults
    previous: TeamRoundResults | None
    changes: dict[str, Change]


def team_latest_results(*, team: Team, survey: Survey) -> LatestResults | None:
    """The latest published round of `survey` with results for `team` or, failing that, for
    its nearest ancestor that has some; None when there is nothing yet. Four queries."""
    trail = _ancestors_or_self(team)  # nearest first
    results = list(_published(Result.objects.filter(team__in=trail, round__survey=survey)).select_related("round"))
    if not results:
        return None
    latest_number = max(r.round.number for r in results)
    holders = {r.team_id for r in results if r.round.number == latest_number}
    node = next(t for t in trail if t.pk in holders)
    own = sorted((r for r in results if r.team_id == node.pk), key=lambda r: r.round.number)
    questions = round_questions([r.round_id for r in own])
    per_round = [team_round_figures(node, r.round, r, questions.get(r.round_id, [])) for r in own]
    latest = own[-1].round
    estimates = stability_as_of(round=latest).estimates
    changes = node_changes(
        [(r.round, r) for r in own], questions, at=latest, cadence=survey.cadence, stability=estimates
    )
    previous = per_round[-2] if len(per_round) > 1 else None
    return LatestResults(team=node, results=per_round[-1], previous=previous, changes=changes)


def team_latest_results_any_survey(*, team: Team) -> LatestResults | None:
    """`team_latest_results` for the survey that published last for `team` or a team above it:
    what a person's home page shows between pulses. None when nothing is published yet."""
    newest = (
        _published(Result.objects.filter(team__in=_ancestors_or_self(team)))
        .select_related("round__survey")
        .order_by("-round__closes_at", "-round_id")
        .first()
    )
    return None if newest is None else team_latest_results(team=team, survey=newest.round.survey)


@dataclass(frozen=True)
class HeatmapCell:
    construct: str
    index: float | None  # None: suppressed
    n: float | None
    low: float | None = None  # the 90% interval of the index
    high: float | None = None
    higher_is_worse: bool = False

    @property
    def tone(self) -> str:
        """Its colour band, from the score shown (docs/measurement.md): a heatmap is read for
        its colours, so they are never withheld; `uncertain` says when the interval reaches
        another band."""
        return "none" if self.index is None else index_tone(self.index, higher_is_worse=self.higher_is_worse)

    @property
    def uncertain(self) -> bool:
        """Its 90% interval reaches another colour band: drawn lighter, with a key."""
        if self.index is None:
            return False
        low = self.low if self.low is not None else self.index
        high = self.high if self.high is not None else self.index
        return interval_tone(self.index, low, high, higher_is_worse=self.higher_is_worse) == UNSURE

    @property
    def suppressed(self) -> bool:
        return self.index is None


@dataclass(frozen=True)
class HeatmapRow:
    team: Team
    respondents: int | None  # None: the whole row is suppressed
    cells: tuple[HeatmapCell, ...]
    burnout: BurnoutSignal | None
    invited: int | None = None
    response_rate: float | None = None  # published nodes only
    partial: bool = False  # the figures leave out teams below whose answers were too few to add
    hidden: Coverage | None = None  # no figures: why (selectors.coverage)


@dataclass(frozen=True)
class Heatmap:
    round: Round
    constructs: tuple[tuple[str, Words], ...]  # (construct, label)
    rows: tuple[HeatmapRow, ...]


def heatmap_teams(*, round: Round, teams: QuerySet[Team] | None = None) -> QuerySet[Team]:
    """The rows of a round's heatmap: the teams of the round's scope as it was frozen when it
    opened (whatever the survey covers now), in tree order, limited to `teams` when given (a
    manager's visible teams)."""
    candidates = teams if teams is not None else Team.objects.all()
    in_scope = RoundTeam.objects.filter(round=round).values("team_id")
    return candidates.filter(pk__in=in_scope).order_by("path")


def org_heatmap(*, round: Round, teams: QuerySet[Team] | None = None, rows_of: Iterable[Team] | None = None) -> Heatmap:
    """Team nodes × constructs for one round: index and n per cell, suppressed cells marked,
    partial figures marked and, for a team without figures, why (`round_coverage`), for the
    `heatmap_teams` (or only the teams `rows_of`, in their order: a page drawing some of them).
    Three queries (two with `rows_of`), and three more when a row has no figures."""
    team_list = list(rows_of if rows_of is not None else heatmap_teams(round=round, teams=teams))
    results = _published(Result.objects.filter(round=round))
    if rows_of is not None or teams is not None:  # some teams: only their results are read
        results = results.filter(team_id__in=[team.pk for team in team_list])
    by_team = {r.team_id: r for r in results}
    questions = round_questions([round.pk]).get(round.pk, [])
    rows = []
    for team in team_list:
        figures = team_round_figures(team, round, by_team.get(team.pk), questions)
        cells = tuple(
            HeatmapCell(
                c.construct,
                None if c.score is None else c.score.index,
                None if c.score is None else c.score.n,
                None if c.score is None else c.score.index_low,
                None if c.score is None else c.score.index_high,
                c.higher_is_worse,
            )
            for c in figures.constructs
        )
        rows.append(
            HeatmapRow(
                team,
                figures.respondents,
                cells,
                figures.burnout,
                figures.invited,
                figures.response_rate,
                partial=figures.partial,
            )
        )
    hidden = [row.team.pk for row in rows if row.respondents is None]
    if hidden and round.status == RoundStatus.PUBLISHED:
        why = round_coverage(round=round, team_ids=hidden)
        rows = [
            dataclasses.replace(row, hidden=why.get(row.team.pk)) if row.respondents is None else row for row in rows
        ]
    labels = tuple((c.construct, c.label) for c in _constructs(questions, {}))
    return Heatmap(round=round, constructs=labels, rows=tuple(rows))


@dataclass(frozen=True)
class Flag:
    """A likely change an organisation view shows: where to look first. `page_wide`: it also
    holds among every comparison the view shows (`ViewFlags`)."""

    team: Team
    construct: str
    label: Words
    change: Change
    page_wide: bool = False

    @property
    def points(self) -> float:
        return index_points(self.change.delta or 0.0)


@dataclass(frozen=True)
class ViewFlags:
    """The change flags a view of many teams shows (docs/measurement.md, "Pages of many
    teams"): every shown cell's own flag, by team id and construct, as its team's page shows it;
    which of them also survive Benjamini–Hochberg at ORG_FDR over every comparison the view
    shows (`engine.changes.page_flags`), the only ones that may read "unlikely to be chance even
    among every team on this page"; how many comparisons that was; and the teams shown where a
    lasting drop of MISSED_CHANGE could go unseen more often than not (`Change.would_miss`), for
    whom "no likely change" is no all-clear."""

    changes: Mapping[int, Mapping[str, Change]] = field(default_factory=dict)
    page_wide: frozenset[tuple[int, str]] = frozenset()
    comparisons: int = 0
    teams: int = 0  # teams of the view with figures
    missable: frozenset[int] = frozenset()

    def of(self, team_id: int) -> Mapping[str, Change]:
        return self.changes.get(team_id, {})

    @property
    def missed_points(self) -> int:
        return MISSED_POINTS

    @property
    def chance_one_in(self) -> int:
        return CHANCE_ONE_IN


#: MISSED_CHANGE as the words about it print it, in index points.
MISSED_POINTS = shown_index(index_points(MISSED_CHANGE))
#: "Fewer than 1 stable team in this many sees a chance flag in a year" (an upper bound at any
#: cadence: docs/measurement.md).
CHANCE_ONE_IN = max(1, math.floor(1 / chance_flags_per_year()))


def heatmap_flags(heatmap: Heatmap, *, stability: StabilityInUse | None = None) -> ViewFlags:
    """The change flags a view of many teams shows at once (`ViewFlags`): each shown node's own
    flags (`node_changes`), and which of them hold page-wide. One query when cached, four when
    not (three with `stability`, `stability_as_of` the heatmap's round)."""
    round_ = heatmap.round
    shown = {
        row.team.pk: {cell.construct for cell in row.cells if not cell.suppressed}
        for row in heatmap.rows
        if row.respondents is not None
    }
    if not shown:
        return ViewFlags()
    rounds = _looked_back_on(round_)
    stability = stability or stability_as_of(round=round_)
    # Published results never change, so neither do these flags for the same rounds, estimate
    # and teams (which of a team's figures are shown follows from them): they are computed once
    # (after publication, see tasks.round_results_prepare), kept in the database and cached.
    key = _flags_key(round_, rounds, stability, [row.team.pk for row in heatmap.rows])
    kept = _view_flags_kept(key)
    if kept is not None:
        return kept
    rows = {(r.team_id, r.round_id): r for r in Result.objects.filter(round__in=rounds, team_id__in=list(shown))}
    questions = round_questions([r.pk for r in rounds])
    cadence = round_.survey.cadence
    entries: list[tuple[int, str, Change]] = []
    for team_id, constructs in shown.items():
        history = [(r, rows.get((team_id, r.pk))) for r in rounds]
        changes = node_changes(history, questions, at=round_, cadence=cadence, stability=stability.estimates)
        entries += [(team_id, c, change) for c, change in changes.items() if c in constructs]
    wide = page_flags([change for _, _, change in entries])
    flags: dict[int, dict[str, Change]] = defaultdict(dict)
    for team_id, construct, change in entries:
        if change.flagged:
            flags[team_id][construct] = change
    view = ViewFlags(
        changes=dict(flags),
        page_wide=frozenset((team_id, c) for (team_id, c, _), keep in zip(entries, wide, strict=True) if keep),
        comparisons=sum(1 for _, _, change in entries if change.p is not None),
        teams=len(shown),
        missable=frozenset(team_id for team_id, _, change in entries if change.would_miss()),
    )
    StoredViewFlags.objects.bulk_create(
        [StoredViewFlags(organization_id=round_.organization_id, round=round_, key=key, flags=_flags_written(view))],
        ignore_conflicts=True,  # another request stored the same view meanwhile
    )
    cache.set(key, view, timeout=FLAGS_CACHE_SECONDS)
    return view


def _view_flags_kept(key: str) -> ViewFlags | None:
    """A view's flags from the cache, else from the database (put back in the cache), else None;
    a view with none kept is remembered as such in the cache until they are computed, so pages
    that only look (`cached_flags`) do not ask the database each time."""
    view = cache.get(key)
    if view is None:
        stored = StoredViewFlags.objects.filter(key=key).values_list("flags", flat=True).first()
        view = _flags_read(stored) if stored is not None else _NONE_KEPT
        cache.set(key, view, timeout=FLAGS_CACHE_SECONDS)
    return None if view == _NONE_KEPT else view


#: Cached for a view whose flags are not kept anywhere yet.
_NONE_KEPT = "none kept"


def _flags_written(view: ViewFlags) -> dict:
    """ViewFlags as JSON (StoredViewFlags.flags); `_flags_read` is its inverse."""
    return {
        "changes": {
            str(team): {construct: dataclasses.asdict(change) for construct, change in changes.items()}
            for team, changes in view.changes.items()
        },
        "page_wide": sorted([team, construct] for team, construct in view.page_wide),
        "comparisons": view.comparisons,
        "teams": view.teams,
        "missable": sorted(view.missable),
    }


def _flags_read(data: dict) -> ViewFlags:
    def change(fields: dict) -> Change:
        windows = {
            name: Window(**{**fields[name], "numbers": tuple(fields[name]["numbers"])})
            for name in ("recent", "earlier")
            if fields.get(name) is not None
        }
        stability = Stability(**fields["stability"]) if fields.get("stability") is not None else None
        return Change(**{**fields, **windows, "stability": stability})

    return ViewFlags(
        changes={
            int(team): {construct: change(fields) for construct, fields in changes.items()}
            for team, changes in data["changes"].items()
        },
        page_wide=frozenset((team, construct) for team, construct in data["page_wide"]),
        comparisons=data["comparisons"],
        teams=data["teams"],
        missable=frozenset(data["missable"]),
    )


#: How long a view's flags stay cached (they cannot change; this only bounds the cache's size).
FLAGS_CACHE_SECONDS = 30 * 24 * 3600


def cached_flags(
    *, round: Round, team_ids: Iterable[int], published: bool = False, stability: StabilityInUse | None = None
) -> ViewFlags | None:
    """The flags `heatmap_flags` gave the view of `round` with these teams, if kept (after
    publication the worker computes HR's; a view computes its own once), else None: a page
    that shows a few teams of a big view need not score every team to know where to look.
    Three queries: one less when the caller knows the round has published results, and one
    less with `stability` (`stability_as_of` the round)."""
    if not published and not Result.objects.filter(round=round, round__status=RoundStatus.PUBLISHED).exists():
        return ViewFlags()
    stability = stability or stability_as_of(round=round)
    return _view_flags_kept(_flags_key(round, _looked_back_on(round), stability, team_ids))


def _looked_back_on(round_: Round) -> list[Round]:
    """The published rounds of the survey a round's flags compare, oldest first (one query)."""
    published = Round.objects.filter(
        survey_id=round_.survey_id, status=RoundStatus.PUBLISHED, number__lte=round_.number
    )
    return list(published.order_by("-number")[:CHANGE_LOOKBACK])[::-1]


def _flags_key(round_: Round, rounds: Sequence[Round], stability: StabilityInUse, teams: Iterable[int]) -> str:
    """The cache key of one view's flags: the change rule's version, the rounds they look back
    on (a round published late changes them), the stability estimate they use and the teams on
    the view."""
    digest = hashlib.sha256(",".join(map(str, sorted(teams))).encode()).hexdigest()[:32]
    history = "-".join(str(r.pk) for r in rounds)
    return (
        f"pulse:flags:v{CHANGE_RULE_VERSION}:{round_.organization_id}:{round_.pk}:{history}:{stability.token}:{digest}"
    )


def cached_views_forget(*, organization_id: int) -> None:
    """Forget what the cache holds of an organisation's results: its views' change flags (their
    keys name it, `_flags_key`) and the team dashboards' drawings (the template's `{% cache %}`
    hashes their keys, so every organisation's go, each drawn again on its next visit). Without
    Redis (one process's memory: the demo, the tests) the whole cache goes. The flags kept in
    the database (StoredViewFlags) stay: they follow from published results alone, and go with
    their round or organisation."""
    delete_pattern = getattr(cache, "delete_pattern", None)
    if delete_pattern is None:
        cache.clear()
        return
    delete_pattern(f"pulse:flags:v*:{organization_id}:*")
    delete_pattern(f"template.cache.{FIGURES_FRAGMENT}.*")


#: The name the team dashboard's template caches its drawn figures under.
FIGURES_FRAGMENT = "team-dashboard-figures"


def where_to_look(teams: Mapping[int, Team], flags: ViewFlags) -> tuple[Flag, ...]:
    """The flagged changes of a view, largest first (`teams`: the view's teams by id)."""
    labels = dict(Construct.choices)
    out = [
        Flag(teams[team_id], construct, labels[construct], change, (team_id, construct) in flags.page_wide)
        for team_id, changes in flags.changes.items()
        for construct, change in changes.items()
    ]
    return tuple(sorted(out, key=lambda flag: (-abs(flag.points), flag.team.path)))


# Stability --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StabilityInUse:
    """The stability estimate a round's change flags use (docs/measurement.md, "Stability"):
    the one stored for the latest round of the survey up to it (`ChangeStability`), or, before
    any, the prior (`estimates` empty). `token` names it in cache keys."""

    round_id: int | None = None
    estimates: Mapping[StabilityKey, Stability] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return f"s{self.round_id}" if self.round_id else "prior"


def _stability_in_use(row: ChangeStability | None) -> StabilityInUse:
    return StabilityInUse(row.round_id, stability_of_record(row.estimates)) if row else StabilityInUse()


def stability_as_of(*, round: Round) -> StabilityInUse:
    """The estimate the flags shown at `round` use: stored for the latest round of its survey
    up to it, for this version of the rule. One query."""
    stored = ChangeStability.objects.filter(
        survey_id=round.survey_id, number__lte=round.number, version=CHANGE_RULE_VERSION
    )
    return _stability_in_use(stored.order_by("-number").first())


def stabilities_as_of(rounds: Iterable[Round]) -> dict[int, StabilityInUse]:
    """`stability_as_of` each of `rounds` (of any surveys), by round id. One query."""
    rounds = list(rounds)
    stored: dict[int, list[ChangeStability]] = defaultdict(list)
    rows = ChangeStability.objects.filter(
        survey_id__in={r.survey_id for r in rounds}, version=CHANGE_RULE_VERSION
    ).order_by("-number")
    for row in rows:
        stored[row.survey_id].append(row)
    return {
        r.pk: _stability_in_use(next((row for row in stored[r.survey_id] if row.number <= r.number), None))
        for r in rounds
    }


def stability_histories(*, round: Round) -> list[dict[str, list[RoundPoint]]]:
    """What the stability estimate as of a published round rests on (`engine.changes.
    estimate_stability`): one history per leaf team of the round's frozen tree (their people
    are disjoint, so their comparisons are independent), over the survey's published rounds of
    the year up to it, shaped as `node_changes` reads them. Four queries."""
    cadence = round.survey.cadence
    published = Round.objects.filter(survey_id=round.survey_id, status=RoundStatus.PUBLISHED, number__lte=round.number)
    rounds = list(published.order_by("-number")[: ROUNDS_PER_YEAR[cadence]])[::-1]
    frozen = list(RoundTeam.objects.filter(round=round).values_list("team_id", "parent_id"))
    parents = {parent for _, parent in frozen}
    leaves = [team for team, _ in frozen if team not in parents]
    rows = Result.objects.filter(round__in=rounds, team_id__in=leaves)
    by_team: dict[int, dict[int, Result]] = defaultdict(dict)
    for row in rows:
        by_team[row.team_id][row.round_id] = row
    questions = round_questions([r.pk for r in rounds])
    first = rounds[0].number - 1 if rounds else 0
    return [
        dict(_node_history([(r, own.get(r.pk)) for r in rounds], questions, since=first, at=round.number))
        for own in by_team.values()
    ]


# ------------------------------------------------------------------------------------------


def _published(results: QuerySet[Result]) -> QuerySet[Result]:
    """Results of published rounds only: a failed or re-opened round shows nothing."""
    return results.filter(round__status=RoundStatus.PUBLISHED)


def round_questions(round_ids: Iterable[int]) -> dict[int, list[Question]]:
    """Each round's questions, in their order (one query)."""
    questions: dict[int, list[Question]] = defaultdict(list)
    rows = RoundQuestion.objects.filter(round_id__in=list(round_ids)).select_related("question")
    for row in rows.order_by("round_id", "position", "question_id"):
        questions[row.round_id].append(row.question)
    return questions


def _ancestors_or_self(team: Team) -> list[Team]:
    """The team and every team above it, nearest first (one query, by path)."""
    paths = Team.path_prefixes(team.path)
    found = {t.path: t for t in Team.objects.filter(path__in=paths)}
    return [found[p] for p in reversed(paths) if p in found]


def team_round_figures(
    team: Team, round_: Round, result: Result | None, questions: Sequence[Question]
) -> TeamRoundResults:
    """Assemble a node's figures from its Result row (or its absence): every reader of
    published figures goes through here."""
    if result is None or round_.status != RoundStatus.PUBLISHED:
        items = tuple(ItemResult(q, None, None) for q in questions)
        constructs = _constructs(questions, {})
        return TeamRoundResults(team=team, round=round_, published=False, items=items, constructs=constructs)
    counts = result.item_counts()
    constructs = _constructs(questions, counts)
    signs = {c.construct: c.score for c in constructs}
    return TeamRoundResults(
        team=team,
        round=round_,
        published=True,
        respondents=result.n,
        invited=result.invited,
        response_rate=result.n / result.invited,
        items=tuple(_item(q, counts.get(q.pk)) for q in questions),
        constructs=constructs,
        burnout=burnout_signal(signs.get(Construct.EXHAUSTION), signs.get(Construct.MENTAL_DISTANCE)),
        comments_released=result.comments_released,
        covered_teams=tuple(sorted(result.covered_teams)),
        partial=result.partial,
    )


def _item(question: Question, counts: list[int] | None) -> ItemResult:
    if counts is None:
        return ItemResult(question, None, None)
    return ItemResult(question, tuple(counts), item_score(counts, higher_is_worse=question.higher_is_worse))


def _constructs(questions: Sequence[Question], counts: dict[int, list[int]]) -> tuple[ConstructResult, ...]:
    labels = dict(Construct.choices)
    out = []
    for construct in SCORED_CONSTRUCTS:
        members = [q for q in questions if q.construct == construct]
        if not members:
            continue
        items = tuple(_item(q, counts.get(q.pk)) for q in members)
        complete = all(not item.suppressed for item in items)
        score = construct_score(construct, [i.score for i in items if i.score]) if complete else None
        out.append(ConstructResult(construct, labels[construct], members[0].higher_is_worse, items, score))
    return tuple(out)


def _construct_trend(
    construct: str, per_round: list[TeamRoundResults], changes: dict[str, Change]
) -> ConstructTrend | None:
    points = []
    for figures in per_round:
        shown = figures.construct(construct)
        points.append(TrendPoint(figures.round, shown.score if shown else None))
    latest = next((f.construct(construct) for f in reversed(per_round) if f.construct(construct)), None)
    if latest is None:
        return None
    change = changes.get(construct) or Change(NOT_ENOUGH_ROUNDS)
    return ConstructTrend(construct, latest.label, latest.higher_is_worse, tuple(points), change)


def node_changes(
    rounds: Sequence[tuple[Round, Result | None]],
    questions: dict[int, list[Question]],
    *,
    at: Round,
    cadence: str,
    stability: Mapping[StabilityKey, Stability] | None = None,
) -> dict[str, Change]:
    """The change flags of one node as they stand at round `at` (docs/measurement.md): every
    reader of a change (dashboard, thanks page, API, heatmap, e-mails) comes through here.
    `rounds` are published rounds of the survey with the node's Result row in each (None where
    the node was hidden; rounds outside the look-back of the survey's `cadence` are ignored),
    `questions` each round's questions by round id, `stability` the estimate as of `at`
    (`stability_as_of`; the prior when None)."""
    history = _node_history(rounds, questions, since=at.number - LOOKBACK[cadence], at=at.number)
    asked = _construct_items(questions.get(at.pk, []))
    worse = {construct: members[0].higher_is_worse for construct, members in asked.items()}
    return team_changes(
        {construct: history.get(construct, []) for construct in asked},
        at=at.number,
        higher_is_worse=worse,
        cadence=cadence,
        stability=stability,
        k_min=at.shown_k,
    )


def _node_history(
    rounds: Sequence[tuple[Round, Result | None]], questions: dict[int, list[Question]], *, since: int, at: int
) -> dict[str, list[RoundPoint]]:
    """A node's published rounds numbered in (since, at], by construct, as the change rule reads
    them: a round enters a construct's history only with every item of the construct published
    there, each item named by its key (`Question.item_key`), so a comparison uses the items its
    rounds share when the bank version changed between them."""
    history: dict[str, list[RoundPoint]] = defaultdict(list)
    for round_, row in rounds:
        if row is None or not since < round_.number <= at:
            continue
        counts = row.item_counts()
        for construct, members in _construct_items(questions.get(round_.pk, [])).items():
            if all(q.pk in counts for q in members):
                history[construct].append(
                    RoundPoint(
                        round_.number,
                        tuple(counts[q.pk] for q in members),
                        row.n / max(row.invited, 1),
                        keys=tuple(q.item_key for q in members),
                        invited=row.invited,
                    )
                )
    return history


def _construct_items(questions: Sequence[Question]) -> dict[str, list[Question]]:
    """The scored constructs a round asks, each with its questions."""
    out: dict[str, list[Question]] = {}
    for construct in SCORED_CONSTRUCTS:
        members = [q for q in questions if q.construct == construct]
        if members:
            out[construct] = members
    return out
