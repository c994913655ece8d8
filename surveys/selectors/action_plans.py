"""A team's action plans beside what came after them: for each plan, the rounds its team
answered once the plan existed, with the change flags each of those rounds published for the
team (the dashboard's rule, read through `selectors.exports.node_results`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from surveys.models import ActionPlan, Round, RoundTeam, Survey, Team
from surveys.selectors.exports import node_results

#: How many rounds after a plan the dashboard shows beside it (the first ones after it).
ROUNDS_AFTER = 3


@dataclass(frozen=True)
class RoundAfter:
    round: Round
    shown: bool  # the round has figures for the team
    flags: tuple[tuple[str, str, str], ...]  # each flagged measure: (label, change label, status)


@dataclass(frozen=True)
class PlanProgress:
    plan: ActionPlan
    rounds: tuple[RoundAfter, ...]  # oldest first; empty until a round opens after the plan


def plans_progress(
    *, team: Team, plans: Sequence[ActionPlan], published: Sequence[tuple[Survey, Sequence[Round]]]
) -> list[PlanProgress]:
    """Each plan with the first ROUNDS_AFTER published rounds that opened after it was made
    (`opens_at`, which opening a round early moves too): of the survey it answers when it names
    a round, else of any survey `published` lists (the dashboard's). No query while no plan has
    such a round; six otherwise, however many plans."""
    rounds = sorted((r for _, listed in published for r in listed), key=lambda r: (r.opens_at, r.pk))
    after = {plan.pk: _rounds_after(plan, rounds) for plan in plans}
    wanted = {r.pk for listed in after.values() for r in listed}
    found = {}
    if wanted:
        nodes = list(
            RoundTeam.objects.filter(team=team, round_id__in=sorted(wanted)).select_related("round__survey", "team")
        )
        found = {node.round_id: result for node, result in zip(nodes, node_results(nodes), strict=True)}
    return [
        PlanProgress(plan, tuple(_round_after(round_, found.get(round_.pk)) for round_ in after[plan.pk]))
        for plan in plans
    ]


def _rounds_after(plan: ActionPlan, rounds: Sequence[Round]) -> list[Round]:
    survey_id = plan.round.survey_id if plan.round is not None else None
    later = [r for r in rounds if (r.opened_at or r.opens_at) >= plan.created_at and survey_id in (None, r.survey_id)]
    return later[:ROUNDS_AFTER]


def _round_after(round_: Round, result) -> RoundAfter:
    if result is None or not result.figures.published:
        return RoundAfter(round_, False, ())
    labels = {c.construct: c.label for c in result.figures.constructs}
    flags = tuple(
        (labels.get(construct, construct), change.label, change.status)
        for construct, change in result.changes.items()
        if change.flagged
    )
    return RoundAfter(round_, True, flags)
