"""Running an import: start (check and plan, in the request or a task), confirm (the plan
worked out again must be the one HR saw), cancel, the task's processing, and the safety net
that re-queues stranded imports and abandons old previews."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.core.enqueue import enqueue
from surveys.core.exceptions import PulseError
from surveys.core.tenancy import across_organizations
from surveys.models import (
    Membership,
    Organization,
    RosterImport,
    RosterImportMode,
    RosterImportStatus,
)
from surveys.models.roster import DEFAULT_ROSTER_MODE
from surveys.services.roster.apply import roster_apply
from surveys.services.roster.plan import RosterPlan, roster_plan
from surveys.services.roster.preview import plan_preview
from surveys.services.roster_file import ProgressCallback, RosterError, RosterRow, roster_validate

logger = logging.getLogger(__name__)

#: Files with more rows than this are checked and imported by a Celery task, with a progress page.
BACKGROUND_ROWS = 2_000
#: A preview nobody confirms is abandoned (and its file deleted) after this long.
PREVIEW_LIFETIME = dt.timedelta(days=1)
#: An import that shows no progress for this long is queued again (a lost task, a dead worker).
STRANDED_AFTER = dt.timedelta(minutes=10)


def roster_import_start(
    *,
    organization: Organization,
    uploaded_by: Membership | None,
    filename: str,
    content: bytes,
    mode: str = DEFAULT_ROSTER_MODE,
    background: bool | None = None,
) -> RosterImport:
    """Record an upload, then check it and work out its preview: now for small files, in a
    Celery task for big ones (`background=None` decides by BACKGROUND_ROWS). Nothing is
    changed until HR confirms (`roster_import_confirm`)."""
    if mode not in RosterImportMode.values:
        raise PulseError(_("Choose how to import: add and update, or full sync."), code="mode")
    roster_import = RosterImport.objects.create(
        organization=organization, uploaded_by=uploaded_by, filename=filename[:255], content=content, mode=mode
    )
    if background is None:
        background = _is_big(content)
    if not background:
        return roster_import_process(roster_import=roster_import)
    enqueue("surveys.tasks.roster_import_run", roster_import.pk)
    return roster_import


def _is_big(content: bytes) -> bool:
    return max(content.count(b"\n"), content.count(b"\r")) > BACKGROUND_ROWS


def roster_import_confirm(
    *,
    roster_import: RosterImport,
    confirmed_by: Membership | None,
    large_deactivation_ok: bool,
    background: bool | None = None,
) -> RosterImport:
    """HR confirms a preview. A large deactivation needs `large_deactivation_ok`. The import is
    then written: now, or in a task (`background=None`: for a big file)."""
    roster_import = RosterImport.objects.get(pk=roster_import.pk)
    if roster_import.status != RosterImportStatus.PREVIEW:
        raise PulseError(_("This import is not waiting for a confirmation any more."), code="status", status=409)
    if roster_import.plan.get("large_deactivation") and not large_deactivation_ok:
        raise PulseError(
            _(
                "This import deactivates more than one person in ten. "
                "Tick the box to confirm that this is what you want."
            ),
            code="large_deactivation_ok",
        )
    changed = RosterImport.objects.filter(pk=roster_import.pk, status=RosterImportStatus.PREVIEW).update(
        status=RosterImportStatus.IMPORTING, confirmed_by=confirmed_by, progress_at=timezone.now()
    )
    if not changed:  # a second click: the first confirmation is under way
        raise PulseError(_("This import is already being saved."), code="status", status=409)
    roster_import.status, roster_import.confirmed_by = RosterImportStatus.IMPORTING, confirmed_by
    if background is None:
        background = _is_big(bytes(roster_import.content))
    if background:
        enqueue("surveys.tasks.roster_import_run", roster_import.pk)
        return roster_import
    return roster_import_process(roster_import=roster_import)


def roster_import_cancel(*, roster_import: RosterImport) -> RosterImport:
    updated = RosterImport.objects.filter(pk=roster_import.pk, status=RosterImportStatus.PREVIEW).update(
        status=RosterImportStatus.CANCELLED, content=b"", finished_at=timezone.now()
    )
    if not updated:
        raise PulseError(_("Only an import waiting for its confirmation can be cancelled."), code="status", status=409)
    return RosterImport.objects.get(pk=roster_import.pk)


def roster_import_process(*, roster_import: RosterImport) -> RosterImport:
    """Move an import one step on: check and plan it (→ PREVIEW, or FAILED with every problem),
    or, once confirmed, write it (→ DONE). Safe to run again (a redelivered or re-queued task):
    a finished import is left alone, and an interrupted one starts its step over, since its
    writes were rolled back with their transaction."""
    roster_import = RosterImport.objects.select_related("organization", "uploaded_by").get(pk=roster_import.pk)
    if roster_import.status in (RosterImportStatus.PREVIEW, *FINISHED):
        return roster_import
    confirming = roster_import.status == RosterImportStatus.IMPORTING
    if not confirming:
        _progress(roster_import, status=RosterImportStatus.VALIDATING, processed_rows=0)
    try:
        check = roster_validate(content=bytes(roster_import.content), on_progress=_progress_recorder(roster_import))
        if not check.ok:
            return _finish(roster_import, RosterImportStatus.FAILED, errors=[e.as_dict() for e in check.errors])
        if not confirming:
            plan = _plan_for(roster_import, check.rows)
            _progress(
                roster_import,
                status=RosterImportStatus.PREVIEW,
                plan=plan_preview(plan, ignored_columns=check.ignored_columns, separator=check.separator),
            )
            return roster_import
        with transaction.atomic():
            # Plan again and write under the organisation's lock, so that what is written is
            # what HR confirmed, and a second run of this step (a task queued again while the
            # first was still going) finds the import done and leaves it alone.
            Organization.objects.select_for_update().filter(pk=roster_import.organization_id).first()
            if RosterImport.objects.filter(pk=roster_import.pk, status=RosterImportStatus.IMPORTING).count() == 0:
                return RosterImport.objects.get(pk=roster_import.pk)
            plan = _plan_for(roster_import, check.rows)
            preview = plan_preview(plan, ignored_columns=check.ignored_columns, separator=check.separator)
            if preview["fingerprint"] != roster_import.plan.get("fingerprint"):
                _progress(roster_import, status=RosterImportStatus.PREVIEW, plan={**preview, "stale": True})
                return roster_import
            summary = roster_apply(
                organization=roster_import.organization,
                plan=plan,
                actor=roster_import.confirmed_by or roster_import.uploaded_by,
                roster_import=roster_import,
            )
            summary["ignored_columns"] = check.ignored_columns
            return _finish(roster_import, RosterImportStatus.DONE, summary=summary)
    except Exception:
        logger.exception("Roster import %s failed", roster_import.pk)
        message = _("Something went wrong while saving, and nothing was imported. Please try again.")
        _finish(roster_import, RosterImportStatus.FAILED, errors=[RosterError(1, message).as_dict()])
        raise


def _plan_for(roster_import: RosterImport, rows: Sequence[RosterRow]) -> RosterPlan:
    return roster_plan(
        organization=roster_import.organization, rows=rows, mode=roster_import.mode, importer=roster_import.uploaded_by
    )


FINISHED = (RosterImportStatus.DONE, RosterImportStatus.FAILED, RosterImportStatus.CANCELLED)


def _progress_recorder(roster_import: RosterImport) -> ProgressCallback:
    def record(checked: int, total: int) -> None:
        _progress(roster_import, processed_rows=checked, total_rows=total)

    return record


def _progress(roster_import: RosterImport, **fields) -> None:
    """Write progress outside any transaction of the import, so the page sees it as it goes."""
    fields["progress_at"] = timezone.now()
    for name, value in fields.items():
        setattr(roster_import, name, value)
    RosterImport.objects.filter(pk=roster_import.pk).update(**fields)


def _finish(roster_import: RosterImport, status: str, *, errors: list | None = None, summary: dict | None = None):
    # The file is personal data that has served its purpose: keep the report, drop the file.
    _progress(
        roster_import,
        status=status,
        errors=errors or [],
        summary=summary or {},
        content=b"",
        finished_at=timezone.now(),
    )
    return roster_import


def roster_imports_tend(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The safety net (beat and cron): queue again the imports that stopped moving (a task lost
    while the broker was down, a worker that died), and abandon previews nobody confirmed,
    deleting their files. Spans organisations; each import runs in its own scope."""
    now = now or timezone.now()
    with across_organizations():
        stranded = list(
            RosterImport.all_organizations.filter(
                status__in=[RosterImportStatus.PENDING, RosterImportStatus.VALIDATING, RosterImportStatus.IMPORTING],
                progress_at__lt=now - STRANDED_AFTER,
            ).values_list("pk", flat=True)
        )
        for import_id in stranded:
            RosterImport.all_organizations.filter(pk=import_id).update(progress_at=now)
            enqueue("surveys.tasks.roster_import_run", import_id)
        abandoned = RosterImport.all_organizations.filter(
            status=RosterImportStatus.PREVIEW, progress_at__lt=now - PREVIEW_LIFETIME
        ).update(status=RosterImportStatus.CANCELLED, content=b"", finished_at=now)
    return {"requeued": len(stranded), "abandoned": abandoned}
