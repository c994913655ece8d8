"""Celery entry points: ids in, call a service (docs/architecture.md, "Jobs"). Each job is also a management
command, so cron can run it without Redis."""

import logging
import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from delivery.channels import ChannelError
from delivery.models import Message
from surveys.core.enqueue import enqueue
from surveys.core.exceptions import PulseError
from surveys.core.tenancy import across_organizations, tenant_task
from surveys.models import AWAITING_PUBLICATION_STATES, RosterImport, Round
from surveys.selectors import exports
from surveys.selectors.results import heatmap_flags, org_heatmap
from surveys.services import accounts, invitations, jobs, notices, participation, results, retention
from surveys.services.roster import roster_import_process
from surveys.services.roster import roster_imports_tend as roster_imports_tend_service

logger = logging.getLogger(__name__)

#: Worth retrying: the database restarting, a connection dropped, a lock timeout.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)

#: Mail-server trouble is worth retrying; the sending services never e-mail anyone twice.
_MAIL_RETRY = {
    "autoretry_for": (smtplib.SMTPException, OSError, ChannelError),
    "retry_backoff": 60,
    "retry_backoff_max": 30 * 60,
    "max_retries": 8,
    "acks_late": True,
}


@shared_task(name="surveys.tasks.rounds_open_due")
def rounds_open_due() -> str:
    return str(jobs.rounds_open_due())


@shared_task(name="surveys.tasks.rounds_close_due")
def rounds_close_due() -> str:
    return str(jobs.rounds_close_due())


@shared_task(name="surveys.tasks.reminders_send")
def reminders_send() -> str:
    return str(jobs.reminders_send())


@shared_task(name="surveys.tasks.plan_reminders_send")
def plan_reminders_send() -> str:
    return str(jobs.plan_reminders_send())


@shared_task(name="surveys.tasks.participation_snapshots_take")
def participation_snapshots_take() -> str:
    return f"{participation.participation_snapshots_take()} estimates taken"


@shared_task(name="surveys.tasks.answers_purge_due", acks_late=True)
def answers_purge_due() -> str:
    """Retention: delete the raw answers of published rounds whose time is up, a batch a run."""
    return f"{retention.answers_purge_due()} rounds purged"


@shared_task(name="surveys.tasks.round_invitations_send", **_MAIL_RETRY)
@tenant_task(Round)
def round_invitations_send(round_id: int) -> int:
    return invitations.round_invitations_send(round_=Round.objects.get(pk=round_id))


@shared_task(name="surveys.tasks.round_reminders_send", **_MAIL_RETRY)
@tenant_task(Round)
def round_reminders_send(round_id: int) -> None:
    invitations.round_reminders_send(round_=Round.objects.get(pk=round_id))


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=6,
)
@tenant_task(Round)
def round_aggregate(round_id: int) -> int | None:
    """Seal a closed round (once), then publish its results. Safe to run twice, or twice at once."""
    try:
        return results.round_publish(round_id=round_id).teams_published
    except PulseError as error:
        # Not closed yet (or scheduled): retrying cannot help; the close hands over again.
        logger.warning("round_aggregate(%s) refused: %s", round_id, error.message)
        return None


@shared_task(
    acks_late=True,
    autoretry_for=(*TRANSIENT_DB_ERRORS, smtplib.SMTPException, ConnectionError, ChannelError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=5,
)
@tenant_task(Round)
def round_results_notify(round_id: int) -> int:
    """E-mail the leads of the round's teams, and HR, what the publication shows."""
    return notices.round_results_notify(round_id=round_id)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=30, max_retries=5)
@tenant_task(Round)
def round_stability_estimate(round_id: int) -> None:
    """After a publication: how stable answers are between rounds, as of this round (the change
    flags' standard error uses it); then the e-mails and the prepared pages, which read it."""
    results.round_stability_estimate(round_id=round_id)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=30, max_retries=5)
@tenant_task(Round)
def round_results_prepare(round_id: int) -> int:
    """Compute once what a published round's pages and downloads read again and again: the
    change flags of HR's view, and the results CSV lines (both are computed when missing)."""
    round_ = Round.objects.select_related("survey").get(pk=round_id)
    if not round_.is_published:
        return 0
    heatmap_flags(org_heatmap(round=round_))  # HR's view of the round: its flags, computed once
    return exports.result_lines_prepare(round_)


@shared_task(acks_late=True)
def rounds_aggregate_pending() -> int:
    """Safety net for beat or cron: enqueue `round_aggregate` for every closed round that is
    not published yet (the hand-over from the close may have been lost). Spans tenants on
    purpose: it only reads ids; each aggregation runs in its own round's scope."""
    with across_organizations():
        awaiting = Round.all_organizations.filter(status__in=AWAITING_PUBLICATION_STATES)
        pending = list(awaiting.values_list("pk", flat=True))
    for round_id in pending:
        enqueue("surveys.tasks.round_aggregate", round_id)
    return len(pending)


@shared_task(acks_late=True)
@tenant_task(RosterImport)
def roster_import_run(import_id: int) -> None:
    """Check and preview, or save once confirmed, a big roster file in the background; the
    import page shows its progress."""
    roster_import_process(roster_import=RosterImport.objects.get(pk=import_id))


@shared_task(acks_late=True)
def roster_imports_tend() -> str:
    """Safety net for beat or cron: re-queue stranded imports, abandon unconfirmed previews."""
    return str(roster_imports_tend_service())


@shared_task(name="surveys.tasks.account_invitations_send", **_MAIL_RETRY)
@tenant_task(Message)
def account_invitations_send(message_id: int) -> int:
    """Send a set-up message's links (one import's or one page's), in its organisation's scope."""
    return accounts.account_invitations_send(message_id=message_id)
