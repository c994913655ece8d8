"""Change detection (docs/measurement.md, "Change"): whether a team's construct has likely
improved or worsened over its last rounds, and which of many flags shown at once survive.

Every input is a histogram of published Results (`RoundPoint`), so, like the scores it builds
on (`surveys.engine.scoring`), nothing here can see more than the page that shows it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from surveys.engine.scoring import item_score, scipy_stats, t_critical

#: Smaller differences are never flagged, however many people answered (docs/measurement.md).
MIN_CHANGE = 0.25

IMPROVED, DECLINED, NO_CLEAR_CHANGE, NOT_ENOUGH_ROUNDS = "improved", "declined", "no_clear_change", "not_enough_rounds"
CHANGE_LABELS = {
    IMPROVED: "Likely improved",
    DECLINED: "Likely worsened",
    NO_CLEAR_CHANGE: "No clear change",
    NOT_ENOUGH_ROUNDS: "Not enough rounds yet",
}
#: The two comparisons behind a flag: the latest window against the one just before it (a
#: step), and against the one before that (a slow drift over several rounds).
STEP, DRIFT = "step", "drift"

#: Raise it with any change to the rule below: cached flags of another version are not used.
CHANGE_RULE_VERSION = 1

# The change rule's parameters (docs/measurement.md, "Change").
#: Rounds per window. Flags are evaluated on a fixed grid, once every WINDOW_ROUNDS rounds
#: (after rounds 2, 4, 6, …), so no two evaluations share a window as their latest.
WINDOW_ROUNDS = 2
#: Windows a flag looks back on: the latest, the one before (step) and the one before that (drift).
HISTORY_WINDOWS = 3
#: Assumed correlation of a person's construct score between two pulses a few weeks apart
#: (test–retest; the low end of what short work-wellbeing scales show, so the rule errs wide).
RETEST_CORRELATION = 0.6
#: Assumed correlation of two items of one construct within people (for the construct's SD).
ITEM_CORRELATION = 0.5
#: Chance of at least one false flag among a team's constructs at one evaluation (Holm).
FAMILY_ALPHA = 0.005
#: The power at which "the change this team can detect" is stated.
POWER = 0.8
#: The false discovery rate over the flags an organisation view shows at once (Benjamini–Hochberg).
ORG_FDR = 0.10


@dataclass(frozen=True)
class RoundPoint:
    """One published round of one construct at one node: its items' histograms (every item of
    the construct published there) and the node's response rate that round."""

    number: int
    items: tuple[Sequence[int], ...]
    response_rate: float


@dataclass(frozen=True)
class Window:
    """A construct over a window of rounds: the mean of its rounds' means, the person-level
    variance pooled over its rounds (with its degrees of freedom), the mean over rounds of
    1 / people, people per round and the response rate."""

    rounds: int
    mean: float
    variance: float
    df: float
    inverse_people: float
    people: float
    response_rate: float
    first_round: int = 0
    last_round: int = 0

    @property
    def rounds_label(self) -> str:
        """ "rounds 3–4", or "round 4" for a window of one."""
        if self.first_round == self.last_round:
            return f"round {self.last_round}"
        return f"rounds {self.first_round}–{self.last_round}"


@dataclass(frozen=True)
class Change:
    """The change flag of one construct at one node, as evaluated at round `evaluated_at`.

    `delta` (1–5 scale, recent − earlier) and its 90% interval `low`–`high` belong to the
    comparison `kind` (step or drift) that was flagged, else to the step. `p` is its two-sided
    p-value before Holm's adjustment. `detectable` is the step this team would catch with 80%
    power (1–5 scale, never below MIN_CHANGE).
    """

    status: str
    delta: float | None = None
    low: float | None = None
    high: float | None = None
    detectable: float | None = None
    kind: str = STEP
    p: float | None = None
    evaluated_at: int | None = None
    recent: Window | None = None
    earlier: Window | None = None

    @property
    def label(self) -> str:
        return CHANGE_LABELS[self.status]

    @property
    def flagged(self) -> bool:
        return self.status in (IMPROVED, DECLINED)


