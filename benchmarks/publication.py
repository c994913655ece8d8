"""How much a round publishes: share of divisions, departments and teams shown under the
product's public rule, beside a rule that decides on each node's own count (which pins counts,
docs/privacy.md), on simulated organisations at several response rates. No database needed.
"""

from __future__ import annotations

import numpy as np

from surveys.privacy.suppression import public_order, public_suppression

LEVELS = ("division", "department", "team")


def add_arguments(parser) -> None:
    parser.add_argument("--organisations", type=int, default=40, help="Simulated organisations per response rate.")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)


def _organisation(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """5 divisions × 4 departments × 5 teams of 6–12 people; one lead sits in each division
    and department node, the teams' leads in their teams."""
    nodes: list[tuple[int, int, str]] = [(-1, 0, "root")]  # parent, invited, level

    def add(parent: int, invited: int, level: str) -> int:
        nodes.append((parent, invited, level))
        return len(nodes) - 1

    for _ in range(5):
        division = add(0, 1, "division")
        for _ in range(4):
            department = add(division, 1, "department")
            for _ in range(5):
                add(department, int(rng.integers(6, 13)), "team")
    parent, invited, level = zip(*nodes, strict=True)
    return np.array(parent), np.array(invited), np.array(level)


def _subtree(parent: np.ndarray, own: np.ndarray) -> np.ndarray:
    totals = own.astype(np.int64).copy()
    for node in range(len(parent) - 1, 0, -1):
        totals[parent[node]] += totals[node]
    return totals


def run(*, stdout, organisations: int, k: int, seed: int, **options) -> None:
    rng = np.random.default_rng(seed)
    stdout.write(f"{organisations} simulated organisations per rate, k = {k}; share of nodes shown")
    stdout.write(f"{'response':>9}  {'rule':<28}" + "".join(f"{name + 's':>13}" for name in LEVELS))
    for rate in (0.7, 0.8, 0.85, 0.9, 0.95):
        shown: dict[str, list[list[float]]] = {"public (the product)": [], "own count (leaks, baseline)": []}
        for _ in range(organisations):
            parent, invited, level = _organisation(rng)
            answered = rng.binomial(invited, rate)
            people, respondents = _subtree(parent, invited), _subtree(parent, answered)
            order = public_order(invited=people, ids=np.arange(len(parent)))
            for rule, bounds in zip(shown, (people, respondents), strict=True):
                published = public_suppression(
                    parent=parent,
                    invited=people,
                    contributors=respondents[:, None],
                    bounds=bounds[:, None],
                    thresholds=k,
                    order=order,
                )[:, 0]
                shown[rule].append([published[level == name].mean() for name in LEVELS])
        for rule, shares in shown.items():
            means = np.mean(shares, axis=0)
            stdout.write(f"{rate:>9.0%}  {rule:<28}" + "".join(f"{share:>13.0%}" for share in means))
