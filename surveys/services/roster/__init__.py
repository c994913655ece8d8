"""What a roster file changes: shown first, written only once HR confirms, undoable.

`roster_plan` compares checked rows (`surveys.services.roster_file`) with the organisation as
it stands and works out every change without writing anything: people added, updated, moved,
reactivated and deactivated; teams created, renamed and emptied; team leads added and removed.
HR sees that as a preview (`RosterImport.plan`). `roster_apply` writes exactly a plan, in one
transaction with bulk operations, records it in the roster history with what each change
replaced (so it can be undone, like any entry of the history), and e-mails new managers, HR and
admins a link to set up their account.

An import's life: `roster_import_start` (check and plan: in the request, or in a task for big
files) → PREVIEW → `roster_import_confirm` (a large deactivation needs a second confirmation;
the plan is worked out again and must not have changed) → apply (request or task) → DONE. A
preview can be cancelled, and one left alone is abandoned after a day. The file is deleted
whenever an import ends; the report stays.

Two modes: add-and-update (the default) leaves absent people (and their leads) as they are; a
full sync, chosen on purpose, deactivates everyone absent from the file and makes the team
leads exactly the file's.
"""

from surveys.services.roster.apply import roster_apply
from surveys.services.roster.imports import (
    BACKGROUND_ROWS,
    PREVIEW_LIFETIME,
    STRANDED_AFTER,
    roster_import_cancel,
    roster_import_confirm,
    roster_import_process,
    roster_import_start,
    roster_imports_tend,
)
from surveys.services.roster.plan import LARGE_DEACTIVATION, RosterPlan, roster_plan
from surveys.services.roster.preview import PREVIEW_LIMIT, plan_preview
from surveys.services.roster.undo import roster_change_undo

__all__ = [
    "BACKGROUND_ROWS",
    "LARGE_DEACTIVATION",
    "PREVIEW_LIFETIME",
    "PREVIEW_LIMIT",
    "STRANDED_AFTER",
    "RosterPlan",
    "plan_preview",
    "roster_apply",
    "roster_change_undo",
    "roster_import_cancel",
    "roster_import_confirm",
    "roster_import_process",
    "roster_import_start",
    "roster_imports_tend",
    "roster_plan",
]
