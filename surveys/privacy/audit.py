"""The independent auditor: prove that what a round publishes keeps the anonymity invariant.

It imports the rules and the tables, never the suppression or aggregation it checks: it reads
the team tree and the round's questions itself, and derives subtree sums and node sets from
ancestor chains built by walking parent links, not from aggregation's preorder roll-up, so a
bug in one is caught by the other.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count

from surveys.core.exceptions import PulseError
from surveys.core.int_tables import fetch_int_tables
from surveys.models import (
    SCALE_POINTS,
    Answer,
    Invitation,
    PublicationRule,
    Response,
    Result,
    Round,
    RoundQuestion,
    RoundTeam,
)
from surveys.privacy.rules import reaches_threshold, remainder_is_safe, thresholds_check
from surveys.privacy.tables import LeafCounts, ResultTable, int_rows

logger = logging.getLogger(__name__)


class PrivacyAuditError(RuntimeError):
    """The auditor found published figures that break the anonymity invariant."""

    def __init__(self, report: AuditReport) -> None:
        super().__init__(report.summary())
        self.report = report


@dataclass
class AuditReport:
    """The auditor's findings. Messages name nodes and questions but never a small count:
    `failure_reason` is shown to HR, and a count below k is exactly what must not leak."""

    round_id: int
    problems: list[str] = field(default_factory=list)
    results_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"Privacy audit of round {self.round_id} passed ({self.results_checked} results)."
        shown = "; ".join(self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        return f"Privacy audit of round {self.round_id} failed: {shown}{more}."


def audit_round(
    round_: Round, *, leaf_counts: LeafCounts | None = None, results: ResultTable | None = None
) -> AuditReport:
    """Prove, independently of aggregation, that a round's Results keep the invariant.

    Standalone (no arguments) it reads the stored Results and recomputes every figure from the
    raw rows with its own queries, which read each answer's team from its Response rather than
    the copy on the Answer, and also checks that the invitation snapshot counts everyone who
    still holds an invitation. Inside publication, aggregation hands over the raw counts it
    fetched (`leaf_counts`) and the exact `results` it is about to write, before writing them.

    Why the rows about to be written rather than the stored ones:
    docs/decisions/2026-11-25-audit-before-write-and-durable-commit.md.

    Checks: nothing is published for a round that is not closed; every Result has at least k
    respondents and equals the raw counts of the teams it covers; every published figure lies
    inside its nearest published ancestor's and apart from its siblings', and what it holds
    beyond the figures below it keeps the remainder rule (`remainder_is_safe`), per measure;
    every item is one of the round's, has at least k answers and no more than the node's
    respondents; released comments have at least k_comments respondents. For a round published
    under units and rests (docs/privacy.md, "Publication"), also: every reporting unit frozen
    at open has at least k invited people, and the rule, restated here as a recursion
    (`expected_entries`), gives exactly the published pattern: which nodes have figures, which
    teams each covers, its items and their counts, its comment release, whether it is partial.
    The team tree, the units and the round's questions are read here, and node sets come from
    ancestor chains built by walking parent links, so a bug in one is caught by the other.

    Stops: a publication or aggregation bug silently publishing a figure that isolates a
    person, or a pattern of what is shown that tells who answered.
    """
    report = AuditReport(round_id=round_.pk)
    structure = fetch_int_tables(_AUDIT_STRUCTURE_SQL, {"organization": round_.organization_id, "round": round_.pk})
    questions = np.sort(structure["questions"][:, 0])
    table = _stored_results(report, round_, questions) if results is None else results
    report.results_checked = len(table)
    if not round_.is_finished:
        if len(table):
            report.problems.append("results exist for a round that is not closed")
        return report
    if results is not None and Result.objects.filter(round=round_).exists():
        # Published results are final: a second publication could differ from the first
        # (another tree, other thresholds), and the two together isolate what neither does.
        report.problems.append("results of this round are already published, and published results are final")
        return report
    if not len(table):
        return report
    try:
        thresholds_check(k=round_.k, k_comments=round_.k_comments)
    except PulseError as error:
        report.problems.append(error.message)
        return report
    if leaf_counts is None:
        raw = _audit_raw_counts(round_)
        _audit_invitation_snapshot(report, round_, raw)
    else:
        raw = leaf_counts
    tree = _AuditTree(structure["teams"], report)
    _audit_results(_audit_prepare(report, round_, tree, questions, raw, table, structure["units"]))
    return report


#: The auditor reads the team tree and the round's questions itself (one round trip).
_AUDIT_STRUCTURE_SQL = {
    # The round's tree as it was frozen when it opened: what the publication must be safe on.
    "teams": (
        f"SELECT team_id, COALESCE(parent_id, 0) FROM {RoundTeam._meta.db_table} "
        "WHERE organization_id = %(organization)s AND round_id = %(round)s",
        2,
    ),
    "questions": (
        f"SELECT question_id FROM {RoundQuestion._meta.db_table} "
        "WHERE organization_id = %(organization)s AND round_id = %(round)s",
        1,
    ),
    # The reporting units frozen with the tree (0: none).
    "units": (
        f"SELECT team_id, COALESCE(unit_id, 0) FROM {RoundTeam._meta.db_table} "
        "WHERE organization_id = %(organization)s AND round_id = %(round)s",
        2,
    ),
}


def _audit_raw_counts(round_: Round) -> LeafCounts:
    """Raw counts through a different path than aggregation: teams from each Response."""
    histogram = (
        Answer.objects.filter(response__round=round_)
        .values_list("response__team_id", "question_id", "value")
        .annotate(answers=Count("id"))
        .order_by()
    )
    respondents = Response.objects.filter(round=round_).values_list("team_id").annotate(n=Count("id")).order_by()
    invited = RoundTeam.objects.filter(round=round_).values_list("team_id", "invited")
    return LeafCounts.from_rows(histogram=histogram, respondents=respondents, invited=invited)


def _audit_invitation_snapshot(report: AuditReport, round_: Round, raw: LeafCounts) -> None:
    """Invitations are only ever written with the snapshot (and removed when a person leaves
    the organisation), so no team may hold more invitations than the snapshot counted. Fewer
    invited people than really were is the dangerous direction: the rule's "nobody at all"
    would then hold for a group holding someone who did not answer."""
    rows = Invitation.objects.filter(round=round_).values_list("team_id").annotate(n=Count("id")).order_by()
    holding = int_rows(rows, 2)
    snapshot = raw.invited[np.argsort(raw.invited[:, 0])]
    where = _index_of(snapshot[:, 0], holding[:, 0])
    counted = np.where(where >= 0, snapshot[np.maximum(where, 0), 1], 0)
    for team_id in holding[holding[:, 1] > counted, 0].tolist():
        report.problems.append(f"team {team_id}: more invitations than the round's snapshot counted")


def _stored_results(report: AuditReport, round_: Round, questions: np.ndarray) -> ResultTable:
    """The stored Results of the round as a ResultTable; items that cannot be one of the
    round's (unknown question, not five counts) are reported and left out."""
    stored = list(
        Result.objects.filter(round=round_)
        .order_by("team_id")
        .values_list("team_id", "n", "invited", "items", "comments_released", "covered_teams", "partial")
    )
    size, n_questions = len(stored), len(questions)
    published = np.zeros((size, n_questions), dtype=bool)
    counts = np.zeros((size, n_questions, SCALE_POINTS), dtype=np.int64)
    column = {int(q): c for c, q in enumerate(questions.tolist())}
    covered: list[list[int]] = []
    for row, (team_id, _, _, items, _, teams, _) in enumerate(stored):
        for key, values in (items or {}).items():
            where = column.get(int(key)) if str(key).lstrip("-").isdigit() else None
            if where is None or not isinstance(values, list) or len(values) != SCALE_POINTS:
                report.problems.append(f"team {team_id}, question {key}: not an item of this round")
                continue
            published[row, where] = True
            counts[row, where] = values
        covered.append([int(t) for t in teams or []])
    return ResultTable(
        team_ids=np.array([r[0] for r in stored], dtype=np.int64),
        respondents=np.array([r[1] for r in stored], dtype=np.int64),
        invited=np.array([r[2] for r in stored], dtype=np.int64),
        comments_released=np.array([bool(r[4]) for r in stored], dtype=bool),
        question_ids=questions,
        item_published=published,
        item_counts=counts,
        covered_offsets=np.concatenate([[0], np.cumsum([len(c) for c in covered], dtype=np.int64)]).astype(np.int64),
        covered_teams=np.fromiter(itertools.chain.from_iterable(covered), dtype=np.int64),
        partial=np.array([bool(r[6]) for r in stored], dtype=bool),
    )


