"""When rounds open and close: pure date arithmetic, no database.

A survey's rounds follow its cadence from its first opening date. Each round opens at
PULSE_ROUND_OPEN_HOUR (local time, settings.TIME_ZONE) on its day and closes at the same local
time `open_days` later, so a round keeps its wall-clock times across daylight-saving changes.
Monthly rounds keep the day of the month of the first opening date, clamped to the month's
last day (a survey starting on 31 January opens on 28 or 29 February, then on 31 March).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from surveys.models import Cadence

#: Days between two rounds for the fixed cadences.
CADENCE_DAYS: dict[str, int] = {Cadence.WEEKLY: 7, Cadence.BIWEEKLY: 14}
#: The shortest gap between two rounds of each cadence; a round must close before the next opens.
CADENCE_MIN_DAYS: dict[str, int] = {Cadence.WEEKLY: 7, Cadence.BIWEEKLY: 14, Cadence.MONTHLY: 28}
#: Guard against a runaway search (about 40 years of weekly rounds).
_MAX_SLOTS = 2_000


@dataclass(frozen=True)
class Window:
    opens_at: dt.datetime
    closes_at: dt.datetime

    @property
    def halfway(self) -> dt.datetime:
        return self.opens_at + (self.closes_at - self.opens_at) / 2


def longest_open_days(cadence: str) -> int:
    """A round must close before the next one opens, even in the shortest gap of the cadence."""
    return CADENCE_MIN_DAYS[cadence] - 1


def slot_date(*, cadence: str, starts_on: dt.date, index: int) -> dt.date:
    """The opening day of the `index`-th round slot (0 is the first opening date)."""
    if cadence == Cadence.MONTHLY:
        months = starts_on.month - 1 + index
        year, month = starts_on.year + months // 12, months % 12 + 1
        return dt.date(year, month, min(starts_on.day, calendar.monthrange(year, month)[1]))
    return starts_on + dt.timedelta(days=CADENCE_DAYS[cadence] * index)


def local_time(day: dt.date) -> dt.datetime:
    """`day` at the opening hour, in the site's time zone."""
    opening = dt.time(hour=settings.PULSE_ROUND_OPEN_HOUR)
    return dt.datetime.combine(day, opening, tzinfo=timezone.get_default_timezone())


def slot_window(*, opens_on: dt.date, open_days: int) -> Window:
    return Window(local_time(opens_on), local_time(opens_on + dt.timedelta(days=open_days)))


def next_window(
    *, cadence: str, starts_on: dt.date, open_days: int, not_before: dt.datetime | None, now: dt.datetime
) -> Window:
    """The first slot that opens no earlier than `not_before` (when the previous round closes)
    and has not already closed: slots missed while nothing ran are skipped, not caught up."""
    for index in range(_MAX_SLOTS):
        window = slot_window(opens_on=slot_date(cadence=cadence, starts_on=starts_on, index=index), open_days=open_days)
        if (not_before is None or window.opens_at >= not_before) and window.closes_at > now:
            return window
    raise ValueError(f"No round slot within {_MAX_SLOTS} slots of {starts_on}.")


def restarted_window(*, window: Window, open_days: int, now: dt.datetime) -> Window:
    """The window a round opening at `now` gets.

    Opened early (HR's "Open now") or late with less than half its time left (nothing ran for
    a while), a round gets its full `open_days` from now, so people always have time to answer
    and the half-way reminder falls after the invitation. Otherwise it keeps its planned times.
    """
    if window.opens_at <= now < window.halfway:
        return window
    return Window(now, now + dt.timedelta(days=open_days))