def round_construct(items: Sequence[Sequence[int]]) -> tuple[float, float, float] | None:
    """One round of a construct: (mean of the item means, person-level variance of the
    construct score, people), from its items' histograms. The variance assumes items correlate
    ITEM_CORRELATION within people; people is the smallest item's count."""
    scores = [item_score(counts) for counts in items]
    if not scores or any(score is None or score.n < 2 for score in scores):
        return None
    sds = [score.sd for score in scores if score is not None]
    count = len(sds)
    total = sum(sds)
    squares = sum(sd * sd for sd in sds)
    variance = (squares + ITEM_CORRELATION * (total * total - squares)) / count**2
    mean = sum(score.mean for score in scores if score is not None) / count
    return mean, variance, min(score.n for score in scores if score is not None)


def window_of(points: Sequence[RoundPoint]) -> Window | None:
    rounds = [(round_construct(point.items), point.response_rate, point.number) for point in points]
    numbers = [number for figures, _, number in rounds if figures is not None]
    usable = [(figures, rate) for figures, rate, _ in rounds if figures is not None]
    if not usable:
        return None
    count = len(usable)
    df = sum(figures[2] - 1 for figures, _ in usable)
    return Window(
        rounds=count,
        mean=sum(figures[0] for figures, _ in usable) / count,
        variance=sum(figures[1] * (figures[2] - 1) for figures, _ in usable) / df,
        df=df,
        inverse_people=sum(1 / figures[2] for figures, _ in usable) / count,
        people=sum(figures[2] for figures, _ in usable) / count,
        response_rate=sum(rate for _, rate in usable) / count,
        first_round=min(numbers),
        last_round=max(numbers),
    )


def pooled_variance(windows: Sequence[Window]) -> tuple[float, float]:
    """The person-level variance pooled over every round of `windows`, and its degrees of
    freedom (the spread is taken as the same from round to round; only the mean may move)."""
    df = sum(window.df for window in windows)
    return sum(window.variance * window.df for window in windows) / df, df


def difference_se(recent: Window, earlier: Window, variance: float) -> float:
    """The standard error of recent.mean − earlier.mean when the same people answer round after
    round (docs/measurement.md): each window's sampling variance (person-level variance over
    people, averaged over its rounds, over its rounds), less what the windows share through the
    people who answer in both, RETEST_CORRELATION × response rate."""
    shared = RETEST_CORRELATION * min(1.0, (recent.response_rate + earlier.response_rate) / 2)
    sampling = variance * (recent.inverse_people / recent.rounds + earlier.inverse_people / earlier.rounds)
    return math.sqrt(max(sampling * (1 - shared), 0.0))


def _compare(recent: Window, earlier: Window, variance: float, df: float) -> tuple[float, float, float]:
    """(delta, se, two-sided p) of one comparison."""
    delta = recent.mean - earlier.mean
    se = difference_se(recent, earlier, variance)
    p = 0.0 if se == 0 and delta != 0 else 1.0 if se == 0 else 2 * float(scipy_stats().t.sf(abs(delta) / se, df))
    return delta, se, p


def evaluation_round(number: int) -> int:
    """The round at which the flags shown at round `number` were evaluated (the grid)."""
    return number - number % WINDOW_ROUNDS


def _windows(points: Sequence[RoundPoint], evaluated_at: int) -> list[list[RoundPoint]]:
    """The HISTORY_WINDOWS windows at `evaluated_at`, latest first: the rounds published for
    the node up to it, newest first, WINDOW_ROUNDS at a time (a hidden round is skipped, so a
    gap does not leave a window short). The latest window must include the evaluation round
    or the one before it, or there is nothing recent to judge."""
    recent = sorted((p for p in points if p.number <= evaluated_at), key=lambda p: -p.number)
    if not recent or recent[0].number <= evaluated_at - WINDOW_ROUNDS:
        return [[] for _ in range(HISTORY_WINDOWS)]
    return [recent[i * WINDOW_ROUNDS : (i + 1) * WINDOW_ROUNDS] for i in range(HISTORY_WINDOWS)]


def tests_per_evaluation(constructs: int) -> int:
    return 2 * constructs


