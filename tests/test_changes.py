"""Change detection against values worked out by hand (docs/measurement.md, "Change"). The
arithmetic is in the comments; only Student's t and normal quantiles come from scipy."""

import math

import pytest
from scipy import stats

from surveys.engine.changes import (
    DECLINED,
    IMPROVED,
    NO_CLEAR_CHANGE,
    NOT_ENOUGH_ROUNDS,
    RoundPoint,
    _holm,
    benjamini_hochberg,
    chance_flags_per_year,
    team_changes,
)
from surveys.engine.scoring import item_score
from tests.support.histograms import A, B


def points(*rounds, rate=1.0, start=1):
    """RoundPoints of a one-item construct, oldest first, numbered from `start`."""
    return [RoundPoint(start + i, (counts,), rate) for i, counts in enumerate(rounds)]


def test_change_compares_windows_with_an_se_for_the_same_people():
    # Rounds 1–2 answer A, rounds 3–4 answer B; evaluated at round 4 (on the grid).
    changes = team_changes({"autonomy": points(A, A, B, B)}, at=4, higher_is_worse={})
    change = changes["autonomy"]
    # B: mean 4.2, squares 2·1.2² + 4·0.2² + 4·0.8² = 5.6; A: mean 3.2, squares 15.6.
    # The person-level variance is pooled over both windows' rounds: (2·9·5.6/9 + 2·9·15.6/9) / 36
    # = (11.2 + 31.2) / 36 = 1.17778, with 36 degrees of freedom; each window averages 1/10.
    # var(delta) = 1.17778 · (0.1/2 + 0.1/2) · (1 − 0.6 · 1.0) = 0.117778 · 0.4 = 0.047111
    se = math.sqrt(42.4 / 36 * (0.1 / 2 + 0.1 / 2) * (1 - 0.6))
    assert se == pytest.approx(0.21705, abs=1e-5)
    assert change.delta == pytest.approx(1.0)
    df = 4 * 9
    p = 2 * stats.t.sf(1.0 / se, df)
    assert change.p == pytest.approx(p)  # ≈ 0.0001: below 0.005 (Holm over the one comparison there is)
    margin = stats.t.ppf(0.95, df) * se
    assert (change.low, change.high) == pytest.approx((1.0 - margin, 1.0 + margin))
    assert change.status == IMPROVED and change.label == "Likely improved" and change.kind == "step"
    assert change.evaluated_at == 4
    # 80% power at the strictest Holm step: 2 comparisons per construct, one construct.
    detectable = (stats.t.ppf(1 - 0.005 / 2 / 2, df) + stats.norm.ppf(0.8)) * se
    assert change.detectable == pytest.approx(detectable)
    # On a higher-is-worse construct the same rise is a decline.
    worse = team_changes({"exhaustion": points(A, A, B, B)}, at=4, higher_is_worse={"exhaustion": True})
    assert worse["exhaustion"].status == DECLINED


def test_fewer_people_answering_in_both_windows_widen_the_se():
    full = team_changes({"autonomy": points(A, A, B, B, rate=1.0)}, at=4, higher_is_worse={})["autonomy"]
    half = team_changes({"autonomy": points(A, A, B, B, rate=0.5)}, at=4, higher_is_worse={})["autonomy"]
    assert half.p > full.p
    assert half.high - half.low == pytest.approx((full.high - full.low) * math.sqrt((1 - 0.3) / (1 - 0.6)))


def test_flags_are_evaluated_every_second_round_only():
    history = {"autonomy": points(A, A, B, B, B)}
    assert (
        team_changes(history, at=5, higher_is_worse={})["autonomy"]
        == team_changes({"autonomy": points(A, A, B, B)}, at=4, higher_is_worse={})["autonomy"]
    )
    assert team_changes(history, at=3, higher_is_worse={})["autonomy"].status == NOT_ENOUGH_ROUNDS


def test_a_slow_drift_is_caught_across_a_window_where_each_step_is_small():
    slide = [[0, 0, 2, 4, 4], [0, 0, 3, 4, 3], [0, 1, 3, 4, 2], [0, 1, 4, 3, 2], [0, 2, 4, 3, 1], [0, 2, 5, 2, 1]]
    big = [[c * 3 for c in counts] for counts in slide]  # thirty people a round
    change = team_changes({"autonomy": points(*big)}, at=6, higher_is_worse={})["autonomy"]
    assert change.status == DECLINED and change.kind == "drift"
    step = _compare_windows(big[2:4], big[4:6])
    assert abs(step) < abs(change.delta)


def _compare_windows(earlier, recent):
    mean = lambda rounds: sum(item_score(c).mean for c in rounds) / len(rounds)  # noqa: E731
    return mean(recent) - mean(earlier)


def test_holm_keeps_a_team_of_many_constructs_to_the_family_rate():
    # Twelve comparisons each with p just under the single-test level: Holm flags none of them.
    assert _holm([0.004] * 12, 0.005) == [False] * 12
    assert _holm([0.0001, 0.004], 0.005) == [True, True]  # 0.0001 ≤ α/2, then 0.004 ≤ α/1
    assert _holm([0.003, 0.004], 0.005) == [False, False]


def test_benjamini_hochberg_over_an_organisation_view():
    # ranks 1..4 against 0.1·r/4 = 0.025, 0.05, 0.075, 0.1
    assert benjamini_hochberg([0.01, 0.04, 0.2, 0.07]) == [True, True, False, True]
    assert benjamini_hochberg([0.3, 0.5]) == [False, False]


def test_change_below_a_quarter_point_is_never_flagged_however_sure():
    recent, earlier = [0, 0, 800, 200, 0], [0, 0, 1000, 0, 0]  # means 3.2 and 3.0
    change = team_changes({"autonomy": points(earlier, earlier, recent, recent)}, at=4, higher_is_worse={})["autonomy"]
    assert change.low > 0  # the interval excludes 0 ...
    assert change.status == NO_CLEAR_CHANGE  # ... but |delta| = 0.2 < 0.25


def test_gaps_and_too_few_rounds():
    assert team_changes({"autonomy": []}, at=4, higher_is_worse={})["autonomy"].status == NOT_ENOUGH_ROUNDS
    one_window = team_changes({"autonomy": points(A, B, start=3)}, at=4, higher_is_worse={})["autonomy"]
    assert one_window.status == NOT_ENOUGH_ROUNDS and one_window.detectable is not None
    # A hidden round is a gap, skipped: rounds 4 and 2 make the latest window, round 1 the one before.
    gappy = [RoundPoint(1, (A,), 1.0), RoundPoint(2, (B,), 1.0), RoundPoint(4, (B,), 1.0)]
    change = team_changes({"autonomy": gappy}, at=4, higher_is_worse={})["autonomy"]
    assert change.status == IMPROVED and change.recent.rounds == 2 and change.earlier.rounds == 1
    # Nothing published in the latest window: nothing recent to judge.
    stale = team_changes({"autonomy": points(A, A, B, B)}, at=6, higher_is_worse={})["autonomy"]
    assert stale.status == NOT_ENOUGH_ROUNDS


def test_small_teams_can_only_detect_large_shifts():
    def detectable(people):
        counts = [0, people // 2, 0, people - people // 2, 0]
        return team_changes({"autonomy": points(*[counts] * 4)}, at=4, higher_is_worse={})["autonomy"].detectable

    assert detectable(6) > detectable(30) > detectable(300) >= 0.25
    assert detectable(6) > 1.0


def test_chance_flags_per_year():
    assert chance_flags_per_year(26) == pytest.approx(13 * 0.005)  # fortnightly: under 1 in 10
