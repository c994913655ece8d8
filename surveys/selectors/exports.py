"""Published results as rows, for the REST API and every CSV download.

The figures are the pages' own: each node's are assembled by `selectors.results` from its
Result row (never from answers), and its change flags by the same rule as the dashboard's
trend (`selectors.results.node_changes`). A figure that is not
shown is absent, with the reason the pages give. Rows are produced in batches with a bounded
number of queries per batch, so a download of every round of every team streams in flat memory.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery, TextField

from surveys.core.csv_cells import csv_text
from surveys.engine.changes import CHANGE_LOOKBACK, Change
from surveys.models import Result, ResultLines, Round, RoundStatus, RoundTeam, Team
from surveys.selectors.results import (
    SCORED_CONSTRUCTS,
    ConstructResult,
    Heatmap,
    HeatmapCell,
    HeatmapRow,
    ItemResult,
    TeamRoundResults,
    node_changes,
    round_questions,
    stabilities_as_of,
    team_round_figures,
)

#: Nodes (round × team) assembled per batch of queries.
BATCH = 2_000

#: Why a figure is absent: code -> the words the pages use.
HIDDEN_GROUP = "group_hidden"
HIDDEN_QUESTION = "question_hidden"
HIDDEN_MEASURE = "measure_incomplete"
REASONS = {
    HIDDEN_GROUP: (
        "Not shown: this team has no figures of its own this round (fewer than k of its people "
        "answered, or its people are counted with another team's); its page says which."
    ),
    HIDDEN_QUESTION: "Not shown: fewer than k people of this group answered this question.",
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
    """The figures of a batch of nodes, in their order. Five queries per batch, whatever its
    size: the published rounds of their surveys, the Result rows of their teams in the rounds
    their change flags look back on, the rounds' questions and the stability estimates the
    flags use."""
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
        (row.team_id, row.round_id): row for row in Result.objects.filter(team_id__in=teams, round_id__in=round_ids)
    }
    questions = round_questions(round_ids)
    stability = stabilities_as_of({node.round for node in nodes})
    out = []
    for node in nodes:
        current = team_round_figures(
            node.team, node.round, rows.get((node.team_id, node.round_id)), questions.get(node.round_id, [])
        )
        changes = {}
        if current.published:
            window = [(round_, rows.get((node.team_id, round_.pk))) for round_ in windows[node.pk]]
            shown = {c.construct for c in current.constructs if not c.suppressed}
            estimates = stability[node.round_id].estimates
            every = node_changes(
                window, questions, at=node.round, cadence=node.round.survey.cadence, stability=estimates
            )
            changes = {c: change for c, change in every.items() if c in shown}
        out.append(NodeResults(current, changes))
    return out


def _window(published: list[Round], round_: Round) -> list[Round]:
    """The published rounds of the survey a change flag at `round_` can look back on, oldest first."""
    upto = [r for r in published if r.number <= round_.number]
    return upto[-CHANGE_LOOKBACK:]


# The results CSV ---------------------------------------------------------------------------

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

#: Which rules produced stored lines (ResultLines): raise it whenever a figure, its rounding, a
#: reason or the change rule changes, and every node's lines are computed again when next read.
LINES_VERSION = 3
#: Bytes of CSV gathered before a chunk goes to the client.
CHUNK = 64 * 1024


def result_csv(nodes: QuerySet[RoundTeam], *, constructs: Iterable[str] | None = None) -> Iterator[str]:
    """The results CSV of `nodes` in their order, in chunks: the header, then one line per node ×
    measure (each construct followed by its questions, then the questions outside the scored
    constructs), only `constructs` when given. Each node's lines are read as stored at
    publication (computed and stored now for a node that has none), so the download costs a
    read, not the scoring of every node again; names are today's."""
    wanted = set(constructs) if constructs else None
    stored = ResultLines.objects.filter(round=OuterRef("round_id"), team=OuterRef("team_id"), version=LINES_VERSION)
    rows = nodes.annotate(stored=Subquery(stored.values("lines")[:1], output_field=TextField())).values_list(
        "pk",
        "round__survey_id",
        "round__survey__name",
        "round_id",
        "round__number",
        "round__closed_at",
        "round__closes_at",
        "team_id",
        "team__path",
        "stored",
    )
    chunk = [csv_text(RESULT_COLUMNS) + "\r\n"]
    size = 0
    batch: list[tuple] = []
    for row in rows.iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            for text in _batch_lines(batch, wanted):
                chunk.append(text)
                size += len(text)
                if size >= CHUNK:
                    yield "".join(chunk)
                    chunk, size = [], 0
            batch = []
    chunk.extend(_batch_lines(batch, wanted))
    yield "".join(chunk)


