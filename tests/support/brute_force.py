"""The attacker of docs/privacy.md's promise, by brute force: for a small organisation, every
world (how many people of each team answered, and how many of them answered an item), run
through a publication rule, then everything an attacker who knows the rule can work out.

- **isolation**: every team set whose figures follow from published ones (the 0/1 vectors in
  the span of the published groups, per measure) holds 0 or at least the threshold of
  contributors, in every world;
- **certainty**: group the worlds by everything published (figures, which groups are shown,
  added and passing, item and comment decisions); a team whose respondent count is the same
  extreme (all or none) across its group pins its people's participation. "None" never may;
  "all" only inside a known group of at least k that all answered.

Independent of the proof in docs/privacy.md and of the product's code but for the rule it
attacks (`surveys.privacy.publication.publication_plans` by default, in one call for the
worlds of organisations sharing a tree and units); the auditor's own reading of the rule
(`surveys.privacy.audit.expected_entries`) is compared with it in every world too.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator

import numpy as np

from surveys.privacy.audit import expected_entries
from surveys.privacy.publication import publication_plans
from surveys.privacy.units import reporting_units

THRESHOLDS = (3, 4, 5)


def plane_trees(size: int) -> Iterator[list[int]]:
    """Parent arrays (depth-first preorder, parent[i] < i) of every ordered tree of `size` nodes."""
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


def organisations(families) -> Iterator[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(parent, people invited in each team itself): for each (most teams, most people) family,
    every tree and every placement of people with somebody in every leaf team, not already in
    an earlier family."""
    seen: list[tuple[int, int]] = []
    for teams, people in families:
        for size in range(1, teams + 1):
            for parent in plane_trees(size):
                leaves = set(range(size)) - set(parent)
                ranges = [range(1 if node in leaves else 0, people + 1) for node in range(size)]
                for invited in itertools.product(*ranges):
                    earlier = any(size <= most and sum(invited) <= top for most, top in seen)
                    if sum(invited) <= people and not earlier:
                        yield tuple(parent), invited
        seen.append((teams, people))


@functools.cache
def _team_states(people: int) -> np.ndarray:
    """(respondents, of whom answered the item) for a team of `people`."""
    return np.array([(r, c) for r in range(people + 1) for c in range(r + 1)], dtype=np.int64)


