"""Aggregation of a closed round: one GROUP BY over its answers, each team's own counts in the
frozen tree, the publication rule (surveys.privacy.publication), and the Result rows to write.

Cost: one statement, one round trip, one pass over each table it reads (the round's answers and
responses, each a partition of their own on PostgreSQL, the invitation snapshot, the team tree,
the questions). Everything after is proportional to team nodes × questions, never to respondents.
Why it is built this way, and where the time goes: docs/decisions/2026-11-24-aggregation-reads-
in-one-statement.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from surveys.core.bulk import bulk_insert
from surveys.core.int_tables import fetch_int_tables
from surveys.models import SCALE_POINTS, Answer, Response, Result, Round, RoundQuestion, RoundTeam
from surveys.privacy.publication import Publication, publication_plan
from surveys.privacy.tables import LeafCounts, ResultTable

#: The query any aggregation must at least run (the benchmark times it bare).
HISTOGRAM_SQL = (
    f"SELECT team_id, question_id, value, count(*) FROM {Answer._meta.db_table} "
    "WHERE organization_id = %(organization)s AND round_id = %(round)s GROUP BY 1, 2, 3"
)
_OF_ROUND = "WHERE organization_id = %(organization)s AND round_id = %(round)s"
#: What else a round's aggregation reads, each (query, number of columns); all integers.
INPUT_SQL = {
    "histogram": (HISTOGRAM_SQL, 4),
    "respondents": (f"SELECT team_id, count(*) FROM {Response._meta.db_table} {_OF_ROUND} GROUP BY 1", 2),
    "invited": (f"SELECT team_id, invited FROM {RoundTeam._meta.db_table} {_OF_ROUND}", 2),
    # The round's own tree, frozen when it opened (RoundTeam), never the current one.
    "teams": (f"SELECT team_id, COALESCE(parent_id, 0) FROM {RoundTeam._meta.db_table} {_OF_ROUND}", 2),
    # The reporting unit of each team's invitees, frozen with the tree (0: none frozen).
    "units": (f"SELECT team_id, COALESCE(unit_id, 0) FROM {RoundTeam._meta.db_table} {_OF_ROUND}", 2),
    "questions": (f"SELECT question_id, position FROM {RoundQuestion._meta.db_table} {_OF_ROUND}", 2),
}


#: For the rest of the publishing transaction: the histogram scans the round's own partition
#: (migration 0011) into a hash aggregate, which must not spill to disk (about 100 bytes a group,
#: teams × questions × 5 values: 64 MB holds 2,000 teams of 60 questions); and no JIT, which
#: compiles for longer than a round's read runs.
READ_PLAN = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"


@dataclass(frozen=True)
class RoundInputs:
    leaf: LeafCounts
    teams: np.ndarray  # (T, 2): id, parent id (0 for a root)
    units: np.ndarray  # (T, 2): id, the home team of its reporting unit (0: none frozen)
    question_ids: list[int]  # in the round's order


def round_inputs(round_: Round) -> RoundInputs:
    """Everything a round's aggregation reads, in one statement on PostgreSQL: one pass over
    each table (the answers, the responses, the invitation snapshot, the teams, the questions).
    """
    params = {"organization": round_.organization_id, "round": round_.pk}
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(READ_PLAN)
        tables = fetch_int_tables(INPUT_SQL, params)
    questions = tables["questions"]
    order = np.lexsort((questions[:, 0], questions[:, 1]))
    return RoundInputs(
        leaf=LeafCounts(histogram=tables["histogram"], respondents=tables["respondents"], invited=tables["invited"]),
        teams=tables["teams"],
        units=tables["units"],
        question_ids=questions[order, 0].tolist(),
    )


@dataclass(frozen=True)
class TeamForest:
    """The organisation's team forest in depth-first preorder: parents come before their
    children and node i's subtree is exactly nodes i .. i + size[i] - 1."""

    ids: np.ndarray
    parent: np.ndarray
    size: np.ndarray

    def subtree(self, node: int) -> np.ndarray:
        return self.ids[node : node + self.size[node]]

    def subtree_sums(self, own: np.ndarray) -> np.ndarray:
        """Each node's subtree total of `own` (node order): a prefix sum, two lookups a node."""
        prefix = np.concatenate([[0], np.cumsum(own)])
        start = np.arange(len(self.ids))
        return prefix[start + self.size] - prefix[start]


