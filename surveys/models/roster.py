from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from surveys.core.tenancy import TenantModel

from .organization import Membership

#: The columns of a roster file, in the order Pulse writes them (any order is read).
ROSTER_COLUMNS = ("email", "name", "team", "role", "manages")


class RosterImportStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Waiting to start")
    VALIDATING = "validating", gettext_lazy("Checking rows")
    PREVIEW = "preview", gettext_lazy("Ready to confirm")
    IMPORTING = "importing", gettext_lazy("Saving")
    DONE = "done", gettext_lazy("Imported")
    FAILED = "failed", gettext_lazy("Not imported")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


#: An import still has work to do in these states; the file is kept only while it does.
RUNNING_IMPORT_STATES = frozenset(
    {RosterImportStatus.PENDING, RosterImportStatus.VALIDATING, RosterImportStatus.IMPORTING}
)
FINISHED_IMPORT_STATES = frozenset({RosterImportStatus.DONE, RosterImportStatus.FAILED, RosterImportStatus.CANCELLED})


class RosterImportMode(models.TextChoices):
    ADD = "add", gettext_lazy("Add and update: people not in the file stay as they are")
    SYNC = "sync", gettext_lazy("Full sync: people not in the file are deactivated")


#: What an import does when nobody chose: the mode that cannot deactivate anyone. A full sync is
#: chosen on purpose (the page, the API's `mode`, the command's --mode), and its preview names
#: everyone it deactivates.
DEFAULT_ROSTER_MODE = RosterImportMode.ADD


class RosterImport(TenantModel):
    """One roster upload: its file, its progress, the preview HR confirms, and its report
    (errors by line, or what changed). The file is kept only until the import is finished,
    cancelled or abandoned."""

    uploaded_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=255)
    content = models.BinaryField(editable=False)
    mode = models.CharField(max_length=10, choices=RosterImportMode.choices, default=DEFAULT_ROSTER_MODE)
    status = models.CharField(max_length=20, choices=RosterImportStatus.choices, default=RosterImportStatus.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    plan = models.JSONField(default=dict, blank=True, help_text="The preview: what confirming would change.")
    summary = models.JSONField(default=dict, blank=True)
    confirmed_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    progress_at = models.DateTimeField(default=timezone.now, help_text="Last sign of progress (stranded imports).")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "status", "progress_at"], name="rosterimport_org_status")]

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING_IMPORT_STATES


class RosterChangeKind(models.TextChoices):
    IMPORT = "import", gettext_lazy("Roster import")
    PERSON = "person", gettext_lazy("Person changed")
    TEAM = "team", gettext_lazy("Team changed")
    UNDO = "undo", gettext_lazy("Change undone")
    SCIM = "scim", gettext_lazy("From the identity provider (SCIM)")


#: What a history entry records it replaced (`RosterChange.details`), each list holding ids and
#: the values before and after:
#: - `teams_created` [team], `team_renames` [team, old path, new path] (same parent),
#:   `team_parents` [team, old parent, new parent] (a move; None is the top of the tree);
#: - `users_created` [user], `user_names` [user, old, new];
#: - `memberships_created` [membership], `memberships_changed` [membership, before, after], with
#:   before and after each [role, team, active];
#: - `leads_added` and `leads_removed` [team, membership].
CHANGE_DETAILS = (
    "teams_created",
    "team_renames",
    "team_parents",
    "users_created",
    "user_names",
    "memberships_created",
    "memberships_changed",
    "leads_added",
    "leads_removed",
)


class RosterChange(TenantModel):
    """One entry of the roster history: who changed what, when, and what it replaced
    (`details`, in the format of CHANGE_DETAILS), so that any entry can be undone."""

    actor = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=RosterChangeKind.choices)
    summary = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    roster_import = models.ForeignKey(
        RosterImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "created_at"], name="rosterchange_org_created")]

    def __str__(self) -> str:
        return self.summary

    @property
    def undoable(self) -> bool:
        """It records what it replaced, and is neither an undo nor undone already (whether a later
        change stands in the way is for `roster_change_undo` to say)."""
        return (
            self.kind != RosterChangeKind.UNDO
            and self.undone_at is None
            and any(self.details.get(key) for key in CHANGE_DETAILS)
        )
