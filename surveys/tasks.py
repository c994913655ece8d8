"""Celery entry points: ids in, call a service (DESIGN.md §7). Each job is also a management
command, so cron can run it without Redis."""

from smtplib import SMTPException

from celery import shared_task

from surveys.models import RosterImport, Round
from surveys.services import invitations, jobs
from surveys.services.roster import roster_import_process
from surveys.tenancy import tenant_task

#: Mail-server trouble is worth retrying; the sending services never e-mail anyone twice.
_MAIL_RETRY = {
    "autoretry_for": (SMTPException, OSError),
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


@shared_task(name="surveys.tasks.round_invitations_send", **_MAIL_RETRY)
@tenant_task(Round)
def round_invitations_send(round_id: int) -> int:
    return invitations.round_invitations_send(round_=Round.objects.get(pk=round_id))


@shared_task(name="surveys.tasks.round_reminders_send", **_MAIL_RETRY)
@tenant_task(Round)
def round_reminders_send(round_id: int) -> None:
    # Returns nothing: a count of reminders would be a live count of who has not answered.
    invitations.round_reminders_send(round_=Round.objects.get(pk=round_id))


@shared_task(acks_late=True)
@tenant_task(RosterImport)
def roster_import_run(import_id: int) -> None:
    """Import a big roster file in the background; the import page shows its progress."""
    roster_import = RosterImport.objects.select_related("organization", "uploaded_by").get(pk=import_id)
    roster_import_process(roster_import=roster_import)
