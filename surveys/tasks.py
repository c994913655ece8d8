"""Celery entry points: ids in, call a service (DESIGN.md §7). Each job is also a management
command, so cron can run it without Redis."""

from celery import shared_task

from surveys.models import RosterImport
from surveys.services.roster import roster_import_process
from surveys.tenancy import tenant_task


@shared_task(acks_late=True)
@tenant_task(RosterImport)
def roster_import_run(import_id: int) -> None:
    """Import a big roster file in the background; the import page shows its progress."""
    roster_import = RosterImport.objects.select_related("organization", "uploaded_by").get(pk=import_id)
    roster_import_process(roster_import=roster_import)
