"""Complementary suppression: which team nodes a round may publish, per measure.

Vocabulary. Results are published for team *nodes*; a node's figures cover its whole subtree.
For one *measure* (one question, the participation count, or comment release) the published
nodes form a laminar family. The *remainder* of a published node is its subtree minus the
subtrees of its nearest published descendants: subtracting published figures isolates exactly
these remainders (and sums of them), nothing finer. The rule (`rules.remainder_is_safe`) is
stated on remainders; docs/privacy.md says why it is enough and how the choice of what to
suppress is kept from telling anything about who answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from surveys.privacy.rules import remainder_is_safe, thresholds_check


def _safe(invited: np.ndarray, contributors: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """`remainder_is_safe` on arrays (broadcasting `threshold` over measures)."""
    return (contributors >= threshold) | ((invited == 0) & (contributors == 0))


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
            ends, members = [*starts[1:], len(nodes)], nodes.tolist()
            parents = ups[starts].tolist()
            self._children[measure] = {up: members[a:b] for up, a, b in zip(parents, starts, ends, strict=True)}
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
    k: int | None,
    k_comments: int | None,
    eligible: np.ndarray | None = None,
) -> Publication:
    """Everything that may be published for a round, from subtree totals.

    Participation rows first (respondents, threshold k). Items and comment release are then
    decided only among nodes whose participation row is published, so a page never shows an
    item without its respondents beside it. Comments use `k_comments` over respondents with the
    same remainder rule: set differences of comment lists isolate remainders exactly like
    differences of counts do.
    """
    k, k_comments = thresholds_check(k=k, k_comments=k_comments)
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
