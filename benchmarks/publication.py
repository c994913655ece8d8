"""How much a round publishes: the product's rule beside the rule before it and a rule that
decides each node on its own count (which pins counts, docs/privacy.md), on simulated
organisations at several response rates, and for teams of a given size inside a department. No
database needed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.previous_publication_rule import previous_rule_shown
from surveys.privacy.publication import publication_plan
from surveys.privacy.units import reporting_units

LEVELS = ("team", "department", "division")
RATES = (0.6, 0.7, 0.8, 0.85, 0.9)
#: The issue's bars (docs/privacy.md, "What it costs"): teams shown at 70% and 80% response.
TEAM_TARGETS = {0.7: 0.80, 0.8: 0.90}
#: Teams of a size inside a department of a lead and four such teams, answering 50–80%.
SIZE_TARGETS = {8: 0.65, 12: 0.90}


def add_arguments(parser) -> None:
    parser.add_argument("--organisations", type=int, default=40, help="Simulated organisations per response rate.")
    parser.add_argument("--rounds", type=int, default=4000, help="Simulated rounds per department size.")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)


def organisation(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """5 divisions × 4 departments × 5 teams of 6–12 people, in depth-first order; a lead sits
    alone in each division and department, the teams' leads in their teams."""
    nodes: list[tuple[int, int, str]] = [(-1, 0, "root")]  # parent, people in the team itself, level
    for _ in range(5):
        nodes.append((0, 1, "division"))
        division = len(nodes) - 1
        for _ in range(4):
            nodes.append((division, 1, "department"))
            department = len(nodes) - 1
            nodes.extend((department, int(rng.integers(6, 13)), "team") for _ in range(5))
    parent, invited, level = zip(*nodes, strict=True)
    return np.array(parent), np.array(invited), np.array(level)


def _subtree(parent: np.ndarray, own: np.ndarray) -> np.ndarray:
    totals = own.astype(np.int64).copy()
    for node in range(len(parent) - 1, 0, -1):
        totals[parent[node]] += totals[node]
    return totals


def product_shown(parent, invited, answered, k) -> tuple[np.ndarray, float]:
    """Which nodes have a figure under the product's rule, and the share of all respondents
    the top node's figure covers."""
    plan = publication_plan(
        parent=parent,
        home=reporting_units(parent=parent, invited=invited, k=k),
        invited=invited,
        respondents=answered,
        histogram=np.zeros((len(parent), 0, 5), dtype=np.int64),
        k=k,
        k_comments=2 * k,
    )
    return plan.shown, plan.respondents[0] / max(int(answered.sum()), 1)


def own_count_shown(parent, invited, answered, k) -> tuple[np.ndarray, float]:
    """Each node on its own subtree count: the leaking kind (its pattern pins counts)."""
    respondents = _subtree(parent, answered)
    return respondents >= k, float(respondents[0] >= k)


RULES: dict[str, Callable] = {
    "units and rests (the product)": product_shown,
    "previous rule (worst case)": previous_rule_shown,
    "own count (leaks)": own_count_shown,
}


def run(*, stdout, organisations: int, rounds: int, k: int, seed: int, **options) -> None:
    rng = np.random.default_rng(seed)
    _organisations(stdout, rng, organisations, k)
    _departments(stdout, rng, rounds, k)


def _organisations(stdout, rng, organisations: int, k: int) -> None:
    stdout.write(
        f"{organisations} simulated organisations per rate (5 divisions × 4 departments × 5 teams of 6–12, "
        f"a lead alone in each division and department), k = {k}: share of nodes with a figure, and of all "
        "respondents the organisation's figure covers"
    )
    stdout.write(
        f"{'response':>9}  {'rule':<32}" + "".join(f"{name + 's':>13}" for name in LEVELS) + f"{'covered':>10}"
    )
    for rate in RATES:
        shares: dict[str, list[list[float]]] = {rule: [] for rule in RULES}
        for _ in range(organisations):
            parent, invited, level = organisation(rng)
            answered = rng.binomial(invited, rate)
            for rule, shown_by in RULES.items():
                shown, covered = shown_by(parent, invited, answered, k)
                shares[rule].append([*(shown[level == name].mean() for name in LEVELS), covered])
        for rule, values in shares.items():
            means = np.mean(values, axis=0)
            line = f"{rate:>9.0%}  {rule:<32}" + "".join(f"{share:>13.1%}" for share in means[:-1])
            stdout.write(line + f"{means[-1]:>10.1%}")
        target = TEAM_TARGETS.get(rate)
        if target is not None:
            met = np.mean(shares["units and rests (the product)"], axis=0)[0] >= target
            stdout.write(f"{'':>11}teams shown: target ≥ {target:.0%}, {'met' if met else 'NOT MET'}")


def _departments(stdout, rng, rounds: int, k: int) -> None:
    stdout.write(
        f"\nA team inside a department of a lead and four teams of its size, answering 50–80% "
        f"(uniform per round), {rounds} rounds: share of rounds the team is shown"
    )
    stdout.write(f"{'team size':>10}{'the product':>14}{'has k answering':>17}{'target':>10}")
    for size in (5, 6, 8, 10, 12, 20):
        parent, invited = np.array([-1, 0, 0, 0, 0]), np.array([0 + 1, size, size, size, size])
        home = reporting_units(parent=parent, invited=invited, k=k)
        plain = [team for team in range(1, 5) if (home == team).sum() == 1]  # teams without the lead
        shown, ceiling = [], []
        for _ in range(rounds):
            answered = rng.binomial(invited, rng.uniform(0.5, 0.8))
            figures, _ = product_shown(parent, invited, answered, k)
            shown.append(figures[plain].mean())
            ceiling.append((answered[plain] >= k).mean())
        target = SIZE_TARGETS.get(size)
        verdict = f"≥ {target:.0%} {'met' if np.mean(shown) >= target else 'NOT MET'}" if target else ""
        stdout.write(f"{size:>10}{np.mean(shown):>14.1%}{np.mean(ceiling):>17.1%}  {verdict}")
