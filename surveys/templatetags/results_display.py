"""How results look: bars, colour bands and the trend charts, drawn on the server (no script,
no CDN). Everything here formats figures the result selectors already published."""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from surveys.core.words import list_words
from surveys.engine import scoring
from surveys.engine.scoring import BURNOUT_TONES, TONE_BANDS, Shares, index_tone, shown_index
from surveys.models import SCALE_LABELS, Construct, Scale
from surveys.presentation import results as presentation
from surveys.selectors.results import ConstructTrend, ItemResult

register = template.Library()

#: Answer options coloured by how good they are, worst first on the agreement scale.
_OPTION_TONES = ("poor-strong", "poor", "neutral", "good", "good-strong")


@register.filter
def tone(index: float | None, higher_is_worse: bool = False) -> str:
    """Colour band of an index: good, mixed or poor ("none" when suppressed)."""
    return "none" if index is None else index_tone(index, higher_is_worse=bool(higher_is_worse))


TONE_LABELS = {
    "good": gettext_lazy("good"),
    "mixed": gettext_lazy("mixed"),
    "poor": gettext_lazy("needs attention"),
    "unsure": gettext_lazy("between two bands"),
    "none": gettext_lazy("not shown"),
}


@register.filter
def tone_label(tone_name: str) -> str:
    return str(TONE_LABELS.get(tone_name, ""))


@register.filter
def team_names(teams, more: int = 0) -> str:
    """Teams' names as one phrase of the reader's language: "A, B and C", or "A, B and 2 more
    teams" when `more` were left out of the list."""
    names = [str(team.name) for team in teams]
    if more:
        names.append(ngettext("%(count)d more team", "%(count)d more teams", more) % {"count": more})
    return list_words(names)


@register.inclusion_tag("surveys/results/_legend.html")
def colour_key() -> dict:
    """The key to the colours of the results pages, its ranges worked out from the bands."""
    return {"key": presentation.colour_key()}


@register.filter
def construct_label(construct: str) -> str:
    return str(Construct(construct).label) if construct in Construct.values else ""


@register.filter
def burnout_tone(zone: str) -> str:
    return BURNOUT_TONES.get(zone, "none")


@register.filter
def percent(share: float | None) -> str:
    return "" if share is None else f"{round(share * 100)}%"


@register.filter
def chance_words(chance: float) -> str:
    """A chance (0–1) in words, with its percentage: the survey plan's cells."""
    word = (
        _("almost sure")
        if chance >= 0.95
        else _("likely")
        if chance >= 0.7
        else _("perhaps")
        if chance >= 0.3
        else _("unlikely")
    )
    return f"{word} ({round(chance * 100)}%)"


@register.filter
def points(value: float | None) -> str:
    """An index or a change in index points, as a whole number (with its sign for changes)."""
    return "" if value is None else f"{shown_index(value):d}"


@register.filter
def whole(value: float | None) -> int:
    """A figure rounded to a whole number, to count with (plural forms need a number)."""
    return 0 if value is None else round(value)


@register.filter
def signed_points(value: float | None) -> str:
    return "" if value is None else scoring.signed_points(value)


def whole_percentages(parts: list[float]) -> list[int]:
    """Shares as whole percentages that add up to 100 (largest remainders get the spare points)."""
    total = sum(parts)
    if total <= 0:
        return [0] * len(parts)
    exact = [100 * part / total for part in parts]
    whole = [int(value) for value in exact]
    spare = 100 - sum(whole)
    for index in sorted(range(len(exact)), key=lambda i: whole[i] - exact[i])[:spare]:
        whole[index] += 1
    return whole


@register.inclusion_tag("surveys/results/_shares.html")
def shares_bar(shares: Shares, higher_is_worse: bool = False) -> dict:
    """Favourable / neutral / unfavourable shares as a stacked bar with the same figures in words."""
    favourable, neutral, unfavourable = whole_percentages([shares.favourable, shares.neutral, shares.unfavourable])
    words = (
        (_("never or rarely"), _("sometimes"), _("often or always"))
        if higher_is_worse
        else (_("agree"), _("neutral"), _("disagree"))
    )
    return {
        "parts": [
            {"tone": "good", "percent": favourable, "words": words[0]},
            {"tone": "neutral", "percent": neutral, "words": words[1]},
            {"tone": "poor", "percent": unfavourable, "words": words[2]},
        ]
    }