def _index_of(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in `keys` (distinct, ascending), or -1."""
    if not len(keys):
        return np.full(len(values), -1, dtype=np.int64)
    where = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return np.where(keys[where] == values, where, -1)


class _AuditTree:
    """The team forest as ancestor chains, found by following parent links from every team
    (vectorised: one step up per pass), and as a sparse "is ancestor-or-self of" matrix."""

    def __init__(self, links: np.ndarray, report: AuditReport) -> None:
        """`links` rows are (team id, parent id or 0)."""
        links = links[np.argsort(links[:, 0])]
        self.ids = links[:, 0]
        size = len(self.ids)
        up = np.where(links[:, 1] > 0, _index_of(self.ids, links[:, 1]), -1)
        steps = [np.arange(size, dtype=np.int64)]
        while len(steps) <= size and (steps[-1] >= 0).any():
            current = steps[-1]
            steps.append(np.where(current >= 0, up[np.maximum(current, 0)], -1))
        if (steps[-1] >= 0).any():
            for i in np.flatnonzero(steps[-1] >= 0).tolist():
                report.problems.append(f"team {self.ids[i]} sits in a cycle of the team tree")
        #: chain[i, j]: the j-th ancestor of team i (0: itself), -1 past the root.
        self.chain = np.column_stack(steps[:-1]) if len(steps) > 1 else np.zeros((size, 0), np.int64)
        rows, cols = np.nonzero(self.chain >= 0)
        from scipy import sparse  # here, not at import: every process imports the auditor

        #: ancestors[i, a] = 1 when a is i or above it.
        self.ancestors = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.int64), (rows, self.chain[rows, cols])), shape=(size, size)
        )

    def index(self, team_ids: np.ndarray) -> np.ndarray:
        return _index_of(self.ids, team_ids)

    def subtree_sums(self, own: np.ndarray) -> np.ndarray:
        return np.asarray(self.ancestors.T @ own)

    def members(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The teams of each node's subtree, ascending: (offsets, flat team ids)."""
        columns = self.ancestors.tocsc()[:, nodes]
        columns.sort_indices()
        return columns.indptr.astype(np.int64), self.ids[columns.indices]

    def owners(self, published: np.ndarray) -> np.ndarray:
        """For each team and measure, its nearest published ancestor-or-self (-1: none)."""
        valid = self.chain >= 0
        hit = np.where(valid[:, :, None], published[np.where(valid, self.chain, 0)], False)
        first = hit.argmax(axis=1)
        found = hit.any(axis=1)
        rows = np.arange(len(self.ids))[:, None]
        return np.where(found, self.chain[rows, first], -1)


@dataclass
class _Audit:
    """One audit: what it checks (`table`) against what it derived from the raw rows, and the
    report its checks add to. Built by `_audit_prepare`; every check takes only this."""

    report: AuditReport
    round: Round
    tree: _AuditTree
    questions: np.ndarray  # the round's question ids, ascending
    table: ResultTable
    units: np.ndarray  # (T,): the tree position of each team's unit home (-1: none frozen)
    own_hist: np.ndarray  # (T, Q, 5): each team's own answers per question and option
    own_people: np.ndarray  # (T, 2): each team's own respondents and invited
    known: np.ndarray  # rows of `table` whose team is in the tree
    nodes: np.ndarray  # the tree position of each of those rows
    cover: Any  # sparse (len(known), T): the teams each of those rows covers
    items: np.ndarray  # (len(known), Q): item published (columns: the round's questions, ascending)
    item_counts: np.ndarray  # (len(known), Q, 5)
    k: int
    k_comments: int

    def problem(self, message: str) -> None:
        self.report.problems.append(message)

    def names(self, rows: np.ndarray) -> list[int]:
        return self.table.team_ids[self.known[rows]].tolist()


def _audit_prepare(report: AuditReport, round_: Round, tree: _AuditTree, questions, raw, table, units) -> _Audit:
    from scipy import sparse

    own_hist, own_people = _audit_own_counts(report, tree, questions, raw)
    nodes = tree.index(table.team_ids)
    for team_id in table.team_ids[nodes < 0].tolist():
        report.problems.append(f"a result for team {team_id}, which is not in the round's tree")
    values, seen = np.unique(table.team_ids, return_counts=True)
    for team_id in values[seen > 1].tolist():
        report.problems.append(f"team {team_id}: more than one result")
    known = np.flatnonzero(nodes >= 0)
    lengths = np.diff(table.covered_offsets)
    covered = tree.index(table.covered_teams)
    row_of = np.repeat(np.arange(len(table)), lengths)
    for team_id in np.unique(table.team_ids[row_of[covered < 0]]).tolist():
        report.problems.append(f"team {team_id}: covers a team that is not in the round's tree")
    cover = sparse.csr_matrix(
        (np.ones(int((covered >= 0).sum()), dtype=np.int64), (row_of[covered >= 0], covered[covered >= 0])),
        shape=(len(table), len(tree.ids)),
    )[known]
    if cover.nnz and cover.max() > 1:
        report.problems.append("a result lists a covered team twice")
    columns = _index_of(questions, table.question_ids)
    for question_id in table.question_ids[columns < 0].tolist():
        if table.item_published[:, table.question_ids == question_id].any():
            report.problems.append(f"question {question_id}: not an item of this round")
    items = np.zeros((len(known), len(questions)), dtype=bool)
    item_counts = np.zeros((len(known), len(questions), SCALE_POINTS), dtype=np.int64)
    valid = columns >= 0
    items[:, columns[valid]] = table.item_published[known][:, valid]
    item_counts[:, columns[valid]] = table.item_counts[known][:, valid]
    home = np.full(len(tree.ids), -1, dtype=np.int64)
    if len(units):
        teams, unit_of = tree.index(units[:, 0]), np.where(units[:, 1] > 0, tree.index(units[:, 1]), -1)
        home[teams[teams >= 0]] = unit_of[teams >= 0]
    k, k_comments = thresholds_check(k=round_.k, k_comments=round_.k_comments)
    return _Audit(report, round_, tree, questions, table, home, own_hist, own_people, known, nodes[known],
                  cover, items, item_counts, k, k_comments)  # fmt: skip


def _audit_results(audit: _Audit) -> None:
    _audit_rows(audit)
    _audit_remainders(audit)
    if audit.round.publication_rule == PublicationRule.UNITS:
        _audit_units(audit)
        _audit_pattern(audit)
    else:
        # The previous rule published whole subtrees: every item is its covered teams' answers.
        expected = np.asarray(audit.cover @ audit.own_hist.reshape(len(audit.tree.ids), -1)).reshape(
            audit.item_counts.shape
        )
        _audit_items(audit, expected_items=audit.items, expected_counts=expected)


def _audit_own_counts(report, tree, questions, raw: LeafCounts) -> tuple[np.ndarray, np.ndarray]:
    """Each team's own answers per (question, option), and its own respondents and invited."""
    size, n_questions = len(tree.ids), len(questions)
    own_hist = np.zeros(size * n_questions * SCALE_POINTS, dtype=np.int64)
    team_ids, question_ids, values, answers = raw.histogram.T
    nodes = tree.index(team_ids)
    for team_id in np.unique(team_ids[nodes < 0]).tolist():
        report.problems.append(f"answers recorded against team {team_id}, which is not in the round's tree")
    columns = _index_of(questions, question_ids)
    keep = (nodes >= 0) & (columns >= 0) & (values >= 1) & (values <= SCALE_POINTS)
    cells = (nodes[keep] * n_questions + columns[keep]) * SCALE_POINTS + values[keep] - 1
    own_hist += np.bincount(cells, weights=answers[keep], minlength=len(own_hist)).astype(np.int64)
    own_people = np.zeros((size, 2), dtype=np.int64)  # respondents, invited
    for column, rows in enumerate((raw.respondents, raw.invited)):
        where = tree.index(rows[:, 0])
        for team_id in np.unique(rows[where < 0, 0]).tolist():
            report.problems.append(f"people recorded against team {team_id}, which is not in the round's tree")
        sums = np.bincount(where[where >= 0], weights=rows[where >= 0, 1], minlength=size)
        own_people[:, column] = np.rint(sums).astype(np.int64)
    return own_hist.reshape(size, n_questions, SCALE_POINTS), own_people


def _audit_rows(audit: _Audit) -> None:
    """Each Result's own figures: respondents and invited equal to the raw counts of the teams
    it covers, at least k respondents, k_comments for released comments."""
    table, known, k, k_comments = audit.table, audit.known, audit.k, audit.k_comments
    people = np.asarray(audit.cover @ audit.own_people)
    n, invited, released = table.respondents[known], table.invited[known], table.comments_released[known]
    rows = np.arange(len(known))
    for team_id in audit.names(rows[(n != people[:, 0]) | (invited != people[:, 1])]):
        audit.problem(f"team {team_id}: respondents or invited differ from the raw rows")
    for team_id in audit.names(rows[~reaches_threshold(n, k)]):
        audit.problem(f"team {team_id}: published with fewer than k respondents")
    for team_id in audit.names(rows[released & ~reaches_threshold(n, k_comments)]):
        audit.problem(f"team {team_id}: comments released below k_comments")


def _audit_items(audit: _Audit, *, expected_items: np.ndarray, expected_counts: np.ndarray) -> None:
    """Every published item: where the rule puts one, equal to the raw answers it holds, at
    least k answers, and never more answers than the node has respondents."""
    questions, k = audit.questions, audit.k
    respondents = audit.table.respondents[audit.known]

    def where(row: int, column: int) -> str:
        return f"team {audit.names(np.array([row]))[0]}, question {questions[column]}"

    for row, column in np.argwhere(audit.items != expected_items).tolist():
        audit.problem(f"{where(row, column)}: published or hidden against the rule")
    totals = audit.item_counts.sum(axis=2)
    for row, column in np.argwhere(audit.items & (audit.item_counts != expected_counts).any(axis=2)).tolist():
        audit.problem(f"{where(row, column)}: counts differ from the raw answers")
    for row, column in np.argwhere(audit.items & (totals > respondents[:, None])).tolist():
        audit.problem(f"{where(row, column)}: more answers than respondents")
    for row, column in np.argwhere(audit.items & ~reaches_threshold(totals, k)).tolist():
        audit.problem(f"{where(row, column)}: fewer than k contributors")


def _audit_remainders(audit: _Audit) -> None:
    """What each published figure holds beyond the published figures below it (its remainder),
    per measure: the figures below must lie inside it and apart from each other, and the
    remainder must keep `rules.remainder_is_safe` (participation: at least k respondents, or
    nobody invited) or have at least the threshold or nobody (items, comment lists)."""
    tree, nodes, table, known = audit.tree, audit.nodes, audit.table, audit.known
    k, k_comments = audit.k, audit.k_comments
    size = len(tree.ids)
    # Per node and measure (items, participation, comments): published, figure, invited.
    width = len(audit.questions) + 2
    published = np.zeros((size, width), dtype=bool)
    figure = np.zeros((size, width), dtype=np.int64)
    published[nodes, :-2] = audit.items
    published[nodes, -2] = True
    published[nodes, -1] = table.comments_released[known]
    figure[nodes, :-2] = np.where(audit.items, audit.item_counts.sum(axis=2), 0)
    figure[nodes, -2:] = table.respondents[known][:, None]
    invited = np.zeros(size, dtype=np.int64)
    invited[nodes] = table.invited[known]
    parent = tree.chain[:, 1] if tree.chain.shape[1] > 1 else np.full(size, -1)
    owners = tree.owners(published)
    above = np.where(parent[:, None] >= 0, owners[np.maximum(parent, 0)], -1)  # nearest published strict ancestor
    below, measures = np.nonzero(published & (above >= 0))
    remainder = figure.copy()
    np.subtract.at(remainder, (above[below, measures], measures), figure[below, measures])
    left = invited.copy()
    counted = below[measures == width - 2]
    np.subtract.at(left, above[counted, width - 2], invited[counted])
    _audit_nesting(audit, above[nodes, width - 2])
    thresholds = np.array([k] * (width - 1) + [k_comments])
    safe = (remainder == 0) | reaches_threshold(remainder, thresholds)
    safe[:, -2] = remainder_is_safe(invited=left, contributors=remainder[:, -2], threshold=k)
    names = [f"question {question_id}" for question_id in audit.questions.tolist()] + ["participation", "comments"]
    for node, measure in np.argwhere(published & ~safe).tolist():
        audit.problem(f"team {tree.ids[node]}, {names[measure]}: a remainder breaks the publication rule")


def _audit_nesting(audit: _Audit, above: np.ndarray) -> None:
    """Every published figure lies inside its nearest published ancestor's, apart from its
    published siblings': only then are the differences of figures the remainders checked."""
    row_at = np.full(len(audit.tree.ids), -1, dtype=np.int64)
    row_at[audit.nodes] = np.arange(len(audit.nodes))
    inner = np.flatnonzero(above >= 0)
    outer = row_at[above[inner]]
    outside = audit.cover[inner] - audit.cover[inner].multiply(audit.cover[outer])
    for team_id in audit.names(inner[np.asarray(outside.sum(axis=1)).ravel() > 0]):
        audit.problem(f"team {team_id}: covers teams its nearest published ancestor does not")
    from scipy import sparse

    grouping = sparse.csr_matrix((np.ones(len(inner)), (outer, inner)), shape=(len(audit.nodes),) * 2)
    overlap = (grouping @ audit.cover).tocoo()
    for team_id in audit.names(np.unique(overlap.row[overlap.data > 1])):
        audit.problem(f"team {team_id}: the published figures below it overlap")


def _audit_units(audit: _Audit) -> None:
    """The reporting units frozen when the round opened: every team with people invited has
    one, homed at a team of the round, and every unit has at least k invited people (but a
    lone unit holding the whole scope). A hidden unit of fewer could be everyone or nobody."""
    invited, home, ids = audit.own_people[:, 1], audit.units, audit.tree.ids
    for team_id in ids[(invited > 0) & (home < 0)].tolist():
        audit.problem(f"team {team_id}: its people are in no reporting unit")
    homes = np.unique(home[home >= 0])
    sizes = np.bincount(home[home >= 0], weights=invited[home >= 0], minlength=len(ids))[homes]
    if len(homes) > 1:
        for team_id in ids[homes[~reaches_threshold(sizes, audit.k)]].tolist():
            audit.problem(f"the reporting unit of team {team_id} has fewer than k invited people")


def _audit_pattern(audit: _Audit) -> None:
    """What the rule gives, worked out here another way (`expected_entries`: a recursive walk
    down the frozen tree, not publication's level loop), must be exactly what is published:
    which nodes have figures and which teams each covers, which items each shows and their
    counts, which release comments, which are partial."""
    tree, home = audit.tree, audit.units
    teams = np.flatnonzero(home >= 0)
    parent = tree.chain[:, 1] if tree.chain.shape[1] > 1 else np.full(len(tree.ids), -1)
    entry, shown = expected_entries(
        parent_of={int(t) + 1: int(parent[t]) + 1 for t in range(len(tree.ids))},
        home={int(t) + 1: int(home[t]) + 1 for t in teams},
        respondents=audit.own_people[teams, 0][:, None],
        teams=[int(t) + 1 for t in teams],
        k=audit.k,
    )
    entry, shown = entry[:, 0] - 1, shown[:, 0]
    _audit_coverage(audit, teams[entry >= 0], entry[entry >= 0])
    _audit_items(audit, **_expected_items(audit, teams, entry, shown))
    _audit_comments(audit)
    _audit_partial(audit, teams, entry)


def _coverage(tree: _AuditTree, teams: np.ndarray, entry: np.ndarray):
    """Sparse (T nodes, T teams): node v covers team t when t's answers enter a figure at v or
    below it (so v is entry(t) or above it)."""
    from scipy import sparse

    reach = tree.ancestors[entry].tocoo()  # per entering team, the nodes at and above its entry
    return sparse.csr_matrix(
        (np.ones(len(reach.row), dtype=np.int64), (reach.col, teams[reach.row])), shape=(len(tree.ids),) * 2
    )


def _audit_coverage(audit: _Audit, teams: np.ndarray, entry: np.ndarray) -> None:
    expected = _coverage(audit.tree, teams, entry)
    should = np.flatnonzero(np.asarray(expected.sum(axis=1)).ravel() > 0)
    for team_id in audit.tree.ids[np.setdiff1d(should, audit.nodes)].tolist():
        audit.problem(f"team {team_id}: has figures under the rule, but none are published")
    for team_id in audit.tree.ids[np.setdiff1d(audit.nodes, should)].tolist():
        audit.problem(f"team {team_id}: published without figures under the rule")
    differs = np.asarray(abs(expected[audit.nodes] - audit.cover).sum(axis=1)).ravel() > 0
    for team_id in audit.names(np.flatnonzero(differs)):
        audit.problem(f"team {team_id}: covers other teams than the rule gives")


def _expected_items(audit: _Audit, teams: np.ndarray, entry: np.ndarray, shown: np.ndarray) -> dict[str, np.ndarray]:
    """Each published row's items under the rule: the answers of the groups entering figures
    at or below it (a shown unit, or a rest added at a team), each item of each group counted
    only where at least k answered it."""
    size, questions = len(audit.tree.ids), len(audit.questions)
    inside = entry >= 0
    group = np.unique(np.column_stack([entry[inside], shown[inside]]), axis=0, return_inverse=True)[1].ravel()
    members = teams[inside]
    answers = audit.own_hist[members].sum(axis=2)  # (teams, Q)
    per_group = np.zeros((group.max(initial=-1) + 1, questions), dtype=np.int64)
    np.add.at(per_group, group, answers)
    counted = np.zeros((size, questions), dtype=bool)
    counted[members] = reaches_threshold(per_group[group], audit.k)
    cover = _coverage(audit.tree, members, entry[inside])[audit.nodes]
    kept = np.where(counted[:, :, None], audit.own_hist, 0).reshape(size, -1)
    counts = np.asarray(cover @ kept).reshape(len(audit.nodes), questions, SCALE_POINTS)
    return {"expected_items": np.asarray(cover @ counted.astype(np.int64)) > 0, "expected_counts": counts}


def _audit_comments(audit: _Audit) -> None:
    """Comments are released where the public rule, fed the published figures alone, says:
    at least k_comments respondents, and what the node adds to the released nodes below it is
    nothing or at least k_comments."""
    tree, k_comments = audit.tree, audit.k_comments
    figure = np.zeros(len(tree.ids), dtype=np.int64)
    figure[audit.nodes] = audit.table.respondents[audit.known]
    parent = tree.chain[:, 1] if tree.chain.shape[1] > 1 else np.full(len(tree.ids), -1)
    children: dict[int, list[int]] = {}
    for node, up in enumerate(parent.tolist()):
        children.setdefault(up, []).append(node)
    released = np.zeros(len(tree.ids), dtype=bool)

    def under(node: int) -> int:
        """Respondents under the nearest released nodes below `node`; decides `node` too."""
        below = sum(figure[child] if released[child] else held for child, held in
                    ((child, under(child)) for child in children.get(node, [])))  # fmt: skip
        adds = figure[node] - below
        released[node] = bool(reaches_threshold(figure[node], k_comments) and (adds == 0 or adds >= k_comments))
        return below

    for root in children.get(-1, []):
        under(root)
    for team_id in audit.names(np.flatnonzero(released[audit.nodes] != audit.table.comments_released[audit.known])):
        audit.problem(f"team {team_id}: comments released or withheld against the rule")


def _audit_partial(audit: _Audit, teams: np.ndarray, entry: np.ndarray) -> None:
    """A figure is marked partial exactly when a unit homed below the node enters no figure at
    or below it."""
    tree = audit.tree
    homes, first = np.unique(audit.units[teams], return_index=True)
    unit_entry = entry[first]
    below = np.asarray(tree.ancestors[homes].sum(axis=0)).ravel()
    taken = unit_entry >= 0
    entered = np.asarray(tree.ancestors[unit_entry[taken]].sum(axis=0)).ravel() if taken.any() else 0
    partial = (below - entered) > 0
    for team_id in audit.names(np.flatnonzero(partial[audit.nodes] != audit.table.partial[audit.known])):
        audit.problem(f"team {team_id}: marked partial or whole against the rule")


def expected_entries(*, parent_of: dict[int, int], home: dict[int, int], respondents: np.ndarray, teams: list[int],
                     k: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The rule restated as a recursion, for the auditor and the exhaustive search: for each
    team (rows in `teams` order, ids > 0; `parent_of` maps every team to its parent, 0 for a
    root; `home` maps each team to its unit's home) and each world (columns of `respondents`,
    each team's own respondents), the team whose figure first takes its people's answers (0:
    none), and whether its unit is shown.

    Walks the children lists down from each root, carrying hidden units' respondents up until
    they reach k: written apart from publication's level-by-level loop, so a bug in one shows
    as a disagreement with the other.
    """
    position = {team: row for row, team in enumerate(teams)}
    worlds = respondents.shape[1]
    children: dict[int, list[int]] = {}
    for team, up in parent_of.items():
        children.setdefault(up, []).append(team)
    members: dict[int, list[int]] = {}
    for team, unit in home.items():
        members.setdefault(unit, []).append(position[team])
    unit_n = {unit: respondents[rows].sum(axis=0) for unit, rows in members.items()}
    entry = np.zeros((len(teams), worlds), dtype=np.int64)
    shown = np.zeros((len(teams), worlds), dtype=bool)
    for unit, rows in members.items():
        shown[rows] = reaches_threshold(unit_n[unit], k)
        entry[rows] = np.where(shown[rows], unit, 0)

    def carry(node: int) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
        """Respondents passing up out of `node`, and the units whose answers they still hold."""
        total = np.zeros(worlds, dtype=np.int64)
        held: list[tuple[int, np.ndarray]] = []
        for child in children.get(node, []):
            passed, units = carry(child)
            total += passed
            held += units
        if node in members:
            hidden = ~reaches_threshold(unit_n[node], k)
            total += np.where(hidden, unit_n[node], 0)
            held.append((node, hidden))
        added = reaches_threshold(total, k)
        for unit, waiting in held:
            entry[members[unit]] = np.where(waiting & added, node, entry[members[unit]])
        return np.where(added, 0, total), [(unit, waiting & ~added) for unit, waiting in held]

    for root in children.get(0, []):
        carry(root)
    return entry, shown
