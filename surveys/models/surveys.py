import math
import re

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from surveys.core.tenancy import TenantManager, TenantModel, current_organization
from surveys.core.words import Words

from .organization import Membership, Team, parse_support_links


class Construct(models.TextChoices):
    AUTONOMY = "autonomy", gettext_lazy("Autonomy")
    COMPETENCE = "competence", gettext_lazy("Competence")
    RELATEDNESS = "relatedness", gettext_lazy("Relatedness")
    BENEFICENCE = "beneficence", gettext_lazy("Beneficence")
    EXHAUSTION = "exhaustion", gettext_lazy("Exhaustion")
    MENTAL_DISTANCE = "mental_distance", gettext_lazy("Mental distance")
    CONTEXT = "context", gettext_lazy("Working conditions (not scored)")
    CUSTOM = "custom", gettext_lazy("Organisation question")


#: Constructs where a higher answer means things are worse.
HIGHER_IS_WORSE = frozenset({Construct.EXHAUSTION, Construct.MENTAL_DISTANCE})
PILLARS = (Construct.AUTONOMY, Construct.COMPETENCE, Construct.RELATEDNESS, Construct.BENEFICENCE)
BURNOUT_SIGNS = (Construct.EXHAUSTION, Construct.MENTAL_DISTANCE)


class Scale(models.TextChoices):
    AGREE = "agree5", gettext_lazy("Agreement (1–5)")
    FREQUENCY = "frequency5", gettext_lazy("Frequency since the last pulse (1–5)")


SCALE_LABELS: dict[str, tuple[Words, ...]] = {
    Scale.AGREE: (
        gettext_lazy("Strongly disagree"),
        gettext_lazy("Disagree"),
        gettext_lazy("Neither agree nor disagree"),
        gettext_lazy("Agree"),
        gettext_lazy("Strongly agree"),
    ),
    Scale.FREQUENCY: (
        gettext_lazy("Never"),
        gettext_lazy("Rarely"),
        gettext_lazy("Sometimes"),
        gettext_lazy("Often"),
        gettext_lazy("Always"),
    ),
}
SCALE_POINTS = 5
#: About how long one item takes to answer (the core twelve: about three minutes).
SECONDS_PER_QUESTION = 12


def pulse_minutes(questions: int) -> int:
    """How long a pulse of `questions` items takes, as the invitation and the answering page say."""
    return max(1, math.ceil(questions * SECONDS_PER_QUESTION / 60))


#: The suffix a retired wording of a bank item takes (`exh-1-v1`).
RETIRED_WORDING = re.compile(r"-v\d+$")


class QuestionManager(TenantManager):
    """The product's bank (no organisation) plus the organisation's own questions."""

    def get_queryset(self):
        organization = current_organization()
        return models.QuerySet(self.model, using=self._db).filter(
            models.Q(organization__isnull=True) | models.Q(organization_id=organization.pk)
        )


class Question(models.Model):
    """An item. Bank items (organization empty) are shared read-only by every organisation."""

    organization = models.ForeignKey(
        "surveys.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    code = models.SlugField(max_length=40)
    construct = models.CharField(max_length=20, choices=Construct.choices)
    scale = models.CharField(max_length=20, choices=Scale.choices, default=Scale.AGREE)
    text = models.CharField(max_length=300)
    is_core = models.BooleanField(default=False, help_text="Part of the default pulse (12 items since bank v3).")
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    objects = QuestionManager()
    all_organizations = models.Manager()  # noqa: DJ012 (ruff takes a manager for a field)

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(organization__isnull=True), name="question_bank_code"
            ),
            models.UniqueConstraint(
                fields=["organization", "code"],
                condition=models.Q(organization__isnull=False),
                name="question_org_code",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def labels(self) -> tuple[Words, ...]:
        return SCALE_LABELS[self.scale]

    @property
    def higher_is_worse(self) -> bool:
        return self.construct in HIGHER_IS_WORSE

    @property
    def item_key(self) -> str:
        """The item this question asks, across rewordings: its code without the `-vN` suffix a
        retired wording takes (migration 0009), so a change compares a reworded item with
        its earlier wording (docs/measurement.md, "Item bank versions")."""
        return RETIRED_WORDING.sub("", self.code)


class Cadence(models.TextChoices):
    WEEKLY = "weekly", gettext_lazy("Every week")
    BIWEEKLY = "biweekly", gettext_lazy("Every two weeks")
    MONTHLY = "monthly", gettext_lazy("Every month")


class Survey(TenantModel):
    """A programme: which questions, how often, for which part of the team tree.

    A new survey is a draft: HR previews it as an employee would, sends themselves a test, and
    launches it; only a launched, running survey has rounds planned (`is_planning`)."""

    name = models.CharField(max_length=200)
    cadence = models.CharField(max_length=20, choices=Cadence.choices, default=Cadence.BIWEEKLY)
    open_days = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="How many days each round stays open.",
    )
    starts_on = models.DateField(default=timezone.localdate)
    root_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="Only this team and the teams below it take part. Empty: the whole organisation.",
    )
    questions = models.ManyToManyField(Question, through="surveys.SurveyQuestion", related_name="+")
    comments_enabled = models.BooleanField(default=True)
    support_text = models.TextField(blank=True)
    support_links = models.TextField(blank=True, help_text="One per line, as “Label | https://address”.")
    is_active = models.BooleanField(default=True, help_text="Running (rounds are planned); off: paused.")
    launched_at = models.DateTimeField(
        null=True, blank=True, help_text="When HR launched it; empty: a draft, which invites nobody."
    )
    invitation_text = models.TextField(
        blank=True, help_text="HR's own opening of the invitation e-mail (empty: Pulse's standard words)."
    )
    reminder_text = models.TextField(
        blank=True, help_text="HR's own opening of the reminder e-mail (empty: Pulse's standard words)."
    )
    created_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="survey_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_draft(self) -> bool:
        return self.launched_at is None

    @property
    def is_planning(self) -> bool:
        """Launched and running: its next round is planned and opens when due."""
        return self.launched_at is not None and self.is_active

    def support_link_list(self) -> list[dict[str, str]]:
        return parse_support_links(self.support_links)


class SurveyQuestion(TenantModel):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="survey_questions")
    question = models.ForeignKey(Question, on_delete=models.RESTRICT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "survey", "question"], name="surveyquestion_unique"),
        ]
