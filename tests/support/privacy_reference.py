"""A deliberately naive restatement of the publication rule (docs/privacy.md, "Publication"),
used by the property tests to check `surveys.privacy` from outside: sets and explicit loops
over one world, no arrays, no shared code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def children_of(parent: Sequence[int]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {node: [] for node in range(-1, len(parent))}
    for node, up in enumerate(parent):
        children[up].append(node)
    return children


def depth_of(parent: Sequence[int], node: int) -> int:
    depth = 0
    while parent[node] >= 0:
        node, depth = parent[node], depth + 1
    return depth


def subtree(parent: Sequence[int], node: int) -> set[int]:
    inside, stack = set(), [node]
    children = children_of(parent)
    while stack:
        here = stack.pop()
        inside.add(here)
        stack.extend(children[here])
    return inside


def units(parent: Sequence[int], invited: Sequence[int], k: int) -> dict[int, set[int]]:
    """Unit home -> the teams whose people it counts. Post-order: a team's own people and what
    its sub-teams left over; k or more make a unit there; fewer join the smallest unit at the
    shallowest level below (ties: the earlier team); with none below, they wait for the team
    above; at a root, whatever still waits becomes a unit if there is no other."""
    children = children_of(parent)
    formed: dict[int, set[int]] = {}
    waiting: dict[int, list[int]] = {}
    top: list[int] = []

    def people(teams) -> int:
        return sum(invited[team] for team in teams)

    def visit(node: int) -> None:
        for child in children[node]:
            visit(child)
        pool = ([node] if invited[node] else []) + [t for child in children[node] for t in waiting.get(child, [])]
        below = [home for home in formed if home in subtree(parent, node)]
        if people(pool) >= k:
            formed[node] = set(pool)
        elif pool and below:
            join(pool, below)
        elif pool and parent[node] < 0:
            top.extend(pool)
        elif pool:
            waiting[node] = pool

    def join(pool, candidates) -> None:
        shallowest = min(depth_of(parent, home) for home in candidates)
        target = min((home for home in candidates if depth_of(parent, home) == shallowest),
                     key=lambda home: (people(formed[home]), home))  # fmt: skip
        formed[target] |= set(pool)

    for root in children[-1]:
        visit(root)
    if top and formed:
        join(top, list(formed))
    elif top:
        formed[min(top, key=lambda team: (depth_of(parent, team), team))] = set(top)
    return formed


@dataclass
class Figure:
    respondents: int
    covered: set[int]
    item: int | None  # answers to the one item; None: no figure of it
    partial: bool
    comments: bool = False


def publication(parent, invited, answered, item_answers, k: int, k_comments: int) -> dict[int, Figure]:
    """The figures of every node that has some, for one world with one item."""
    formed = units(parent, invited, k)
    children = children_of(parent)
    shown = {home for home, teams in formed.items() if sum(answered[t] for t in teams) >= k}
    groups: list[tuple[int, set[int]]] = [(home, formed[home]) for home in shown]  # (where it enters, teams)
    entered_units: set[int] = set(shown)

    def carry(node: int) -> list[int]:
        """The hidden units still passing up out of `node`."""
        passing = [home for child in children[node] for home in carry(child)]
        if node in formed and node not in shown:
            passing.append(node)
        teams = set().union(*(formed[home] for home in passing)) if passing else set()
        if sum(answered[t] for t in teams) >= k:
            groups.append((node, teams))
            entered_units.update(passing)
            return []
        return passing

    for root in children[-1]:
        carry(root)
    figures: dict[int, Figure] = {}
    for node in range(len(parent)):
        inside = subtree(parent, node)
        held = [teams for where, teams in groups if where in inside]
        if not held:
            continue
        covered = set().union(*held)
        counted = [teams for teams in held if sum(item_answers[t] for t in teams) >= k]
        units_below = [home for home in formed if home in inside]
        figures[node] = Figure(
            respondents=sum(answered[t] for t in covered),
            covered=covered,
            item=sum(item_answers[t] for teams in counted for t in teams) if counted else None,
            partial=any(
                home not in entered_units or _entry(groups, formed[home]) not in inside for home in units_below
            ),
        )
    _release_comments(parent, figures, k_comments)
    return figures


def _entry(groups, teams: set[int]) -> int:
    return next(where for where, group in groups if teams <= group)


def _release_comments(parent, figures: dict[int, Figure], k_comments: int) -> None:
    children = children_of(parent)

    def below(node: int) -> int:
        held = 0
        for child in children[node]:
            under = below(child)
            held += figures[child].respondents if child in figures and figures[child].comments else under
        if node in figures:
            adds = figures[node].respondents - held
            figures[node].comments = figures[node].respondents >= k_comments and (adds == 0 or adds >= k_comments)
        return held

    for root in children[-1]:
        below(root)
