from django.db import models
from django.utils import timezone

from surveys.tenancy import TenantModel

from .organization import Membership

#: The columns of a roster file, in the order Pulse writes them (any order is read).
ROSTER_COLUMNS = ("email", "name", "team", "role", "manages")


class RosterImportStatus(models.TextChoices):
    PENDING = "pending", "Waiting to start"
    VALIDATING = "validating", "Checking rows"
    IMPORTING = "importing", "Saving"
    DONE = "done", "Imported"
    FAILED = "failed", "Not imported"


class RosterImport(TenantModel):
    """One roster upload: its file, its progress and its report (errors by line, or a summary)."""

    uploaded_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=255)
    content = models.BinaryField(editable=False)
    status = models.CharField(max_length=20, choices=RosterImportStatus.choices, default=RosterImportStatus.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
