"""The change rule in simulation: false flags a year and power, the rule before issue 11 beside
the rule now (docs/measurement.md, "Change"). No database.

The model (the one docs/measurement.md sizes the rule for): a team of N people answers a
fortnightly pulse of the ten core items (two per condition, one per burnout sign). Each person
has a level per construct, and each item adds its own part (inter-item correlation 0.5); of
each part, the share `--retest` is the person's for good and the rest is drawn afresh each
round, so every item and every mean of items has that test–retest correlation. Answers are
rounded to the 1–5 scale. Each round every person answers with the team's response rate (60–90%, drawn
per team) and skips each item with 3% chance; a node or an item with fewer than k = 5 answers
is not published (a gap in the history).

For each team size it prints:
- **teams with a false flag in a year**: stable teams, the flags shown over 26 rounds (after a
  year's history), share of teams with at least one "likely improved/worsened";
- **power**: teams whose autonomy worsens for good by 0.5 or 1.0 points from a round on, share
  flagged "likely worsened" on autonomy in one of the 4 rounds from that round on.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence

import numpy as np
from django.core.management.base import CommandError
from scipy import stats

from surveys.engine.changes import DECLINED, IMPROVED, MIN_CHANGE, RoundPoint, team_changes
from surveys.engine.scoring import construct_score, item_score
from surveys.models import BURNOUT_SIGNS, PILLARS

CONSTRUCTS: tuple[str, ...] = (*PILLARS, *BURNOUT_SIGNS)
ITEMS: dict[str, int] = {construct: 2 if construct in PILLARS else 1 for construct in CONSTRUCTS}
WORSE: dict[str, bool] = {construct: construct in BURNOUT_SIGNS for construct in CONSTRUCTS}
K = 5
YEAR = 26
WARM_UP = 8  # rounds of history before the year counted
WITHIN = 4  # rounds after a worsening starts in which a flag counts
TARGET_FALSE = 0.10


def add_arguments(parser) -> None:
    parser.add_argument("--teams", type=int, default=1000, help="Simulated teams per size and scenario.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 8, 12, 20, 50])
    parser.add_argument("--retest", type=float, default=0.6, help="Test–retest correlation of the model.")
    parser.add_argument("--seed", type=int, default=11)


def run(*, stdout, teams, sizes, retest, seed, **options) -> None:
    if teams < 10 or not 0 <= retest < 1:
        raise CommandError("Use at least 10 teams and a test–retest correlation in [0, 1).")
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    load_before = os.getloadavg()
    stdout.write(
        f"{teams:,} simulated teams per size and scenario, test–retest {retest}, k = {K}, "
        f"fortnightly rounds, response 60–90%, 3% skips.\n"
    )
    stdout.write(
        f"{'size':>4}  {'false flag in a year':>22}  {'1.0-pt worsening found':>24}  {'0.5-pt worsening found':>24}"
    )
    stdout.write(f"{'':>4}  {'before':>10} {'now':>11}  {'before':>11} {'now':>12}  {'before':>11} {'now':>12}")
    rows = []
    for size in sizes:
        false = _false_flags(rng, size, teams, retest)
        strong = _power(rng, size, teams, retest, 1.0)
        weak = _power(rng, size, teams, retest, 0.5)
        rows.append((size, false, strong, weak))
        stdout.write(
            f"{size:>4}  {false[0]:>10.1%} {false[1]:>11.1%}  {strong[0]:>11.1%} {strong[1]:>12.1%}  "
            f"{weak[0]:>11.1%} {weak[1]:>12.1%}"
        )
    worst = max(false[1] for _, false, _, _ in rows)
    stdout.write(
        f"\nnow: at most {worst:.1%} of teams of any size see a false flag in a year "
        f"(target: at most {TARGET_FALSE:.0%}); 'before' is the rule this replaced."
    )
    margin = 1.96 * math.sqrt(0.25 / teams)
    stdout.write(f"each share ± {margin:.1%} at most (95%, {teams:,} teams)")
    stdout.write(
        f"{time.perf_counter() - started:.0f} s; "
        f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    )


# The model -----------------------------------------------------------------------------------


def _team_rounds(rng, size: int, rounds: int, retest: float, shift: float = 0.0, start: int | None = None):
    """Histograms of one team over `rounds` rounds: per round, None (node hidden) or
    ({construct: tuple of item histograms or None (an item hidden)}, response rate)."""
    rate = rng.uniform(0.6, 0.9)
    shared = specific = 0.6  # SDs of what a construct's items share, and of what each adds
    centre = rng.uniform(2.8, 4.0, size=len(CONSTRUCTS))
    # Stable parts: each share of variance is `retest`, so any mean of items keeps that retest.
    person = rng.normal(0, shared * math.sqrt(retest), size=(size, len(CONSTRUCTS)))
    own = {c: rng.normal(0, specific * math.sqrt(retest), size=(size, ITEMS[c])) for c in CONSTRUCTS}
    out: list[tuple[dict[str, tuple | None], float] | None] = []
    for number in range(1, rounds + 1):
        answering = rng.random(size) < rate
        people = int(answering.sum())
        if people < K:
            out.append(None)
            continue
        fresh = rng.normal(0, shared * math.sqrt(1 - retest), (people, len(CONSTRUCTS)))
        latent = centre + person[answering] + fresh
        if shift and start is not None and number >= start:
            latent[:, 0] -= shift  # autonomy (the first pillar) worsens
        constructs: dict[str, tuple | None] = {}
        for column, construct in enumerate(CONSTRUCTS):
            items = []
            for item in range(ITEMS[construct]):
                noise = own[construct][answering, item] + rng.normal(0, specific * math.sqrt(1 - retest), people)
                values = np.clip(np.rint(latent[:, column] + noise), 1, 5).astype(int)
                values = values[rng.random(people) >= 0.03]
                counts = np.bincount(values - 1, minlength=5).tolist()
                items.append(tuple(counts) if sum(counts) >= K else None)
            constructs[construct] = None if any(item is None for item in items) else tuple(items)
        out.append((constructs, people / size))
    return out


# The two rules -------------------------------------------------------------------------------


def _new_flags(history, at: int) -> dict[str, str]:
    points: dict[str, list[RoundPoint]] = {construct: [] for construct in CONSTRUCTS}
    for number, entry in enumerate(history[:at], start=1):
        if entry is None:
            continue
        constructs, rate = entry
        for construct, items in constructs.items():
            if items is not None:
                points[construct].append(RoundPoint(number, items, rate))
    return {c: change.status for c, change in team_changes(points, at=at, higher_is_worse=WORSE).items()}


def _old_flags(history, at: int) -> dict[str, str]:
    """The rule before issue 11, as it was: at every round, the last two rounds published for
    the node against the two before, pooled, the per-round n, the mean of item SEs, a 90%
    Welch interval, the 0.25 floor, no multiplicity control."""
    flags: dict[str, str] = {}
    for construct in CONSTRUCTS:
        rounds = []  # newest first
        for entry in reversed(history[:at]):
            if entry is not None and entry[0][construct] is not None:
                rounds.append(dict(enumerate(entry[0][construct])))
        flags[construct] = _old_change(rounds, list(range(ITEMS[construct])), WORSE[construct])
    return flags


def _old_window(rounds: Sequence[Mapping[int, Sequence[int]]], question_ids: Sequence[int]):
    items = []
    for question_id in question_ids:
        pooled = [0] * 5
        for counts in rounds:
            for option, count in enumerate(counts[question_id]):
                pooled[option] += count
        score = item_score(pooled, rounds=len(rounds))
        if score is not None:
            items.append(score)
    return construct_score("", items)


def _old_change(history, question_ids, higher_is_worse: bool) -> str:
    if len(history) < 4:
        return "not_enough_rounds"
    recent, earlier = _old_window(history[:2], question_ids), _old_window(history[2:4], question_ids)
    if recent is None or earlier is None:
        return "not_enough_rounds"
    delta = recent.mean - earlier.mean
    se = math.hypot(recent.se, earlier.se)
    va, vb = recent.se**2, earlier.se**2
    denominator = (va**2 / recent.df if recent.df > 0 else 0) + (vb**2 / earlier.df if earlier.df > 0 else 0)
    df = (va + vb) ** 2 / denominator if denominator > 0 else max(recent.df + earlier.df, 1)
    margin = float(stats.t.ppf(0.95, df)) * se if se > 0 else 0.0
    if min(recent.n, earlier.n) >= K and (delta - margin > 0 or delta + margin < 0) and abs(delta) >= MIN_CHANGE:
        return IMPROVED if (delta > 0) != higher_is_worse else DECLINED
    return "no_clear_change"


# The measures --------------------------------------------------------------------------------


def _false_flags(rng, size: int, teams: int, retest: float) -> tuple[float, float]:
    """Share of stable teams with any flag shown over a year: (before, now)."""
    hits = [0, 0]
    for _ in range(teams):
        history = _team_rounds(rng, size, WARM_UP + YEAR, retest)
        shown = range(WARM_UP + 1, WARM_UP + YEAR + 1)
        old = any(_flagged(_old_flags(history, at)) for at in shown)
        # The new rule changes its flags only on the grid: evaluate there.
        new = any(_flagged(_new_flags(history, at)) for at in shown if at % 2 == 0)
        hits[0] += old
        hits[1] += new
    return hits[0] / teams, hits[1] / teams


def _power(rng, size: int, teams: int, retest: float, shift: float) -> tuple[float, float]:
    """Share of teams whose autonomy worsens by `shift` from a round on that see "likely
    worsened" on autonomy within WITHIN rounds: (before, now)."""
    hits = [0, 0]
    for _ in range(teams):
        start = WARM_UP + 1 + int(rng.integers(0, 2))  # either side of the grid
        history = _team_rounds(rng, size, start + WITHIN, retest, shift=shift, start=start)
        window = range(start, start + WITHIN)
        hits[0] += any(_old_flags(history, at)[PILLARS[0]] == DECLINED for at in window)
        hits[1] += any(_new_flags(history, at)[PILLARS[0]] == DECLINED for at in window)
    return hits[0] / teams, hits[1] / teams


def _flagged(flags: Mapping[str, str]) -> bool:
    return any(status in (IMPROVED, DECLINED) for status in flags.values())
