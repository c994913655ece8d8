"""Every anonymity rule of publication (DESIGN.md §5), each with the attack it stops.

Threat model: managers, HR, admins and API clients of the organisation, using everything the
product shows (pages, API, exports, e-mails, repeated visits, every filter), possibly knowing
some colleagues' answers. They must not learn one person's answers, nor whether a given person
answered.

Vocabulary. Results are published for team *nodes*; a node's figures cover its whole subtree.
For one *measure* (one question, the participation count, or comment release) the published
nodes form a laminar family. The *remainder* of a published node is its subtree minus the
subtrees of its nearest published descendants: subtracting published figures isolates exactly
these remainders (and sums of them), nothing finer. So the invariant is stated on remainders.

The rule adopted here is stronger than DESIGN.md's "remainder 0 or ≥ k contributors":

    a remainder must hold at least `threshold` contributors, or nobody at all: no one invited
    and no one answered.

Why: counting "0" in contributors leaks participation through the suppression pattern itself.
A manager sitting alone at an internal node is a remainder of one person. Under the DESIGN
rule the children are published when the manager did not answer (remainder 0) and one is
suppressed when they did (remainder 1), so everyone can read off whether the manager answered.
Counting "nobody" in *invited* people makes every suppression decision depend only on facts of
the form "this group has at least k contributors" and on the invitation snapshot, which is the
organisation's own structure. The strong rule implies the DESIGN rule (nobody invited means
nobody answered), and it is closed under merging: a union of safe remainders is safe.

Maximality (what "every team that can be published is" means here): among *candidates*
(nodes with at least `threshold` contributors, and for items and comments also a published
participation row) the published set is valid and inclusion-maximal: no set of suppressed
candidates could be published as well without breaking the rule. `complementary_suppression`
guarantees it by construction (a final re-publication pass until no single suppressed candidate
fits), and single-addition maximality implies inclusion-maximality because the rule is closed
under merging: if a set X of candidates could be added jointly, its lowest member alone could
(its own remainder is the same as in the joint addition, and what it leaves in its ancestor's
remainder is a union of remainders that were safe in the joint addition). Ancestors take
priority: a candidate is only ever suppressed to protect the remainder of a published ancestor,
never the other way round. Which descendant to suppress is chosen on invited people (the
smallest team that brings people of its own), never on who answered, so every decision is a
function of the invitation snapshot and of "this group has at least k contributors" facts.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count
from scipy import sparse

from surveys.int_tables import fetch_int_tables
from surveys.models import (
    MIN_K,
    SCALE_POINTS,
    Answer,
    Comment,
    Invitation,
    Response,
    Result,
    Round,
    RoundQuestion,
    RoundTeam,
    Team,
)

logger = logging.getLogger(__name__)


class PrivacyAuditError(RuntimeError):
    """The auditor found published figures that break the anonymity invariant."""

    def __init__(self, report: AuditReport) -> None:
        super().__init__(report.summary())
        self.report = report


# --------------------------------------------------------------------------------------------
# The rule


def remainder_is_safe(*, invited: int, contributors: int, threshold: int) -> bool:
    """May a remainder of `invited` people with `contributors` contributors sit under a
    published node? Yes if it has at least `threshold` contributors, or nobody at all.

    Stops differencing: anyone can subtract the published children from a published parent;
    what is left must never be a group small enough to single someone out. "Nobody" is counted
    in invited people (not contributors) so that the decision never depends on whether one
    particular person answered (see the module docstring: the lone manager).
    """
    return contributors >= threshold or (invited == 0 and contributors == 0)


def _safe(invited: np.ndarray, contributors: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """`remainder_is_safe` on arrays (broadcasting `threshold` over measures)."""
    return (contributors >= threshold) | ((invited == 0) & (contributors == 0))


def check_thresholds(*, k: int | None, k_comments: int | None) -> None:
    """Refuse thresholds the product promises never to use.

    Stops: a round whose `k` was never locked (or was edited below the floor) being published
    with a threshold nobody agreed to.
    """
    if k is None or k_comments is None:
        raise ValueError("The round's thresholds were never locked.")
    if k < MIN_K or k_comments < k:
        raise ValueError(f"Invalid thresholds: k={k} (minimum {MIN_K}), k_comments={k_comments} (at least k).")


def response_rate_is_shown(*, invited: int, k: int) -> bool:
    """A response rate is shown only where at least k people were invited.

    Stops: "2 of 3 answered" on a tiny group telling its members (who know who was asked)
    which one of them stayed silent.
    """
    return invited >= max(k, MIN_K)


def released_comment_texts(*, round_: Round, covered_teams: Sequence[int]) -> list[str]:
    """The comments a released node shows: every comment of the teams frozen on its Result,
    text only, in the order of their random keys.

    Stops: dates or submission order tying a comment to the moment someone answered; a
    filter below the released node (a narrower list is a set difference, the attack the
    release rule guards against); a later team-tree edit changing a released list.
    """
    comments = Comment.objects.filter(round=round_, team_id__in=list(covered_teams))
    return list(comments.order_by("id").values_list("text", flat=True))


# --------------------------------------------------------------------------------------------
# Complementary suppression


def complementary_suppression(
    *,
    parent: Sequence[int] | np.ndarray,
    invited: Sequence[int] | np.ndarray,
    contributors: Sequence | np.ndarray,
    thresholds: Sequence[int] | np.ndarray | int,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Which nodes may publish, per measure: a boolean array shaped like `contributors`.

    `parent[i]` is the index of node i's parent (-1 for a root; forests are fine) and must be
    smaller than i (parents first). `invited[i]` and `contributors[i, m]` are SUBTREE totals.
    `thresholds[m]` is the minimum per measure. `eligible[i, m]` (optional) restricts the
    candidates further.

    Keeps: every published node has at least its threshold of contributors, and every
    remainder satisfies `remainder_is_safe`. Stops: reading a small group's answers as the
    difference between a published parent and its published children (a parent of 9 with
    children of 5 and 4), and learning whether a lone member of an internal node answered.
    The published set is inclusion-maximal among candidates (module docstring).
    """
    parent = np.asarray(parent, dtype=np.int64)
    n_nodes = len(parent)
    counts = np.asarray(contributors, dtype=np.int64).reshape(n_nodes, -1)
    n_measures = counts.shape[1]
    limit = np.broadcast_to(np.asarray(thresholds, dtype=np.int64), (n_measures,))
    people = np.asarray(invited, dtype=np.int64)
    if np.any(parent >= np.arange(n_nodes)):
        raise ValueError("Nodes must come after their parent (parent[i] < i).")
    if np.any(limit < 1):
        raise ValueError("Thresholds must be positive.")

    candidate = counts >= limit
    if eligible is not None:
        candidate &= np.asarray(eligible, dtype=bool).reshape(n_nodes, n_measures)
    state = _Suppression(parent, people, counts, limit, candidate)
    state.resolve()
    return state.published


