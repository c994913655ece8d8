"""The publication rule before units and rests (until December 2026), kept only so that
`benchmark publication` can print what it showed beside what the product shows now.

It decided every node below a root on the worst case of all non-respondents around it, in a
public order, which kept every count a sub-k group could pin unknown, and hid nearly every
ordinary team (docs/privacy.md, "What it costs").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def public_suppression(
    *,
    parent: Sequence[int] | np.ndarray,
    invited: Sequence[int] | np.ndarray,
    contributors: Sequence | np.ndarray,
    bounds: Sequence | np.ndarray,
    thresholds: Sequence[int] | np.ndarray | int,
    eligible: np.ndarray | None = None,
    order: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """Which nodes publish, per measure: a boolean array shaped like `contributors` (N, M).

    `parent[i]` is the index of node i's parent (-1 for a root; forests are fine) and must be
    smaller than i. `invited[i]` and `contributors[i, m]` are SUBTREE totals. `bounds[i, m]` is
    a public upper bound of `contributors[i, m]` (its subtree's invited people for the
    participation count; its published respondents for items and comments); it broadcasts.
    `thresholds[m]` is the minimum per measure; `eligible[i, m]` restricts the candidates (items
    and comments only where the participation row is published). `order[i]` orders the nodes
    of a depth level (see `public_order`); by default the node index.

    Keeps: every published node has at least its threshold of contributors; every remainder
    has at least the threshold or nobody invited; every decision below a root depends only on
    figures already published and the invitation snapshot.
    """
    parent = np.asarray(parent, dtype=np.int64)
    size = len(parent)
    counts = np.asarray(contributors, dtype=np.int64)
    counts = counts.reshape(size, counts.shape[-1] if counts.ndim == 2 else -1 if size else 0)
    measures = counts.shape[1]
    limit = np.broadcast_to(np.asarray(thresholds, dtype=np.int64), (measures,))
    if np.any(parent >= np.arange(size)):
        raise ValueError("Nodes must come after their parent (parent[i] < i).")
    if np.any(limit < 1):
        raise ValueError("Thresholds must be positive.")
    state = _Decisions(
        parent=parent,
        invited=np.asarray(invited, dtype=np.int64),
        counts=counts,
        bounds=np.broadcast_to(np.asarray(bounds, dtype=np.int64).reshape(size, -1), counts.shape),
        limit=limit,
        eligible=np.ones(counts.shape, dtype=bool)
        if eligible is None
        else np.broadcast_to(np.asarray(eligible, dtype=bool).reshape(size, -1), counts.shape),
    )
    for level in _levels(parent, np.arange(size) if order is None else np.asarray(order)):
        state.decide(level)
    return state.published


def public_order(*, invited: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The order of decisions within a depth level: more invited people first (a larger team
    is likelier to be guaranteed k, and once it is published its non-respondents no longer
    blur its siblings), then by team id. Public: it depends on the invitation snapshot only."""
    ranked = np.lexsort((np.asarray(ids), -np.asarray(invited)))
    order = np.empty(len(ranked), dtype=np.int64)
    order[ranked] = np.arange(len(ranked))
    return order


def _levels(parent: np.ndarray, order: np.ndarray) -> list[np.ndarray]:
    """The nodes of each depth, top first, each level sorted by `order`."""
    depth = np.zeros(len(parent), dtype=np.int64)
    for node in range(len(parent)):  # parents come first, so one pass suffices
        if parent[node] >= 0:
            depth[node] = depth[parent[node]] + 1
    ranked = np.lexsort((order, depth))
    bounds = np.searchsorted(depth[ranked], np.arange(depth.max(initial=-1) + 2))
    return [ranked[start:end] for start, end in zip(bounds[:-1], bounds[1:], strict=True)]


