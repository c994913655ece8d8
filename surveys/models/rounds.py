from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from surveys.core.own_transaction import execute_committed
from surveys.core.tenancy import TenantModel
from surveys.privacy.rules import MIN_K

from .fields import JSONTextField
from .organization import Membership, Organization, Team
from .surveys import Question, Survey


class RoundStatus(models.TextChoices):
    SCHEDULED = "scheduled", gettext_lazy("Scheduled")
    OPEN = "open", gettext_lazy("Open")
    CLOSED = "closed", gettext_lazy("Closed, results being prepared")
    PUBLISHED = "published", gettext_lazy("Results published")
    FAILED = "failed", gettext_lazy("Aggregation failed")


#: After the close: nothing can be said any more, so the round may be sealed and aggregated.
FINISHED_STATES = frozenset({RoundStatus.CLOSED, RoundStatus.PUBLISHED, RoundStatus.FAILED})
#: Rounds a results page may mention (never show figures for) while their results are not out.
UNDER_WAY_STATES = frozenset({RoundStatus.OPEN, RoundStatus.CLOSED})
#: Closed and not published yet: what the safety net (and `round_aggregate --pending`) hands to
#: aggregation again. A failed round is not among them: it is run again on purpose, by id.
AWAITING_PUBLICATION_STATES = frozenset({RoundStatus.CLOSED})


class PublicationRule(models.IntegerChoices):
    """Which publication rule a round's figures follow (docs/privacy.md, "Publication").
    Published results are final, so a round keeps the rule it was published under."""

    WORST_CASE = 1, gettext_lazy("Each team decided on the worst case around it (until December 2026)")
    UNITS = 2, gettext_lazy("Reporting units shown on their own count, rests passed up")


class AnsweringPhase(StrEnum):
    """Where a round stands for someone holding an invitation to it."""

    NOT_OPEN_YET = "not_open_yet"
    OPEN = "open"
    CLOSED = "closed"


def answering_phase(*, status: str, opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime) -> AnsweringPhase:
    """Whether a round takes answers at `now`: open, with its window started and not yet over.
    Takes the columns rather than a Round so the submission's one locked query can ask too."""
    if status == RoundStatus.OPEN and opens_at <= now < closes_at:
        return AnsweringPhase.OPEN
    if status == RoundStatus.SCHEDULED or (status == RoundStatus.OPEN and now < opens_at):
        return AnsweringPhase.NOT_OPEN_YET
    return AnsweringPhase.CLOSED


def answers_purge_at(*, published_at: dt.datetime | None, kept_days: int) -> dt.datetime | None:
    """When a round's raw answers, comments and participation flags are due for deletion:
    `kept_days` (the organisation's `answers_kept_days`) after its publication. Takes the
    columns so the retention job can ask of many rounds at once."""
    return published_at + dt.timedelta(days=kept_days) if published_at is not None else None


