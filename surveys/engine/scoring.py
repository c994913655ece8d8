"""Scores, intervals and change detection (docs/measurement.md), computed from published counts only.

Every input is a histogram (answers per option, option 1 first) read from a Result, so nothing
here can see more than the page that shows it. Means are on the 1–5 answer scale; the index is
(mean − 1) × 25, on 0–100. Intervals are 90% t intervals (scipy), clipped to the scale.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from surveys.models import SCALE_POINTS

CONFIDENCE = 0.90
#: Smaller differences are never flagged, however many people answered (docs/measurement.md).
MIN_CHANGE = 0.25
#: Rounds per window in change detection: the last two published against the two before.
WINDOW_ROUNDS = 2


def to_index(mean: float) -> float:
    """1–5 scale -> 0–100 index."""
    return (mean - 1) * 25


def shown_index(value: float) -> int:
    """An index (or a change of one) as every page, e-mail and colour shows it: a whole
    number, halves rounded up, so a figure's colour always matches the number printed."""
    return math.floor(value + 0.5)


def signed_points(value: float) -> str:
    """A change in index points as shown: "+5", "−12" (a true minus sign), "0"."""
    number = shown_index(value)
    return f"+{number}" if number > 0 else f"−{-number}" if number < 0 else "0"


#: Colour bands of an index read as "how good" (100 − index where higher is worse), worst
#: first, each with the index it ends at. The bounds are the answer means 2.5 and 3.5, the same
#: round numbers as the provisional burnout zones, so a colour means the same in every column.
TONE_BANDS = (("poor", to_index(2.5)), ("mixed", to_index(3.5)), ("good", math.inf))
#: The burnout zones in the same colours.
BURNOUT_TONES = {"few": "good", "some": "mixed", "many": "poor"}


def index_tone(index: float, *, higher_is_worse: bool = False) -> str:
    """The colour band (poor, mixed, good) of an index on the 0–100 scale."""
    shown = shown_index(index)
    goodness = 100 - shown if higher_is_worse else shown
    return next(tone for tone, bound in TONE_BANDS if goodness < bound)


#: The tone of a figure whose 90% interval spans two colour bands (or zones): no colour claimed.
UNSURE = "unsure"


def interval_tone(index: float, low: float, high: float, *, higher_is_worse: bool = False) -> str:
    """The colour band of an index only when its whole 90% interval lies in that band, else
    UNSURE: a small team's figure near a boundary does not flip colour from round to round."""
    tones = {index_tone(value, higher_is_worse=higher_is_worse) for value in (index, low, high)}
    return tones.pop() if len(tones) == 1 else UNSURE


@functools.cache
def _stats():
    """scipy.stats, imported on first use: importing it takes about half a second, which every
    new process (a web worker, a command) would otherwise pay at start, scoring or not."""
    from scipy import stats

    return stats


@functools.lru_cache(maxsize=8192)
def _t(df: float) -> float:
    """Two-sided 90% critical value of Student's t (cached: scipy takes tens of microseconds,
    and a page or an export asks for the same few degrees of freedom again and again)."""
    return float(_stats().t.ppf(0.5 + CONFIDENCE / 2, df))


def _clip(value: float) -> float:
    return min(max(value, 1.0), float(SCALE_POINTS))