def team_forest(teams: np.ndarray) -> TeamForest:
    """The team forest from (id, parent id) rows, 0 or an unknown parent making a root (several
    roots are fine). Teams caught in a parent cycle are unreachable from any root and left out
    (the auditor reports them)."""
    teams = teams[np.argsort(teams[:, 0], kind="stable")]
    ids, parents = teams[:, 0].tolist(), teams[:, 1].tolist()
    known = set(ids)
    children: dict[int, list[int]] = {}
    for team_id, parent_id in zip(ids, parents, strict=True):
        children.setdefault(parent_id if parent_id in known else 0, []).append(team_id)
    order: list[int] = []
    up: list[int] = []
    stack = [(root, -1) for root in reversed(children.get(0, []))]
    while stack:
        team_id, parent_position = stack.pop()
        order.append(team_id)
        up.append(parent_position)
        below = children.get(team_id)
        if below:
            position = len(order) - 1
            stack.extend((child, position) for child in reversed(below))
    sizes = [1] * len(order)
    for position in range(len(order) - 1, 0, -1):
        if up[position] >= 0:
            sizes[up[position]] += sizes[position]
    return TeamForest(
        ids=np.array(order, dtype=np.int64),
        parent=np.array(up, dtype=np.int64),
        size=np.array(sizes, dtype=np.int64),
    )


@dataclass(frozen=True)
class OwnCounts:
    """Per team (forest order), its own people only (not its subtree): answer counts per
    question and option, respondents, invited."""

    histogram: np.ndarray  # (N, Q, 5)
    respondents: np.ndarray  # (N,)
    invited: np.ndarray  # (N,)


def own_counts(forest: TeamForest, leaf: LeafCounts, question_ids: list[int]) -> OwnCounts:
    """Each team's own counts in forest order, in one bincount. Rows of teams outside the
    forest or questions outside the round are left out (the auditor reports the former)."""
    size, n_questions = len(forest.ids), len(question_ids)
    width = n_questions * SCALE_POINTS + 2
    positions = _positions(forest.ids)
    team, question, value, answers = leaf.histogram.T
    node = positions(team)
    column = _positions(np.asarray(question_ids, dtype=np.int64))(question)
    keep = (node >= 0) & (column >= 0) & (value >= 1) & (value <= SCALE_POINTS)
    flat = [node[keep] * width + column[keep] * SCALE_POINTS + value[keep] - 1]
    weights = [answers[keep]]
    for offset, rows in ((width - 2, leaf.respondents), (width - 1, leaf.invited)):
        node = positions(rows[:, 0])
        flat.append(node[node >= 0] * width + offset)
        weights.append(rows[node >= 0, 1])
    own = np.bincount(np.concatenate(flat), weights=np.concatenate(weights), minlength=size * width)
    own = np.rint(own).astype(np.int64).reshape(size, width)
    return OwnCounts(
        histogram=own[:, :-2].reshape(size, n_questions, SCALE_POINTS), respondents=own[:, -2], invited=own[:, -1]
    )


def unit_homes(forest: TeamForest, units: np.ndarray, invited: np.ndarray) -> np.ndarray:
    """Each team's reporting unit (frozen when the round opened) as the forest position of its
    home; -1 for a team with nobody invited."""
    positions = _positions(forest.ids)
    home = np.full(len(forest.ids), -1, dtype=np.int64)
    if len(units):
        team, unit = positions(units[:, 0]), positions(units[:, 1])
        home[team[team >= 0]] = unit[team >= 0]
    if np.any((invited > 0) & (home < 0)):
        raise ValueError("The round's reporting units were never frozen (round_units_freeze).")
    return np.where(invited > 0, home, -1)


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


@dataclass(frozen=True)
class RoundAggregate:
    leaf: LeafCounts
    forest: TeamForest
    question_ids: list[int]
    own: OwnCounts
    home: np.ndarray  # each team's unit home (forest positions)
    plan: Publication
    results: ResultTable


def round_aggregate_rows(round_: Round, *, inputs: RoundInputs | None = None) -> RoundAggregate:
    """Everything a round publishes, computed but not written."""
    inputs = inputs or round_inputs(round_)
    forest = team_forest(inputs.teams)
    own = own_counts(forest, inputs.leaf, inputs.question_ids)
    home = unit_homes(forest, inputs.units, own.invited)
    plan = publication_plan(
        parent=forest.parent,
        home=home,
        invited=own.invited,
        respondents=own.respondents,
        histogram=own.histogram,
        k=round_.k,
        k_comments=round_.k_comments,
    )
    results = _result_table(forest, inputs.question_ids, plan)
    return RoundAggregate(inputs.leaf, forest, inputs.question_ids, own, home, plan, results)


