"""Change detection (docs/measurement.md, "Change"): one example worked out by hand, then the
rule's parts on simulated histories. The statistical figures (false flags a year, power, the
stated figure) are `manage.py benchmark change_detection`'s."""

import math

import numpy as np
import pytest
from scipy import stats

from surveys.engine import changes as ch
from surveys.engine.changes import (
    DECLINED,
    IMPROVED,
    NO_CLEAR_CHANGE,
    NOT_ENOUGH_ROUNDS,
    RoundPoint,
    benjamini_hochberg,
    team_changes,
)
from tests.support.histograms import A, B

WORSE = {"autonomy": False, "exhaustion": True}


def points(*rounds, rate=1.0, start=1):
    """RoundPoints of a one-item construct, oldest first, numbered from `start`."""
    return [RoundPoint(start + i, (counts,), rate) for i, counts in enumerate(rounds)]


def test_a_change_worked_out_by_hand():
    # Fortnightly, at round 4: the recent window is rounds 2–4 (B), the baseline round 1 (A).
    change = team_changes({"autonomy": points(A, B, B, B)}, at=4, higher_is_worse={})["autonomy"]
    # A: mean 3.2, squares 15.6; B: mean 4.2, squares 5.6; ten answers each, ten invited.
    # The variance is pooled over the four rounds: (15.6 + 3 · 5.6) / (4 · 9) = 0.9, df 36.
    # Contrast weights 1/3 on each recent round, −1 on the baseline: Σc²/n = 3 · (1/9)/10 + 1/10
    # = 0.13333, Σc²/N the same (everyone answered); one item, so the prior rho is 0.40:
    # var = 0.9 · 0.13333 · (1 − 0.40) = 0.072.
    se = math.sqrt(0.9 * (0.1 / 3 + 0.1) * (1 - 0.40))
    assert change.se == pytest.approx(se) and se == pytest.approx(0.26833, abs=1e-5)
    assert change.delta == pytest.approx(1.0) and change.df == 36
    p = 2 * stats.t.sf(1.0 / se, 36)
    assert change.p == pytest.approx(p)  # ≈ 0.0007, below 0.08 / (26 rounds · 1 construct) = 0.0031
    assert change.alpha == pytest.approx(0.08 / 26)
    margin = stats.t.ppf(0.95, 36) * se
    assert (change.low, change.high) == pytest.approx((1.0 - margin, 1.0 + margin))
    assert change.status == IMPROVED and change.label == "Likely improved" and change.evaluated_at == 4
    assert change.comparison == "rounds 2–4 against round 1"
    # On a higher-is-worse construct the same rise is a decline.
    worse = team_changes({"exhaustion": points(A, B, B, B)}, at=4, higher_is_worse={"exhaustion": True})
    assert worse["exhaustion"].status == DECLINED


def histogram(rng, people, centre, sd=0.8):
    values = np.clip(np.rint(rng.normal(centre, sd, people)), 1, 5).astype(int)
    return tuple(int(x) for x in np.bincount(values - 1, minlength=5))


def history(rng, rounds, people=10, invited=12, centre=3.5, shift=0.0, start=None, hidden=(), keys=None):
    out = []
    for number in range(1, rounds + 1):
        if number in hidden:
            continue
        level = centre + (shift if start is not None and number >= start else 0.0)
        items = tuple(histogram(rng, people, level) for _ in range(2 if keys is None else len(keys)))
        out.append(RoundPoint(number, items, people / invited, keys=keys, invited=invited))
    return out


def test_windows_are_sized_to_the_cadence_and_said_the_same_way():
    assert ch.WINDOWS == {"weekly": (6, 12), "biweekly": (3, 6), "monthly": (2, 4)}
    recent, baseline = ch.windows_at("biweekly", 12)
    assert list(recent) == [10, 11, 12] and list(baseline) == [4, 5, 6, 7, 8, 9]
    assert ch.LOOKBACK["biweekly"] == 9 and ch.CHANGE_LOOKBACK == 18
    assert ch.comparison_words("biweekly") == "the last 3 rounds (six weeks) against the 6 before them"
    assert ch.comparison_words("monthly") == "the last 2 rounds (two months) against the 4 before them"


