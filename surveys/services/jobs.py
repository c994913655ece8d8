"""The scheduled jobs (docs/architecture.md, "Jobs"), run by Celery beat or by cron (management commands).

They span organisations on purpose: each finds the due rows through `all_organizations`, then
does every round's work inside that round's own `organization_scope` (directly, or in a
`tenant_task`), so one tenant's work can never read or write another's rows. Every step is
idempotent: a doubled beat, a crashed worker's retry or cron and beat running side by side
open, close and e-mail nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.utils import timezone

from surveys.core.enqueue import enqueue
from surveys.core.exceptions import PulseError
from surveys.core.tenancy import across_organizations, organization_scope
from surveys.engine.scheduling import Window
from surveys.models import ActionPlan, Invitation, Round, RoundStatus, Survey
from surveys.services.action_plans import action_plan_remind
from surveys.services.invitations import STILL_HERE
from surveys.services.rounds import round_close, round_open, round_schedule_next

logger = logging.getLogger(__name__)

#: An open round whose invitations are still unsent after this long had its sending task fail.
UNSENT_GRACE = dt.timedelta(minutes=15)


@dataclass
class JobReport:
    """What a job did, in counts of rounds (never of people: see `round_reminders_send`)."""

    scheduled: int = 0
    opened: int = 0
    closed: int = 0
    rounds_resent: int = 0
    rounds_reminded: int = 0
    plan_owners_reminded: int = 0

    def __str__(self) -> str:
        parts = [f"{value} {name.replace('_', ' ')}" for name, value in vars(self).items() if value]
        return ", ".join(parts) or "nothing due"


def rounds_open_due(*, now: dt.datetime | None = None) -> JobReport:
    """Schedule the next round of every active survey, open the rounds whose time has come,
    and retry invitation e-mails that an earlier run failed to send."""
    now = now or timezone.now()
    report = JobReport()
    scheduled = Round.all_organizations.filter(survey=OuterRef("pk"), status=RoundStatus.SCHEDULED)
    unscheduled = Survey.all_organizations.filter(
        is_active=True, launched_at__isnull=False, organization__is_active=True
    ).filter(~Exists(scheduled))
    with across_organizations():
        surveys = list(unscheduled.select_related("organization"))
    for survey in surveys:
        with organization_scope(survey.organization):
            report.scheduled += round_schedule_next(survey=survey, now=now) is not None
    due = Round.all_organizations.filter(
        status=RoundStatus.SCHEDULED,
        opens_at__lte=now,
        survey__is_active=True,
        survey__launched_at__isnull=False,
        organization__is_active=True,
    )
    with across_organizations():
        rounds = list(due.select_related("organization").order_by("opens_at", "pk"))
    for round_ in rounds:
        with organization_scope(round_.organization):
            report.opened += _open(round_, now=now)
    report.rounds_resent = _resend_unsent(now=now)
    return report


def rounds_close_due(*, now: dt.datetime | None = None) -> JobReport:
    """Close every open round whose closing time has passed (and hand it to aggregation)."""
    now = now or timezone.now()
    report = JobReport()
    due = Round.all_organizations.filter(status=RoundStatus.OPEN, closes_at__lte=now)
    with across_organizations():
        rounds = list(due.select_related("organization").order_by("closes_at", "pk"))
    for round_ in rounds:
        with organization_scope(round_.organization):
            report.closed += round_close(round_=round_, now=now).closed_at == now
    return report


def reminders_send(*, now: dt.datetime | None = None) -> JobReport:
    """Start the half-way reminders of every open round that has not had them yet."""
    now = now or timezone.now()
    report = JobReport()
    candidates = Round.all_organizations.filter(
        status=RoundStatus.OPEN, reminders_sent_at__isnull=True, opens_at__lte=now, closes_at__gt=now
    )
    with across_organizations():
        windows = list(candidates.values_list("pk", "opens_at", "closes_at"))
    for round_id, opens_at, closes_at in windows:
        if Window(opens_at, closes_at).halfway <= now:
            enqueue("surveys.tasks.round_reminders_send", round_id)
            report.rounds_reminded += 1
    return report


def plan_reminders_send(*, now: dt.datetime | None = None) -> JobReport:
    """Remind the owner of every open action plan that is due soon, once each (each plan in its
    organisation's scope; `action_plan_remind` locks, sends and stamps)."""
    now = now or timezone.now()
    report = JobReport()
    due = ActionPlan.all_organizations.filter(
        ActionPlan.reminder_due(today=timezone.localdate(now)), organization__is_active=True
    )
    with across_organizations():
        plans = list(due.select_related("organization").order_by("due_on", "pk"))
    for plan in plans:
        with organization_scope(plan.organization):
            report.plan_owners_reminded += action_plan_remind(plan_id=plan.pk, now=now)
    return report


def _open(round_: Round, *, now: dt.datetime) -> bool:
    try:
        return round_open(round_=round_, now=now).opened_at == now
    except PulseError as error:
        # The previous round is still open (its close job has not run yet): next run.
        logger.warning("Round %s not opened yet: %s", round_.pk, error.message)
        return False


def _resend_unsent(*, now: dt.datetime) -> int:
    unsent = Invitation.all_organizations.filter(round=OuterRef("pk"), sent_at__isnull=True, **STILL_HERE)
    stalled = Round.all_organizations.filter(
        status=RoundStatus.OPEN, opened_at__lte=now - UNSENT_GRACE, closes_at__gt=now
    ).filter(Exists(unsent))
    with across_organizations():
        round_ids = list(stalled.values_list("pk", flat=True))
    for round_id in round_ids:
        enqueue("surveys.tasks.round_invitations_send", round_id)
    return len(round_ids)
