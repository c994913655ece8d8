"""Published results as rows, for the REST API and every CSV download.

The figures are the pages' own: each node's are assembled by `selectors.results` from its
Result row (never from answers), and its change flags by the same rule as the dashboard's
trend (`selectors.results.change_counts`, `scoring.construct_change`). A figure that is not
shown is absent, with the reason the pages give. Rows are produced in batches with a bounded
number of queries per batch, so a download of every round of every team streams in flat memory.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from surveys.models import Result, Round, RoundStatus, RoundTeam, Team
from surveys.scoring import Change, construct_change
from surveys.selectors.results import (
    SCORED_CONSTRUCTS,
    ConstructResult,
    Heatmap,
    HeatmapCell,
    HeatmapRow,
    ItemResult,
    TeamRoundResults,
    change_counts,
    round_questions,
    team_round_figures,
)

#: How many published rounds back a change flag looks, as on the dashboard's trend.
HISTORY_ROUNDS = 12
#: Nodes (round × team) assembled per batch of queries.
BATCH = 2_000

#: Why a figure is absent: code -> the words the pages use.
HIDDEN_GROUP = "group_hidden"
HIDDEN_QUESTION = "question_hidden"
HIDDEN_MEASURE = "measure_incomplete"
REASONS = {
    HIDDEN_GROUP: (
        "Not shown: fewer than k people of this group answered, or showing it would let someone "
        "work out a smaller group's answers."
    ),
    HIDDEN_QUESTION: "Not shown: not enough people of this group answered this question.",
    HIDDEN_MEASURE: "Not shown: a question of this measure is not shown for this group.",
}


@dataclass(frozen=True)
class NodeResults:
    """One team node's figures for one round, with the change flag of each measure shown."""

    figures: TeamRoundResults
    changes: Mapping[str, Change]

    @property
    def reason(self) -> str | None:
        return None if self.figures.published else HIDDEN_GROUP

    def construct_reason(self, construct: ConstructResult) -> str | None:
        if not self.figures.published:
            return HIDDEN_GROUP
        return HIDDEN_MEASURE if construct.suppressed else None

    def item_reason(self, item: ItemResult) -> str | None:
        if not self.figures.published:
            return HIDDEN_GROUP
        return HIDDEN_QUESTION if item.suppressed else None


def result_nodes(*, rounds: QuerySet[Round], teams: QuerySet[Team] | None = None) -> QuerySet[RoundTeam]:
    """The (round, team) nodes of published `rounds`: each round's frozen tree, limited to
    `teams` (a subtree, a manager's visible teams) when given."""
    nodes = RoundTeam.objects.filter(round__in=rounds.filter(status=RoundStatus.PUBLISHED))
    if teams is not None:
        nodes = nodes.filter(team__in=teams)
    return nodes.select_related("round__survey", "team")


def node_results(nodes: Sequence[RoundTeam]) -> list[NodeResults]:
    """The figures of a batch of nodes, in their order. Four queries per batch, whatever its
    size: the published rounds of their surveys, the Result rows of their teams in the rounds
    their change flags look back on, and the rounds' questions."""
    if not nodes:
        return []
    survey_ids = {node.round.survey_id for node in nodes}
    published = list(
        Round.objects.filter(survey_id__in=survey_ids, status=RoundStatus.PUBLISHED).order_by("survey_id", "number")
    )
    by_survey: dict[int, list[Round]] = defaultdict(list)
    for round_ in published:
        by_survey[round_.survey_id].append(round_)
    windows = {node.pk: _window(by_survey[node.round.survey_id], node.round) for node in nodes}
    round_ids = {round_.pk for window in windows.values() for round_ in window}
    teams = {node.team_id for node in nodes}
    rows = {
        (row.team_id, row.round_id): row
        for row in Result.objects.filter(team_id__in=teams, round_id__in=round_ids).defer("covered_teams")
    }
    questions = round_questions(round_ids)
    figures: dict[tuple[int, int], TeamRoundResults] = {}

    def figures_of(team: Team, round_: Round) -> TeamRoundResults:
        key = (team.pk, round_.pk)
        if key not in figures:
            figures[key] = team_round_figures(team, round_, rows.get(key), questions.get(round_.pk, []))
        return figures[key]

    out = []
    for node in nodes:
        window = windows[node.pk]
        current = figures_of(node.team, node.round)
        changes = {}
        if current.published:
            for construct in current.constructs:
                if construct.suppressed:
                    continue
                question_ids = [item.question.pk for item in construct.items]
                history = []  # newest first
                for round_ in reversed(window):
                    counts = change_counts(
                        figures_of(node.team, round_), rows.get((node.team_id, round_.pk)), question_ids
                    )
                    if counts is not None:
                        history.append(counts)
                changes[construct.construct] = construct_change(
                    history, question_ids=question_ids, k=node.round.shown_k, higher_is_worse=construct.higher_is_worse
                )
        out.append(NodeResults(current, changes))
    return out


def _window(published: list[Round], round_: Round) -> list[Round]:
    """The last HISTORY_ROUNDS published rounds of the survey up to `round_`, oldest first."""
    upto = [r for r in published if r.number <= round_.number]
    return upto[-HISTORY_ROUNDS:]