def detectable_change(se: float, df: float, tests: int) -> float:
    """The |delta| caught with POWER at the strictest Holm step (FAMILY_ALPHA / tests)."""
    critical = float(scipy_stats().t.ppf(1 - FAMILY_ALPHA / tests / 2, df))
    return max(MIN_CHANGE, (critical + float(scipy_stats().norm.ppf(POWER))) * se)


def team_changes(
    history: Mapping[str, Sequence[RoundPoint]],
    *,
    at: int,
    higher_is_worse: Mapping[str, bool],
) -> dict[str, Change]:
    """Flag likely changes of a node's constructs (docs/measurement.md), as they stand at round
    `at`. `history[construct]` holds the rounds published for this node with every item of the
    construct published (any order; a round where the node or an item was hidden is absent:
    a gap, never a zero).

    Evaluated at the grid round `evaluation_round(at)`: for each construct the latest window of
    WINDOW_ROUNDS rounds against the one before (step) and the one before that (drift), with
    the standard error of `difference_se`; Holm's procedure over all of the node's comparisons
    at FAMILY_ALPHA; a flag needs a rejected comparison of at least MIN_CHANGE.
    """
    evaluated_at = evaluation_round(at)
    count = tests_per_evaluation(len(history))
    tests: list[tuple[float, str, str, float, float, float, Window, Window]] = []
    changes: dict[str, Change] = {}
    detectable: dict[str, float] = {}
    for construct, points in history.items():
        latest, before, first = (window_of(w) for w in _windows(points, evaluated_at))
        if latest is None:
            changes[construct] = Change(NOT_ENOUGH_ROUNDS, evaluated_at=evaluated_at)
            continue
        present = [w for w in (latest, before, first) if w is not None]
        variance, df = pooled_variance(present)
        detectable[construct] = detectable_change(difference_se(latest, before or latest, variance), df, count)
        if before is None:
            changes[construct] = Change(
                NOT_ENOUGH_ROUNDS, detectable=detectable[construct], evaluated_at=evaluated_at, recent=latest
            )
            continue
        for kind, earlier in ((STEP, before), (DRIFT, first)):
            if earlier is not None:
                delta, se, p = _compare(latest, earlier, variance, df)
                tests.append((p, construct, kind, delta, se, df, latest, earlier))
    rejected = _holm([test[0] for test in tests], FAMILY_ALPHA)
    for construct in history:
        if construct in changes:
            continue
        own = [(test, flag) for test, flag in zip(tests, rejected, strict=True) if test[1] == construct]
        step = next(test for test, _ in own if test[2] == STEP)
        hits = [test for test, flag in own if flag and abs(test[3]) >= MIN_CHANGE]
        chosen = min(hits, key=lambda test: test[0]) if hits else step
        p, _, kind, delta, se, df, recent, earlier = chosen
        margin = t_critical(df) * se
        status = NO_CLEAR_CHANGE
        if hits:
            status = IMPROVED if (delta > 0) != higher_is_worse.get(construct, False) else DECLINED
        changes[construct] = Change(
            status,
            delta=delta,
            low=delta - margin,
            high=delta + margin,
            detectable=detectable[construct],
            kind=kind,
            p=p,
            evaluated_at=evaluated_at,
            recent=recent,
            earlier=earlier,
        )
    return changes


def _holm(p_values: Sequence[float], alpha: float) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise level `alpha`."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    for rank, i in enumerate(order):
        if p_values[i] > alpha / (len(p_values) - rank):
            break
        rejected[i] = True
    return rejected


def benjamini_hochberg(p_values: Sequence[float], rate: float = ORG_FDR) -> list[bool]:
    """Which of many flags shown at once survive a false discovery rate of `rate`."""
    count = len(p_values)
    order = sorted(range(count), key=lambda i: p_values[i])
    cut = 0
    for rank, i in enumerate(order, start=1):
        if p_values[i] <= rate * rank / count:
            cut = rank
    keep = [False] * count
    for i in order[:cut]:
        keep[i] = True
    return keep


def chance_flags_per_year(rounds_per_year: float) -> float:
    """At most how many false flags a stable team sees per year: one evaluation every
    WINDOW_ROUNDS rounds, each with a family-wise rate of FAMILY_ALPHA."""
    return rounds_per_year / WINDOW_ROUNDS * FAMILY_ALPHA
