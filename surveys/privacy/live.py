"""What HR may see of a round while it is open, and before it opens (docs/privacy.md,
"While a round is open").

While a round is open, HR sees participation estimates for the whole scope and for groups of at
least LIVE_MIN_PEOPLE people, and an estimate of how many reporting units would be shown if the
round closed now. Each estimate is taken at fixed times (every LIVE_HOURS hours, on the clock),
so refreshing a page shows the same figures until the next one; and each carries random noise
whose every value has a chance, so no count, and no change between two estimates, can ever
confirm that a given person answered, even for someone who knows when that person says they did.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

import numpy as np
from scipy import stats

#: Estimates are taken at most once per this many hours, at fixed times of the day (UTC).
LIVE_HOURS = 6
#: Smallest group whose participation is estimated while a round is open.
LIVE_MIN_PEOPLE = 20
#: Strength of the noise: the chance of any shown estimate changes by at most a factor
#: e^LIVE_EPSILON when one person answers or not (two-sided geometric noise, scale 1/ε).
LIVE_EPSILON = 0.5
#: Shown participation is rounded to this many per cent.
LIVE_STEP_PERCENT = 5
#: The response rates a plan is shown at.
PLANNING_RATES = (0.6, 0.7, 0.8, 0.9)


def live_period_start(now: dt.datetime) -> dt.datetime:
    """The start of the estimate period `now` falls in (00:00, 06:00, 12:00, 18:00 UTC)."""
    now = now.astimezone(dt.UTC)
    return now.replace(hour=now.hour - now.hour % LIVE_HOURS, minute=0, second=0, microsecond=0)


def noisy_counts(counts, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """Each count plus independent two-sided geometric noise (P(z) ∝ e^(−ε|z|)).

    Stops: confirming one person's answer from a count, a refresh or the difference of two
    estimates; every shown value is possible whatever the true counts are. The generator is
    seeded from the operating system, never from the data.
    """
    rng = rng or np.random.default_rng(secrets.randbits(128))
    counts = np.asarray(counts, dtype=np.int64)
    keep = math.exp(-LIVE_EPSILON)
    # The difference of two geometric variables on {0, 1, …} is two-sided geometric.
    first = rng.geometric(1 - keep, size=counts.shape) - 1
    second = rng.geometric(1 - keep, size=counts.shape) - 1
    return counts + first - second


def live_groups(*, parent: np.ndarray, invited: np.ndarray) -> np.ndarray:
    """The nodes whose participation HR may watch while a round is open: each root of the
    scope and every team with at least LIVE_MIN_PEOPLE invited in its subtree (`invited`:
    subtree totals). Smaller groups are left out: their noisy figures would be mostly noise."""
    parent, invited = np.asarray(parent), np.asarray(invited)
    return np.flatnonzero((parent < 0) | (invited >= LIVE_MIN_PEOPLE))


def shown_percent(estimate: int, invited: int) -> int:
    """An estimate as the page shows it: a share of the invited, clipped to 0–100 and rounded to
    LIVE_STEP_PERCENT (post-processing: it adds nothing to what the noisy estimate says)."""
    if invited <= 0:
        return 0
    share = min(max(estimate / invited, 0.0), 1.0) * 100
    return int(LIVE_STEP_PERCENT * round(share / LIVE_STEP_PERCENT))


def shown_chance(people: int, rate: float, k: int) -> float:
    """The chance that a unit of `people` has at least `k` respondents when each answers with
    probability `rate`: how likely it is to be shown at that response rate."""
    return float(stats.binom.sf(k - 1, people, rate)) if people >= k else 0.0


def response_to_show(people: int, k: int) -> int | None:
    """The smallest share of a unit (per cent, rounded up) that shows it; None when it is
    smaller than `k` and can never be shown on its own."""
    return math.ceil(100 * k / people) if people >= k else None
