from django.db import models

from surveys.tenancy import TenantModel

from .fields import JSONTextField
from .organization import Team
from .rounds import Round


class Result(TenantModel):
    """A team node's published figures for one round, over the node's whole subtree.

    A row exists only where the node passed suppression (DESIGN.md §5); every figure shown
    anywhere is derived from these rows. `n` is how many people of the subtree answered the
    round and `invited` how many were invited. `items` holds, for every item that passed
    suppression at this node, its option counts (option 1 first) keyed by question id; an item
    asked in the round but missing here is suppressed ("not enough responses to show").
    `comments_released` says whether the node's comments may be shown, and `covered_teams`
    freezes which teams the figures (and comments) include, so a later edit of the team tree
    cannot change a released comment list.

    One row per node rather than per (node, question): a big organisation publishes thousands
    of nodes, and ten times as many rows (each with its indexes and foreign-key checks) cost
    more to write than the whole histogram scan (see `manage.py benchmark aggregate`).
    """

    # Every index and constraint is paid for each of the ~1.6k rows a big publication COPYs, so
    # Result keeps only what its reads use: the unique (organization, round, team) for reads by
    # round, the index on `team` for reads by team (team ids are global; selectors add the
    # organisation) and the one on `round` for Django's cascades, which do not filter by
    # organisation. Its foreign keys are not database constraints: checking three of them per
    # row at commit cost as much as the COPY itself. Results are derived data with one writer,
    # `results_publish`, which reads the round and its teams under the round's lock in the same
    # transaction, and the audit checks every row's team against the tree before the write;
    # deleting a round, team or organisation still removes its Results (Django's cascade).
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
    covered_teams = JSONTextField(default=list, help_text="Ids of the teams of the subtree at publication.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "round", "team"], name="result_unique_node"),
        ]

    def __str__(self) -> str:
        return f"{self.team} in {self.round}"

    def item_counts(self) -> dict[int, list[int]]:
        """Published items as {question id: counts}."""
        return {int(question_id): counts for question_id, counts in self.items.items()}