class _Suppression:
    """Working state of `complementary_suppression` (all measures at once).

    The easy part is vectorised: each candidate's nearest candidate ancestor, and its private
    mass (its subtree minus its candidate children's subtrees). Only remainders that break the
    rule go through the Python greedy, top-down, then the re-publication pass.
    """

    def __init__(self, parent, invited, counts, limit, candidate) -> None:
        self.parent, self.invited, self.counts, self.limit = parent, invited, counts, limit
        self.candidate = candidate
        self.published = candidate.copy()
        self.nearest = self._nearest_candidate_ancestor()
        self.private_c, self.private_p = self._private_mass()
        self.atom_c, self.atom_p = self.private_c.copy(), self.private_p.copy()
        self._children: dict[int, dict[int, list[int]]] = {}
        self.suppressed: list[tuple[int, int]] = []

    def _nearest_candidate_ancestor(self) -> np.ndarray:
        n_nodes, n_measures = self.counts.shape
        nearest = np.full((n_nodes, n_measures), -1, dtype=np.int64)
        depth = np.zeros(n_nodes, dtype=np.int64)
        above = self.parent
        while (above >= 0).any():  # one pass per level: count the ancestors of every node
            depth += above >= 0
            above = np.where(above >= 0, self.parent[np.maximum(above, 0)], -1)
        order = np.argsort(depth, kind="stable")
        bounds = np.searchsorted(depth[order], np.arange(1, depth.max(initial=0) + 2))
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            level = order[start:end]
            up = self.parent[level]
            nearest[level] = np.where(self.candidate[up], up[:, None], nearest[up])
        return nearest

    def _private_mass(self) -> tuple[np.ndarray, np.ndarray]:
        private_c = np.where(self.candidate, self.counts, 0)
        private_p = np.where(self.candidate, self.invited[:, None], 0)
        rows, cols = np.nonzero(self.candidate & (self.nearest >= 0))
        up = self.nearest[rows, cols]
        np.subtract.at(private_c, (up, cols), self.counts[rows, cols])
        np.subtract.at(private_p, (up, cols), self.invited[rows])
        return private_c, private_p

    def children(self, measure: int) -> dict[int, list[int]]:
        """Candidate children (in the candidate forest) of every candidate, for one measure."""
        if measure not in self._children:
            nodes = np.flatnonzero(self.candidate[:, measure] & (self.nearest[:, measure] >= 0))
            ups = self.nearest[nodes, measure]
            order = np.argsort(ups, kind="stable")  # stable: each list stays in node order
            ups, nodes = ups[order], nodes[order]
            starts = np.flatnonzero(np.diff(ups, prepend=-1)).tolist()
            ends, nodes = [*starts[1:], len(nodes)], nodes.tolist()
            parents = ups[starts].tolist()
            self._children[measure] = {up: nodes[a:b] for up, a, b in zip(parents, starts, ends, strict=True)}
        return self._children[measure]

    def safe(self, invited: int, contributors: int, measure: int) -> bool:
        return remainder_is_safe(invited=invited, contributors=contributors, threshold=int(self.limit[measure]))

    def resolve(self) -> None:
        unsafe = self.published & ~_safe(self.atom_p, self.atom_c, self.limit)
        # Row-major order is node order, parents first: a node's remainder is settled before
        # anything below it is looked at, so nothing is suppressed to protect a node that an
        # ancestor's fix is about to suppress anyway.
        for node, measure in np.argwhere(unsafe).tolist():
            if self.published[node, measure]:
                self._widen_remainder(node, measure)
        if self.suppressed:
            self._republish()

    def _widen_remainder(self, node: int, measure: int) -> None:
        """Suppress nearest published descendants of `node`, smallest useful first, until its
        remainder is safe. "Useful" means the descendant brings people of its own into the
        remainder (suppressing one whose subtree is exactly its children's changes nothing);
        when none does, the smallest is opened up so its children can be reached.

        "Smallest" and "useful" are judged on invited people, never on who answered: every
        choice then depends only on the invitation snapshot and on facts of the form "this
        group has at least k contributors", so the pattern cannot single out one person's
        participation (ordering by contributors would, when one answer reorders two teams)."""
        kids = self.children(measure)
        frontier = list(kids.get(node, ()))
        contributors, invited = int(self.atom_c[node, measure]), int(self.atom_p[node, measure])
        while not self.safe(invited, contributors, measure):
            if not frontier:
                raise AssertionError("A candidate's whole subtree always meets its threshold.")
            useful = [f for f in frontier if self.private_p[f, measure] > 0] or frontier
            chosen = min(useful, key=lambda f: (self.invited[f], f))
            frontier.remove(chosen)
            frontier.extend(kids.get(chosen, ()))
            self.published[chosen, measure] = False
            self.suppressed.append((chosen, measure))
            contributors += int(self.private_c[chosen, measure])
            invited += int(self.private_p[chosen, measure])
        self.atom_c[node, measure], self.atom_p[node, measure] = contributors, invited

    def _republish(self) -> None:
        """Put back every suppressed candidate whose publication keeps both its own remainder
        and its published ancestor's safe, until none fits: the greedy may overshoot (a small
        node taken first can turn out unnecessary once a bigger one was needed)."""
        pending = sorted(set(self.suppressed))
        changed = True
        while changed:
            changed = False
            for node, measure in pending:
                if self.published[node, measure]:
                    continue
                contributors, invited = self._region(node, measure)
                if not self.safe(invited, contributors, measure):
                    continue
                up = int(self.nearest[node, measure])
                while up >= 0 and not self.published[up, measure]:
                    up = int(self.nearest[up, measure])
                if up >= 0 and not self.safe(
                    int(self.atom_p[up, measure]) - invited, int(self.atom_c[up, measure]) - contributors, measure
                ):
                    continue
                self.published[node, measure] = True
                self.atom_c[node, measure], self.atom_p[node, measure] = contributors, invited
                if up >= 0:
                    self.atom_c[up, measure] -= contributors
                    self.atom_p[up, measure] -= invited
                changed = True

    def _region(self, node: int, measure: int) -> tuple[int, int]:
        """The remainder `node` would have if published now: its private mass plus that of the
        suppressed candidates below it, down to the published ones."""
        kids = self.children(measure)
        contributors, invited = 0, 0
        stack = [node]
        while stack:
            current = stack.pop()
            contributors += int(self.private_c[current, measure])
            invited += int(self.private_p[current, measure])
            stack.extend(child for child in kids.get(current, ()) if not self.published[child, measure])
        return contributors, invited


