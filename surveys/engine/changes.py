"""Change detection (docs/measurement.md, "Change"): whether a team's construct has likely
improved or worsened, how large a change its size would let us spot, which flags of a view of
many teams carry the page-wide words, and how stable an organisation's answers are between
rounds.

The rule in one paragraph. At every round, for every construct a node's survey asks, the mean
of the node's published rounds in the RECENT window (the last `WINDOWS[cadence][0]` rounds:
about six weeks, at least two rounds) is compared with the mean of its published rounds in the
BASELINE window (the rounds just before, twice as many). A hidden round is left out of its
window; no older round takes its place. The standard error allows for the same people answering
round after round (test–retest stability rho) and for team-wide swings between rounds (tau),
both estimated per construct from the organisation's own published rounds and shrunk toward a
prior (`estimate_stability`). A flag needs a two-sided t-test p-value below YEAR_ALPHA /
(rounds a year × constructs asked), Bonferroni over every look of a year, and a difference of
at least MIN_CHANGE.

Every input is a histogram of published Results (`RoundPoint`), so, like the scores it builds
on (`surveys.engine.scoring`), nothing here can see more than the page that shows it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from surveys.core.words import Words, list_words
from surveys.engine.scoring import item_score, scipy_stats, t_critical
from surveys.models import Cadence

#: Smaller differences are never flagged, however many people answered (1–5 scale).
MIN_CHANGE = 0.25
#: The power at which "a change this team would spot four times in five" is stated.
POWER = 0.8
#: The false-flag budget: the chance that a stable team sees at least one chance flag in a
#: year, over all its constructs and every round of the year (Bonferroni: an upper bound).
YEAR_ALPHA = 0.08
#: The false discovery rate behind "unlikely to be chance even among every team on this page".
ORG_FDR = 0.10
#: Assumed correlation of two items of one construct within people (for the construct's SD from
#: marginal histograms). Whatever it gets wrong, the estimated stability absorbs: rho is fitted
#: to how much the organisation's construct means really move between rounds.
ITEM_CORRELATION = 0.5

#: Rounds a year at each cadence: the Bonferroni count of looks.
ROUNDS_PER_YEAR: dict[str, int] = {Cadence.WEEKLY: 52, Cadence.BIWEEKLY: 26, Cadence.MONTHLY: 12}
#: (recent, baseline) rounds: the recent window is about six weeks (at least two rounds), the
#: baseline twice as long.
WINDOWS: dict[str, tuple[int, int]] = {Cadence.WEEKLY: (6, 12), Cadence.BIWEEKLY: (3, 6), Cadence.MONTHLY: (2, 4)}
#: The recent window's time, as the cards say it ("within six weeks"), at each cadence.
RECENT_WORDS: dict[str, Words] = {
    Cadence.WEEKLY: gettext_lazy("six weeks"),
    Cadence.BIWEEKLY: gettext_lazy("six weeks"),
    Cadence.MONTHLY: gettext_lazy("two months"),
}
#: Published rounds a change looks back on, counted back from the round shown (inclusive).
LOOKBACK: dict[str, int] = {cadence: sum(windows) for cadence, windows in WINDOWS.items()}
#: The longest look-back of any cadence (what a reader fetches when it does not know the cadence).
CHANGE_LOOKBACK = max(LOOKBACK.values())

#: Raise it with any change to the rule: cached flags and drawings of another version, and
#: stored stability estimates, are not used.
CHANGE_RULE_VERSION = 2

# Stability: the prior, and how hard it is held (docs/measurement.md, "Stability").
#: Prior test–retest correlation of a person's construct score between rounds, by the number of
#: items a comparison uses (1, or 2 and more). Cautious: published test–retest figures of short
#: work-wellbeing and burnout scales over weeks lie around 0.6–0.8, single items lower.
PRIOR_RETEST: dict[int, float] = {1: 0.40, 2: 0.45}
#: Prior SD of rho: the prior weighs about as much as 50 independent comparisons.
PRIOR_RETEST_SD = 0.15
#: Half-normal prior scale of tau, the SD of team-wide swings between rounds (1–5 scale).
PRIOR_SWING_SCALE = 0.10
RETEST_BOUNDS = (0.0, 0.9)
SWING_BOUNDS = (0.0, 0.5)
#: A comparison's z beyond this (most likely a real change in the history) adds nothing more to
#: the fit: the likelihood is trimmed there, and rescaled so that it stays unbiased.
ROBUST_Z = 3.0

#: The organisation's publication threshold when the caller does not say (for the stated figure).
K_MIN = 5
#: The lasting change (1–5 scale; 12.5 index points) that empty states and e-mails check: when
#: one look would more often than not miss it (`Change.would_miss`), no "no change" may read as
#: an all-clear.
MISSED_CHANGE = 0.5
#: A stated figure above this (1–5 scale; 50 index points) is not stated: only very large
#: changes can be told from chance at that size.
STATED_LIMIT = 2.0

IMPROVED, DECLINED, NO_CLEAR_CHANGE, NOT_ENOUGH_ROUNDS = "improved", "declined", "no_clear_change", "not_enough_rounds"
CHANGE_LABELS = {
    IMPROVED: gettext_lazy("Likely improved"),
    DECLINED: gettext_lazy("Likely worsened"),
    NO_CLEAR_CHANGE: gettext_lazy("No clear change"),
    NOT_ENOUGH_ROUNDS: gettext_lazy("Not enough rounds yet"),
}


@functools.lru_cache(maxsize=16384)
def _t_isf(p: float, df: float) -> float:
    return float(scipy_stats().t.isf(p, df))


def _t_sf(x: float, df: float) -> float:
    return float(scipy_stats().t.sf(x, df))


# Rounds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundPoint:
    """One published round of one construct at one node: its items' histograms (every item of
    the construct published there, option 1 first), the node's response rate that round and,
    optionally, the people invited at the node (`Result.invited`; without it, people / rate
    stands in) and the items' keys, aligned with `items` (`Question.item_key`: a reworded item
    keeps its key). A comparison uses only the items every one of its rounds has, so a round of
    an older bank version stays comparable. Without keys, items are matched by position."""

    number: int
    items: tuple[Sequence[int], ...]
    response_rate: float
    keys: tuple[str, ...] | None = None
    invited: int | None = None

    def item_keys(self) -> tuple[str, ...]:
        return self.keys if self.keys is not None else tuple(f"#{i}" for i in range(len(self.items)))


@dataclass(frozen=True)
class RoundFigures:
    """A construct at one node in one round, on the items a comparison uses: the mean of the
    item means, the person-level variance of the construct score (items assumed to correlate
    ITEM_CORRELATION within people), people (the smallest item's count) and invited."""

    number: int
    mean: float
    variance: float
    people: int
    invited: float


def round_figures(point: RoundPoint, keys: Sequence[str] | None = None) -> RoundFigures | None:
    """The figures of one round on the items `keys` (all of the round's items when None); None
    when an item has fewer than two answers."""
    own = point.item_keys()
    chosen = [own.index(key) for key in keys] if keys is not None else range(len(own))
    scores = [item_score(point.items[i]) for i in chosen]
    moments = [(s.mean, s.sd, int(s.n)) for s in scores if s is not None and s.n >= 2]
    if not moments or len(moments) < len(scores):
        return None
    count = len(moments)
    total, squares = sum(sd for _, sd, _ in moments), sum(sd * sd for _, sd, _ in moments)
    people = min(n for _, _, n in moments)
    rate = point.response_rate if point.response_rate > 0 else 1.0
    return RoundFigures(
        number=point.number,
        mean=sum(mean for mean, _, _ in moments) / count,
        variance=(squares + ITEM_CORRELATION * (total * total - squares)) / count**2,
        people=people,
        invited=float(max(point.invited, people)) if point.invited else max(people / min(rate, 1.0), float(people)),
    )


@dataclass(frozen=True)
class Window:
    """A construct over one window: the mean of its published rounds' means, people per round,
    the response rate, which rounds it holds. `variance` and `df` are the person-level variance
    pooled over BOTH windows of the comparison (the spread is taken as the same throughout)."""

    rounds: int
    mean: float
    variance: float
    df: float
    inverse_people: float
    people: float
    response_rate: float
    first_round: int = 0
    last_round: int = 0
    numbers: tuple[int, ...] = ()

    @property
    def rounds_label(self) -> str:
        """ "rounds 7–9", "rounds 7 and 9" (a round hidden between), or "round 9"."""
        numbers = self.numbers or tuple(range(self.first_round, self.last_round + 1))
        if len(numbers) == 1:
            return _("round %(number)s") % {"number": numbers[0]}
        if numbers == tuple(range(numbers[0], numbers[-1] + 1)):
            return _("rounds %(first)s–%(last)s") % {"first": numbers[0], "last": numbers[-1]}
        return _("rounds %(numbers)s") % {"numbers": list_words([str(number) for number in numbers])}


@dataclass(frozen=True)
class Stability:
    """How a construct's node means move between rounds when nothing changes: `rho`, the
    correlation of a person's construct score between rounds (test–retest, effective: it also
    absorbs turnover and what ITEM_CORRELATION gets wrong), and `swing`, the SD of team-wide
    swings between rounds (1–5 scale). `comparisons`: how many independent comparisons of the
    organisation the estimate rests on; 0 is the prior alone."""

    rho: float
    swing: float = 0.0
    comparisons: float = 0.0
    rho_sd: float = PRIOR_RETEST_SD

    @property
    def source(self) -> str:
        return "prior" if self.comparisons == 0 else "estimated"


#: (construct, items a comparison uses: 1, or 2 for two and more).
StabilityKey = tuple[str, int]


def prior_stability(items: int) -> Stability:
    return Stability(rho=PRIOR_RETEST[min(max(items, 1), 2)], swing=0.0)


def stability_key(construct: str, items: int) -> StabilityKey:
    return (construct, min(max(items, 1), 2))


def stability_record(estimates: Mapping[StabilityKey, Stability]) -> dict[str, list[float]]:
    """The estimates as stored (`ChangeStability.estimates`): "construct/items" -> [rho, swing,
    comparisons, rho_sd]."""
    return {
        f"{construct}/{items}": [s.rho, s.swing, s.comparisons, s.rho_sd]
        for (construct, items), s in sorted(estimates.items())
    }


def stability_of_record(record: Mapping[str, Sequence[float]]) -> dict[StabilityKey, Stability]:
    """`stability_record` read back."""
    out: dict[StabilityKey, Stability] = {}
    for key, (rho, swing, comparisons, rho_sd) in record.items():
        construct, items = key.rsplit("/", 1)
        out[(construct, int(items))] = Stability(rho, swing, comparisons, rho_sd)
    return out


# One comparison ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The recent window against the baseline, with the SE of the difference and the pieces
    the stability estimator fits (docs/measurement.md, "The standard error of a difference")."""

    recent: Window
    earlier: Window
    delta: float
    se: float
    df: float
    items: int
    variance: float  # pooled person-level variance
    sampling: float  # Σ c_t² / n_t  (c = ±1 / window size)
    shared: float  # Σ c_t² / N_t
    spread: float  # Σ c_t²


def windows_at(cadence: str, at: int) -> tuple[range, range]:
    """Round numbers of the recent and baseline windows of the comparison at round `at`."""
    recent, baseline = WINDOWS[cadence]
    return range(at - recent + 1, at + 1), range(at - recent - baseline + 1, at - recent + 1)


def lookback_numbers(cadence: str, at: int) -> list[int]:
    """The rounds a comparison at `at` can use, newest first."""
    return list(range(at, at - LOOKBACK[cadence], -1))


#: `_comparable` of a look-back: the items every round shares, and each round's figures on them.
Prepared = tuple[list[str], dict[int, RoundFigures]]


def _comparable(points: Sequence[RoundPoint], numbers: Sequence[int], memo: dict | None = None) -> Prepared:
    """The figures of the published rounds among `numbers` (newest first) on the items they all
    share: the newest round's items, narrowed round by round; a round sharing none is left out.
    `memo` (a dict the caller keeps) saves recomputing a round's figures for the same items."""
    by_number = {p.number: p for p in points}
    chosen = [by_number[n] for n in numbers if n in by_number]
    if not chosen:
        return [], {}
    keys = list(chosen[0].item_keys())
    kept: list[RoundPoint] = []
    for point in chosen:
        common = [key for key in keys if key in point.item_keys()]
        if common:
            keys = common
            kept.append(point)
    figures: dict[int, RoundFigures | None] = {}
    for p in kept:
        if memo is None:
            figures[p.number] = round_figures(p, keys)
            continue
        key = (id(p), tuple(keys))
        if key not in memo:
            memo[key] = round_figures(p, keys)
        figures[p.number] = memo[key]
    return keys, {number: f for number, f in figures.items() if f is not None}


def _own_stability(stability: Mapping[StabilityKey, Stability] | None, construct: str, items: int) -> Stability:
    return (stability or {}).get(stability_key(construct, items)) or prior_stability(items)


def compare(
    points: Sequence[RoundPoint],
    *,
    at: int,
    cadence: str,
    stability: Mapping[StabilityKey, Stability] | None,
    construct: str = "",
    prepared: Prepared | None = None,
) -> Comparison | None:
    """The comparison of one construct at round `at`, or None when either window has no
    published round (or the rounds share no item). `prepared`: `_comparable` of the look-back,
    when the caller has it already.

    Var(recent − baseline) = v · Σ c_t² (1/n_t − rho/N_t) + tau² · Σ c_t², with c_t = +1/|recent|
    in the recent window and −1/|baseline| in the baseline, n_t the people who answered round t
    and N_t those invited (docs/measurement.md)."""
    recent_numbers, baseline_numbers = windows_at(cadence, at)
    keys, figures = prepared or _comparable(points, lookback_numbers(cadence, at))
    recent_f = [figures[n] for n in reversed(recent_numbers) if n in figures]
    baseline_f = [figures[n] for n in reversed(baseline_numbers) if n in figures]
    if not recent_f or not baseline_f:
        return None
    everything = recent_f + baseline_f
    df = sum(f.people - 1 for f in everything)
    if df <= 0:
        return None
    variance = sum(f.variance * (f.people - 1) for f in everything) / df
    own = _own_stability(stability, construct, len(keys))
    sampling = shared = spread = 0.0
    for group in (recent_f, baseline_f):
        weight = 1 / len(group) ** 2
        sampling += weight * sum(1 / f.people for f in group)
        shared += weight * sum(1 / f.invited for f in group)
        spread += 1 / len(group)
    se = math.sqrt(max(variance * (sampling - own.rho * shared) + own.swing**2 * spread, 0.0))
    rates = {p.number: p.response_rate for p in points}

    def window(group: list[RoundFigures]) -> Window:
        count = len(group)
        return Window(
            rounds=count,
            mean=sum(f.mean for f in group) / count,
            variance=variance,
            df=df,
            inverse_people=sum(1 / f.people for f in group) / count,
            people=sum(f.people for f in group) / count,
            response_rate=sum(rates[f.number] for f in group) / count,
            first_round=min(f.number for f in group),
            last_round=max(f.number for f in group),
            numbers=tuple(sorted(f.number for f in group)),
        )

    recent, earlier = window(recent_f), window(baseline_f)
    return Comparison(
        recent=recent,
        earlier=earlier,
        delta=recent.mean - earlier.mean,
        se=se,
        df=df,
        items=len(keys),
        variance=variance,
        sampling=sampling,
        shared=shared,
        spread=spread,
    )


# The rule ---------------------------------------------------------------------------------


def comparison_alpha(constructs: int, cadence: str = Cadence.BIWEEKLY) -> float:
    """The two-sided level of one comparison: the year's budget over every look of a year and
    every construct asked."""
    return YEAR_ALPHA / (ROUNDS_PER_YEAR[cadence] * max(constructs, 1))


def p_value(delta: float, se: float, df: float) -> float:
    if se <= 0:
        return 0.0 if delta != 0 else 1.0
    return min(1.0, 2 * _t_sf(abs(delta) / se, df))


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _spread(critical: float, df: float) -> float:
    """How much wider the flag's threshold wanders than the estimate alone, because the SD
    behind it is estimated too: the normal approximation of the noncentral t's power,
    Φ((δ − c) / √(1 + c² / 2df))."""
    return math.sqrt(1 + critical * critical / (2 * max(df, 1.0)))


def power_at(delta: float, se: float, df: float, alpha: float) -> float:
    """The chance one look of this comparison flags a lasting change of |delta| (the normal
    approximation of the noncentral t)."""
    if se <= 0:
        return 1.0 if abs(delta) >= MIN_CHANGE else 0.0
    threshold = max(_t_isf(alpha / 2, df) * se, MIN_CHANGE)
    return _normal_cdf((abs(delta) - threshold) / (se * _spread(threshold / se, df)))


def publication_chance(invited: float, response_rate: float, k_min: int = K_MIN) -> float:
    """The chance that a round of this node is published: P(Binomial(invited, rate) ≥ k + 1).
    One more than k, as a cushion: the rate is read from published rounds only (so a little
    high), and a construct also needs k answers on every item (skips)."""
    people = max(int(round(invited)), 0)
    rate = min(max(response_rate, 0.0), 1.0)
    if people <= k_min:
        return 0.0
    if rate >= 1.0:
        return 1.0
    below = sum(math.comb(people, j) * rate**j * (1 - rate) ** (people - j) for j in range(k_min + 1))
    return min(max(1.0 - below, 0.0), 1.0)


def stated_change(
    points: Sequence[RoundPoint],
    *,
    at: int,
    cadence: str = Cadence.BIWEEKLY,
    construct: str = "",
    stability: Mapping[StabilityKey, Stability] | None = None,
    alpha: float,
    k_min: int = K_MIN,
    prepared: Prepared | None = None,
) -> float | None:
    """ "A lasting change of about X would be spotted four times in five within the recent
    window's time" (1–5 scale), or None when no X up to 4 points would be.

    A change starting after round `at` is wholly in the recent window `recent` rounds later, and
    that look compares it with the `baseline` rounds up to `at` (known now). Each of the coming
    rounds is published with `publication_chance`; X is where the chance of a flag at that
    look, averaged over how many of the coming rounds are published, reaches POWER. The looks
    before it are not counted, so the figure errs large."""
    recent_size, baseline_size = WINDOWS[cadence]
    lookback = lookback_numbers(cadence, at)
    keys, figures = prepared or _comparable(points, lookback)
    base = [figures[n] for n in lookback[:baseline_size] if n in figures]
    pooled = list(figures.values())
    df = sum(f.people - 1 for f in pooled)
    if not base or df <= 0:
        return None
    variance = sum(f.variance * (f.people - 1) for f in pooled) / df
    own = _own_stability(stability, construct, len(keys))
    count = len(base)
    people = sum(f.people for f in base) / count
    invited = sum(f.invited for f in base) / count
    rates = {p.number: p.response_rate for p in points}
    chance = publication_chance(invited, sum(rates[f.number] for f in base) / count, k_min)
    base_part = sum(1 / f.people - own.rho / f.invited for f in base) / count**2
    critical = _t_isf(alpha / 2, df)
    looks = []
    for k in range(1, recent_size + 1):
        weight = math.comb(recent_size, k) * chance**k * (1 - chance) ** (recent_size - k)
        se = math.sqrt(
            max(
                variance * ((1 / people - own.rho / invited) / k + base_part) + own.swing**2 * (1 / k + 1 / count),
                1e-12,
            )
        )
        looks.append((weight, se, max(critical * se, MIN_CHANGE)))

    def power(x: float) -> float:
        return sum(w * _normal_cdf((x - threshold) / (se * _spread(threshold / se, df))) for w, se, threshold in looks)

    low, high = 0.0, 4.0
    if power(high) < POWER:
        return None
    for _unused in range(32):
        middle = (low + high) / 2
        low, high = (middle, high) if power(middle) < POWER else (low, middle)
    return high


@dataclass(frozen=True)
class Change:
    """The change flag of one construct at one node at round `evaluated_at`: the recent window
    against the baseline (`recent`, `earlier`). `delta` (1–5 scale, recent − earlier) with its
    90% interval `low`–`high`; `p` its two-sided p-value, `alpha` the level it was tested at;
    `detectable` the lasting change, starting now, that would be flagged four times in five
    within one recent window's time (`stated_change`; 1–5 scale; None when none up to 4 points
    would be), `shown_detectable` the same when small enough to state (STATED_LIMIT)."""

    status: str
    delta: float | None = None
    low: float | None = None
    high: float | None = None
    detectable: float | None = None
    p: float | None = None
    evaluated_at: int | None = None
    recent: Window | None = None
    earlier: Window | None = None
    se: float | None = None
    df: float | None = None
    alpha: float | None = None
    cadence: str = Cadence.BIWEEKLY
    stability: Stability | None = None

    @property
    def label(self) -> Words:
        return CHANGE_LABELS[self.status]

    @property
    def flagged(self) -> bool:
        return self.status in (IMPROVED, DECLINED)

    @property
    def comparison(self) -> str:
        """Which rounds were compared, said the same way on every card."""
        if self.recent is None or self.earlier is None:
            return ""
        return _("%(recent)s against %(earlier)s") % {
            "recent": self.recent.rounds_label,
            "earlier": self.earlier.rounds_label,
        }

    @property
    def shown_detectable(self) -> float | None:
        return self.detectable if self.detectable is not None and self.detectable <= STATED_LIMIT else None

    def power_for(self, delta: float) -> float | None:
        """The chance one look of this comparison flags a lasting change of |delta|."""
        if self.se is None or self.df is None or self.alpha is None:
            return None
        return power_at(delta, self.se, self.df, self.alpha)

    def would_miss(self, delta: float = MISSED_CHANGE) -> bool:
        """Whether a lasting change of |delta| would more often than not go unflagged: an empty
        state or e-mail must then not read as an all-clear."""
        power = self.power_for(delta)
        return power is None or power < 0.5


def team_changes(
    history: Mapping[str, Sequence[RoundPoint]],
    *,
    at: int,
    higher_is_worse: Mapping[str, bool],
    cadence: str = Cadence.BIWEEKLY,
    stability: Mapping[StabilityKey, Stability] | None = None,
    k_min: int = K_MIN,
) -> dict[str, Change]:
    """Flag likely changes of a node's constructs as they stand at round `at`.

    `history[construct]`: the rounds published for this node with every item of the construct
    published (any order; a hidden round is absent: a gap, never a zero). Every construct asked
    gets one comparison: the recent window against the baseline (`WINDOWS[cadence]`), tested at
    `comparison_alpha(len(history), cadence)`; flagged when p is below it and |delta| is at
    least MIN_CHANGE. `stability` comes from `estimate_stability` (the organisation's own
    rounds); missing keys use the prior. `k_min`: the round's publication threshold (for the
    stated figure)."""
    alpha = comparison_alpha(len(history), cadence)
    changes: dict[str, Change] = {}
    for construct, points in history.items():
        prepared = _comparable(points, lookback_numbers(cadence, at))
        detectable = stated_change(
            points,
            at=at,
            cadence=cadence,
            construct=construct,
            stability=stability,
            alpha=alpha,
            k_min=k_min,
            prepared=prepared,
        )
        comparison = compare(
            points, at=at, cadence=cadence, stability=stability, construct=construct, prepared=prepared
        )
        if comparison is None:
            changes[construct] = Change(
                NOT_ENOUGH_ROUNDS, detectable=detectable, evaluated_at=at, alpha=alpha, cadence=cadence
            )
            continue
        delta, se, df = comparison.delta, comparison.se, comparison.df
        p = p_value(delta, se, df)
        margin = t_critical(df) * se
        status = NO_CLEAR_CHANGE
        if p < alpha and abs(delta) >= MIN_CHANGE:
            status = IMPROVED if (delta > 0) != higher_is_worse.get(construct, False) else DECLINED
        changes[construct] = Change(
            status,
            delta=delta,
            low=delta - margin,
            high=delta + margin,
            detectable=detectable,
            p=p,
            evaluated_at=at,
            recent=comparison.recent,
            earlier=comparison.earlier,
            se=se,
            df=df,
            alpha=alpha,
            cadence=cadence,
            stability=_own_stability(stability, construct, comparison.items),
        )
    return changes


def chance_flags_per_year() -> float:
    """The bound on a stable team's chance of a false flag in a year, at any cadence."""
    return YEAR_ALPHA


def comparison_words(cadence: str) -> str:
    """The one comparison, in words: "the last 3 rounds (six weeks) against the 6 before them"."""
    recent, baseline = WINDOWS[cadence]
    return _("the last %(recent)s rounds (%(time)s) against the %(baseline)s before them") % {
        "recent": recent,
        "time": RECENT_WORDS[cadence],
        "baseline": baseline,
    }


# Many teams at once -----------------------------------------------------------------------


def benjamini_hochberg(p_values: Sequence[float], rate: float = ORG_FDR) -> list[bool]:
    """Which of many p-values survive a false discovery rate of `rate`."""
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


def page_flags(changes: Sequence[Change | None], rate: float = ORG_FDR) -> list[bool]:
    """Which flags of a view of many teams may carry "unlikely to be chance even among every
    team on this page": Benjamini–Hochberg at `rate` over EVERY comparison the view shows (one
    per shown cell with a comparison, flagged or not; a cell without one is not a comparison),
    and the flag itself. Every flagged cell keeps its flag either way; only the words differ."""
    tested = [i for i, change in enumerate(changes) if change is not None and change.p is not None]
    kept = benjamini_hochberg([changes[i].p for i in tested], rate)  # type: ignore[misc,union-attr]
    out = [False] * len(changes)
    for i, keep in zip(tested, kept, strict=True):
        out[i] = keep and changes[i].flagged  # type: ignore[union-attr]
    return out


# Stability from the organisation's own rounds ---------------------------------------------


@dataclass(frozen=True)
class StabilityData:
    """The comparisons `fit_stability` fits, one row each (arrays), and how many of them are
    independent (do not share a round)."""

    delta: object
    variance: object
    sampling: object
    shared: object
    spread: object
    independent: float


def stability_data(
    nodes: Iterable[Mapping[str, Sequence[RoundPoint]]], *, cadence: str = Cadence.BIWEEKLY
) -> dict[StabilityKey, StabilityData]:
    """Every comparison the rule makes on the nodes' histories (at each round a node has
    published), by construct and item count."""
    import numpy as np

    rows: dict[StabilityKey, list[tuple[float, float, float, float, float]]] = {}
    independent: dict[StabilityKey, float] = {}
    span = LOOKBACK[cadence]
    for node in nodes:
        for construct, points in node.items():
            last_taken: dict[StabilityKey, int] = {}
            memo: dict = {}
            for at in sorted({p.number for p in points}, reverse=True):
                prepared = _comparable(points, lookback_numbers(cadence, at), memo)
                comparison = compare(
                    points, at=at, cadence=cadence, stability=None, construct=construct, prepared=prepared
                )
                if comparison is None:
                    continue
                key = stability_key(construct, comparison.items)
                rows.setdefault(key, []).append(
                    (comparison.delta, comparison.variance, comparison.sampling, comparison.shared, comparison.spread)
                )
                if key not in last_taken or last_taken[key] - at >= span:
                    last_taken[key] = at
                    independent[key] = independent.get(key, 0.0) + 1
    out = {}
    for key, table in rows.items():
        delta, variance, sampling, shared, spread = np.asarray(table, dtype=float).T
        out[key] = StabilityData(delta, variance, sampling, shared, spread, independent=independent.get(key, 0.0))
    return out


def fit_stability(data: StabilityData, *, prior: Stability) -> Stability:
    """The posterior mode of (rho, tau) given the comparisons (docs/measurement.md, "Stability"):
    each comparison's delta is modelled N(0, E) with E = v (S − rho C) + tau² K (v the pooled
    person-level variance, S = Σ c²/n, C = Σ c²/invited, K = Σ c²), robustly (the likelihood
    trimmed at ROBUST_Z, so a real change in the history counts for nothing beyond that), its
    log-likelihood tempered by independent / all (neighbouring comparisons share rounds), under
    the prior rho ~ N(PRIOR_RETEST, PRIOR_RETEST_SD²), tau ~ half-normal(PRIOR_SWING_SCALE)."""
    import numpy as np
    from scipy import optimize

    count = len(data.delta)  # type: ignore[arg-type]
    if count == 0 or data.independent == 0:
        return prior
    delta2 = np.asarray(data.delta) ** 2
    v, s, c, k = (np.asarray(x) for x in (data.variance, data.sampling, data.shared, data.spread))
    temper = data.independent / count
    cut = ROBUST_Z**2
    # E[u; u < cut] for u ~ chi-square(1): dividing by it keeps the trimmed fit unbiased.
    kept = 1 - 2 * (ROBUST_Z * math.exp(-cut / 2) / math.sqrt(2 * math.pi) + 0.5 * math.erfc(ROBUST_Z / math.sqrt(2)))

    def objective(theta) -> float:
        rho, tau = theta
        e = np.maximum(v * (s - rho * c) + tau * tau * k, 1e-9)
        h = np.minimum(delta2 / e, cut) / kept
        penalty = ((rho - prior.rho) / PRIOR_RETEST_SD) ** 2 + (tau / PRIOR_SWING_SCALE) ** 2
        return temper * float(np.sum(np.log(e) + h)) + penalty

    best = None
    for start in ((prior.rho, 0.0), (prior.rho, 0.05), (0.3, 0.1)):
        result = optimize.minimize(objective, start, method="L-BFGS-B", bounds=(RETEST_BOUNDS, SWING_BOUNDS))
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None
    rho, tau = (float(x) for x in best.x)
    # rho's posterior SD from the curvature of the objective (−2 log posterior) at the mode.
    step = 1e-3
    curvature = (objective((rho + step, tau)) - 2 * objective((rho, tau)) + objective((rho - step, tau))) / step**2
    rho_sd = math.sqrt(2 / curvature) if curvature > 0 else PRIOR_RETEST_SD
    return Stability(rho=rho, swing=tau, comparisons=data.independent, rho_sd=rho_sd)


def estimate_stability(
    nodes: Iterable[Mapping[str, Sequence[RoundPoint]]], *, cadence: str = Cadence.BIWEEKLY
) -> dict[StabilityKey, Stability]:
    """Rho and tau per (construct, item count) from an organisation's published rounds.

    `nodes`: one history per node, as `team_changes` takes it. Pass LEAF teams (their people
    are disjoint, so their comparisons are independent), a year or so of rounds of one survey
    (its cadence). Keys with no data are absent (callers fall back to the prior)."""
    return {
        key: fit_stability(data, prior=prior_stability(key[1]))
        for key, data in stability_data(nodes, cadence=cadence).items()
    }
