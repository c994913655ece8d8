"""Scores against values worked out by hand (docs/measurement.md). The arithmetic is in the comments;
only Student's t quantiles come from scipy."""

import math

import pytest
from scipy import stats

from surveys.scoring import (
    DECLINED,
    IMPROVED,
    NO_CLEAR_CHANGE,
    NOT_ENOUGH_ROUNDS,
    burnout_signal,
    construct_change,
    construct_score,
    item_score,
    to_index,
)

A = [1, 2, 3, 2, 2]  # ten answers
B = [0, 0, 2, 4, 4]  # ten answers
T9 = stats.t.ppf(0.95, 9)  # 1.8331


def test_item_mean_sd_interval_index_and_shares():
    score = item_score(A)
    # mean = (1·1 + 2·2 + 3·3 + 4·2 + 5·2) / 10 = 32 / 10 = 3.2
    assert score.mean == pytest.approx(3.2)
    # squares: 1·2.2² + 2·1.2² + 3·0.2² + 2·0.8² + 2·1.8² = 4.84 + 2.88 + 0.12 + 1.28 + 6.48 = 15.6
    # sd = √(15.6 / 9) = 1.31656; se = 1.31656 / √10 = 0.41633
    assert score.sd == pytest.approx(math.sqrt(15.6 / 9))
    assert score.se == pytest.approx(math.sqrt(15.6 / 9) / math.sqrt(10))
    assert score.se == pytest.approx(0.41633, abs=1e-5)
    # 90% t interval, 9 df: 3.2 ± 1.8331 · 0.41633 = 3.2 ± 0.76318
    assert score.low == pytest.approx(3.2 - T9 * score.se)
    assert score.high == pytest.approx(2.43682 + 2 * 0.76318, abs=1e-4)
    # index = (3.2 − 1) · 25 = 55
    assert score.index == pytest.approx(55.0)
    assert score.index_low == pytest.approx((score.low - 1) * 25)
    # agree item: favourable 4–5 = 4/10, neutral 3/10, unfavourable 1–2 = 3/10
    assert (score.shares.favourable, score.shares.neutral, score.shares.unfavourable) == pytest.approx((0.4, 0.3, 0.3))


def test_higher_is_worse_items_count_low_answers_as_favourable():
    shares = item_score(A, higher_is_worse=True).shares
    assert (shares.favourable, shares.unfavourable) == pytest.approx((0.3, 0.4))


def test_nobody_answered_and_everyone_agreed():
    assert item_score([0, 0, 0, 0, 0]) is None
    unanimous = item_score([0, 0, 0, 0, 5])
    assert (unanimous.mean, unanimous.sd, unanimous.low, unanimous.high) == (5.0, 0.0, 5.0, 5.0)
    # An interval never leaves the 1–5 scale.
    assert item_score([4, 0, 0, 0, 1]).low == 1.0


def test_construct_is_the_mean_of_item_means_with_a_conservative_interval():
    score = construct_score("autonomy", [item_score(A), item_score(B)])
    # B: mean (2·3 + 4·4 + 4·5) / 10 = 4.2; squares 2·1.2² + 4·0.2² + 4·0.8² = 2.88 + 0.16 + 2.56 = 5.6
    # se_B = √(5.6 / 9) / √10 = 0.24944
    # construct mean = (3.2 + 4.2) / 2 = 3.7; index = 2.7 · 25 = 67.5
    assert score.mean == pytest.approx(3.7)
    assert score.index == pytest.approx(67.5)
    # se = mean of item SEs = (0.41633 + 0.24944) / 2 = 0.33289 (an upper bound on the true SE)
    assert score.se == pytest.approx((0.41633 + 0.24944) / 2, abs=1e-5)
    # 9 df (the smallest item's n − 1): 3.7 ± 1.8331 · 0.33289 = 3.7 ± 0.61022
    assert score.df == 9
    assert (score.low, score.high) == pytest.approx((3.08978, 4.31022), abs=1e-4)
    # shares: the mean of the items' shares, favourable (0.4 + 0.8) / 2 = 0.6
    assert score.shares.favourable == pytest.approx(0.6)
    assert construct_score("autonomy", []) is None


