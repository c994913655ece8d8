"""Which figures a round publishes: reporting units shown on their own count, and the rest of
each team passed up the tree until it is large enough to add (docs/privacy.md, "Publication").

Vocabulary. People are counted in *reporting units* (`privacy.units`), each of at least `k`
invited people, frozen when the round opens. A round's figures are sums of *components*,
disjoint groups of people:
- a unit with at least `k` respondents is *shown*: it is a component of its own;
- a unit with fewer leaves its respondents in the *rest* of its home team. A team's rest (its
  hidden unit and what its sub-teams passed up) is a component when it has at least `k`
  respondents; otherwise it passes up to the team above, whole.
A team's figure is the sum of the components inside its subtree: every shown unit homed there
and every rest added there. While some of its people's answers are still passing up, the
figure is *partial*, and says which teams it covers. Nothing is hidden to protect something
else (no complementary suppression), so no decision looks at a neighbour's count.

Within a component an item counts only when at least `k` people answered it there; a node's
comments are released when its figure, and what it adds to the released figures below it, each
have at least `k_comments` respondents, decided on published figures alone.

Why this keeps both promises (the proof is in docs/privacy.md): anything that subtracting
published figures can isolate is a union of components, each of at least `k` contributors;
and whether a person answered can always be traded with someone of the same unit, or of the
same passing rest, without changing anything published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from surveys.privacy.rules import reaches_threshold, thresholds_check


@dataclass(frozen=True)
class Publication:
    """What a round publishes, per team node (forest order). Arrays may carry a trailing axis
    of worlds (`publication_plans`); one round's plan has none."""

    respondents: np.ndarray  # (N,) respondents of each node's figure (0: the node has no figure)
    invited: np.ndarray  # (N,) invited people of the teams its figure covers
    included_at: np.ndarray  # (N,) per team: the node whose figure first takes its people's answers, -1: none
    items: np.ndarray  # (N, Q) bool: the item has a figure at the node
    histogram: np.ndarray  # (N, Q, S) answers per option of each item with a figure (0 elsewhere)
    comments: np.ndarray  # (N,) bool: the node's comments are released
    unit_shown: np.ndarray  # (N,) bool: the unit homed at the team is shown on its own count
    rest_added: np.ndarray  # (N,) bool: the team's rest is added to its figure
    partial: np.ndarray  # (N,) bool: a hidden unit homed below the node passes above it

    @property
    def shown(self) -> np.ndarray:
        return self.respondents > 0


def publication_plan(
    *,
    parent: Sequence[int] | np.ndarray,
    home: Sequence[int] | np.ndarray,
    invited: Sequence[int] | np.ndarray,
    respondents: Sequence[int] | np.ndarray,
    histogram: np.ndarray,
    k: int | None,
    k_comments: int | None,
) -> Publication:
    """Everything one round publishes, from each team's OWN counts (not subtree totals).

    `parent[i] < i` and every subtree contiguous (the forest in depth-first preorder);
    `home[i]` the reporting unit of team i's people (its home team's index, frozen when the
    round opened; -1 for a team with nobody invited); `invited`, `respondents` (N,) and
    `histogram` (N, Q, S: answers per option) each team's own.
    """
    batch = publication_plans(
        parent=parent,
        home=home,
        invited=invited,
        respondents=np.asarray(respondents)[:, None],
        histogram=np.asarray(histogram)[..., None],
        k=k,
        k_comments=k_comments,
    )
    return Publication(**{name: value[..., 0] for name, value in vars(batch).items()})


def publication_plans(*, parent, home, invited, respondents, histogram, k, k_comments) -> Publication:
    """`publication_plan` for many worlds at once: `respondents` (N, W), `histogram` (N, Q, S,
    W) and `invited` (N,) or (N, W) (worlds of organisations sharing a tree and units), every
    array of the result with a trailing axis of W worlds. The exhaustive search runs millions
    of worlds through this very code."""
    k, k_comments = thresholds_check(k=k, k_comments=k_comments)
    tree = _Tree(np.asarray(parent, dtype=np.int64))
    home = np.asarray(home, dtype=np.int64)
    size, worlds = np.shape(respondents)
    histogram = np.asarray(histogram, dtype=np.int64)
    questions, options = histogram.shape[1:3]
    # One vector per team and world: respondents, then every item's answers per option.
    values = np.concatenate([np.asarray(respondents, dtype=np.int64)[:, None], histogram.reshape(size, -1, worlds)], 1)
    teams = np.flatnonzero(home >= 0)
    unit = np.zeros_like(values)
    _add_rows(unit, home[teams], values[teams])
    is_home = np.zeros(size, dtype=bool)
    is_home[home[teams]] = True
    unit_shown = is_home[:, None] & reaches_threshold(unit[:, 0], k)
    rest, rest_added, entry = _rests(tree, np.where(unit_shown[:, None], 0, unit), unit_shown, k)
    included_at = np.full((size, worlds), -1, dtype=np.int64)
    included_at[teams] = entry[home[teams]]
    own = _own_components(unit, rest, unit_shown, rest_added, questions, options, k)
    people = np.broadcast_to(np.asarray(invited, dtype=np.int64).reshape(size, -1), (size, worlds))
    figures = tree.subtree_sums(own)
    return Publication(
        respondents=figures[:, 0],
        invited=tree.subtree_sums(_at_entries(included_at, people)),
        included_at=included_at,
        items=tree.subtree_sums(own[:, 1 + questions * options :]) > 0,
        histogram=figures[:, 1 : 1 + questions * options].reshape(size, questions, options, worlds),
        comments=_comments_released(tree, figures[:, 0], k_comments),
        unit_shown=unit_shown,
        rest_added=rest_added,
        # A unit homed below a node whose answers enter no figure below it passes above it.
        partial=tree.subtree_sums(np.where(is_home[:, None], 1, 0) - _at_entries(entry, is_home[:, None])) > 0,
    )


