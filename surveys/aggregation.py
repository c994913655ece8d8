"""Aggregation of a closed round (DESIGN.md §7): one GROUP BY over its answers, a roll-up
through the team tree in memory, suppression (the rules live in surveys.privacy), and the
Result rows to write.

Cost: one scan of the round's answers (covered by the `answer_histogram` index) plus two small
GROUP BYs on responses and invitations; everything after is proportional to team nodes ×
questions, never to respondents.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from django.db import connection

from surveys.models import SCALE_POINTS, Answer, Invitation, Response, Result, Round, RoundQuestion, Team
from surveys.privacy import LeafCounts, Publication, publication_plan

#: The query any aggregation must at least run (the benchmark times it bare).
HISTOGRAM_SQL = (
    f"SELECT team_id, question_id, value, count(*) FROM {Answer._meta.db_table} "
    "WHERE organization_id = %s AND round_id = %s GROUP BY 1, 2, 3"
)
_PEOPLE_SQL = "SELECT team_id, count(*) FROM {table} WHERE organization_id = %s AND round_id = %s GROUP BY 1"


def round_leaf_counts(round_: Round) -> LeafCounts:
    """The round's raw counts per team as recorded on its rows (the invitation snapshot)."""
    params = [round_.organization_id, round_.pk]
    with connection.cursor() as cursor:
        cursor.execute(HISTOGRAM_SQL, params)
        histogram = cursor.fetchall()
        people = []
        for model in (Response, Invitation):
            cursor.execute(_PEOPLE_SQL.format(table=model._meta.db_table), params)
            people.append(dict(cursor.fetchall()))
    return LeafCounts(histogram=histogram, respondents=people[0], invited=people[1])


@dataclass(frozen=True)
class TeamForest:
    """The organisation's team forest in depth-first preorder: parents come before their
    children and node i's subtree is exactly nodes i .. i + size[i] - 1."""

    ids: np.ndarray
    parent: np.ndarray
    size: np.ndarray

    def subtree(self, node: int) -> np.ndarray:
        return self.ids[node : node + self.size[node]]


def team_forest() -> TeamForest:
    """The team forest of the organisation in scope (several roots are fine). Teams caught in a
    parent cycle are unreachable from any root and left out (the auditor reports them)."""
    rows = list(Team.objects.values_list("id", "parent_id").order_by("id"))
    known = {team_id for team_id, _ in rows}
    children: dict[int | None, list[int]] = {}
    for team_id, parent_id in rows:
        children.setdefault(parent_id if parent_id in known else None, []).append(team_id)
    ids: list[int] = []
    parents: list[int] = []
    stack = [(root, -1) for root in reversed(children.get(None, []))]
    while stack:
        team_id, parent_position = stack.pop()
        ids.append(team_id)
        parents.append(parent_position)
        stack.extend((child, len(ids) - 1) for child in reversed(children.get(team_id, [])))
    sizes = [1] * len(ids)
    for position in range(len(ids) - 1, 0, -1):
        if parents[position] >= 0:
            sizes[parents[position]] += sizes[position]
    return TeamForest(
        ids=np.array(ids, dtype=np.int64),
        parent=np.array(parents, dtype=np.int64),
        size=np.array(sizes, dtype=np.int64),
    )


@dataclass(frozen=True)
class SubtreeTotals:
    """Per node (forest order): answer counts per question and option, respondents, invited."""

    histogram: np.ndarray  # (N, Q, 5)
    respondents: np.ndarray  # (N,)
    invited: np.ndarray  # (N,)


def roll_up(forest: TeamForest, leaf: LeafCounts, question_ids: list[int]) -> SubtreeTotals:
    """Sum each node's whole subtree: a prefix sum over the preorder, two subtractions per node.
    Rows of teams outside the forest or questions outside the round are left out (the auditor
    reports the former)."""
    size, n_questions = len(forest.ids), len(question_ids)
    width = n_questions * SCALE_POINTS + 2
    flat = [np.zeros(0, dtype=np.int64)]
    weights = [np.zeros(0, dtype=np.int64)]
    positions = _positions(forest.ids)
    if leaf.histogram:
        rows = np.fromiter(
            itertools.chain.from_iterable(leaf.histogram), dtype=np.int64, count=4 * len(leaf.histogram)
        ).reshape(-1, 4)
        node = positions(rows[:, 0])
        question = _positions(np.asarray(question_ids, dtype=np.int64))(rows[:, 1])
        keep = (node >= 0) & (question >= 0) & (rows[:, 2] >= 1) & (rows[:, 2] <= SCALE_POINTS)
        flat.append(node[keep] * width + question[keep] * SCALE_POINTS + rows[keep, 2] - 1)
        weights.append(rows[keep, 3])
    for column, mapping in ((width - 2, leaf.respondents), (width - 1, leaf.invited)):
        if mapping:
            team_ids = np.fromiter(mapping.keys(), dtype=np.int64, count=len(mapping))
            counts = np.fromiter(mapping.values(), dtype=np.int64, count=len(mapping))
            node = positions(team_ids)
            flat.append(node[node >= 0] * width + column)
            weights.append(counts[node >= 0])
    own = np.bincount(np.concatenate(flat), weights=np.concatenate(weights), minlength=size * width)
    own = np.rint(own).astype(np.int64).reshape(size, width)
    prefix = np.vstack([np.zeros((1, width), dtype=np.int64), np.cumsum(own, axis=0)])
    start = np.arange(size)
    total = prefix[start + forest.size] - prefix[start]
    return SubtreeTotals(
        histogram=total[:, :-2].reshape(size, n_questions, SCALE_POINTS),
        respondents=total[:, -2],
        invited=total[:, -1],
    )


