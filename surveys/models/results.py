from django.db import models

from surveys.core.tenancy import TenantModel

from .fields import JSONTextField
from .organization import Team
from .rounds import Round


class Result(TenantModel):
    """A team node's published figures for one round.

    A row exists only where the node has figures under the publication rule (docs/privacy.md,
    "Publication"); every figure shown anywhere is derived from these rows. `covered_teams`
    freezes which teams' people the figures (and comments) hold: the node's whole subtree, or
    less when a group too small to add passed up (`partial`), and, for a team whose reporting
    unit pools a lead or a small team from around it, those people too. `n` is how many of them
    answered the round and `invited` how many were invited. `items` holds, for every item with
    a figure at this node, its option counts (option 1 first) keyed by question id; an item
    asked in the round but missing here had too few answers to show. `comments_released` says
    whether the node's comments may be shown.

    One row per node, JSON kept as text, only the indexes its reads use, and foreign keys that
    are not database constraints (derived data with one writer, checked by the audit, still
    removed by Django's cascade): docs/decisions/2026-11-25-one-result-row-per-node.md.
    """

    organization = models.ForeignKey(
        "surveys.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="results", db_constraint=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="results", db_constraint=False)
    n = models.PositiveIntegerField(help_text="Respondents: people of the subtree who answered the round.")
    invited = models.PositiveIntegerField(default=0, help_text="People of the subtree invited.")
    items = JSONTextField(default=dict, help_text="Published items: question id -> answers per option.")
    comments_released = models.BooleanField(default=False)
    covered_teams = JSONTextField(default=list, help_text="Ids of the teams whose people's answers the figures hold.")
    partial = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Some answers of the subtree are not in these figures yet: a group too small to add passed up.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "round", "team"], name="result_unique_node"),
        ]

    def __str__(self) -> str:
        return f"{self.team} in {self.round}"

    def item_counts(self) -> dict[int, list[int]]:
        """Published items as {question id: counts} (parsed once per row: do not change it)."""
        counts = self.__dict__.get("_item_counts")
        if counts is None:
            counts = self.__dict__["_item_counts"] = {int(q): c for q, c in self.items.items()}
        return counts


class ResultLines(TenantModel):
    """A published team node's lines of the results CSV, computed once.

    Published results never change, and neither do the change flags of a round (they look only
    at earlier rounds), so each node's figures are formatted once, when the round is published
    or the first time they are downloaded, and a download of every round of every team reads
    them back instead of scoring every node again. `version` says which rules produced them
    (`selectors.exports.LINES_VERSION`): lines of another version are computed again. What can
    change after publication (the team's and survey's names) is not stored here.
    """

    organization = models.ForeignKey(
        "surveys.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    version = models.PositiveSmallIntegerField()
    lines = JSONTextField(default=dict, help_text="The node's participation cells and its measures' lines.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "round", "team"], name="resultlines_unique_node"),
        ]

    def __str__(self) -> str:
        return f"Lines of {self.team_id} in {self.round_id}"


class ChangeStability(TenantModel):
    """How stable a survey's answers are between rounds, estimated from the organisation's own
    published rounds up to `round` (`engine.changes.estimate_stability`, docs/measurement.md,
    "Stability"): per construct and number of items compared, the test–retest correlation and
    the SD of team-wide swings the change flags' standard error uses.

    Written once per published round by the worker after publication (`services.results.
    round_stability_estimate`), never computed in a request. The flags shown at a round use the
    row of the latest round of the survey up to it, so a page reads the same whenever it is
    drawn; `version` is the change rule's (`CHANGE_RULE_VERSION`) it was estimated for. Only
    published option counts go in: nothing here can see more than the results pages.
    """

    organization = models.ForeignKey(
        "surveys.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )
    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    number = models.PositiveIntegerField(
        help_text="The round's number, so that the latest up to a round is one lookup."
    )
    version = models.PositiveSmallIntegerField()
    estimates = JSONTextField(
        default=dict, help_text='"construct/items" -> [retest correlation, swing SD, comparisons, retest SD].'
    )
    teams = models.PositiveIntegerField(default=0, help_text="Leaf teams whose published rounds it rests on.")
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "round"], name="changestability_unique_round"),
        ]
        indexes = [models.Index(fields=["organization", "survey", "-number"], name="changestability_latest")]

    def __str__(self) -> str:
        return f"Stability as of {self.round_id}"


class StoredViewFlags(TenantModel):
    """The change flags of one view of many teams (`selectors.results.heatmap_flags`), kept in
    the database once computed: published results never change, so neither do a view's flags
    for the same rounds, stability estimate and teams, which `key` names (the cache's key).

    The worker stores HR's view of a round right after publication; pages read the cache, then
    this row, and score teams only for a view nobody has opened yet, so HR's first page after
    the cache is emptied (or while Redis is down) costs a lookup, not minutes of scoring.
    """

    organization = models.ForeignKey(
        "surveys.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    key = models.CharField(max_length=200)
    flags = JSONTextField(default=dict, help_text="The view's flags, as selectors.results writes them.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="storedviewflags_unique_key"),
        ]

    def __str__(self) -> str:
        return f"Flags of a view of round {self.round_id}"