class Round(TenantModel):
    """One pulse of a survey. Opening it snapshots the invitees and their teams and locks `k`."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=RoundStatus.choices, default=RoundStatus.SCHEDULED)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    scope_root = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="The survey's root team when the round opened (empty: the whole organisation). Frozen.",
    )
    k = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Locked when the round opens.")
    k_comments = models.PositiveSmallIntegerField(null=True, blank=True)
    questions = models.ManyToManyField(Question, through="surveys.RoundQuestion", related_name="+")
    invited_count = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    reminders_sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    sealed_at = models.DateTimeField(
        null=True, blank=True, help_text="When what was said was re-keyed and re-ordered (see services.sealing)."
    )
    failure_reason = models.TextField(blank=True)
    teams_published = models.PositiveIntegerField(
        default=0, help_text="Team nodes with results of their own, set at publication (0: nothing to show)."
    )
    answers_purged_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its raw answers, comments and who answered were deleted under the organisation's "
        "retention (services.retention); its published results stay.",
    )
    publication_rule = models.PositiveSmallIntegerField(
        choices=PublicationRule.choices,
        default=PublicationRule.UNITS,
        db_default=PublicationRule.UNITS,
        help_text="The rule the round's results were (or will be) published under.",
    )

    class Meta:
        ordering = ["survey", "number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "survey", "number"], name="round_unique_number"),
            models.CheckConstraint(condition=models.Q(closes_at__gt=models.F("opens_at")), name="round_window"),
            models.CheckConstraint(condition=models.Q(k__isnull=True) | models.Q(k__gte=MIN_K), name="round_k_min"),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "opens_at"], name="round_org_status_opens"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} #{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new round gets its partitions of what will be said (PostgreSQL; migration 0011)."""
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            said_partitions_create(self.pk)

    def answering_phase(self, now: dt.datetime | None = None) -> AnsweringPhase:
        return answering_phase(
            status=self.status, opens_at=self.opens_at, closes_at=self.closes_at, now=now or timezone.now()
        )

    @property
    def is_finished(self) -> bool:
        """Closed (whether or not its results are out): nothing more can be said."""
        return self.status in FINISHED_STATES

    @property
    def may_publish(self) -> bool:
        """Whether aggregation may run: once the round is closed, and never again once it is
        published (published results are final; a failed attempt may be run again)."""
        return self.status in (RoundStatus.CLOSED, RoundStatus.FAILED)

    @property
    def is_published(self) -> bool:
        return self.status == RoundStatus.PUBLISHED

    @property
    def answers_purge_at(self) -> dt.datetime | None:
        """When the round's raw answers are due for deletion (None: not published)."""
        return answers_purge_at(published_at=self.published_at, kept_days=self.organization.answers_kept_days)

    @property
    def shown_k(self) -> int:
        """The anonymity threshold stated on pages and e-mails about this round: the one locked
        when it opened, or before that the organisation's, which opening will lock."""
        return max(self.k if self.k is not None else self.organization.k, MIN_K)

    @property
    def shown_k_comments(self) -> int:
        return max(self.k_comments if self.k_comments is not None else self.organization.k_comments, self.shown_k)

    @classmethod
    def thresholds_to_come(cls, organization: Organization) -> tuple[int, int]:
        """`shown_k` and `shown_k_comments` of a round not opened yet: what pages say about the
        organisation's rounds to come, since opening one now would lock these."""
        upcoming = cls(organization=organization)
        return upcoming.shown_k, upcoming.shown_k_comments

    @classmethod
    def shown_k_of(cls, rounds: Iterable[Round], *, organization: Organization) -> int:
        """The threshold stated about several rounds at once (a list of pulses): the smallest of
        their `shown_k`, which holds for each; with none, that of the rounds to come."""
        return min((round_.shown_k for round_ in rounds), default=cls.thresholds_to_come(organization)[0])


class RoundQuestion(TenantModel):
    """The questions of a round, frozen when it opens so later survey edits cannot change it."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="round_questions")
    question = models.ForeignKey(Question, on_delete=models.RESTRICT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "round", "question"], name="roundquestion_unique"),
        ]


class Invitation(TenantModel):
    """A one-time link for one person and one round, and the team that person counts for.

    Only a SHA-256 of the token is stored: a database dump cannot be turned into working links.
    A reminder carries a fresh token (the clear one was never kept); `previous_token_hash` keeps
    the hash it replaced, only so the old link can say "replaced by a newer one" instead of
    "not valid". It never answers anything.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="invitations")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="invitations")
    team = models.ForeignKey(Team, on_delete=models.RESTRICT, related_name="+")
    token_hash = models.CharField(max_length=64)
    previous_token_hash = models.CharField(max_length=64, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "round", "membership"], name="invitation_unique_person"),
            # Links carry the organisation's slug, so the token is unique per organisation only.
            models.UniqueConstraint(fields=["organization", "token_hash"], name="invitation_unique_token"),
        ]
        indexes = [
            models.Index(fields=["organization", "round", "team"], name="invitation_org_round_team"),
            models.Index(fields=["organization", "previous_token_hash"], name="invitation_org_previous_token"),
        ]