def test_the_budget_is_spent_per_year():
    # Bonferroni over every look of a year and every construct asked.
    assert ch.comparison_alpha(6, "biweekly") == pytest.approx(0.08 / (26 * 6))
    assert ch.comparison_alpha(6, "monthly") == pytest.approx(0.08 / (12 * 6))
    assert ch.comparison_alpha(4, "weekly") == pytest.approx(0.08 / (52 * 4))
    assert ch.chance_flags_per_year() == ch.YEAR_ALPHA == 0.08


def test_a_large_lasting_drop_is_flagged_and_every_card_says_its_comparison_the_same_way():
    rng = np.random.default_rng(1)
    got = team_changes(
        {
            "autonomy": history(rng, 12, people=20, invited=24, shift=-1.0, start=10),
            "exhaustion": history(rng, 12, people=20, invited=24, centre=2.2),
        },
        at=12,
        higher_is_worse=WORSE,
    )
    change = got["autonomy"]
    assert change.status == DECLINED and change.flagged
    assert change.comparison == "rounds 10–12 against rounds 4–9"
    assert change.low < change.delta < change.high < 0
    assert change.p < change.alpha == ch.comparison_alpha(2)
    assert got["exhaustion"].comparison == "rounds 10–12 against rounds 4–9"


def test_a_hidden_round_is_left_out_not_bridged():
    rng = np.random.default_rng(2)
    change = team_changes({"autonomy": history(rng, 12, hidden=(11, 5))}, at=12, higher_is_worse=WORSE)["autonomy"]
    assert change.recent.numbers == (10, 12) and change.recent.rounds_label == "rounds 10 and 12"
    assert change.earlier.numbers == (4, 6, 7, 8, 9)
    # Nothing in the recent window: not enough rounds (the baseline is not stretched back).
    change = team_changes({"autonomy": history(rng, 12, hidden=(10, 11, 12))}, at=12, higher_is_worse=WORSE)
    assert change["autonomy"].status == NOT_ENOUGH_ROUNDS


def test_first_rounds():
    rng = np.random.default_rng(3)
    first = team_changes({"autonomy": history(rng, 3)}, at=3, higher_is_worse=WORSE)["autonomy"]
    assert first.status == NOT_ENOUGH_ROUNDS and first.comparison == ""
    change = team_changes({"autonomy": history(rng, 4)}, at=4, higher_is_worse=WORSE)["autonomy"]
    assert change.earlier.numbers == (1,) and change.recent.numbers == (2, 3, 4)
    assert team_changes({"autonomy": []}, at=4, higher_is_worse={})["autonomy"].status == NOT_ENOUGH_ROUNDS


def test_items_of_another_bank_version_are_compared_on_what_they_share():
    rng = np.random.default_rng(4)
    old = history(rng, 6, keys=("exh-1",))
    new = [
        RoundPoint(p.number + 6, p.items, p.response_rate, keys=("exh-1", "exh-4"), invited=p.invited)
        for p in history(rng, 3, keys=("exh-1", "exh-4"))
    ]
    comparison = ch.compare(old + new, at=9, cadence="biweekly", stability=None, construct="exhaustion")
    assert comparison.items == 1  # exh-1 only, in every round
    assert comparison.recent.numbers == (7, 8, 9) and comparison.earlier.numbers == (1, 2, 3, 4, 5, 6)
    # Once the baseline holds only the new version, both items are compared.
    later = new + [RoundPoint(n, p.items, 0.8, keys=p.keys, invited=12) for n, p in zip((4, 5, 6), new, strict=True)]
    assert ch.compare(later, at=9, cadence="biweekly", stability=None, construct="exhaustion").items == 2
    only_new = ch.compare(
        [*new, RoundPoint(6, (histogram(rng, 10, 3),), 0.8, keys=("dis-9",))],
        at=9,
        cadence="biweekly",
        stability=None,
        construct="exhaustion",
    )
    assert only_new is None  # the round sharing no item is dropped, leaving no baseline