def test_burnout_signal_uses_provisional_non_clinical_zones():
    exhaustion = construct_score("exhaustion", [item_score([0, 10, 0, 0, 0])])  # mean 2
    distance = construct_score("mental_distance", [item_score([0, 0, 10, 0, 0])])  # mean 3
    signal = burnout_signal(exhaustion, distance)
    assert signal.mean == pytest.approx(2.5)  # (2 + 3) / 2
    assert (signal.zone, signal.label) == ("some", "Some signs of strain")
    calm = construct_score("mental_distance", [item_score([5, 5, 0, 0, 0])])  # mean 1.5
    assert burnout_signal(calm, calm).zone == "few"
    assert burnout_signal(exhaustion, None) is None


def test_change_flags_a_likely_improvement_with_the_welch_interval():
    # newest first: two rounds of B, then two rounds of A; one item (question 7)
    history = [{7: B}, {7: B}, {7: A}, {7: A}]
    change = construct_change(history, question_ids=[7], k=5)
    # recent window: pooled [0, 0, 4, 8, 8], mean 4.2, sd √(11.2 / 19) = 0.76777;
    # the same ten people answered both rounds, so se uses 10 people: 0.76777 / √10 = 0.24279
    # earlier window: pooled [2, 4, 6, 4, 4], mean 3.2, sd √(31.2 / 19) = 1.28145, se 0.40523
    recent_se, earlier_se = math.sqrt(11.2 / 19) / math.sqrt(10), math.sqrt(31.2 / 19) / math.sqrt(10)
    assert change.recent.se == pytest.approx(recent_se)
    assert change.earlier.se == pytest.approx(earlier_se)
    # delta = 1.0; se = √(0.24279² + 0.40523²) = 0.47239
    se = math.hypot(recent_se, earlier_se)
    # Welch df = (v1 + v2)² / (v1²/9 + v2²/9) = 14.72
    df = (recent_se**2 + earlier_se**2) ** 2 / (recent_se**4 / 9 + earlier_se**4 / 9)
    assert df == pytest.approx(14.72, abs=0.01)
    margin = stats.t.ppf(0.95, df) * se  # ≈ 0.8289
    assert change.delta == pytest.approx(1.0)
    assert (change.low, change.high) == pytest.approx((1.0 - margin, 1.0 + margin))
    assert change.status == IMPROVED
    assert change.label == "Likely improved"
    assert change.detectable == pytest.approx(margin)
    # On a higher-is-worse construct the same rise is a decline.
    assert construct_change(history, question_ids=[7], k=5, higher_is_worse=True).status == DECLINED


def test_change_below_a_quarter_point_is_never_flagged_however_sure():
    recent, earlier = [0, 0, 800, 200, 0], [0, 0, 1000, 0, 0]  # means 3.2 and 3.0
    change = construct_change([{1: recent}, {1: recent}, {1: earlier}, {1: earlier}], question_ids=[1], k=5)
    assert change.low > 0  # the interval excludes 0 ...
    assert change.status == NO_CLEAR_CHANGE  # ... but |delta| = 0.2 < 0.25


def test_change_needs_k_people_in_both_windows_and_four_rounds():
    small = [0, 0, 0, 0, 4]
    big = [4, 0, 0, 0, 0]
    # Rounds of 4 people each with k = 5: a 4-point jump is still not flagged.
    change = construct_change([{1: small}, {1: small}, {1: big}, {1: big}], question_ids=[1], k=5)
    assert change.status == NO_CLEAR_CHANGE
    three = construct_change([{1: B}, {1: B}, {1: A}], question_ids=[1], k=5)
    assert three.status == NOT_ENOUGH_ROUNDS
    # With one window, the smallest detectable change assumes the earlier window alike:
    # t(df) · √2 · se_recent
    se = math.sqrt(11.2 / 19) / math.sqrt(10)
    assert three.detectable == pytest.approx(stats.t.ppf(0.95, 18) * math.sqrt(2) * se)
    assert construct_change([], question_ids=[1], k=5).detectable is None


def test_small_teams_can_only_detect_large_shifts():
    def detectable(people):
        counts = [0, people // 2, 0, people - people // 2, 0]
        return construct_change([{1: counts}] * 4, question_ids=[1], k=5).detectable

    assert detectable(6) > detectable(30) > detectable(300) >= 0.25
    assert detectable(6) > 1.0


def test_index_scale():
    assert (to_index(1), to_index(3), to_index(5)) == (0, 50, 100)
