"""Action plans: what a team decided to change after a round, who owns it and by when.

People of the team see their team's plans after they answer a pulse, so a plan is written for
the whole team to read. Each rule raises PulseError with the field it is about as its code, so
the form shows it beside that field and no other caller (API, shell) can skip it. A plan's
owner is someone who may see the team's results (`access.team_readers`), and is e-mailed once
before the plan is due (`ActionPlan.reminder_due`; `action_plan_remind`, run by the job).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from delivery.channels import Letter
from delivery.models import Delivery, MessageKind
from delivery.services.messages import message_deliver, message_prepare
from surveys.access import team_readers
from surveys.core.exceptions import PulseError
from surveys.core.names import one_line
from surveys.models import ActionPlan, ActionPlanStatus, Membership, Round, RoundStatus, Team

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 4000
TITLE_REQUIRED = gettext_lazy("Give the plan a short title: the one thing the team will change.")


@dataclass(frozen=True)
class ActionPlanFields:
    """Everything a manager decides about a plan, as the form or an API hands it over."""

    title: str
    description: str = ""
    status: str = ActionPlanStatus.PLANNED
    due_on: dt.date | None = None
    round: Round | None = None
    owner: Membership | None = None

    @classmethod
    def of(cls, plan: ActionPlan) -> ActionPlanFields:
        return cls(plan.title, plan.description, plan.status, plan.due_on, plan.round, plan.owner)


def action_plan_title_check(*, title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise PulseError(TITLE_REQUIRED, code="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise PulseError(
            _("Keep the title under %(limit)s characters; details go below.") % {"limit": TITLE_MAX_LENGTH},
            code="title",
        )
    return title


def action_plan_due_check(*, due_on: dt.date | None) -> None:
    """A new due date cannot be in the past (an existing one may pass while the work goes on)."""
    if due_on is not None and due_on < timezone.localdate():
        raise PulseError(_("Choose a due date from today onwards, or leave it empty."), code="due_on")


def action_plan_round_check(*, round_: Round | None, team: Team) -> None:
    """A plan may answer a round whose results are published, of a survey that includes the team."""
    if round_ is None:
        return
    root = round_.survey.root_team
    covers = root is None or root.contains(team) or team.contains(root)
    if round_.status != RoundStatus.PUBLISHED or round_.organization_id != team.organization_id or not covers:
        raise PulseError(_("Choose a round whose results this team can see, or none."), code="round")


def action_plan_owner_check(*, owner: Membership | None, team: Team) -> None:
    """The owner may see the team's results: HR, or a lead of the team or of a team above it."""
    if owner is not None and not team_readers(team).filter(pk=owner.pk).exists():
        raise PulseError(
            _("Choose someone who may see %(team)s's results: HR, or a lead of %(team)s or of a team above it.")
            % {"team": team.name},
            code="owner",
        )


def action_plan_create(*, team: Team, owner: Membership | None, fields: ActionPlanFields) -> ActionPlan:
    """A new plan of `team`, owned by `fields.owner`, or else by `owner` (who writes it)."""
    fields = _checked(team=team, fields=dataclasses.replace(fields, owner=fields.owner or owner), previous=None)
    return ActionPlan.objects.create(
        organization_id=team.organization_id,
        team=team,
        owner=fields.owner,
        title=fields.title,
        description=fields.description,
        status=fields.status,
        due_on=fields.due_on,
        round=fields.round,
    )


def action_plan_update(*, plan: ActionPlan, fields: ActionPlanFields) -> ActionPlan:
    """Change a plan (its owner too: `fields.owner`, None for nobody). Only what changes is
    checked again, so a plan whose due date has passed can still be moved to "done". A new due
    date or owner earns a new reminder."""
    fields = _checked(team=plan.team, fields=fields, previous=ActionPlanFields.of(plan))
    if (fields.due_on, _pk(fields.owner)) != (plan.due_on, plan.owner_id):
        plan.reminded_at = None
    plan.title, plan.description, plan.status = fields.title, fields.description, fields.status
    plan.due_on, plan.round, plan.owner = fields.due_on, fields.round, fields.owner
    plan.save(update_fields=["title", "description", "status", "due_on", "round", "owner", "reminded_at", "updated_at"])
    return plan