def _batch_lines(batch: list[tuple], wanted: set[str] | None) -> Iterator[str]:
    missing = [row[0] for row in batch if row[-1] is None]
    computed = result_lines_store(RoundTeam.objects.filter(pk__in=missing)) if missing else {}
    for node_id, survey_id, survey, round_id, number, closed_at, closes_at, team_id, path, stored in batch:
        lines = json.loads(stored) if stored is not None else computed[node_id]
        head = (
            csv_text((survey_id, survey, round_id, number, _date(closed_at or closes_at), team_id, path))
            + ","
            + lines["node"]
            + ","
        )
        yield "".join(
            f"{head}{cells}\r\n" for construct, cells in lines["measures"] if wanted is None or construct in wanted
        )


def result_lines_store(nodes: QuerySet[RoundTeam]) -> dict[int, dict]:
    """Compute the CSV lines of `nodes` (of published rounds), store them for the next
    download, and return them by node id."""
    batch = list(nodes.select_related("round__survey", "team").order_by("team_id", "round__number"))
    lines = {node.pk: node_lines(results) for node, results in zip(batch, node_results(batch), strict=True)}
    if batch:
        round_ids, team_ids = {node.round_id for node in batch}, {node.team_id for node in batch}
        ResultLines.objects.filter(round_id__in=round_ids, team_id__in=team_ids).exclude(version=LINES_VERSION).delete()
        ResultLines.objects.bulk_create(
            (
                ResultLines(
                    organization_id=node.organization_id,
                    round_id=node.round_id,
                    team_id=node.team_id,
                    version=LINES_VERSION,
                    lines=lines[node.pk],
                )
                for node in batch
            ),
            batch_size=500,
            ignore_conflicts=True,
        )
    return lines


def result_lines_prepare(round_: Round) -> int:
    """Store the CSV lines of every node of a published round, batch by batch, so its first
    download is as fast as the next. Returns how many nodes it stored."""
    node_ids = list(RoundTeam.objects.filter(round=round_).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(node_ids), BATCH):
        result_lines_store(RoundTeam.objects.filter(pk__in=node_ids[start : start + BATCH]))
    return len(node_ids)


def node_lines(node: NodeResults) -> dict:
    """What ResultLines keeps of a node: its participation cells, and each measure's cells with
    the construct it belongs to, as CSV text (the columns after `team`)."""
    figures = node.figures
    return {
        "node": csv_text((figures.respondents, figures.invited, rounded(figures.response_rate, 4))),
        "measures": [[construct, csv_text(cells)] for construct, cells in _measure_cells(node)],
    }


def _measure_cells(node: NodeResults) -> Iterator[tuple[str, tuple]]:
    figures = node.figures
    for construct in figures.constructs:
        reason = node.construct_reason(construct)
        change = node.changes.get(construct.construct)
        yield (
            construct.construct,
            (
                "construct",
                construct.construct,
                "",
                *_estimate(construct.score),
                change.status if change else None,
                "no" if reason else "yes",
                reason,
            ),
        )
        for item in construct.items:
            yield construct.construct, _item_cells(node, item)
    for item in figures.items:
        if item.question.construct not in SCORED_CONSTRUCTS:  # the others are listed under theirs
            yield item.question.construct, _item_cells(node, item)


def _item_cells(node: NodeResults, item: ItemResult) -> tuple:
    reason = node.item_reason(item)
    return (
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
