"""A deliberately naive reference for the suppression rule, used by the privacy tests to check
`surveys.privacy` from outside: explicit loops over nodes, no arrays, no shared code."""

from __future__ import annotations

from collections.abc import Sequence


def subtree_totals(parent: Sequence[int], own: Sequence[int]) -> list[int]:
    totals = list(own)
    for node in range(len(parent) - 1, -1, -1):
        if parent[node] >= 0:
            totals[parent[node]] += totals[node]
    return totals


def remainders(parent, published, own_invited, own_contributors) -> dict[int, tuple[int, int]]:
    """(invited, contributors) of each published node's remainder: every node's own people go
    to its nearest published ancestor-or-self."""
    atoms = {node: (0, 0) for node in range(len(parent)) if published[node]}
    for node in range(len(parent)):
        owner = node
        while owner >= 0 and not published[owner]:
            owner = parent[owner]
        if owner >= 0:
            invited, contributors = atoms[owner]
            atoms[owner] = (invited + own_invited[node], contributors + own_contributors[node])
    return atoms


def is_valid(parent, published, own_invited, own_contributors, threshold, *, strong: bool = True) -> bool:
    totals = subtree_totals(parent, own_contributors)
    if any(published[node] and totals[node] < threshold for node in range(len(parent))):
        return False
    for invited, contributors in remainders(parent, published, own_invited, own_contributors).values():
        nobody = invited == 0 and contributors == 0 if strong else contributors == 0
        if not (contributors >= threshold or nobody):
            return False
    return True


def levels_order(parent: Sequence[int], ids: Sequence[int] | None = None, invited=None) -> list[int]:
    """The public order of decisions: by depth, then more invited people (subtree) first, then
    by team id (the node index by default)."""
    ids = list(range(len(parent))) if ids is None else list(ids)
    invited = [0] * len(parent) if invited is None else list(invited)
    depth = []
    for node in range(len(parent)):
        depth.append(0 if parent[node] < 0 else depth[parent[node]] + 1)
    return sorted(range(len(parent)), key=lambda node: (depth[node], -invited[node], ids[node]))


def public_pattern(parent, own_invited, counts, threshold, *, bounds=None, eligible=None, ids=None) -> list[bool]:
    """What may be published when every decision below a root depends only on what is already
    published (docs/privacy.md), written as plainly as possible: one node at a time in the
    public order, tracking each published node's remainder in a dict. `counts` and `bounds` are
    subtree totals (bounds: invited people by default); `eligible` defaults to every node."""
    invited = subtree_totals(parent, own_invited)
    bounds = invited if bounds is None else list(bounds)
    eligible = [True] * len(parent) if eligible is None else list(eligible)
    published = [False] * len(parent)
    remainder: dict[int, list[int]] = {}  # published node -> [contributors, bound, invited]
    for node in levels_order(parent, ids, invited):
        if not eligible[node]:
            continue
        above = parent[node]
        while above >= 0 and not published[above]:
            above = parent[above]
        if parent[node] < 0:
            go = counts[node] >= threshold
        elif above < 0:
            go = False
        else:
            c, b, i = remainder[above]
            fewest = max(0, c - (b - bounds[node]))
            most = min(bounds[node], c)
            go = fewest >= threshold and (i == invited[node] or c - most >= threshold)
            if go:
                remainder[above] = [c - counts[node], b - bounds[node], i - invited[node]]
        if go:
            published[node] = True
            remainder[node] = [counts[node], bounds[node], invited[node]]
    return published


def own_count_pattern(parent, own_invited, own_contributors, threshold) -> list[bool]:
    """A rule that looks safe and is not: top-down, publish a node when its OWN count reaches
    the threshold and the remainder it leaves (known exactly, from its count) stays safe. Every
    publication it makes passes the remainder rule, but hiding a node whenever its count is low
    is exactly what lets the pattern pin counts. The auditor must refuse what it publishes."""
    counts = subtree_totals(parent, own_contributors)
    invited = subtree_totals(parent, own_invited)
    published = [False] * len(parent)
    remainder: dict[int, list[int]] = {}
    for node in levels_order(parent):
        above = parent[node]
        while above >= 0 and not published[above]:
            above = parent[above]
        if parent[node] < 0:
            go = counts[node] >= threshold
        elif above < 0:
            go = False
        else:
            c, i = remainder[above]
            left_c, left_i = c - counts[node], i - invited[node]
            go = counts[node] >= threshold and (left_c >= threshold or (left_i == 0 and left_c == 0))
            if go:
                remainder[above] = [left_c, left_i]
        if go:
            published[node] = True
            remainder[node] = [counts[node], invited[node]]
    return published