def action_plan_delete(*, plan: ActionPlan) -> None:
    """Delete a plan for good (the team no longer sees it after answering)."""
    plan.delete()


def action_plan_remind(*, plan_id: int, now: dt.datetime | None = None) -> bool:
    """E-mail the owner of a plan due a reminder (`ActionPlan.reminder_due`), once: the plan is locked, the
    message sent and the plan stamped in one transaction, so two runs at once send one e-mail
    (a failed send stamps nothing and the next run tries again). Nobody is e-mailed who may no
    longer see the team's results. Returns whether it sent."""
    now = now or timezone.now()
    with transaction.atomic():
        plan = (
            ActionPlan.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=plan_id, reminded_at__isnull=True)
            .filter(ActionPlan.reminder_due(today=timezone.localdate(now)))
            .select_related("team", "owner__user", "organization")
            .first()
        )
        if plan is None or plan.owner_id is None or not team_readers(plan.team).filter(pk=plan.owner_id).exists():
            return False
        # One message per plan, due date and owner: a new date or owner earns a new reminder.
        message = message_prepare(
            organization=plan.organization,
            kind=MessageKind.PLAN_DUE,
            key=f"plan:{plan.pk}:{plan.due_on}:{plan.owner_id}",
            about_id=plan.pk,
            memberships=[plan.owner_id],
        )
        message_deliver(message=message, composer=PlanDueComposer(plan=plan, today=timezone.localdate(now)))
        plan.reminded_at = now
        plan.save(update_fields=["reminded_at"])
    return True


@dataclass
class PlanDueComposer:
    """A plan's reminder to its owner, for the delivery layer."""

    plan: ActionPlan
    today: dt.date

    def still_wanted(self) -> bool:
        return True

    def compose(self, deliveries: list[Delivery]) -> dict[int, Letter | None]:
        return {delivery.pk: _reminder(self.plan, today=self.today) for delivery in deliveries}

    def delivered(self, deliveries: list[Delivery], *, at: dt.datetime) -> None:
        """The plan is stamped by `action_plan_remind`, in the transaction that holds its lock."""


def _reminder(plan: ActionPlan, *, today: dt.date) -> Letter:
    """The owner's reminder, composed in their language."""
    assert plan.owner is not None
    with translation.override(plan.owner.user.message_language):
        return _reminder_composed(plan, today=today)


def _reminder_composed(plan: ActionPlan, *, today: dt.date) -> Letter:
    assert plan.owner is not None and plan.due_on is not None
    days = (plan.due_on - today).days
    context = {
        "name": plan.owner.user.get_short_name(),
        "organization": plan.organization,
        "plan": plan,
        "when": _("today")
        if days == 0
        else _("tomorrow")
        if days == 1
        else ngettext("in %(count)d day", "in %(count)d days", days) % {"count": days},
        "link": settings.PULSE_BASE_URL
        + reverse("team_dashboard", args=[plan.organization.slug, plan.team_id])
        + "#action-plans",
    }
    return Letter(
        subject=one_line(
            _("%(team)s: “%(title)s” is due %(when)s")
            % {"team": plan.team.name, "title": plan.title, "when": context["when"]}
        ),
        text=render_to_string("emails/action_plan_reminder.txt", context),
        html=render_to_string("emails/action_plan_reminder.html", context),
        link=context["link"],
        link_label=_("See the plan"),
    )


def _checked(*, team: Team, fields: ActionPlanFields, previous: ActionPlanFields | None) -> ActionPlanFields:
    title = action_plan_title_check(title=fields.title)
    description = fields.description.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise PulseError(
            _("Keep the description under %(limit)s characters.") % {"limit": DESCRIPTION_MAX_LENGTH},
            code="description",
        )
    if fields.status not in ActionPlanStatus.values:
        raise PulseError(_("Choose where the plan stands."), code="status")
    if previous is None or fields.due_on != previous.due_on:
        action_plan_due_check(due_on=fields.due_on)
    if previous is None or _pk(fields.round) != _pk(previous.round):
        action_plan_round_check(round_=fields.round, team=team)
    if previous is None or _pk(fields.owner) != _pk(previous.owner):
        action_plan_owner_check(owner=fields.owner, team=team)
    return dataclasses.replace(fields, title=title, description=description)


def _pk(instance: Round | Membership | None) -> int | None:
    return None if instance is None else instance.pk