def node_results_stream(nodes: QuerySet[RoundTeam]) -> Iterator[NodeResults]:
    """Every node of `nodes` (ordered by the caller), batch by batch."""
    batch: list[RoundTeam] = []
    for node in nodes.iterator(chunk_size=BATCH):
        batch.append(node)
        if len(batch) == BATCH:
            yield from node_results(batch)
            batch = []
    yield from node_results(batch)


# CSV rows ----------------------------------------------------------------------------------

RESULT_COLUMNS = (
    "survey_id",
    "survey",
    "round_id",
    "round",
    "closed_on",
    "team_id",
    "team",
    "respondents",
    "invited",
    "response_rate",
    "measure_type",
    "measure",
    "question",
    "index",
    "index_low",
    "index_high",
    "n",
    "favourable",
    "neutral",
    "unfavourable",
    "change",
    "shown",
    "reason",
)


def result_rows(nodes: Iterable[NodeResults], *, constructs: Iterable[str] | None = None) -> Iterator[tuple]:
    """One row per node × measure (each construct, then each question), as RESULT_COLUMNS."""
    wanted = set(constructs) if constructs else None
    for node in nodes:
        figures = node.figures
        round_ = figures.round
        closed = round_.closed_at or round_.closes_at
        head = (
            round_.survey_id,
            round_.survey.name,
            round_.pk,
            round_.number,
            _date(closed),
            figures.team.pk,
            figures.team.path,
            figures.respondents,
            figures.invited,
            rounded(figures.response_rate, 4),
        )
        for construct in figures.constructs:
            if wanted is not None and construct.construct not in wanted:
                continue
            score = construct.score
            reason = node.construct_reason(construct)
            change = node.changes.get(construct.construct)
            yield head + (
                "construct",
                construct.construct,
                "",
                *_estimate(score),
                change.status if change else None,
                "no" if reason else "yes",
                reason,
            )
            for item in construct.items:
                yield _item_row(head, node, item)
        for item in figures.items:
            if item.question.construct in SCORED_CONSTRUCTS:
                continue  # listed under its construct
            if wanted is not None and item.question.construct not in wanted:
                continue
            yield _item_row(head, node, item)


def _item_row(head: tuple, node: NodeResults, item: ItemResult) -> tuple:
    reason = node.item_reason(item)
    return head + (
        "question",
        item.question.code,
        item.question.text,
        *_estimate(item.score),
        None,
        "no" if reason else "yes",
        reason,
    )


ESTIMATE_FIELDS = ("index", "index_low", "index_high", "n", "favourable", "neutral", "unfavourable")


def estimate_figures(score) -> dict[str, float | None]:
    """A score's published figures, rounded as shown (all None for a figure not shown)."""
    if score is None:
        return dict.fromkeys(ESTIMATE_FIELDS)
    return {
        "index": rounded(score.index, 1),
        "index_low": rounded(score.index_low, 1),
        "index_high": rounded(score.index_high, 1),
        "n": rounded(score.n, 1),
        "favourable": rounded(score.shares.favourable, 4),
        "neutral": rounded(score.shares.neutral, 4),
        "unfavourable": rounded(score.shares.unfavourable, 4),
    }


def _estimate(score) -> tuple:
    return tuple(estimate_figures(score).values())


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _date(value: dt.datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def heatmap_columns(heatmap: Heatmap) -> tuple[str, ...]:
    """The heatmap CSV's columns: the node, its participation, each measure's index, the
    burnout signal, and which measures are not shown with why."""
    measures = tuple(f"index_{construct}" for construct, _ in heatmap.constructs)
    return (
        "round_id",
        "team_id",
        "team",
        "respondents",
        "invited",
        "response_rate",
        *measures,
        "burnout_index",
        "burnout_zone",
        "not_shown",
        "reason",
    )


def heatmap_rows(heatmap: Heatmap) -> Iterator[tuple]:
    """One row per team node of the heatmap, as `heatmap_columns`; a measure not shown is an
    empty cell, named in `not_shown` with the reason."""
    for row in heatmap.rows:
        hidden = [cell.construct for cell in row.cells if cell.suppressed]
        reasons = {heatmap_cell_reason(row, cell) for cell in row.cells} - {None}
        reason = HIDDEN_GROUP if row.respondents is None else next(iter(reasons), None)
        yield (
            heatmap.round.pk,
            row.team.pk,
            row.team.path,
            row.respondents,
            row.invited,
            rounded(row.response_rate, 4),
            *(rounded(cell.index, 1) for cell in row.cells),
            rounded(row.burnout.index, 1) if row.burnout else None,
            row.burnout.zone if row.burnout else None,
            ";".join(hidden),
            reason,
        )


def heatmap_cell_reason(row: HeatmapRow, cell: HeatmapCell) -> str | None:
    """Why a heatmap cell is empty: its group is not shown, or a question of its measure."""
    if not cell.suppressed:
        return None
    return HIDDEN_GROUP if row.respondents is None else HIDDEN_MEASURE