class RoundTeam(TenantModel):
    """One team of a round's scope as it stood when the round opened: its parent then, and how
    many people the round invited in it.

    Written once by `round_open`, for every team in the survey's scope (people or not), from
    the same invitee list as the Invitation rows. Everything a round publishes is computed on
    this frozen tree, never on the current one: HR may move, rename or re-parent teams at any
    time, and a publication computed on a changed tree could be subtracted from one computed on
    the old tree (docs/privacy.md, "Frozen at open"). The scope root's parent is empty even if
    the team has a parent outside the scope. The counts are the organisation's own structure at
    the opening (who was asked where), never who answered; they stay right when a person is
    later removed (their invitation goes, the fact that they were invited does not).

    `unit` is the reporting unit this team's invitees are counted in (the unit's home team),
    worked out from this frozen tree and its counts alone when the round opens
    (`privacy.units.reporting_units`): every unit has at least `k` invited people. Empty for a
    team with nobody invited, and for rounds published before units existed.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="team_snapshot")
    # RESTRICT like the invitations' own team: a team people were invited in stays countable.
    team = models.ForeignKey(Team, on_delete=models.RESTRICT, related_name="+")
    parent = models.ForeignKey(Team, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    invited = models.PositiveIntegerField()
    unit = models.ForeignKey(Team, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "round", "team"], name="roundteam_unique"),
        ]


class ParticipationSnapshot(TenantModel):
    """HR's view of an open round's participation: estimates taken at fixed times, each count
    with random noise added, never a true count (docs/privacy.md, "While a round is open").

    One row per round and estimate period (`period_start`, on the clock every
    `privacy.live.LIVE_HOURS` hours): pages read the latest, so refreshing shows the same figures
    until the next period. `groups` maps a team id (the round's scope root, and teams of at
    least `LIVE_MIN_PEOPLE` invited people) to [estimated respondents, invited];
    `units_shown` estimates how many reporting units would be shown if the round closed now.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="participation_snapshots")
    period_start = models.DateTimeField()
    taken_at = models.DateTimeField(default=timezone.now)
    groups = JSONTextField(default=dict)
    units_shown = models.IntegerField(help_text="An estimate, with noise: units that would be shown if closed now.")
    units = models.PositiveIntegerField(help_text="Reporting units in the round.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "round", "period_start"], name="participationsnapshot_unique_period"
            ),
        ]


class Participation(TenantModel):
    """The fact that a person answered a round, for reminders and response rates.

    Deliberately nothing else: no time, no link to the Response, so it can never say what the
    person said.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="participations")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="participations")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "round", "membership"], name="participation_unique_person"),
        ]


def _new_uuid() -> uuid.UUID:
    return uuid.uuid4()


# What was said (Response, Answer, Comment) is written once per person and read once per round
# (aggregation), and on PostgreSQL each round's rows live in a partition of their own
# (migration 0011, services.sealing): the partition is the round's only "index". The columns
# carry no foreign-key constraint and no index, so a submission writes three narrow rows and
# nothing else, and sealing rewrites a round without checking a constraint per row. The ORM
# still cascades deletes (on_delete is Django's), and the services are the only writers.
def _said_key(model: str | type[models.Model], on_delete=models.CASCADE, **options) -> models.ForeignKey:
    return models.ForeignKey(model, on_delete=on_delete, db_constraint=False, db_index=False, **options)


def said_partitions_create(round_id: int) -> None:
    """The round's own partitions of Response, Answer and Comment (PostgreSQL; there is no
    default partition, migration 0020): created with the round, committed at once in a
    transaction of their own, so the lock attaching them takes is never held while the
    caller's transaction goes on (another organisation's round would wait on it). A round
    created without `save` (bulk_create) gets them here, or when it is sealed."""
    if connection.vendor == "postgresql":
        execute_committed("SELECT pulse_said_partitions(%s)", [round_id])


class Response(TenantModel):
    """One person's submission, known only by a random key, its round and its team snapshot."""

    id = models.UUIDField(primary_key=True, default=_new_uuid, editable=False)
    organization = _said_key("surveys.Organization", related_name="+", editable=False)
    round = _said_key(Round, related_name="responses")
    team = _said_key(Team, on_delete=models.RESTRICT, related_name="+")


class Answer(TenantModel):
    """One scored answer. Round and team are copied from the response so aggregation is one scan.

    Random keys (not a sequence) so the storage order says nothing about who answered when.
    """

    id = models.UUIDField(primary_key=True, default=_new_uuid, editable=False)
    organization = _said_key("surveys.Organization", related_name="+", editable=False)
    response = _said_key(Response, related_name="answers")
    round = _said_key(Round, related_name="+")
    team = _said_key(Team, on_delete=models.RESTRICT, related_name="+")
    question = _said_key(Question, on_delete=models.RESTRICT, related_name="+")
    value = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gte=1, value__lte=5), name="answer_value_range"),
        ]


class Comment(TenantModel):
    """An optional free-text comment. Tied to the round and team only, not even to the Response,
    so a released comment can never be joined to its author's scored answers."""

    id = models.UUIDField(primary_key=True, default=_new_uuid, editable=False)
    organization = _said_key("surveys.Organization", related_name="+", editable=False)
    round = _said_key(Round, related_name="comments")
    team = _said_key(Team, on_delete=models.RESTRICT, related_name="+")
    text = models.TextField(max_length=2000)