def worlds(invited: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Every world of an organisation: respondents and item contributors, (W, T) each."""
    states = [_team_states(people) for people in invited]
    picks = np.stack([axis.ravel() for axis in np.indices([len(s) for s in states])], axis=1)
    chosen = np.stack([states[team][picks[:, team]] for team in range(len(invited))], axis=1)
    return chosen[:, :, 0], chosen[:, :, 1]


@functools.cache
def derivable(groups: tuple[int, ...], teams: int) -> np.ndarray:
    """Every team set (as 0/1 rows) whose figures follow from those of `groups` (bitmasks of
    teams) by adding and subtracting: the 0/1 vectors of their span."""
    if not groups:
        return np.zeros((0, teams), dtype=np.int64)
    basis = np.array([[(group >> team) & 1 for team in range(teams)] for group in groups], dtype=float)
    rank = np.linalg.matrix_rank(basis)
    members = [
        bits
        for bits in itertools.product((0, 1), repeat=teams)
        if any(bits) and np.linalg.matrix_rank(np.vstack([basis, bits])) == rank
    ]
    return np.array(members, dtype=np.int64).reshape(-1, teams)


_HASH = np.random.default_rng(7).integers(1, 2**63, size=64, dtype=np.uint64) | np.uint64(1)


def _mixed(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit reaches every output bit."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def same_rows(rows: np.ndarray) -> np.ndarray:
    """A group id per row, equal rows sharing one (hashed, then checked exactly)."""
    with np.errstate(over="ignore"):
        digest = (_mixed(rows.astype(np.uint64)) * _HASH[: rows.shape[1]]).sum(axis=1, dtype=np.uint64)
    _, first, group = np.unique(digest, return_index=True, return_inverse=True)
    assert (rows == rows[first[group]]).all(), "hash collision: two different observations"
    return group.ravel()


def packed(columns: list[np.ndarray]) -> np.ndarray:
    """Non-negative integer columns packed into int64 words, each as wide as the largest value
    needs (team bitmasks of six teams need six bits, a root's respondents may pass 31): (W, words)."""
    bits = max(1, max(int(column.max(initial=0)) for column in columns).bit_length())
    assert bits <= 62, "a value too large to pack"
    per_word = 62 // bits
    words = []
    for start in range(0, len(columns), per_word):
        word = np.zeros(len(columns[0]), dtype=np.int64)
        for column in columns[start : start + per_word]:
            word = (word << bits) | column.astype(np.int64)
        words.append(word)
    return np.stack(words, axis=1)


@functools.cache
def _inside(parent: tuple[int, ...]) -> np.ndarray:
    """inside[x, v]: team x is v or lies below it."""
    inside = np.eye(len(parent), dtype=bool)
    for team in range(len(parent)):
        up = parent[team]
        while up >= 0:
            inside[team, up] = True
            up = parent[up]
    return inside


def observe(parent, home, invited, respondents, contributors, k, k_comments, plan=publication_plans):
    """Everything an attacker sees in each world (one row each, packed), and the groups (team
    bitmasks) whose figures it can add and subtract: per component, per item, per comment list.

    What is published: every node's respondents, item figure and comment release, and, as if it
    were published too, each component (a shown unit, a rest added at a team): which teams it
    holds, its respondents and its item answers where the item counts."""
    size = len(parent)
    histogram = np.zeros((size, 1, 2, len(respondents)), dtype=np.int64)
    histogram[:, 0, 0] = contributors.T
    published = plan(
        parent=parent,
        home=home,
        invited=invited.T,
        respondents=respondents.T,
        histogram=histogram,
        k=k,
        k_comments=k_comments,
    )
    bits = 1 << np.arange(size)
    entry = published.included_at.T  # (W, T): where each team's answers enter a figure
    inside = _inside(tuple(parent))
    unit_teams = np.array([bits[np.asarray(home) == v].sum() for v in range(size)])
    shown_units = np.where(published.unit_shown.T, unit_teams, 0)
    entering = np.zeros_like(shown_units)
    covered = np.zeros_like(shown_units)
    for team in range(size):
        entering |= np.where(entry[:, [team]] == np.arange(size), bits[team], 0)
        covered |= np.where(inside[np.maximum(entry[:, team], 0)] & (entry[:, [team]] >= 0), bits[team], 0)
    rests = np.where(published.rest_added.T, entering & ~shown_units, 0)
    components = np.concatenate([shown_units, rests], axis=1)  # (W, 2T)
    component_n = np.zeros_like(components)
    component_c = np.zeros_like(components)
    for team in range(size):
        held = (components >> team) & 1
        component_n += held * respondents[:, [team]]
        component_c += held * contributors[:, [team]]
    counted = component_c >= k
    item_groups = np.where(counted, components, 0)
    comment_groups = np.where(published.comments.T, covered, 0)
    node_items = np.where(published.items[:, 0].T, published.histogram[:, 0, 0].T + 1, 0)
    seen = packed(
        [*invited.T, *components.T, *component_n.T, *(component_c * counted).T, *counted.T,
         *published.respondents, *node_items.T, *published.comments],
    )  # fmt: skip
    return published, seen, (components, item_groups, comment_groups)


def attack(parent, home, invited, respondents, contributors, k, k_comments, plan=publication_plans):
    """Brute force over the given worlds (all the worlds of each organisation among them):
    isolations, certainties, and disagreements with the auditor's reading of the rule."""
    published, seen, groups = observe(parent, home, invited, respondents, contributors, k, k_comments, plan)
    size = len(parent)
    group = same_rows(seen)
    lowest = np.full((group.max() + 1, size), np.iinfo(np.int64).max)
    highest = np.full((group.max() + 1, size), -1)
    np.minimum.at(lowest, group, respondents)
    np.maximum.at(highest, group, respondents)
    all_answered = (lowest[group] == invited) & (invited > 0)
    found = {
        "worlds": len(respondents),
        "isolations": 0,
        "certain non-participation": int(((highest[group] == 0) & (invited > 0)).sum()),
        "certain participation outside a known all-answered group": 0,
        "disagreements with the auditor": _audit_disagrees(parent, home, invited, respondents, published, k),
    }
    keys = packed([*np.concatenate(groups, axis=1).T])
    pattern = same_rows(keys)
    for first in np.unique(pattern, return_index=True)[1].tolist():
        rows = np.flatnonzero(pattern == pattern[first])
        measures = [tuple(sorted({int(m) for m in part[first] if m})) for part in groups]
        by_count, by_item, by_comment = (derivable(m, size) for m in measures)
        shown_r, shown_c = respondents[rows], contributors[rows]
        measured = ((by_count, shown_r, k), (by_item, shown_c, k), (by_comment, shown_r, k_comments))
        for sets, counts, threshold in measured:
            isolated = counts @ sets.T
            found["isolations"] += int(((isolated > 0) & (isolated < threshold)).sum())
        people = invited[rows] @ by_count.T
        complete = (shown_r @ by_count.T == people) & (people >= k)
        excused = (complete.astype(np.int64) @ by_count) > 0
        found["certain participation outside a known all-answered group"] += int((all_answered[rows] & ~excused).sum())
    return found


def _audit_disagrees(parent, home, invited, respondents, published, k) -> int:
    """Worlds where the auditor's own reading of the rule (`expected_entries`) puts some
    team's answers elsewhere than the product did."""
    teams = list(range(1, len(parent) + 1))
    entries, _ = expected_entries(
        parent_of={team: parent[team - 1] + 1 for team in teams},  # ids from 1, 0 for none
        home={team: int(home[team - 1]) + 1 for team in teams if home[team - 1] >= 0},
        respondents=respondents.T,
        teams=teams,
        k=k,
    )
    differs = (entries - 1 != published.included_at) & (invited.T > 0)
    return int(differs.any(axis=0).sum())


#: Worlds per call: organisations sharing a tree, a threshold and units are searched together.
CHUNK = 250_000


def batches(families, units=reporting_units):
    """(parent, home, k, invited, respondents, contributors) per chunk of worlds, every world
    of each organisation in one chunk."""
    together: dict[tuple, list[tuple[int, ...]]] = {}
    for parent, invited in organisations(families):
        for k in THRESHOLDS:
            home = tuple(units(parent=parent, invited=invited, k=k).tolist())
            together.setdefault((parent, home, k), []).append(invited)
    for (parent, home, k), members in together.items():
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        held = 0
        for invited in [*members, None]:
            if invited is not None:
                respondents, contributors = worlds(invited)
                parts.append((np.broadcast_to(invited, respondents.shape), respondents, contributors))
                held += len(respondents)
            if parts and (invited is None or held >= CHUNK):
                yield parent, home, k, *(np.concatenate(column) for column in zip(*parts, strict=True))
                parts, held = [], 0


def search_all(families, *, units=reporting_units, plan=publication_plans, thresholds=THRESHOLDS) -> dict[str, int]:
    totals: dict[str, int] = {"organisations": sum(1 for _ in organisations(families)) * len(thresholds)}
    for parent, home, k, invited, respondents, contributors in batches(families, units):
        if k not in thresholds:
            continue
        for name, value in attack(parent, home, invited, respondents, contributors, k, k + 1, plan).items():
            totals[name] = totals.get(name, 0) + value
    return totals


def attack_organisation(parent, invited, k: int, *, units=reporting_units, plan=publication_plans) -> dict[str, int]:
    """Every world of one organisation (`parent`, people invited in each team itself)."""
    home = units(parent=tuple(parent), invited=tuple(invited), k=k)
    respondents, contributors = worlds(tuple(invited))
    people = np.broadcast_to(np.asarray(invited), respondents.shape)
    return attack(tuple(parent), tuple(home.tolist()), people, respondents, contributors, k, k + 1, plan)


#: The frozen trees of real rounds are attacked only up to this many worlds.
MOST_WORLDS = 2_000_000


def attack_round(round_) -> dict[str, int] | None:
    """Every world of a published round's frozen tree (its own `k`), or None when it has too
    many worlds to search; checks too that the units frozen at open are the rule's."""
    from surveys.engine.aggregation import team_forest
    from surveys.models import RoundTeam

    rows = list(RoundTeam.objects.filter(round=round_).values_list("team_id", "parent_id", "invited", "unit_id"))
    forest = team_forest(np.array([(team, parent or 0) for team, parent, _, _ in rows], dtype=np.int64))
    by_team = {team: (invited, unit) for team, _, invited, unit in rows}
    ids = forest.ids.tolist()
    invited = tuple(by_team[team][0] for team in ids)
    frozen = [ids.index(by_team[team][1]) if by_team[team][1] else -1 for team in ids]
    assert frozen == reporting_units(parent=forest.parent, invited=invited, k=round_.k).tolist()
    if np.prod([(n + 1) * (n + 2) // 2 for n in invited], dtype=float) > MOST_WORLDS:
        return None
    return attack_organisation(tuple(forest.parent.tolist()), invited, round_.k)


def no_leak(found: dict[str, int]) -> None:
    assert found["isolations"] == 0
    assert found["certain non-participation"] == 0
    assert found["certain participation outside a known all-answered group"] == 0
    assert found["disagreements with the auditor"] == 0