@dataclass(frozen=True)
class Shares:
    """Favourable / neutral / unfavourable shares (0–1). On agreement items favourable is 4–5;
    on the higher-is-worse frequency items (exhaustion, mental distance) it is 1–2."""

    favourable: float
    neutral: float
    unfavourable: float

    @classmethod
    def of(cls, counts: Sequence[int], *, higher_is_worse: bool) -> Shares:
        n = sum(counts)
        low, middle, high = sum(counts[:2]) / n, counts[2] / n, sum(counts[3:]) / n
        return cls(low, middle, high) if higher_is_worse else cls(high, middle, low)

    @classmethod
    def mean_of(cls, shares: Sequence[Shares]) -> Shares:
        count = len(shares)
        return cls(
            sum(s.favourable for s in shares) / count,
            sum(s.neutral for s in shares) / count,
            sum(s.unfavourable for s in shares) / count,
        )


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error, degrees of freedom and 90% interval (1–5 scale)."""

    n: float
    mean: float
    se: float
    df: float

    @property
    def low(self) -> float:
        return _clip(self.mean - _t(self.df) * self.se) if self.df > 0 else 1.0

    @property
    def high(self) -> float:
        return _clip(self.mean + _t(self.df) * self.se) if self.df > 0 else float(SCALE_POINTS)

    @property
    def index(self) -> float:
        return to_index(self.mean)

    @property
    def index_low(self) -> float:
        return to_index(self.low)

    @property
    def index_high(self) -> float:
        return to_index(self.high)


@dataclass(frozen=True)
class ItemScore(Estimate):
    sd: float
    shares: Shares


def item_score(counts: Sequence[int], *, higher_is_worse: bool = False, rounds: int = 1) -> ItemScore | None:
    """Mean, sample SD, SE and shares of one item's histogram; None when nobody answered.

    `rounds` > 1 means `counts` pools several rounds: the same people answer every round, so
    the pooled answers are not that many independent people. The SE then uses the per-round
    number of answers (pooled n / rounds), the conservative end (as if each person answered
    the same way every time); the true SE lies between that and the pooled-n one.
    """
    n = sum(counts)
    if n == 0:
        return None
    mean = sum(value * count for value, count in enumerate(counts, start=1)) / n
    squares = sum(count * (value - mean) ** 2 for value, count in enumerate(counts, start=1))
    sd = math.sqrt(squares / (n - 1)) if n > 1 else 0.0
    people = n / rounds if rounds > 1 else n
    return ItemScore(
        n=people,
        mean=mean,
        se=sd / math.sqrt(people),
        df=people - 1,
        sd=sd,
        shares=Shares.of(counts, higher_is_worse=higher_is_worse),
    )


@dataclass(frozen=True)
class ConstructScore(Estimate):
    construct: str
    items: tuple[ItemScore, ...]
    shares: Shares


def construct_score(construct: str, items: Sequence[ItemScore]) -> ConstructScore | None:
    """A construct's score: the mean of its item means (docs/measurement.md).

    Its interval cannot be exact: the SE of a mean of item means depends on how the items
    covary within people, which marginal histograms do not show. For m items,
    Var(mean of means) = (1/m²) Σᵢ Σⱼ cov(i, j) ≤ (1/m²) (Σᵢ seᵢ)², because |cov(i, j)| ≤ seᵢ seⱼ.
    So SE = mean of the item SEs is an upper bound (exact if the items were perfectly
    correlated): the interval is conservative, never falsely narrow. Degrees of freedom: the
    smallest item's n − 1, also conservative.
    """
    if not items:
        return None
    count = len(items)
    return ConstructScore(
        n=min(item.n for item in items),
        mean=sum(item.mean for item in items) / count,
        se=sum(item.se for item in items) / count,
        df=min(item.df for item in items),
        construct=construct,
        items=tuple(items),
        shares=Shares.mean_of([item.shares for item in items]),
    )


# Provisional burnout-signal zones on the 1–5 frequency scale: upper bounds, label.
BURNOUT_ZONES = (
    (2.5, "few", "Few signs of strain"),
    (3.5, "some", "Some signs of strain"),
    (math.inf, "many", "Many signs of strain"),
)


@dataclass(frozen=True)
class BurnoutSignal(Estimate):
    """The burnout signal on the 1–5 frequency scale, with its n and 90% interval (Estimate),
    its provisional zone, and whether the whole interval lies in that zone."""

    zone: str
    label: str
    zone_certain: bool = True

    @property
    def tone(self) -> str:
        return BURNOUT_TONES[self.zone] if self.zone_certain else UNSURE

    @property
    def shown_label(self) -> str:
        return self.label if self.zone_certain else "Between two zones: the interval spans both"


def _burnout_zone(mean: float) -> tuple[str, str]:
    shown = shown_index(to_index(mean))  # the zone follows the number printed
    return next((zone, label) for bound, zone, label in BURNOUT_ZONES if shown < to_index(bound))


def burnout_signal(exhaustion: ConstructScore | None, mental_distance: ConstructScore | None) -> BurnoutSignal | None:
    """The team's burnout signal: exhaustion and mental distance together, as the mean of the
    two construct means (their sum halved, so it stays on the 1–5 frequency scale). Its SE is
    the mean of the two SEs (an upper bound, as for a construct), its n and degrees of freedom
    the smaller of the two.

    The zones are PROVISIONAL: round numbers on the answer scale ("sometimes" and above), not
    validated cut-offs. They describe how often the team reports two early signs of burnout;
    they are never a diagnosis or a clinical label, and never about one person. A zone is
    claimed only when the whole 90% interval lies in it.
    """
    if exhaustion is None or mental_distance is None:
        return None
    mean = (exhaustion.mean + mental_distance.mean) / 2
    zone, label = _burnout_zone(mean)
    signal = BurnoutSignal(
        n=min(exhaustion.n, mental_distance.n),
        mean=mean,
        se=(exhaustion.se + mental_distance.se) / 2,
        df=min(exhaustion.df, mental_distance.df),
        zone=zone,
        label=label,
    )
    certain = _burnout_zone(signal.low)[0] == zone == _burnout_zone(signal.high)[0]
    return dataclasses.replace(signal, zone_certain=certain)


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
    p = 0.0 if se == 0 and delta != 0 else 1.0 if se == 0 else 2 * float(_stats().t.sf(abs(delta) / se, df))
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
    critical = float(_stats().t.ppf(1 - FAMILY_ALPHA / tests / 2, df))
    return max(MIN_CHANGE, (critical + float(_stats().norm.ppf(POWER))) * se)


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
        margin = float(_stats().t.ppf(0.5 + CONFIDENCE / 2, df)) * se
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
