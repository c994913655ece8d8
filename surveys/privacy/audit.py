"""The independent auditor: prove that what a round publishes keeps the anonymity invariant.

It imports the rules and the tables, never the suppression or aggregation it checks: it reads
the team tree and the round's questions itself, and derives subtree sums and node sets from
ancestor chains built by walking parent links, not from aggregation's preorder roll-up, so a
bug in one is caught by the other.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count

from surveys.core.exceptions import PulseError
from surveys.core.int_tables import fetch_int_tables
from surveys.models import (
    SCALE_POINTS,
    Answer,
    Invitation,
    Response,
    Result,
    Round,
    RoundQuestion,
    RoundTeam,
)
from surveys.privacy.rules import publishable, remainder_is_safe, thresholds_check
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
    respondents and matches the raw counts exactly; every item is one of the round's, equals
    the raw subtree counts, has at least k answers and no more than the node's respondents;
    every remainder satisfies both the weaker published rule and the stronger one (`remainder_is_safe`);
    comment release has at least k_comments respondents, a safe remainder, and a frozen team
    list equal to the node's subtree. The team tree and the round's questions are read here,
    and subtree sums and node sets come from ancestor chains built by walking parent links, not
    from the aggregation's preorder roll-up, so a bug in one is caught by the other.

    Stops: a suppression or roll-up bug silently publishing a figure that isolates a person.
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
    _audit_results(_audit_prepare(report, round_, tree, questions, raw, table))
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
        .values_list("team_id", "n", "invited", "items", "comments_released", "covered_teams")
    )
    size, n_questions = len(stored), len(questions)
    published = np.zeros((size, n_questions), dtype=bool)
    counts = np.zeros((size, n_questions, SCALE_POINTS), dtype=np.int64)
    column = {int(q): c for c, q in enumerate(questions.tolist())}
    covered: list[list[int]] = []
    for row, (team_id, _, _, items, _, teams) in enumerate(stored):
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
    own_hist: np.ndarray  # (T, Q, 5): each team's own answers per question and option
    own_people: np.ndarray  # (T, 2): each team's own respondents and invited
    hist: np.ndarray  # (T, Q, 5): the same over each team's subtree
    people: np.ndarray  # (T, 2)
    known: np.ndarray  # rows of `table` whose team is in the tree
    nodes: np.ndarray  # the tree position of each of those rows
    published: np.ndarray  # (T, Q + 2): per measure (questions, participation, comments)
    respondents: np.ndarray  # (T,): the published respondents of each node (0 elsewhere)
    hist_published: np.ndarray  # (T, Q): the published answers of each item (0 where not published)

    def problem(self, message: str) -> None:
        self.report.problems.append(message)


def _audit_prepare(report: AuditReport, round_: Round, tree: _AuditTree, questions, raw, table) -> _Audit:
    own_hist, own_people = _audit_own_counts(report, tree, questions, raw)
    size, n_questions = own_hist.shape[:2]
    nodes = tree.index(table.team_ids)
    for team_id in table.team_ids[nodes < 0].tolist():
        report.problems.append(f"a result for team {team_id}, which is not in the round's tree")
    values, seen = np.unique(table.team_ids, return_counts=True)
    for team_id in values[seen > 1].tolist():
        report.problems.append(f"team {team_id}: more than one result")
    known = np.flatnonzero(nodes >= 0)
    nodes = nodes[known]
    published = np.zeros((size, n_questions + 2), dtype=bool)
    published[nodes, n_questions] = True
    published[nodes, n_questions + 1] = table.comments_released[known]
    respondents = np.zeros(size, dtype=np.int64)
    respondents[nodes] = table.respondents[known]
    hist_published = np.zeros((size, n_questions), dtype=np.int64)
    columns = _index_of(questions, table.question_ids)
    valid = np.flatnonzero(columns >= 0)
    totals = np.where(table.item_published, table.item_counts.sum(axis=2), 0)[known][:, valid]
    hist_published[nodes[:, None], columns[valid][None, :]] = totals
    return _Audit(
        report=report,
        round=round_,
        tree=tree,
        questions=questions,
        table=table,
        own_hist=own_hist,
        own_people=own_people,
        hist=tree.subtree_sums(own_hist.reshape(size, -1)).reshape(size, n_questions, SCALE_POINTS),
        people=tree.subtree_sums(own_people),
        known=known,
        nodes=nodes,
        published=published,
        respondents=respondents,
        hist_published=hist_published,
    )


def _audit_results(audit: _Audit) -> None:
    _audit_rows(audit)
    _audit_items(audit)
    _audit_remainders(audit)
    _audit_pattern(audit)


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
    """Each Result's own figures: respondents and invited equal to the raw subtree sums, at
    least k respondents, k_comments for released comments, and its frozen team list."""
    report, round_, tree, table = audit.report, audit.round, audit.tree, audit.table
    known, nodes, people = audit.known, audit.nodes, audit.people
    team_ids = table.team_ids[known]
    n, invited, released = table.respondents[known], table.invited[known], table.comments_released[known]
    for team_id in team_ids[(n != people[nodes, 0]) | (invited != people[nodes, 1])].tolist():
        report.problems.append(f"team {team_id}: respondents or invited differ from the raw rows")
    for team_id in team_ids[n < round_.k].tolist():
        report.problems.append(f"team {team_id}: published with fewer than k respondents")
    for team_id in team_ids[released & (n < round_.k_comments)].tolist():
        report.problems.append(f"team {team_id}: comments released below k_comments")
    offsets, members = tree.members(nodes)
    stored_offsets = table.covered_offsets
    lengths = stored_offsets[known + 1] - stored_offsets[known]
    differs = lengths != np.diff(offsets)
    same = np.flatnonzero(~differs)
    if len(same):
        # Rows of equal length: compare their sorted team lists element by element.
        row_of = np.repeat(same, lengths[same])
        starts = np.repeat(stored_offsets[known[same]], lengths[same])
        within = np.arange(len(row_of)) - np.repeat(np.cumsum(lengths[same]) - lengths[same], lengths[same])
        stored = table.covered_teams[starts + within]
        stored = stored[np.lexsort((stored, row_of))]
        expected = members[np.repeat(offsets[same], lengths[same]) + within]
        differs[np.unique(row_of[stored != expected])] = True
    for team_id in team_ids[differs].tolist():
        report.problems.append(f"team {team_id}: covered teams differ from the subtree")


def _audit_items(audit: _Audit) -> None:
    """Every published item: one of the round's questions, equal to the raw subtree counts, at
    least k answers, and never more answers than the node has respondents."""
    report, tree, questions, table = audit.report, audit.tree, audit.questions, audit.table
    known, nodes, hist, respondents, published = (
        audit.known,
        audit.nodes,
        audit.hist,
        audit.respondents,
        audit.published,
    )
    k = audit.round.k
    columns = _index_of(questions, table.question_ids)
    for question_id in table.question_ids[columns < 0].tolist():
        if table.item_published[:, table.question_ids == question_id].any():
            report.problems.append(f"question {question_id}: not an item of this round")
    rows, item = np.nonzero(table.item_published[known][:, columns >= 0])
    item_columns = columns[columns >= 0][item]
    item_nodes = nodes[rows]
    stored = table.item_counts[known][:, columns >= 0][rows, item]
    published[item_nodes, item_columns] = True

    def where(position: int) -> str:
        return f"team {tree.ids[item_nodes[position]]}, question {questions[item_columns[position]]}"

    for position in np.flatnonzero(~(stored == hist[item_nodes, item_columns]).all(axis=1)).tolist():
        report.problems.append(f"{where(position)}: counts differ from the raw answers")
    for position in np.flatnonzero(stored.sum(axis=1) > respondents[item_nodes]).tolist():
        report.problems.append(f"{where(position)}: more answers than respondents")
    for position in np.flatnonzero(stored.sum(axis=1) < k).tolist():
        report.problems.append(f"{where(position)}: fewer than k contributors")


def _audit_remainders(audit: _Audit) -> None:
    """Each team's own people and answers belong to the remainder of its nearest published
    ancestor-or-self; sum them per remainder and check both rules."""
    report, tree, questions, published = audit.report, audit.tree, audit.questions, audit.published
    own_items, own_people = audit.own_hist.sum(axis=2), audit.own_people
    k, k_comments = audit.round.k, audit.round.k_comments
    size, n_questions = own_items.shape
    own_contributors = np.column_stack([own_items, own_people[:, 0], own_people[:, 0]])
    thresholds = np.array([k] * (n_questions + 1) + [k_comments])
    owners = tree.owners(published)
    rows, cols = np.nonzero(owners >= 0)
    cells = owners[rows, cols] * published.shape[1] + cols

    def per_remainder(weights: np.ndarray) -> np.ndarray:
        sums = np.bincount(cells, weights=weights, minlength=published.size)
        return np.rint(sums).astype(np.int64).reshape(published.shape)

    atom_c = per_remainder(own_contributors[rows, cols])
    atom_p = per_remainder(own_people[rows, 1])
    strong = remainder_is_safe(invited=atom_p, contributors=atom_c, threshold=thresholds)
    design = (atom_c >= thresholds) | (atom_c == 0)
    names = [f"question {question_id}" for question_id in questions.tolist()] + ["participation", "comments"]
    for node, measure in np.argwhere(published & ~(strong & design)).tolist():
        report.problems.append(f"team {tree.ids[node]}, {names[measure]}: a remainder breaks the suppression rule")


def _audit_pattern(audit: _Audit) -> None:
    """Every decision to publish or hide must follow from what is public when it is taken
    (`rules.publishable`): see `pattern_mismatches`."""
    tree, published, k = audit.tree, audit.published, audit.round.k
    size, width = published.shape
    n_questions = width - 2
    invited = audit.people[:, 1]
    shown = np.zeros((size, width), dtype=np.int64)  # the published figure of each node and measure
    shown[:, :n_questions] = np.where(published[:, :n_questions], audit.hist_published, 0)
    shown[:, n_questions:] = np.where(published[:, n_questions:], audit.respondents[:, None], 0)
    bound = np.concatenate([np.repeat(audit.respondents[:, None], n_questions, axis=1), invited[:, None],
                            audit.respondents[:, None]], axis=1)  # fmt: skip
    eligible = np.ones((size, width), dtype=bool)
    eligible[:, :n_questions] = eligible[:, n_questions + 1 :] = published[:, [n_questions]]
    wrong = _pattern_mismatches(
        tree,
        published=published,
        shown=shown,
        bound=bound,
        invited=invited,
        raw=np.column_stack([audit.hist.sum(axis=2), audit.people[:, 0], audit.people[:, 0]]),
        thresholds=np.array([k] * (n_questions + 1) + [audit.round.k_comments]),
        eligible=eligible,
    )
    names = [f"question {question_id}" for question_id in audit.questions.tolist()] + ["participation", "comments"]
    for node, measure in np.argwhere(wrong).tolist():
        audit.problem(
            f"team {tree.ids[node]}, {names[measure]}: published or hidden on more than the figures "
            "published before it (the pattern would tell what the figures do not)"
        )


def pattern_check_for(links: np.ndarray) -> Callable[..., np.ndarray]:
    """`_pattern_mismatches` for a tree given as (team id, parent id or 0) rows: the check the
    exhaustive small-tree search compares with brute force. The arrays it takes are indexed
    like the rows sorted by team id."""
    return functools.partial(_pattern_mismatches, _AuditTree(np.asarray(links, dtype=np.int64), AuditReport(0)))


def _pattern_mismatches(tree: _AuditTree, *, published, shown, bound, invited, raw, thresholds, eligible) -> np.ndarray:
    """Where the published pattern differs from the one the public rule gives: (T, M) bool.

    `published` and `shown` (the published figure) per node and measure, `bound` the public
    bound of each node's contributors, `invited` each node's invited people, `raw` the true
    counts (only roots use them: a root is published exactly when it reaches the threshold).
    Every other node must be published exactly when `rules.publishable`, fed the figures
    published before it in the public order (depth, then more invited people first, then team
    id), says it may. Derived by
    prefix sums over each remainder's candidates, not by replaying the suppression's steps.
    A pattern that passes is a function of the published figures and the invitation snapshot,
    so it tells nothing they do not.
    """
    size, width = published.shape
    parent = tree.chain[:, 1] if tree.chain.shape[1] > 1 else np.full(size, -1)
    owners = tree.owners(published)
    above = np.where(parent[:, None] >= 0, owners[np.maximum(parent, 0)], -1)
    expected = np.zeros((size, width), dtype=bool)
    roots = parent < 0
    expected[roots] = eligible[roots] & (raw[roots] >= thresholds)

    rows, cols = np.nonzero(eligible & (above >= 0))
    depth = (tree.chain >= 0).sum(axis=1)
    ranked = np.lexsort((tree.ids[rows], -invited[rows], depth[rows], cols, above[rows, cols]))
    rows, cols = rows[ranked], cols[ranked]
    owner = above[rows, cols]
    groups = owner * width + cols
    first = np.flatnonzero(np.diff(groups, prepend=-1))
    group_of = np.repeat(np.arange(len(first)), np.diff(np.append(first, len(rows))))
    went = published[rows, cols]

    def before(values: np.ndarray) -> np.ndarray:
        """What the earlier published candidates of each remainder took from it."""
        own = np.where(went, values, 0)
        taken = np.cumsum(own) - own
        return taken - taken[first][group_of]

    expected[rows, cols] = publishable(
        atom_contributors=shown[owner, cols] - before(shown[rows, cols]),
        atom_bound=bound[owner, cols] - before(bound[rows, cols]),
        atom_invited=invited[owner] - before(invited[rows]),
        node_bound=bound[rows, cols],
        node_invited=invited[rows],
        threshold=thresholds[cols],
    )
    return expected != published
