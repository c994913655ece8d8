import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from surveys.core.tenancy import TenantModel

from .organization import Membership, Team
from .rounds import Round

#: An open plan's owner is reminded this many days before it is due (once; on the day itself for
#: a plan made due sooner).
REMIND_DAYS = 3


class ActionPlanStatus(models.TextChoices):
    PLANNED = "planned", gettext_lazy("Planned")
    IN_PROGRESS = "in_progress", gettext_lazy("In progress")
    DONE = "done", gettext_lazy("Done")


class ActionPlan(TenantModel):
    """What a team decided to change after a round: who owns it, by when, and how far it got.
    Its owner is e-mailed once before it is due (`reminded_at`; a new due date or owner earns a
    new reminder)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="action_plans")
    round = models.ForeignKey(Round, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_plans")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=ActionPlanStatus.choices, default=ActionPlanStatus.PLANNED)
    owner = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    due_on = models.DateField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="When its owner was reminded of the due date.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "team", "status"], name="actionplan_org_team_status")]

    def __str__(self) -> str:
        return self.title

    @staticmethod
    def reminder_due(*, today: dt.date) -> models.Q:
        """Plans whose owner is due a reminder today: open, owned, due within REMIND_DAYS (not
        past), not reminded yet."""
        return models.Q(
            reminded_at__isnull=True,
            owner__isnull=False,
            due_on__gte=today,
            due_on__lte=today + dt.timedelta(days=REMIND_DAYS),
        ) & ~models.Q(status=ActionPlanStatus.DONE)
