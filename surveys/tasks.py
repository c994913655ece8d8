"""Celery entry points: ids in, call a service (DESIGN.md §7). Each job is also a management
command, so cron can run it without Redis."""

import logging
import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from surveys.exceptions import PulseError
from surveys.models import Round, RoundStatus
from surveys.tenancy import tenant_task

logger = logging.getLogger(__name__)

#: Worth retrying: the database restarting, a connection dropped, a lock timeout.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


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
    """Publish a closed round's results. Safe to run twice, or twice at once."""
    from surveys.services.results import results_publish

    try:
        return results_publish(round_id=round_id).teams_published
    except PulseError as error:
        # Not closed yet (or scheduled): retrying cannot help; the close hands over again.
        logger.warning("round_aggregate(%s) refused: %s", round_id, error.message)
        return None


@shared_task(
    acks_late=True,
    autoretry_for=(*TRANSIENT_DB_ERRORS, smtplib.SMTPException, ConnectionError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=5,
)
@tenant_task(Round)
def round_results_notify(round_id: int) -> int:
    """E-mail the managers of the teams that got results."""
    from surveys.services.results import round_results_notify as notify

    return notify(round_id=round_id)


@shared_task(acks_late=True)
def rounds_aggregate_pending() -> int:
    """Safety net for beat or cron: enqueue `round_aggregate` for every closed round that is
    not published yet (the hand-over from the close may have been lost). Spans tenants on
    purpose: it only reads ids; each aggregation runs in its own round's scope."""
    pending = list(Round.all_organizations.filter(status=RoundStatus.CLOSED).values_list("pk", flat=True))
    for round_id in pending:
        round_aggregate.delay(round_id)
    return len(pending)