def test_the_se_model():
    rng = np.random.default_rng(5)
    pts = history(rng, 9, people=9, invited=12)

    def se(stability):
        return ch.compare(pts, at=9, cadence="biweekly", stability=stability, construct="autonomy")

    low, high = se({("autonomy", 2): ch.Stability(0.3)}), se({("autonomy", 2): ch.Stability(0.7)})
    swing = se({("autonomy", 2): ch.Stability(0.7, 0.1)})
    assert low.se > high.se  # more stable people: the windows share more, the difference varies less
    assert swing.se == pytest.approx(math.sqrt(high.se**2 + 0.01 * (1 / 3 + 1 / 6)))
    expected = high.variance * ((1 / 3 + 1 / 6) / 9 - 0.7 * (1 / 3 + 1 / 6) / 12)
    assert high.se == pytest.approx(math.sqrt(expected))
    # Without an estimate, the prior (two items: 0.45).
    assert se(None).se == pytest.approx(se({("autonomy", 2): ch.Stability(0.45)}).se)


def test_a_difference_below_a_quarter_point_is_never_flagged_however_sure():
    recent, earlier = [0, 0, 800, 200, 0], [0, 0, 1000, 0, 0]  # means 3.2 and 3.0
    change = team_changes({"autonomy": points(earlier, recent, recent, recent)}, at=4, higher_is_worse={})
    assert change["autonomy"].low > 0  # the interval excludes 0 ...
    assert change["autonomy"].status == NO_CLEAR_CHANGE  # ... but |delta| = 0.2 < 0.25


def test_the_stated_figure():
    rng = np.random.default_rng(6)
    alpha = ch.comparison_alpha(6)
    big = ch.stated_change(history(rng, 9, people=45, invited=50), at=9, alpha=alpha)
    small = ch.stated_change(history(rng, 9, people=9, invited=12), at=9, alpha=alpha)
    assert ch.MIN_CHANGE < big < small < ch.STATED_LIMIT
    # A node that can hardly be published (5 invited: everyone must answer) gets no figure.
    assert ch.stated_change(history(rng, 9, people=5, invited=5), at=9, alpha=alpha) is None
    # The chance a round is published counts k + 1 answers (a cushion), so 5 invited never are.
    assert ch.publication_chance(5, 1.0) == 0.0 and ch.publication_chance(6, 1.0) == 1.0
    assert ch.publication_chance(8, 0.75) == pytest.approx(
        sum(math.comb(8, j) * 0.75**j * 0.25 ** (8 - j) for j in range(6, 9))
    )
    # A stricter publication threshold makes the coming rounds less likely to show: a larger figure.
    pts = history(rng, 9, people=9, invited=12)
    assert ch.stated_change(pts, at=9, alpha=alpha, k_min=7) > ch.stated_change(pts, at=9, alpha=alpha, k_min=5)
    change = ch.Change(NO_CLEAR_CHANGE, detectable=2.1)
    assert change.shown_detectable is None  # above STATED_LIMIT: only very large changes


def test_words_that_do_not_overclaim():
    rng = np.random.default_rng(7)
    six = ("autonomy", "competence", "relatedness", "beneficence", "exhaustion", "mental_distance")

    def changes(people, invited):
        got = team_changes(
            {c: history(rng, 9, people=people, invited=invited) for c in six}, at=9, higher_is_worse=WORSE
        )
        return got["autonomy"]

    small, large = changes(6, 8), changes(45, 50)
    assert small.would_miss(0.5) and not large.would_miss(0.5)
    assert 0 <= small.power_for(0.5) < 0.5 < large.power_for(0.5) <= 1
    assert ch.Change(NOT_ENOUGH_ROUNDS).would_miss()  # nothing compared: nothing could be spotted


def test_benjamini_hochberg_over_an_organisation_view():
    # ranks 1..4 against 0.1·r/4 = 0.025, 0.05, 0.075, 0.1
    assert benjamini_hochberg([0.01, 0.04, 0.2, 0.07]) == [True, True, False, True]
    assert benjamini_hochberg([0.3, 0.5]) == [False, False]