class _Decisions:
    """The publication being decided, all measures at once. For each published node and
    measure, its remainder so far: contributors (exact, from published figures), the public
    bound of those contributors, and invited people."""

    def __init__(self, *, parent, invited, counts, bounds, limit, eligible) -> None:
        self.parent, self.invited, self.counts, self.bounds = parent, invited, counts, bounds
        self.limit, self.eligible = limit, eligible
        shape = counts.shape
        self.published = np.zeros(shape, dtype=bool)
        self.nearest = np.full(shape, -1, dtype=np.int64)  # nearest published strict ancestor
        self.atom_c = np.zeros(shape, dtype=np.int64)
        self.atom_b = np.zeros(shape, dtype=np.int64)
        self.atom_i = np.zeros(shape, dtype=np.int64)

    def decide(self, level: np.ndarray) -> None:
        up = self.parent[level]
        roots = level[up < 0]
        if len(roots):
            self._publish(roots[:, None], self.eligible[roots] & (self.counts[roots] >= self.limit))
        below = level[up >= 0]
        if not len(below):
            return
        up = self.parent[below]
        near = np.where(self.published[up], up[:, None], self.nearest[up])
        self.nearest[below] = near
        rows, measures = np.nonzero(self.eligible[below] & (near >= 0))
        if not len(rows):
            return
        # Candidates under the same published node and measure are decided one after the
        # other, in level order; each step takes at most one from every such group.
        groups = near[rows, measures] * self.counts.shape[1] + measures
        ranked = np.lexsort((rows, groups))
        rows, measures, groups = rows[ranked], measures[ranked], groups[ranked]
        first = np.flatnonzero(np.diff(groups, prepend=-1))
        rank = np.arange(len(rows)) - np.repeat(first, np.diff(np.append(first, len(rows))))
        by_rank = np.argsort(rank, kind="stable")
        edges = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2))
        for start, end in zip(edges[:-1], edges[1:], strict=True):
            step = by_rank[start:end]
            self._decide_step(below[rows[step]], measures[step], near[rows[step], measures[step]])

    def _decide_step(self, nodes: np.ndarray, measures: np.ndarray, above: np.ndarray) -> None:
        """One candidate of each group: publish it if, whatever the unpublished figures are,
        it reaches the threshold and its nearest published ancestor's remainder stays safe."""
        go = _publishable(
            atom_contributors=self.atom_c[above, measures],
            atom_bound=self.atom_b[above, measures],
            atom_invited=self.atom_i[above, measures],
            node_bound=self.bounds[nodes, measures],
            node_invited=self.invited[nodes],
            threshold=self.limit[measures],
        )
        nodes, measures, above = nodes[go], measures[go], above[go]
        taken = self.counts[nodes, measures]
        self.atom_c[above, measures] -= taken
        self.atom_b[above, measures] -= self.bounds[nodes, measures]
        self.atom_i[above, measures] -= self.invited[nodes]
        self._publish_at(nodes, measures)

    def _publish(self, nodes: np.ndarray, flags: np.ndarray) -> None:
        rows, measures = np.nonzero(flags)
        self._publish_at(nodes[rows, 0], measures)

    def _publish_at(self, nodes: np.ndarray, measures: np.ndarray) -> None:
        self.published[nodes, measures] = True
        self.atom_c[nodes, measures] = self.counts[nodes, measures]
        self.atom_b[nodes, measures] = self.bounds[nodes, measures]
        self.atom_i[nodes, measures] = self.invited[nodes]


def _publishable(*, atom_contributors, atom_bound, atom_invited, node_bound, node_invited, threshold):
    """The previous rule's test: in every world consistent with what was published so far,
    the node reaches the threshold and leaves its nearest published ancestor's remainder safe."""
    fewest = np.maximum(0, atom_contributors - (atom_bound - node_bound))
    most = np.minimum(node_bound, atom_contributors)
    return (fewest >= threshold) & ((atom_invited == node_invited) | (atom_contributors - most >= threshold))


def previous_rule_shown(parent, invited, answered, k):
    """Which nodes the previous rule showed (participation), and the share of respondents
    the top node's figure covered (all of them, or none)."""
    people, respondents = _subtree(parent, invited), _subtree(parent, answered)
    shown = public_suppression(
        parent=parent,
        invited=people,
        contributors=respondents[:, None],
        bounds=people[:, None],
        thresholds=k,
        order=public_order(invited=people, ids=np.arange(len(parent))),
    )[:, 0]
    return shown, float(shown[0])


def _subtree(parent, own):
    totals = np.asarray(own, dtype=np.int64).copy()
    for node in range(len(parent) - 1, 0, -1):
        totals[parent[node]] += totals[node]
    return totals