@dataclass(frozen=True)
class Publication:
    """What may be published for one round, per node (arrays indexed like the nodes)."""

    participation: np.ndarray  # (N,) bool: the node's participation row
    questions: np.ndarray  # (N, Q) bool: the node's row for each question
    comments: np.ndarray  # (N,) bool: the node's comments may be shown


def publication_plan(
    *,
    parent: Sequence[int] | np.ndarray,
    invited: Sequence[int] | np.ndarray,
    respondents: Sequence[int] | np.ndarray,
    contributors: np.ndarray,
    k: int,
    k_comments: int,
    eligible: np.ndarray | None = None,
) -> Publication:
    """Everything that may be published for a round, from subtree totals.

    Participation rows first (respondents, threshold k). Items and comment release are then
    decided only among nodes whose participation row is published, so a page never shows an
    item without its respondents beside it. Comments use `k_comments` over respondents with the
    same remainder rule: set differences of comment lists isolate remainders exactly like
    differences of counts do.
    """
    check_thresholds(k=k, k_comments=k_comments)
    respondents = np.asarray(respondents, dtype=np.int64)
    contributors = np.asarray(contributors, dtype=np.int64).reshape(len(respondents), -1)
    n_questions = contributors.shape[1]
    participation = complementary_suppression(
        parent=parent,
        invited=invited,
        contributors=respondents[:, None],
        thresholds=k,
        eligible=None if eligible is None else np.asarray(eligible, dtype=bool)[:, None],
    )[:, 0]
    rest = complementary_suppression(
        parent=parent,
        invited=invited,
        contributors=np.column_stack([contributors, respondents]),
        thresholds=[k] * n_questions + [k_comments],
        eligible=np.repeat(participation[:, None], n_questions + 1, axis=1),
    )
    return Publication(participation=participation, questions=rest[:, :n_questions], comments=rest[:, n_questions])


