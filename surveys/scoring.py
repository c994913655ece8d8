"""Scores, intervals and change detection (docs/measurement.md), computed from published counts only.

Every input is a histogram (answers per option, option 1 first) read from a Result, so nothing
here can see more than the page that shows it. Means are on the 1–5 answer scale; the index is
(mean − 1) × 25, on 0–100. Intervals are 90% t intervals (scipy), clipped to the scale.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

from surveys.models import SCALE_POINTS

CONFIDENCE = 0.90
#: Smaller differences are never flagged, however many people answered (docs/measurement.md).
MIN_CHANGE = 0.25
#: Rounds per window in change detection: the last two published against the two before.
WINDOW_ROUNDS = 2


def to_index(mean: float) -> float:
    """1–5 scale -> 0–100 index."""
    return (mean - 1) * 25


#: Colour bands of an index read as "how good" (100 − index where higher is worse), worst
#: first, each with the index it ends at. The bounds are the answer means 2.5 and 3.5, the same
#: round numbers as the provisional burnout zones, so a colour means the same in every column.
TONE_BANDS = (("poor", to_index(2.5)), ("mixed", to_index(3.5)), ("good", math.inf))
#: The burnout zones in the same colours.
BURNOUT_TONES = {"few": "good", "some": "mixed", "many": "poor"}


def index_tone(index: float, *, higher_is_worse: bool = False) -> str:
    """The colour band (poor, mixed, good) of an index on the 0–100 scale."""
    goodness = 100 - index if higher_is_worse else index
    return next(tone for tone, bound in TONE_BANDS if goodness < bound)


@functools.lru_cache(maxsize=8192)
def _t(df: float) -> float:
    """Two-sided 90% critical value of Student's t (cached: scipy takes tens of microseconds,
    and a page or an export asks for the same few degrees of freedom again and again)."""
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, df))


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
class BurnoutSignal:
    mean: float
    zone: str
    label: str

    @property
    def index(self) -> float:
        return to_index(self.mean)


def burnout_signal(exhaustion: ConstructScore | None, mental_distance: ConstructScore | None) -> BurnoutSignal | None:
    """The team's burnout signal: exhaustion and mental distance together, as the mean of the
    two construct means (their sum halved, so it stays on the 1–5 frequency scale).

    The zones are PROVISIONAL: round numbers on the answer scale ("sometimes" and above), not
    validated cut-offs. They describe how often the team reports two early signs of burnout;
    they are never a diagnosis or a clinical label, and never about one person.
    """
    if exhaustion is None or mental_distance is None:
        return None
    mean = (exhaustion.mean + mental_distance.mean) / 2
    zone, label = next((zone, label) for bound, zone, label in BURNOUT_ZONES if mean < bound)
    return BurnoutSignal(mean=mean, zone=zone, label=label)


IMPROVED, DECLINED, NO_CLEAR_CHANGE, NOT_ENOUGH_ROUNDS = "improved", "declined", "no_clear_change", "not_enough_rounds"
CHANGE_LABELS = {
    IMPROVED: "Likely improved",
    DECLINED: "Likely worsened",
    NO_CLEAR_CHANGE: "No clear change",
    NOT_ENOUGH_ROUNDS: "Not enough rounds yet",
}


@dataclass(frozen=True)
class Change:
    """Change of a construct between the last two published rounds and the two before.

    `delta` is recent − earlier (1–5 scale) with its 90% Welch interval `low`–`high`.
    `detectable` is the smallest |delta| this team could have flagged with the spread and size
    it has: small teams detect only large shifts, and the page should say so.
    """

    status: str
    delta: float | None = None
    low: float | None = None
    high: float | None = None
    detectable: float | None = None
    recent: Estimate | None = None
    earlier: Estimate | None = None

    @property
    def label(self) -> str:
        return CHANGE_LABELS[self.status]


def window_estimate(
    rounds: Sequence[Mapping[int, Sequence[int]]], question_ids: Sequence[int], construct: str = ""
) -> ConstructScore | None:
    """A construct over a window of rounds: each item's histograms pooled across the rounds,
    then `construct_score` (per-round n for the SE, see `item_score`)."""
    items = []
    for question_id in question_ids:
        pooled = [0] * SCALE_POINTS
        for counts in rounds:
            for option, count in enumerate(counts[question_id]):
                pooled[option] += count
        score = item_score(pooled, rounds=len(rounds))
        if score is not None:
            items.append(score)
    return construct_score(construct, items)


def construct_change(
    history: Sequence[Mapping[int, Sequence[int]]],
    *,
    question_ids: Sequence[int],
    k: int,
    higher_is_worse: bool = False,
) -> Change:
    """Flag a likely change of one construct for one team node (docs/measurement.md).

    `history` holds the construct's item histograms ({question id: counts}) for rounds
    published FOR THIS NODE with every item of the construct published, newest first; a round
    where the node (or an item) was suppressed must not be in it. Flags "likely improved /
    declined" only when both windows have at least k people, the 90% Welch interval of the
    difference excludes 0, and |delta| ≥ 0.25 points; otherwise "no clear change".
    """
    recent = window_estimate(history[:WINDOW_ROUNDS], question_ids) if history else None
    if len(history) < 2 * WINDOW_ROUNDS or recent is None:
        detectable = _detectable(recent, recent) if recent is not None else None
        return Change(NOT_ENOUGH_ROUNDS, detectable=detectable, recent=recent)
    earlier = window_estimate(history[WINDOW_ROUNDS : 2 * WINDOW_ROUNDS], question_ids)
    if earlier is None:
        return Change(NOT_ENOUGH_ROUNDS, recent=recent)
    delta = recent.mean - earlier.mean
    se = math.hypot(recent.se, earlier.se)
    margin = _t(_welch_df(recent, earlier)) * se if se > 0 else 0.0
    low, high = delta - margin, delta + margin
    flagged = min(recent.n, earlier.n) >= k and (low > 0 or high < 0) and abs(delta) >= MIN_CHANGE
    status = NO_CLEAR_CHANGE
    if flagged:
        status = IMPROVED if (delta > 0) != higher_is_worse else DECLINED
    return Change(status, delta, low, high, _detectable(recent, earlier), recent, earlier)


def _welch_df(a: Estimate, b: Estimate) -> float:
    """Welch–Satterthwaite degrees of freedom for the difference of two means."""
    va, vb = a.se**2, b.se**2
    denominator = (va**2 / a.df if a.df > 0 else 0) + (vb**2 / b.df if b.df > 0 else 0)
    return (va + vb) ** 2 / denominator if denominator > 0 else max(a.df + b.df, 1)


def _detectable(recent: Estimate, earlier: Estimate) -> float:
    """The smallest |delta| that would be flagged: the interval's half-width, but never below
    MIN_CHANGE. With only one window so far, the earlier one is assumed alike."""
    se = math.hypot(recent.se, earlier.se)
    if se == 0 or recent.df <= 0:
        return MIN_CHANGE
    return max(MIN_CHANGE, _t(_welch_df(recent, earlier)) * se)