def test_page_flags_count_every_comparison_shown():
    flagged = ch.Change(DECLINED, delta=-0.5, p=0.004)
    quiet = [ch.Change(NO_CLEAR_CHANGE, delta=0.0, p=0.5) for _ in range(9)]
    # 10 comparisons: 0.004 ≤ 0.1 · 1/10 survives ...
    assert ch.page_flags([flagged, *quiet]) == [True] + [False] * 9
    # ... 100 comparisons: 0.004 > 0.1 · 1/100 does not; cells without a comparison do not count.
    many = [flagged, *quiet * 11, None, ch.Change(NOT_ENOUGH_ROUNDS)]
    assert not ch.page_flags(many)[0]
    assert ch.page_flags([flagged, *quiet, None, ch.Change(NOT_ENOUGH_ROUNDS)])[0]
    # A comparison that survives but is not flagged (below MIN_CHANGE) carries no words.
    assert ch.page_flags([ch.Change(NO_CLEAR_CHANGE, delta=0.2, p=0.0001)]) == [False]


def test_a_stored_estimate_reads_back_the_same():
    estimates = {("autonomy", 2): ch.Stability(0.52, 0.03, 41.0, 0.05), ("exhaustion", 1): ch.Stability(0.4)}
    assert ch.stability_of_record(ch.stability_record(estimates)) == estimates
    assert ch.stability_of_record({}) == {}


def test_stability_estimate_follows_the_data_and_shrinks_to_the_prior():
    rng = np.random.default_rng(8)
    assert ch.estimate_stability([]) == {}

    # A person's level (SD 0.6) plus each item's own noise (SD 0.6, fresh each round): items
    # correlate 0.5 within people, as ITEM_CORRELATION assumes. Of the level, the share `keep`
    # is the person's for good.
    def org(keep, teams=60, rounds=26, story=0.0):
        nodes = []
        for team in range(teams):
            size = int(rng.choice([6, 8, 10, 15, 25]))
            stable = rng.normal(0, math.sqrt(keep) * 0.6, size)
            pts = []
            for number in range(1, rounds + 1):
                answering = rng.random(size) < 0.8
                if answering.sum() < 5:
                    continue
                shift = story if team % 10 == 0 and number > rounds // 2 else 0.0
                level = 3.2 + shift + stable[answering] + rng.normal(0, math.sqrt(1 - keep) * 0.6, answering.sum())
                items = tuple(
                    tuple(
                        int(x)
                        for x in np.bincount(
                            np.clip(np.rint(level + rng.normal(0, 0.6, level.size)), 1, 5).astype(int) - 1, minlength=5
                        )
                    )
                    for _ in range(2)
                )
                pts.append(RoundPoint(number, items, answering.sum() / size, invited=size))
            nodes.append({"autonomy": pts})
        data = ch.stability_data(nodes)[("autonomy", 2)]
        fit = ch.estimate_stability(nodes)[("autonomy", 2)]
        d2, v = np.asarray(data.delta) ** 2, np.asarray(data.variance)
        e = v * (np.asarray(data.sampling) - fit.rho * np.asarray(data.shared)) + fit.swing**2 * np.asarray(data.spread)
        return fit, float(np.median(d2 / e) / 0.4549)  # the median of chi-square(1) is 0.4549

    (steady, steady_scale), (fresh, fresh_scale) = org(0.9), org(0.0)
    # What matters: the fitted SEs match how much the comparisons really vary ...
    assert 0.85 < steady_scale < 1.15 and 0.85 < fresh_scale < 1.15
    # ... and stable people are told from fresh ones.
    assert steady.rho > fresh.rho + 0.1
    assert steady.source == "estimated" and steady.comparisons > 100 and steady.rho_sd < ch.PRIOR_RETEST_SD
    # One team in ten with a lasting 1.5-point change half-way: the trimmed fit barely moves.
    storied, storied_scale = org(0.9, story=1.5)
    assert abs(storied.rho - steady.rho) < 0.1 and storied.swing < 0.06 and 0.85 < storied_scale < 1.15
    # A little history: close to the prior.
    few, _ = org(0.9, teams=3, rounds=10)
    assert abs(few.rho - ch.PRIOR_RETEST[2]) < 0.1 and few.rho_sd > steady.rho_sd