def _positions(ids: np.ndarray):
    """A vectorised id -> position lookup (-1 for unknown ids)."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]

    def lookup(values: np.ndarray) -> np.ndarray:
        if not len(sorted_ids):
            return np.full(len(values), -1, dtype=np.int64)
        where = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
        return np.where(sorted_ids[where] == values, order[where], -1)

    return lookup


class ResultRow(NamedTuple):
    team_id: int
    n: int
    invited: int
    items: dict[int, list[int]]
    comments_released: bool
    covered_teams: list[int]


@dataclass(frozen=True)
class RoundAggregate:
    leaf: LeafCounts
    forest: TeamForest
    question_ids: list[int]
    totals: SubtreeTotals
    plan: Publication
    rows: list[ResultRow]


def round_aggregate_rows(round_: Round) -> RoundAggregate:
    """Everything a round publishes, computed but not written."""
    leaf = round_leaf_counts(round_)
    forest = team_forest()
    question_ids = list(
        RoundQuestion.objects.filter(round=round_)
        .order_by("position", "question_id")
        .values_list("question_id", flat=True)
    )
    totals = roll_up(forest, leaf, question_ids)
    plan = publication_plan(
        parent=forest.parent,
        invited=totals.invited,
        respondents=totals.respondents,
        contributors=totals.histogram.sum(axis=2),
        k=round_.k,
        k_comments=round_.k_comments,
        eligible=_survey_scope(forest, round_.survey.root_team_id),
    )
    return RoundAggregate(leaf, forest, question_ids, totals, plan, _result_rows(forest, question_ids, totals, plan))


def _survey_scope(forest: TeamForest, root_team_id: int | None) -> np.ndarray | None:
    """Nodes a survey limited to one part of the tree publishes for: that subtree only."""
    if root_team_id is None:
        return None
    eligible = np.zeros(len(forest.ids), dtype=bool)
    found = np.flatnonzero(forest.ids == root_team_id)
    if len(found):
        eligible[found[0] : found[0] + forest.size[found[0]]] = True
    return eligible


def _result_rows(forest: TeamForest, question_ids: list[int], totals: SubtreeTotals, plan: Publication):
    nodes, columns = np.nonzero(plan.questions & plan.participation[:, None])
    items: dict[int, dict[int, list[int]]] = {}
    question_of = np.asarray(question_ids, dtype=np.int64)[columns].tolist()
    for node, question_id, counts in zip(
        nodes.tolist(), question_of, totals.histogram[nodes, columns].tolist(), strict=True
    ):
        items.setdefault(node, {})[question_id] = counts
    return [
        ResultRow(
            team_id=int(forest.ids[node]),
            n=int(totals.respondents[node]),
            invited=int(totals.invited[node]),
            items=items.get(node, {}),
            comments_released=bool(plan.comments[node]),
            covered_teams=sorted(forest.subtree(node).tolist()),
        )
        for node in np.flatnonzero(plan.participation).tolist()
    ]


def results_replace(round_: Round, rows: list[ResultRow]) -> None:
    """Replace the round's Results with `rows`. Call inside the publishing transaction."""
    Result.objects.filter(round=round_).delete()
    if connection.vendor == "postgresql":
        _copy_results(round_, rows)
    else:
        Result.objects.bulk_create(
            (Result(organization_id=round_.organization_id, round_id=round_.pk, **row._asdict()) for row in rows),
            batch_size=500,
        )


def _copy_results(round_: Round, rows: list[ResultRow]) -> None:
    """COPY rather than INSERT: a big organisation publishes thousands of nodes. Every value is
    an integer, a boolean or JSON made of integers, so there is nothing to escape."""
    prefix = f"{round_.organization_id}\t{round_.pk}\t"
    lines = [
        f"{prefix}{row.team_id}\t{row.n}\t{row.invited}\t"
        + "{"
        + ", ".join(f'"{question_id}": [{", ".join(map(str, counts))}]' for question_id, counts in row.items.items())
        + "}\t"
        + ("t" if row.comments_released else "f")
        + f"\t[{', '.join(map(str, row.covered_teams))}]\n"
        for row in rows
    ]
    columns = "organization_id, round_id, team_id, n, invited, items, comments_released, covered_teams"
    with connection.cursor() as cursor, cursor.copy(f"COPY {Result._meta.db_table} ({columns}) FROM STDIN") as copy:
        copy.write("".join(lines))