def _result_table(forest: TeamForest, question_ids: list[int], plan: Publication) -> ResultTable:
    """One row per node with figures, in forest order. Its covered teams (ascending) are those
    whose people's answers enter a figure inside its subtree: a contiguous run of the teams
    sorted by where they enter, since a subtree is a contiguous run of the forest."""
    nodes = np.flatnonzero(plan.shown)
    entering = np.flatnonzero(plan.included_at >= 0)
    entering = entering[np.argsort(plan.included_at[entering], kind="stable")]
    entries = plan.included_at[entering]
    starts = np.searchsorted(entries, nodes)
    ends = np.searchsorted(entries, nodes + forest.size[nodes])
    lengths = ends - starts
    within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    covered = forest.ids[entering[np.repeat(starts, lengths) + within]]
    row_of = np.repeat(np.arange(len(nodes)), lengths)
    covered = covered[np.lexsort((covered, row_of))]
    items = plan.items[nodes]
    return ResultTable(
        team_ids=forest.ids[nodes],
        respondents=plan.respondents[nodes],
        invited=plan.invited[nodes],
        comments_released=plan.comments[nodes].astype(bool),
        question_ids=np.asarray(question_ids, dtype=np.int64),
        item_published=items,
        item_counts=np.where(items[:, :, None], plan.histogram[nodes], 0),
        covered_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        covered_teams=covered,
        partial=plan.partial[nodes].astype(bool),
    )


def results_write(round_: Round, results: ResultTable) -> None:
    """Write the round's Results (it has none: published results are final). Call inside the
    publishing transaction, after the audit."""
    if connection.vendor == "postgresql":
        columns = ["team_id", "n", "invited", "items", "comments_released", "covered_teams", "partial"]
        # A dropped connection while copying is the OperationalError the task retries on.
        bulk_insert(Result, ["organization_id", "round_id", *columns], copy_payload(round_, results), returning=())
    else:
        Result.objects.bulk_create(
            (Result(organization_id=round_.organization_id, round_id=round_.pk, **row) for row in results.rows()),
            batch_size=500,
        )


def copy_payload(round_: Round, results: ResultTable) -> str:
    """The COPY text of `results`, in the column order `results_write` names: the same rows
    `ResultTable.rows()` gives, rendered with one %-format over a flat array of integers
    instead of per-row JSON encoding. Every value is an integer (booleans as 1 and 0), so there
    is nothing to escape. Items keep the round's question order, covered teams ascend."""
    published = results.item_published
    per_row = published.sum(axis=1)
    covered = np.diff(results.covered_offsets)
    # A row: team, n, invited, six integers per item (question id, five counts), released,
    # teams, partial.
    lengths = 3 + 6 * per_row + 1 + covered + 1
    starts = np.cumsum(lengths) - lengths
    flat = np.empty(int(lengths.sum()), dtype=np.int64)
    flat[starts] = results.team_ids
    flat[starts + 1] = results.respondents
    flat[starts + 2] = results.invited
    rows, columns = np.nonzero(published)
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    item_at = starts[rows] + 3 + 6 * rank
    flat[item_at] = results.question_ids[columns]
    flat[item_at[:, None] + np.arange(1, SCALE_POINTS + 1)] = results.item_counts[rows, columns]
    flat[starts + 3 + 6 * per_row] = results.comments_released
    within = np.arange(len(results.covered_teams)) - np.repeat(results.covered_offsets[:-1], covered)
    flat[np.repeat(starts + 4 + 6 * per_row, covered) + within] = results.covered_teams
    flat[starts + lengths - 1] = results.partial
    head = f"{round_.organization_id}\t{round_.pk}\t%d\t%d\t%d\t{{"
    item = '"%d":[' + ",".join(["%d"] * SCALE_POINTS) + "]"
    template = "".join(
        head + ",".join([item] * k) + "}\t%d\t[" + ",".join(["%d"] * m) + "]\t%d\n"
        for k, m in zip(per_row.tolist(), covered.tolist(), strict=True)
    )
    return template % tuple(flat.tolist())