# --------------------------------------------------------------------------------------------
# The auditor


@dataclass(frozen=True)
class LeafCounts:
    """A round's raw counts per team, as int64 arrays of rows.

    `histogram` rows are (team_id, question_id, value, answers); `respondents` rows are
    (team_id, respondents); `invited` rows are (team_id, invited), from the snapshot taken when
    the round opened (`RoundTeam`). Aggregation fetches them once and may hand them to the
    auditor.
    """

    histogram: np.ndarray
    respondents: np.ndarray
    invited: np.ndarray

    @classmethod
    def from_rows(cls, *, histogram, respondents, invited) -> LeafCounts:
        return cls(_int_rows(histogram, 4), _int_rows(respondents, 2), _int_rows(invited, 2))


def _int_rows(rows, width: int) -> np.ndarray:
    table = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
    return table.reshape(-1, width)


@dataclass(frozen=True)
class ResultTable:
    """The Result rows of one round, column by column: row r is the Result of `team_ids[r]`.

    Aggregation builds one, the auditor checks that very object, and only then is it written
    (the COPY payload and the ORM rows are both rendered from it, by `rows()` and its COPY twin,
    whose round trip the PostgreSQL tests pin). The standalone audit builds one from the stored
    rows instead.
    """

    team_ids: np.ndarray  # (M,)
    respondents: np.ndarray  # (M,): Result.n
    invited: np.ndarray  # (M,)
    comments_released: np.ndarray  # (M,) bool
    question_ids: np.ndarray  # (Q,): the round's questions
    item_published: np.ndarray  # (M, Q) bool
    item_counts: np.ndarray  # (M, Q, SCALE_POINTS), option 1 first; zero where not published
    covered_offsets: np.ndarray  # (M + 1,)
    covered_teams: np.ndarray  # row r covers covered_teams[covered_offsets[r] : covered_offsets[r + 1]]

    def __len__(self) -> int:
        return len(self.team_ids)

    @property
    def items_published(self) -> int:
        return int(self.item_published.sum())

    def rows(self) -> list[dict]:
        """Field values of each Result, as the ORM takes them."""
        question_keys = [str(q) for q in self.question_ids.tolist()]
        published, counts = self.item_published.tolist(), self.item_counts.tolist()
        offsets, covered = self.covered_offsets.tolist(), self.covered_teams.tolist()
        return [
            {
                "team_id": team_id,
                "n": n,
                "invited": invited,
                "items": {key: c for key, flag, c in zip(question_keys, published[r], counts[r], strict=True) if flag},
                "comments_released": released,
                "covered_teams": covered[offsets[r] : offsets[r + 1]],
            }
            for r, (team_id, n, invited, released) in enumerate(
                zip(
                    self.team_ids.tolist(),
                    self.respondents.tolist(),
                    self.invited.tolist(),
                    self.comments_released.tolist(),
                    strict=True,
                )
            )
        ]


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

    Why check the rows about to be written rather than re-read the stored ones: the COPY
    payload is rendered from this very object by one small function with no decisions in it
    (its round trip, stored rows equal to the audited ones, is pinned by a PostgreSQL test, and
    every test publication is audited again standalone). Re-reading and decoding 1.6k rows of
    JSON inside the publishing transaction cost more than the rest of the audit, and the check
    gains a property: a failed audit writes nothing at all.

    Checks: nothing is published for a round that is not closed; every Result has at least k
    respondents and matches the raw counts exactly; every item is one of the round's, equals
    the raw subtree counts, has at least k answers and no more than the node's respondents;
    every remainder satisfies both DESIGN.md's rule and the stronger one (`remainder_is_safe`);
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
    if not round_.may_publish:
        if len(table):
            report.problems.append("results exist for a round that is not closed")
        return report
    if not len(table):
        return report
    try:
        check_thresholds(k=round_.k, k_comments=round_.k_comments)
    except ValueError as error:
        report.problems.append(str(error))
        return report
    if leaf_counts is None:
        raw = _audit_raw_counts(round_)
        _audit_invitation_snapshot(report, round_, raw)
    else:
        raw = leaf_counts
    tree = _AuditTree(structure["teams"], report)
    _audit_results(report, round_, tree, questions, raw, table)
    return report


