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


def unneeded_suppressions(parent, published, candidates, own_invited, own_contributors, threshold) -> list[int]:
    """Suppressed candidates that could be published on their own without breaking the rule
    (empty for a maximal publication)."""
    found = []
    for node in range(len(parent)):
        if candidates[node] and not published[node]:
            trial = list(published)
            trial[node] = True
            if is_valid(parent, trial, own_invited, own_contributors, threshold):
                found.append(node)
    return found
