"""How the figures the selectors read are shown on the results pages: a measure's card (its
colour, its change in index points and in words), the heatmap's lines and how its tree folds
(query strings that open a team, so the tree works without script), and the hints and labels
beside them. No query runs here: everything is shaped from what `surveys.selectors` read.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext_lazy

from surveys.core.words import Words
from surveys.engine.changes import NOT_ENOUGH_ROUNDS, RECENT_WORDS, Change, comparison_words
from surveys.engine.scoring import BURNOUT_ZONES, TONE_BANDS, index_points, interval_tone, to_index
from surveys.models import BURNOUT_SIGNS, PILLARS, Construct, Team
from surveys.selectors.results import ConstructResult, Heatmap, HeatmapCell, HeatmapRow, ViewFlags

#: What each measure is about, as the cards say it.
CONSTRUCT_HINTS: dict[str, Words] = {
    Construct.AUTONOMY: gettext_lazy("A real say in how the work gets done"),
    Construct.COMPETENCE: gettext_lazy("What it takes to do good work"),
    Construct.RELATEDNESS: gettext_lazy("Support and belonging in the team"),
    Construct.BENEFICENCE: gettext_lazy("Seeing the work make a difference"),
    Construct.EXHAUSTION: gettext_lazy("Feeling worn out by work"),
    Construct.MENTAL_DISTANCE: gettext_lazy("Going through the motions at work"),
}

#: The heatmap's columns: the four conditions, then each burnout sign in a column of its own.
HEATMAP_COLUMNS = tuple((construct, Construct(construct).label) for construct in (*PILLARS, *BURNOUT_SIGNS))


# ------------------------------------------------------------------------------------------
# The colour key


@dataclass(frozen=True)
class KeyRange:
    """The printed figures (whole numbers, 0–100) a colour band or a burnout zone takes."""

    name: str
    low: int
    high: int


def _printed_ranges(bounds: Iterable[tuple[str, float]]) -> tuple[KeyRange, ...]:
    """Consecutive ranges of printed figures from (name, the figure it ends before) pairs, lowest
    first: a figure is coloured as it is printed (`scoring.shown_index`), so a band ending before
    37.5 takes 0–37 and the next starts at 38."""
    ranges, low = [], 0
    for name, bound in bounds:
        high = 100 if bound == math.inf else math.ceil(bound) - 1
        ranges.append(KeyRange(name, low, high))
        low = high + 1
    return tuple(ranges)


def colour_key() -> dict[str, tuple[KeyRange, ...] | dict[str, KeyRange]]:
    """What the colour key prints, from the bands and zones themselves (`scoring.TONE_BANDS`,
    `scoring.BURNOUT_ZONES`): each colour band's range of the index, best first, and each burnout
    zone's range of the signal, by zone."""
    zones = _printed_ranges((zone, to_index(bound)) for bound, zone, _ in BURNOUT_ZONES)
    return {"bands": _printed_ranges(TONE_BANDS)[::-1], "zones": {zone.name: zone for zone in zones}}


# ------------------------------------------------------------------------------------------
# A measure's card


@dataclass(frozen=True)
class ConstructCard:
    """One measure's figures for the round, with its change flag as it stood at that round."""

    result: ConstructResult
    hint: Words
    change: Change | None  # None when this round shows no score for it

    @property
    def tone(self) -> str:
        score = self.result.score
        if score is None:
            return "none"
        return interval_tone(
            score.index, score.index_low, score.index_high, higher_is_worse=self.result.higher_is_worse
        )

    @property
    def flagged(self) -> bool:
        return self.change is not None and self.change.flagged

    @property
    def delta_points(self) -> float | None:
        return None if self.change is None or self.change.delta is None else index_points(self.change.delta)

    @property
    def comparison(self) -> str:
        """Which rounds the flag compares, said the same way on every card."""
        return self.change.comparison if self.change is not None else ""

    @property
    def detectable_points(self) -> float | None:
        """The lasting change this team would spot four times in five within the recent
        window's time, in index points, beside a card that shows no flag; None when only very
        large changes could be told from chance (`Change.shown_detectable`)."""
        if self.change is None or self.flagged or self.change.shown_detectable is None:
            return None
        return index_points(self.change.shown_detectable)

    @property
    def within(self) -> Words:
        """The recent window's time ("six weeks"), in which the stated change would be spotted."""
        return RECENT_WORDS[self.change.cadence] if self.change is not None else ""

    @property
    def comparison_words(self) -> str:
        return comparison_words(self.change.cadence) if self.change is not None else ""

    @property
    def waiting_for_rounds(self) -> bool:
        return self.change is not None and self.change.status == NOT_ENOUGH_ROUNDS


