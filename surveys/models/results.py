from django.db import models
from django.utils import timezone

from surveys.tenancy import TenantModel

from .organization import Membership, Team
from .rounds import Round
from .surveys import Question


class Result(TenantModel):
    """A published aggregate for one (team node, round, question), over the node's whole subtree.

    Rows exist only for what passed suppression (DESIGN.md §5); every figure shown anywhere is
    derived from them. `question` empty is the node's participation row: `n` is how many people
    of the subtree answered the round at all, `comments_released` says whether the node's
    comments may be shown, and `covered_teams` freezes which teams the node's figures (and
    comments) include, so a later edit of the team tree cannot change a released comment list.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="results")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="results")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    n = models.PositiveIntegerField(help_text="Contributors: people of the subtree who answered.")
    counts = models.JSONField(default=list, help_text="Answers per option, option 1 first.")
    invited = models.PositiveIntegerField(default=0, help_text="People of the subtree invited.")
    comments_released = models.BooleanField(default=False)
    covered_teams = models.JSONField(
        default=list, blank=True, help_text="Participation row: ids of the teams of the subtree at publication."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "round", "team", "question"],
                condition=models.Q(question__isnull=False),
                name="result_unique_question",
            ),
            models.UniqueConstraint(
                fields=["organization", "round", "team"],
                condition=models.Q(question__isnull=True),
                name="result_unique_participation",
            ),
        ]
        indexes = [models.Index(fields=["organization", "team", "round"], name="result_org_team_round")]


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