@register.inclusion_tag("surveys/results/_distribution.html")
def distribution(item: ItemResult) -> dict:
    """Answers per option of one item as a bar, each option labelled with its count."""
    question = item.question
    labels = SCALE_LABELS.get(question.scale, SCALE_LABELS[Scale.AGREE])
    tones = _OPTION_TONES[::-1] if question.higher_is_worse else _OPTION_TONES
    counts = item.counts or ()
    total = sum(counts)
    widths = whole_percentages(list(counts)) if total else [0] * len(counts)
    options = [
        {"label": label, "count": count, "tone": option_tone, "width": width}
        for label, count, option_tone, width in zip(labels, counts, tones, widths, strict=False)
    ]
    return {"item": item, "options": options, "total": total}


# ------------------------------------------------------------------------------------------
# Trend charts

_WIDTH, _HEIGHT = 320, 150
_LEFT, _RIGHT, _TOP, _BOTTOM = 30, 8, 8, 26


@dataclass(frozen=True)
class _Point:
    x: float
    y: float
    low: float
    high: float


def _y(index: float) -> float:
    return round(_TOP + (100 - index) / 100 * (_HEIGHT - _TOP - _BOTTOM), 1)


@register.inclusion_tag("surveys/results/_trend_chart.html")
def trend_chart(trend: ConstructTrend, chart_id: str) -> dict:
    """A small line chart of one measure's index across published rounds, oldest first: a gap
    (no line, no dot) where the round showed nothing for the team, the 90% interval as a
    whisker, the last round (the one the page shows) emphasised, and colour bands behind."""
    count = max(len(trend.points), 1)
    slot = (_WIDTH - _LEFT - _RIGHT) / count
    points: list[_Point | None] = []
    labels = []
    for position, point in enumerate(trend.points):
        x = round(_LEFT + slot * (position + 0.5), 1)
        labels.append({"x": x, "text": str(point.round.number)})
        if point.score is None:
            points.append(None)
            continue
        score = point.score
        points.append(_Point(x, _y(score.index), _y(score.index_low), _y(score.index_high)))
    return {
        "id": chart_id,
        "trend": trend,
        "width": _WIDTH,
        "height": _HEIGHT,
        "left": _LEFT,
        "right": _WIDTH - _RIGHT,
        "plot_width": _WIDTH - _LEFT - _RIGHT,
        "center_x": (_WIDTH + _LEFT - _RIGHT) / 2,
        "center_y": _y(50),
        "grid": [{"y": _y(value), "label": value} for value in (0, 50, 100)],
        "bands": _bands(trend.higher_is_worse),
        "segments": _segments(points),
        "points": [p for p in points if p is not None],
        "last": points[-1] if points else None,
        "labels": labels,
        "axis_y": _HEIGHT - _BOTTOM + 16,
        "empty": all(p is None for p in points),
        "summary": "; ".join(
            _("round %(number)s: %(index)s") % {"number": p.round.number, "index": shown_index(p.score.index)}
            if p.score
            else _("round %(number)s: not shown") % {"number": p.round.number}
            for p in trend.points
        ),
    }


def _segments(points: list[_Point | None]) -> list[str]:
    """Polyline point lists for the runs of consecutive rounds with a figure: a round without
    one breaks the line, so a gap never looks like a value."""
    segments, run = [], []
    for point in [*points, None]:
        if point is not None:
            run.append(point)
            continue
        if len(run) > 1:
            segments.append(" ".join(f"{p.x},{p.y}" for p in run))
        run = []
    return segments


def _bands(higher_is_worse: bool) -> list[dict]:
    """Background bands (good, mixed, poor) on the index axis."""
    bands, bottom = [], 0.0
    for band_tone, bound in TONE_BANDS:  # worst first, from the bottom of "how good"
        top = min(bound, 100.0)
        low, high = (100 - top, 100 - bottom) if higher_is_worse else (bottom, top)
        bands.append({"y": _y(high), "height": round(_y(low) - _y(high), 1), "tone": band_tone})
        bottom = top
    return bands
