"""Estimates of an open round's participation for HR, taken at fixed times with noise
(docs/privacy.md, "While a round is open"; the rule: `privacy.live`)."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from surveys.core.tenancy import across_organizations, organization_scope
from surveys.engine.aggregation import team_forest
from surveys.models import Participation, ParticipationSnapshot, Round, RoundStatus, RoundTeam
from surveys.privacy.live import live_groups, live_period_start, noisy_counts
from surveys.privacy.rules import reaches_threshold

logger = logging.getLogger(__name__)


def participation_snapshot_take(*, round_: Round, now: dt.datetime | None = None) -> ParticipationSnapshot | None:
    """The estimate of `round_`'s participation for the period `now` falls in: the one already
    taken for it, or a new one. None when the round is not open. Each count gets fresh noise
    once, here; every page reads the stored row, so refreshing never draws new noise."""
    now = now or timezone.now()
    period = live_period_start(now)
    if round_.status != RoundStatus.OPEN:
        return None
    taken = ParticipationSnapshot.objects.filter(round=round_, period_start=period).first()
    if taken is not None:
        return taken
    groups, units_shown, units = _estimates(round_)
    try:
        with transaction.atomic():
            return ParticipationSnapshot.objects.create(
                organization_id=round_.organization_id,
                round=round_,
                period_start=period,
                taken_at=now,
                groups=groups,
                units_shown=units_shown,
                units=units,
            )
    except IntegrityError:  # another worker took this period's first
        return ParticipationSnapshot.objects.get(round=round_, period_start=period)


def participation_snapshots_take(*, now: dt.datetime | None = None) -> int:
    """The scheduled job: an estimate for every open round that has none for this period yet.
    Returns how many were taken."""
    now = now or timezone.now()
    period = live_period_start(now)
    due = Round.all_organizations.filter(status=RoundStatus.OPEN, organization__is_active=True).exclude(
        participation_snapshots__period_start=period
    )
    with across_organizations():
        rounds = list(due.select_related("organization"))
    taken = 0
    for round_ in rounds:
        with organization_scope(round_.organization):
            taken += participation_snapshot_take(round_=round_, now=now) is not None
    return taken


def _estimates(round_: Round) -> tuple[dict[str, list[int]], int, int]:
    """Noisy respondents of every live group, the noisy number of units that would be shown
    now, and the number of units. Reads who answered per team (never who): one count query."""
    rows = list(RoundTeam.objects.filter(round=round_).values_list("team_id", "parent_id", "invited", "unit_id"))
    answered_by_team = dict(
        Participation.objects.filter(round=round_, membership__invitations__round=round_)
        .values_list("membership__invitations__team_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    forest = team_forest(np.array([(team, parent or 0) for team, parent, _, _ in rows], dtype=np.int64).reshape(-1, 2))
    position = {team: i for i, team in enumerate(forest.ids.tolist())}
    invited = np.zeros(len(position), dtype=np.int64)
    answered = np.zeros(len(position), dtype=np.int64)
    units: dict[int, int] = {}
    for team, _, people, unit in rows:
        invited[position[team]] = people
        answered[position[team]] = answered_by_team.get(team, 0)
        if unit is not None:
            units[unit] = units.get(unit, 0) + answered_by_team.get(team, 0)
    subtree_invited, subtree_answered = forest.subtree_sums(invited), forest.subtree_sums(answered)
    groups = live_groups(parent=forest.parent, invited=subtree_invited)
    shown_now = sum(bool(reaches_threshold(n, round_.shown_k)) for n in units.values())
    estimates = noisy_counts([*subtree_answered[groups].tolist(), shown_now])
    shown = {
        str(forest.ids[node]): [int(estimate), int(subtree_invited[node])]
        for node, estimate in zip(groups.tolist(), estimates[:-1].tolist(), strict=True)
    }
    return shown, int(estimates[-1]), len(units)