# ------------------------------------------------------------------------------------------
# Heatmap lines and the folded tree


@dataclass(frozen=True)
class FlaggedCell:
    """A heatmap cell as drawn: its figures (None: the round did not ask about it), its change
    flag when it has one (the team's own, as its page shows it), and whether that flag also
    holds among every comparison on the page (`ViewFlags.page_wide`)."""

    cell: HeatmapCell | None
    change: Change | None = None
    page_wide: bool = False


@dataclass(frozen=True)
class HeatmapLine:
    """A heatmap row as the tables show it: a cell per column (`HEATMAP_COLUMNS`), indented by
    depth."""

    row: HeatmapRow
    depth: int  # below the shallowest team shown
    cells: tuple[FlaggedCell, ...] = ()
    below: int = 0  # teams directly below it on the page's tree, shown or folded away
    open: bool = False  # its teams below are shown
    toggle: str = ""  # the query string that opens (or folds) it, for a link that needs no script

    @property
    def team(self) -> Team:
        return self.row.team

    @property
    def suppressed(self) -> bool:
        return self.row.respondents is None


def heatmap_lines(heatmap: Heatmap, flags: ViewFlags | None = None) -> tuple[HeatmapLine, ...]:
    """The heatmap's rows as the tables show them, each cell with its change flag when `flags`
    (from `heatmap_flags`) are given."""
    top = min((row.team.depth for row in heatmap.rows), default=0)
    flags = flags or ViewFlags()
    lines = []
    for row in heatmap.rows:
        cells = {cell.construct: cell for cell in row.cells}
        own = flags.of(row.team.pk)
        shown = tuple(
            FlaggedCell(cells.get(c), own.get(c), (row.team.pk, c) in flags.page_wide) for c, _ in HEATMAP_COLUMNS
        )
        lines.append(HeatmapLine(row, row.team.depth - top, shown))
    return tuple(lines)


#: Levels of the heatmap's tree shown before any team is opened.
OPEN_LEVELS = 2


@dataclass(frozen=True)
class Fold:
    """A team on the folded heatmap: its depth below the top, the teams directly below it
    (shown or folded away), whether they are shown, and the query string that opens or folds it."""

    team: Team
    depth: int
    below: int
    open: bool
    toggle: str


def folded_tree(
    teams: Sequence[Team], *, open_teams: frozenset[int] = frozenset(), expand: bool = False
) -> tuple[Fold, ...]:
    """Which of a heatmap's teams (in tree order) the page shows: the top OPEN_LEVELS levels,
    and the teams directly below any opened team that is shown itself; everything with
    `expand`. Each knows how many teams sit directly below it and carries the query string
    that opens or folds it, so the tree works without JavaScript."""
    top = min((team.depth for team in teams), default=0)
    ids = {team.pk for team in teams}
    below: dict[int, int] = defaultdict(int)
    for team in teams:
        if team.parent_id in ids:
            below[team.parent_id] += 1
    shown: list[Fold] = []
    visible: set[int] = set()
    for team in teams:
        depth = team.depth - top
        if not (expand or depth < OPEN_LEVELS or (team.parent_id in visible and team.parent_id in open_teams)):
            continue
        visible.add(team.pk)
        is_open = expand or depth < OPEN_LEVELS - 1 or team.pk in open_teams
        toggled = open_teams - {team.pk} if team.pk in open_teams else open_teams | {team.pk}
        query = "&".join(f"open={t}" for t in sorted(toggled))
        shown.append(Fold(team, depth, below[team.pk], is_open, query))
    return tuple(shown)
