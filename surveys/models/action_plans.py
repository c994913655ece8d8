from django.db import models
from django.utils import timezone

from surveys.core.tenancy import TenantModel

from .organization import Membership, Team
from .rounds import Round


class ActionPlanStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class ActionPlan(TenantModel):
    """What a team decided to change after a round."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="action_plans")
    round = models.ForeignKey(Round, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_plans")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=ActionPlanStatus.choices, default=ActionPlanStatus.PLANNED)
    owner = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    due_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "team", "status"], name="actionplan_org_team_status")]

    def __str__(self) -> str:
        return self.title
