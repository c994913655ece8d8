"""Reporting units: who is counted together, decided from the invitation snapshot alone.

A round publishes figures for groups of people; the smallest such group is a *reporting unit*:
the people of one team, or of several teams pooled because alone they are fewer than `k`.
Units are a function of the frozen tree and the number of people invited in each team, nothing
else, so they are public: anyone who knows the organisation chart can work them out, and they
say nothing about who answered (docs/privacy.md, "Reporting units").

Every unit has at least `k` invited people (the only exception: a whole scope of fewer than `k`
people, one unit that is never shown). That is what makes a hidden unit safe: hidden means
fewer than `k` answered, so somebody in it did not, and anybody in it may be that somebody.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Home value of a team with nobody invited in it (it belongs to no unit).
NO_UNIT = -1


def reporting_units(*, parent: Sequence[int] | np.ndarray, invited: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """The unit of each team's own invitees, as the index of the unit's *home* team (NO_UNIT
    for a team with nobody invited). `parent[i] < i` (forest preorder, -1 for a root);
    `invited[i]` counts the people invited in team i itself, not below it.

    Bottom-up, each team pools its own people with what its sub-teams could not place:
    - a pool of at least `k` people becomes a unit homed at that team;
    - a smaller pool (a lead sitting alone above their teams, a team of three) joins the
      smallest unit homed at the shallowest level below the team (ties: the earlier team), so
      a lone lead is counted with one of the teams they lead;
    - with no unit below, the pool waits for the team above;
    - what still waits above the roots of a forest joins the smallest unit at the shallowest
      level of the forest; with no unit anywhere (fewer than `k` people in the whole scope), it
      is one unit however small, homed at its top team, which is never shown.

    Keeps: every unit has at least `k` invited people, except a lone undersized unit holding
    the whole scope.
    Public: depends on the frozen tree and the invitation counts only.
    """
    parent = np.asarray(parent, dtype=np.int64)
    invited = np.asarray(invited, dtype=np.int64)
    size = len(parent)
    if np.any(parent >= np.arange(size)):
        raise ValueError("Teams must come after their parent (parent[i] < i).")
    depth = np.zeros(size, dtype=np.int64)
    for node in range(size):
        if parent[node] >= 0:
            depth[node] = depth[parent[node]] + 1
    home = np.full(size, NO_UNIT, dtype=np.int64)
    people: dict[int, int] = {}  # unit home -> invited people
    waiting: list[list[int]] = [[] for _ in range(size)]  # teams whose people wait at a node
    above_roots: list[int] = []  # what still waits at the top of a forest's trees
    # The units homed at the shallowest level of each subtree: where a small pool may go.
    shallowest: list[list[int]] = [[] for _ in range(size)]
    for node in range(size - 1, -1, -1):
        pool = waiting[node]
        if invited[node] > 0:
            pool.append(node)
        pooled = int(invited[pool].sum()) if pool else 0
        candidates = shallowest[node]
        if pooled >= k:
            home[pool] = node
            people[node] = pooled
            candidates = shallowest[node] = [node]
        elif pooled and candidates:
            _join(home, people, pool, pooled, candidates)
        elif pooled:
            (waiting[parent[node]] if parent[node] >= 0 else above_roots).extend(pool)
        waiting[node] = []
        up = parent[node]
        if up >= 0 and candidates:
            siblings = shallowest[up]
            if not siblings or depth[candidates[0]] < depth[siblings[0]]:
                shallowest[up] = list(candidates)
            elif depth[candidates[0]] == depth[siblings[0]]:
                siblings.extend(candidates)
    if above_roots:
        # A tree of a forest with fewer than k people: with the shallowest units of the forest,
        # or, with no unit anywhere (fewer than k in all), a unit of its own that is never shown.
        units = list(people)
        top = min((depth[unit] for unit in units), default=0)
        if units:
            _join(home, people, above_roots, int(invited[above_roots].sum()), [u for u in units if depth[u] == top])
        else:
            home[above_roots] = min(above_roots, key=lambda team: (depth[team], team))
    return home


def _join(home: np.ndarray, people: dict[int, int], pool: list[int], pooled: int, candidates: list[int]) -> None:
    """A pool of fewer than k joins the smallest candidate unit (ties: the earlier team)."""
    target = min(candidates, key=lambda unit: (people[unit], unit))
    home[pool] = target
    people[target] += pooled
