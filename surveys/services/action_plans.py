"""Action plans: what a team decided to change after a round.

People of the team see their team's plans after they answer a pulse, so a plan is written for
the whole team to read. Each rule raises PulseError with the field it is about as its code, so
the form shows it beside that field and no other caller (API, shell) can skip it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from surveys.core.exceptions import PulseError
from surveys.models import ActionPlan, ActionPlanStatus, Membership, Round, RoundStatus, Team

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 4000
TITLE_REQUIRED = "Give the plan a short title: the one thing the team will change."


@dataclass(frozen=True)
class ActionPlanFields:
    """Everything a manager decides about a plan, as the form or an API hands it over."""

    title: str
    description: str = ""
    status: str = ActionPlanStatus.PLANNED
    due_on: dt.date | None = None
    round: Round | None = None

    @classmethod
    def of(cls, plan: ActionPlan) -> ActionPlanFields:
        return cls(plan.title, plan.description, plan.status, plan.due_on, plan.round)


def action_plan_title_check(*, title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise PulseError(TITLE_REQUIRED, code="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise PulseError(f"Keep the title under {TITLE_MAX_LENGTH} characters; details go below.", code="title")
    return title


def action_plan_due_check(*, due_on: dt.date | None) -> None:
    """A new due date cannot be in the past (an existing one may pass while the work goes on)."""
    if due_on is not None and due_on < timezone.localdate():
        raise PulseError("Choose a due date from today onwards, or leave it empty.", code="due_on")


def action_plan_round_check(*, round_: Round | None, team: Team) -> None:
    """A plan may answer a round whose results are published, of a survey that includes the team."""
    if round_ is None:
        return
    root = round_.survey.root_team
    covers = root is None or root.contains(team) or team.contains(root)
    if round_.status != RoundStatus.PUBLISHED or round_.organization_id != team.organization_id or not covers:
        raise PulseError("Choose a round whose results this team can see, or none.", code="round")


def action_plan_create(*, team: Team, owner: Membership | None, fields: ActionPlanFields) -> ActionPlan:
    fields = _checked(team=team, fields=fields, previous=None)
    return ActionPlan.objects.create(
        organization_id=team.organization_id,
        team=team,
        owner=owner,
        title=fields.title,
        description=fields.description,
        status=fields.status,
        due_on=fields.due_on,
        round=fields.round,
    )


def action_plan_update(*, plan: ActionPlan, fields: ActionPlanFields) -> ActionPlan:
    """Change a plan. Only what changes is checked again, so a plan whose due date has passed
    can still be moved to "done"."""
    fields = _checked(team=plan.team, fields=fields, previous=ActionPlanFields.of(plan))
    plan.title, plan.description, plan.status = fields.title, fields.description, fields.status
    plan.due_on, plan.round = fields.due_on, fields.round
    plan.save(update_fields=["title", "description", "status", "due_on", "round", "updated_at"])
    return plan


def _checked(*, team: Team, fields: ActionPlanFields, previous: ActionPlanFields | None) -> ActionPlanFields:
    title = action_plan_title_check(title=fields.title)
    description = fields.description.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise PulseError(f"Keep the description under {DESCRIPTION_MAX_LENGTH} characters.", code="description")
    if fields.status not in ActionPlanStatus.values:
        raise PulseError("Choose where the plan stands.", code="status")
    if previous is None or fields.due_on != previous.due_on:
        action_plan_due_check(due_on=fields.due_on)
    if previous is None or _round_id(fields.round) != _round_id(previous.round):
        action_plan_round_check(round_=fields.round, team=team)
    return dataclasses.replace(fields, title=title, description=description)


def _round_id(round_: Round | None) -> int | None:
    return None if round_ is None else round_.pk
