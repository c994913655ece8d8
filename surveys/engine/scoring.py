"""Scores, intervals and colours (docs/measurement.md), computed from published counts only.
Whether a figure changed is `surveys.engine.changes`.

Every input is a histogram (answers per option, option 1 first) read from a Result, so nothing
here can see more than the page that shows it. Means are on the 1–5 answer scale; the index is
(mean − 1) × 25, on 0–100. Intervals are 90% t intervals (scipy), clipped to the scale.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from surveys.core.words import Words
from surveys.models import SCALE_POINTS

CONFIDENCE = 0.90


#: Index points per step of the answer scale: the index runs 0–100 over the scale's four steps.
INDEX_PER_STEP = 100 / (SCALE_POINTS - 1)


def index_points(difference: float) -> float:
    """A difference on the 1–5 answer scale (a change, an interval's width) in index points."""
    return difference * INDEX_PER_STEP


def to_index(mean: float) -> float:
    """1–5 scale -> 0–100 index."""
    return index_points(mean - 1)


def shown_index(value: float) -> int:
    """An index (or a change of one) as every page, e-mail and colour shows it: a whole
    number, halves rounded up, so a figure's colour always matches the number printed."""
    return math.floor(value + 0.5)


def signed_points(value: float) -> str:
    """A change in index points as shown: "+5", "−12" (a true minus sign), "0"."""
    number = shown_index(value)
    return f"+{number}" if number > 0 else f"−{-number}" if number < 0 else "0"


#: Where the colour bands change, and the provisional burnout zones with them: the answer means
#: 2.5 and 3.5, round numbers on the 1–5 scale, so a colour means the same in every column.
BAND_MEANS = (2.5, 3.5)
#: Colour bands of an index read as "how good" (100 − index where higher is worse), worst
#: first, each with the index it ends at.
TONE_BANDS = (("poor", to_index(BAND_MEANS[0])), ("mixed", to_index(BAND_MEANS[1])), ("good", math.inf))
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
def scipy_stats():
    """scipy.stats, imported on first use: importing it takes about half a second, which every
    new process (a web worker, a command) would otherwise pay at start, scoring or not."""
    from scipy import stats

    return stats


@functools.lru_cache(maxsize=8192)
def t_critical(df: float) -> float:
    """Two-sided 90% critical value of Student's t (cached: scipy takes tens of microseconds,
    and a page or an export asks for the same few degrees of freedom again and again)."""
    return float(scipy_stats().t.ppf(0.5 + CONFIDENCE / 2, df))


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
        return _clip(self.mean - t_critical(self.df) * self.se) if self.df > 0 else 1.0

    @property
    def high(self) -> float:
        return _clip(self.mean + t_critical(self.df) * self.se) if self.df > 0 else float(SCALE_POINTS)

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


#: Provisional burnout-signal zones on the 1–5 frequency scale, at the colour bands' means:
#: upper bound, zone, label.
BURNOUT_ZONES = (
    (BAND_MEANS[0], "few", gettext_lazy("Few signs of strain")),
    (BAND_MEANS[1], "some", gettext_lazy("Some signs of strain")),
    (math.inf, "many", gettext_lazy("Many signs of strain")),
)


@dataclass(frozen=True)
class BurnoutSignal(Estimate):
    """The burnout signal on the 1–5 frequency scale, with its n and 90% interval (Estimate),
    its provisional zone, and whether the whole interval lies in that zone."""

    zone: str
    label: Words
    zone_certain: bool = True

    @property
    def tone(self) -> str:
        return BURNOUT_TONES[self.zone] if self.zone_certain else UNSURE

    @property
    def shown_label(self) -> Words:
        return self.label if self.zone_certain else _("Between two zones: the interval spans both")


def _burnout_zone(mean: float) -> tuple[str, Words]:
    shown = shown_index(to_index(mean))  # the zone follows the number printed
    return next((zone, label) for bound, zone, label in BURNOUT_ZONES if shown < to_index(bound))


def burnout_signal(exhaustion: ConstructScore | None, mental_distance: ConstructScore | None) -> BurnoutSignal | None:
    """The team's burnout signal: exhaustion and mental distance together, as the mean of the
    two construct means (their sum halved, so it stays on the 1–5 frequency scale). Its SE is
    the mean of the two SEs (an upper bound, as for a construct), its n and degrees of freedom
    the smaller of the two.

    The zones are PROVISIONAL: round numbers on the answer scale (from halfway between "rarely"
    and "sometimes", and from halfway between "sometimes" and "often"), not validated cut-offs.
    They describe how often the team reports two early signs of burnout; they are never a
    diagnosis or a clinical label, and never about one person. A zone is claimed only when the
    whole 90% interval lies in it.
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
