"""Every small organisation, every respondent vector: the suppression pattern pins nothing.

The attack (docs/privacy.md, "Publication"): take every respondent vector consistent with the
published counts, re-run the public algorithm on it, keep the worlds that reproduce both the
counts and the pattern. For every team, the respondent counts it takes across those worlds
must hold at least two values wherever the published counts alone allow at least two.

Enumerated here by brute force over every ordered tree of up to MAX_NODES teams, every
placement of up to MAX_PEOPLE invited people (teams without anyone below them are left out:
they can never change a decision), every k from 3 to 5 and every respondent vector. Each
configuration's worlds go through the production suppression in one call, as its measures.

The same enumeration checks the auditor's fast check (`pattern_mismatches`) against brute
force: it must pass every publication of the product, and it must not let a leaky algorithm
run unnoticed. The leaky rule decides on each node's own count (the production code fed each
node's true count as its "public" bound); brute force finds its pins, and in every
organisation where it pins, the fast check must refuse some of its publications.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from surveys.privacy.audit import pattern_check_for
from surveys.privacy.suppression import public_order, public_suppression

MAX_NODES = 5
MAX_PEOPLE = 9
THRESHOLDS = (3, 4, 5)
#: Also every department of three teams (reproduction B of the attack needs 13 people).
STARS = ([-1, 0, 0, 0], 13)


def plane_trees(size: int) -> Iterator[list[int]]:
    """Parent arrays (preorder, so parent[i] < i) of every ordered tree of `size` nodes."""
    if size == 1:
        yield [-1]
        return

    def forests(nodes: int) -> Iterator[list[list[int]]]:
        if nodes == 0:
            yield []
            return
        for first in range(1, nodes + 1):
            for tree in plane_trees(first):
                for rest in forests(nodes - first):
                    yield [tree, *rest]

    for forest in forests(size - 1):
        parent = [-1]
        for tree in forest:
            base = len(parent)
            parent.extend(0 if up < 0 else base + up for up in tree)
        yield parent


def organisations() -> Iterator[tuple[list[int], list[int]]]:
    """(parent, invited per team): every tree up to MAX_NODES teams and every placement of up
    to MAX_PEOPLE people in which every leaf team has somebody; then the STARS family."""
    for size in range(1, MAX_NODES + 1):
        for parent in plane_trees(size):
            yield from _placements(parent, MAX_PEOPLE)
    star, people = STARS
    yield from ((parent, invited) for parent, invited in _placements(star, people) if sum(invited) > MAX_PEOPLE)


def _placements(parent: list[int], people: int) -> Iterator[tuple[list[int], list[int]]]:
    leaves = set(range(len(parent))) - set(parent)
    ranges = [range(1 if node in leaves else 0, people + 1) for node in range(len(parent))]
    for invited in itertools.product(*ranges):
        if sum(invited) <= people:
            yield parent, list(invited)


def _subtree_matrix(parent: list[int]) -> np.ndarray:
    """below[t, x] = 1 when team t is x or lies below it."""
    size = len(parent)
    below = np.eye(size, dtype=np.int64)
    for node in range(size - 1, 0, -1):
        below[:, parent[node]] += below[:, node]
    return below


def _pins(own: np.ndarray, subtree: np.ndarray, published: np.ndarray) -> np.ndarray:
    """For each world, whether the observation it produces pins a team: a team's own or subtree
    respondent count that the published counts leave open (two values or more among the
    worlds giving the same published counts) but counts and pattern together fix."""
    worlds, size = own.shape
    pattern = (published.T.astype(np.int64) << np.arange(size)).sum(axis=1)
    values = np.concatenate([own, subtree], axis=1)
    digits = (max(MAX_PEOPLE, STARS[1]) + 1) ** np.arange(size)  # above any subtree count
    pinned = np.zeros(worlds, dtype=bool)
    for observed in np.unique(pattern).tolist():
        shown = (observed >> np.arange(size)) & 1
        _, group = np.unique(subtree @ (digits * shown), return_inverse=True)
        reproduces = pattern == observed
        spread_all = _spread(group, values)  # the published counts alone
        spread_kept = _spread(group[reproduces], values[reproduces], groups=len(spread_all))
        fixed = (spread_all & ~spread_kept).any(axis=1)
        pinned |= reproduces & fixed[group]
    return pinned


def _spread(group: np.ndarray, values: np.ndarray, groups: int | None = None) -> np.ndarray:
    """Per group id and column: does the column take two values or more in the group?
    (A group with no rows counts as spread: nothing is fixed there.)"""
    groups = int(group.max()) + 1 if groups is None else groups
    lowest = np.full((groups, values.shape[1]), np.iinfo(np.int64).max)
    highest = np.full((groups, values.shape[1]), -1)
    np.minimum.at(lowest, group, values)
    np.maximum.at(highest, group, values)
    return lowest != highest


def _search() -> dict[str, int]:
    found = {"organisations": 0, "worlds": 0, "pins": 0, "flagged": 0, "leaky pins": 0, "leaky organisations": 0}
    found["leaky organisations unflagged"] = 0
    checkers: dict[tuple[int, ...], object] = {}
    for parent, invited in organisations():
        below = _subtree_matrix(parent)
        own = np.array(list(itertools.product(*(range(people + 1) for people in invited))), dtype=np.int64)
        subtree = own @ below
        invited_subtree = np.asarray(invited) @ below
        worlds = len(own)
        # Every world, for every k, under the product's rule and under the leaky one: measures.
        blocks = [(k, leaky) for k in THRESHOLDS for leaky in (False, True)]
        counts = np.tile(subtree.T, len(blocks))
        public_bounds = np.broadcast_to(invited_subtree[:, None], counts.shape)
        leaky_columns = np.repeat([leaky for _, leaky in blocks], worlds)
        thresholds = np.repeat([k for k, _ in blocks], worlds)
        published = public_suppression(
            parent=parent,
            invited=invited_subtree,
            contributors=counts,
            bounds=np.where(leaky_columns, counts, public_bounds),
            thresholds=thresholds,
            order=public_order(invited=invited_subtree, ids=np.arange(1, len(parent) + 1)),
        )
        key = tuple(parent)
        if key not in checkers:
            checkers[key] = pattern_check_for(np.column_stack([np.arange(1, len(parent) + 1), np.array(parent) + 1]))
        flagged = checkers[key](
            published=published,
            shown=np.where(published, counts, 0),
            bound=public_bounds,
            invited=invited_subtree,
            raw=counts,
            thresholds=thresholds,
            eligible=np.ones(published.shape, dtype=bool),
        ).any(axis=0)
        for block, (_, leaky) in enumerate(blocks):
            columns = slice(block * worlds, (block + 1) * worlds)
            pins = _pins(own, subtree, published[:, columns])
            if leaky:
                found["leaky pins"] += int(pins.sum())
                if pins.any():
                    found["leaky organisations"] += 1
                    found["leaky organisations unflagged"] += int(not flagged[columns].any())
            else:
                found["organisations"] += 1
                found["worlds"] += worlds
                found["pins"] += int(pins.sum())
                found["flagged"] += int(flagged[columns].sum())
    return found


@pytest.fixture(scope="module")
def search() -> dict[str, int]:
    return _search()


@pytest.mark.slow
def test_the_enumeration_covers_every_small_organisation(search):
    every = list(organisations())
    # Every ordered tree of up to five teams with up to nine people, leaves never empty (the
    # count of such trees, worked out separately), then the departments of 10 to 13 people.
    assert sum(1 for _, invited in every if sum(invited) <= MAX_PEOPLE) == 11_097
    assert search["organisations"] == len(every) * len(THRESHOLDS)


@pytest.mark.slow
def test_no_small_organisation_has_a_pinning_pattern(search):
    assert search["pins"] == 0


@pytest.mark.slow
def test_the_auditor_passes_every_publication_of_the_product(search):
    assert search["flagged"] == 0


@pytest.mark.slow
def test_a_leaky_rule_pins_and_never_runs_unnoticed_by_the_auditor(search):
    """The fast check certifies that a publication is what the public rule gives; an algorithm
    all of whose publications pass is the public rule, which pins nothing. Brute force finds the
    leaky rule's pins, and in every organisation where it pins, the auditor refuses some of its
    publications: it cannot leak there without failing rounds."""
    assert search["leaky pins"] > 1_000  # the search sees a pin when there is one
    assert search["leaky organisations"] > 100
    assert search["leaky organisations unflagged"] == 0


def test_the_two_reproductions_of_the_attack_are_in_the_enumeration():
    found = {(tuple(parent), tuple(invited)) for parent, invited in organisations()}
    assert ((-1, 0, 1, 1), (0, 1, 3, 3)) in found  # Company → Engineering (Maria) → 3, 3
    assert ((-1, 0, 0, 0), (0, 6, 3, 4)) in found  # Ops → 6, 3, 4