#: The auditor reads the team tree and the round's questions itself (one round trip).
_AUDIT_STRUCTURE_SQL = {
    "teams": (
        f"SELECT id, COALESCE(parent_id, 0) FROM {Team._meta.db_table} WHERE organization_id = %(organization)s",
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
    holding = _int_rows(rows, 2)
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


def _audit_results(report, round_, tree, questions, raw, table: ResultTable) -> None:
    own_hist, own_people = _audit_own_counts(report, tree, questions, raw)
    size, n_questions = own_hist.shape[:2]
    hist = tree.subtree_sums(own_hist.reshape(size, -1)).reshape(size, n_questions, SCALE_POINTS)
    people = tree.subtree_sums(own_people)
    nodes = tree.index(table.team_ids)
    for team_id in table.team_ids[nodes < 0].tolist():
        report.problems.append(f"a result for team {team_id}, which is not in the organisation")
    values, seen = np.unique(table.team_ids, return_counts=True)
    for team_id in values[seen > 1].tolist():
        report.problems.append(f"team {team_id}: more than one result")
    known = np.flatnonzero(nodes >= 0)
    nodes = nodes[known]
    # Measures: one per question, then participation, then comment release.
    published = np.zeros((size, n_questions + 2), dtype=bool)
    published[nodes, n_questions] = True
    published[nodes, n_questions + 1] = table.comments_released[known]
    respondents = np.zeros(size, dtype=np.int64)
    respondents[nodes] = table.respondents[known]
    _audit_rows(report, round_, tree, table, known, nodes, people)
    _audit_items(report, tree, questions, table, known, nodes, hist, respondents, published, round_.k)
    _audit_remainders(report, tree, questions, published, own_hist.sum(axis=2), own_people, round_.k, round_.k_comments)


def _audit_own_counts(report, tree, questions, raw: LeafCounts) -> tuple[np.ndarray, np.ndarray]:
    """Each team's own answers per (question, option), and its own respondents and invited."""
    size, n_questions = len(tree.ids), len(questions)
    own_hist = np.zeros(size * n_questions * SCALE_POINTS, dtype=np.int64)
    team_ids, question_ids, values, answers = raw.histogram.T
    nodes = tree.index(team_ids)
    for team_id in np.unique(team_ids[nodes < 0]).tolist():
        report.problems.append(f"answers recorded against team {team_id}, which is not in the tree")
    columns = _index_of(questions, question_ids)
    keep = (nodes >= 0) & (columns >= 0) & (values >= 1) & (values <= SCALE_POINTS)
    cells = (nodes[keep] * n_questions + columns[keep]) * SCALE_POINTS + values[keep] - 1
    own_hist += np.bincount(cells, weights=answers[keep], minlength=len(own_hist)).astype(np.int64)
    own_people = np.zeros((size, 2), dtype=np.int64)  # respondents, invited
    for column, rows in enumerate((raw.respondents, raw.invited)):
        where = tree.index(rows[:, 0])
        for team_id in np.unique(rows[where < 0, 0]).tolist():
            report.problems.append(f"people recorded against team {team_id}, which is not in the tree")
        sums = np.bincount(where[where >= 0], weights=rows[where >= 0, 1], minlength=size)
        own_people[:, column] = np.rint(sums).astype(np.int64)
    return own_hist.reshape(size, n_questions, SCALE_POINTS), own_people


def _audit_rows(report, round_, tree, table: ResultTable, known, nodes, people) -> None:
    """Each Result's own figures: respondents and invited equal to the raw subtree sums, at
    least k respondents, k_comments for released comments, and its frozen team list."""
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


def _audit_items(report, tree, questions, table: ResultTable, known, nodes, hist, respondents, published, k) -> None:
    """Every published item: one of the round's questions, equal to the raw subtree counts, at
    least k answers, and never more answers than the node has respondents."""
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


def _audit_remainders(report, tree, questions, published, own_items, own_people, k, k_comments) -> None:
    """Each team's own people and answers belong to the remainder of its nearest published
    ancestor-or-self; sum them per remainder and check both rules."""
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
    strong = (atom_c >= thresholds) | ((atom_p == 0) & (atom_c == 0))
    design = (atom_c >= thresholds) | (atom_c == 0)
    names = [f"question {question_id}" for question_id in questions.tolist()] + ["participation", "comments"]
    for node, measure in np.argwhere(published & ~(strong & design)).tolist():
        report.problems.append(f"team {tree.ids[node]}, {names[measure]}: a remainder breaks the suppression rule")
