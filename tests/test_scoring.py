"""Scores against values worked out by hand (docs/measurement.md). The arithmetic is in the comments;
only Student's t quantiles come from scipy."""

import math

import pytest
from scipy import stats

from surveys.engine.scoring import (
    burnout_signal,
    construct_score,
    index_tone,
    interval_tone,
    item_score,
    shown_index,
    to_index,
)
from tests.support.histograms import A, B

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


def test_index_scale():
    assert (to_index(1), to_index(3), to_index(5)) == (0, 50, 100)


def test_a_figure_is_coloured_as_it_is_printed():
    # A mean of exactly 3.5 is index 62.5: printed 63, and coloured as 63 is (good), not as 62.
    assert shown_index(to_index(3.5)) == 63
    assert index_tone(to_index(3.5)) == "good"
    assert index_tone(62.4) == "mixed" and shown_index(62.4) == 62
    assert index_tone(37.5, higher_is_worse=True) == "mixed"  # printed 38, in the 38–62 band
    assert shown_index(-12.5) == -12  # changes too: halves go up
    two = construct_score("exhaustion", [item_score([0, 10, 0, 10, 0])])  # mean 3.0
    high = construct_score("mental_distance", [item_score([0, 0, 0, 0, 10])])  # mean 5.0 -> signal 4.0
    assert burnout_signal(two, two).zone == "some"
    assert burnout_signal(two, high).zone == "many"
    edge = construct_score("exhaustion", [item_score([0, 0, 10, 10, 0])])  # mean 3.5, index 62.5, printed 63
    assert burnout_signal(edge, edge).zone == "many"


def test_colour_and_zone_only_when_the_interval_allows():
    assert interval_tone(70, 64, 76) == "good"
    assert interval_tone(70, 55, 85) == "unsure"  # spans mixed and good
    assert interval_tone(30, 20, 36, higher_is_worse=True) == "good"
    small = construct_score("exhaustion", [item_score([0, 2, 2, 2, 0])])  # six people around "sometimes"
    signal = burnout_signal(small, small)
    assert signal.zone == "some" and not signal.zone_certain and signal.tone == "unsure"
    assert signal.n == 6 and signal.low < 2.5 < 3.5 < signal.high
    many = construct_score("exhaustion", [item_score([0, 60, 60, 60, 0])])
    steady = burnout_signal(many, many)
    assert steady.zone_certain and steady.tone == "mixed" and steady.shown_label == "Some signs of strain"