def _rests(tree: _Tree, rest: np.ndarray, unit_shown: np.ndarray, k: int):
    """Pass hidden units' answers up the tree, bottom level first: a team's rest (what its
    sub-teams passed up, and its own hidden unit) is added to its figure once it reaches k,
    else passed on whole. Returns the rests (as added), whether each was added, and for each
    unit's home where its answers enter a figure (its home if shown, else the first team up
    whose rest was added; -1: none)."""
    size, worlds = unit_shown.shape
    rest_added = np.zeros((size, worlds), dtype=bool)
    for level in tree.levels[::-1]:
        rest_added[level] = reaches_threshold(rest[level, 0], k)
        up = tree.parent[level]
        below = up >= 0
        _add_rows(rest, up[below], np.where(rest_added[level][:, None], 0, rest[level])[below])
    added_at = np.full((size, worlds), -1, dtype=np.int64)
    for level in tree.levels:
        up = tree.parent[level]
        above = np.where((up >= 0)[:, None], added_at[np.maximum(up, 0)], -1)
        added_at[level] = np.where(rest_added[level], level[:, None], above)
    entry = np.where(unit_shown, np.arange(size)[:, None], added_at)
    return rest, rest_added, entry


def _at_entries(entry: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per node and world, the sum of `weights` of the rows entering a figure there."""
    size, worlds = entry.shape
    weights = np.broadcast_to(weights, (size, worlds))
    taken = entry >= 0
    cells = (entry * worlds + np.arange(worlds))[taken]
    totals = np.bincount(cells, weights=weights[taken], minlength=size * worlds)
    return np.rint(totals).astype(np.int64).reshape(size, worlds)


def _own_components(unit, rest, unit_shown, rest_added, questions: int, options: int, k: int) -> np.ndarray:
    """Each node's own components summed: its shown unit and its added rest, each item of each
    counted only where at least k answered it. Columns: respondents, the Q×S answer cells, then
    Q counts of components that carry each item."""
    size, _, worlds = unit.shape
    parts = []
    for values, taken in ((unit, unit_shown), (rest, rest_added)):
        cells = values[:, 1:].reshape(size, questions, options, worlds)
        item = taken[:, None] & reaches_threshold(cells.sum(axis=2), k)
        kept = np.where(item[:, :, None], cells, 0).reshape(size, -1, worlds)
        parts.append(np.concatenate([np.where(taken, values[:, 0], 0)[:, None], kept, item], axis=1))
    return (parts[0] + parts[1]).astype(np.int64)


def _comments_released(tree: _Tree, figure: np.ndarray, k_comments: int) -> np.ndarray:
    """Bottom-up on published figures alone: a node's comments are released when its figure
    has at least `k_comments` respondents and what it adds to the nearest released figures
    below it is nothing or at least `k_comments` respondents (the difference of two released
    comment lists is then never a smaller group)."""
    released = np.zeros(figure.shape, dtype=bool)
    below = np.zeros(figure.shape, dtype=np.int64)  # respondents under the nearest released nodes below
    for level in tree.levels[::-1]:
        adds = figure[level] - below[level]
        enough = reaches_threshold(figure[level], k_comments)
        released[level] = enough & ((adds == 0) | reaches_threshold(adds, k_comments))
        up = tree.parent[level]
        keep = up >= 0
        _add_rows(below, up[keep], np.where(released[level], figure[level], below[level])[keep])
    return released


def _add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """target[rows[i]] += values[i], rows repeating (np.add.at, by sorted runs: faster)."""
    if not len(rows):
        return
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    starts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]]))
    target[rows[starts]] += np.add.reduceat(values[order], starts, axis=0)


class _Tree:
    """A forest in depth-first preorder: its depth levels, and subtree sums by prefix sums."""

    def __init__(self, parent: np.ndarray) -> None:
        self.parent = parent
        size = len(parent)
        if np.any(parent >= np.arange(size)):
            raise ValueError("Teams must come after their parent (parent[i] < i).")
        depth = np.zeros(size, dtype=np.int64)
        for node in range(size):
            if parent[node] >= 0:
                depth[node] = depth[parent[node]] + 1
        self.levels = [np.flatnonzero(depth == d) for d in range(int(depth.max(initial=-1)) + 1)]
        self.extent = np.ones(size, dtype=np.int64)
        for level in self.levels[:0:-1]:
            _add_rows(self.extent, parent[level], self.extent[level])

    def subtree_sums(self, own: np.ndarray) -> np.ndarray:
        prefix = np.concatenate([np.zeros((1, *own.shape[1:]), dtype=own.dtype), np.cumsum(own, axis=0)])
        start = np.arange(len(own))
        return prefix[start + self.extent] - prefix[start]
