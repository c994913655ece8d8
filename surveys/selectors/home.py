from dataclasses import dataclass
from typing import cast

from django.db.models import Count, Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.access import visible_teams
from surveys.core.tenancy import across_organizations
from surveys.models import (
    ActionPlan,
    Invitation,
    Membership,
    Organization,
    Participation,
    Result,
    Round,
    RoundStatus,
    RoundTeam,
    Survey,
    Team,
    User,
)
from surveys.presentation.results import HeatmapLine, heatmap_lines
from surveys.selectors.answering import team_plans
from surveys.selectors.results import (
    Flag,
    LatestResults,
    ViewFlags,
    cached_flags,
    heatmap_flags,
    heatmap_teams,
    org_heatmap,
    team_latest_results_any_survey,
    where_to_look,
)


def user_memberships(*, user: User) -> list[Membership]:
    """The organisations a signed-in user belongs to. Spans tenants on purpose: it only ever
    returns the user's own memberships, to let them pick an organisation."""
    with across_organizations():
        return list(
            Membership.all_organizations.select_related("organization", "team")
            .filter(user=user, is_active=True, organization__is_active=True)
            .order_by("organization__name")
        )


def open_pulses(*, membership: Membership) -> list[Round]:
    """Open rounds this person was invited to and has not answered yet, soonest to close first.

    The home page links each to the signed-in answering route (`pulse_answer`), which finds the
    person's own invitation; answering there or by the e-mailed link is the same thing.
    """
    now = timezone.now()
    answered = Participation.objects.filter(round=OuterRef("round"), membership=membership)
    invitations = (
        Invitation.objects.filter(
            membership=membership,
            round__status=RoundStatus.OPEN,
            round__opens_at__lte=now,
            round__closes_at__gt=now,
        )
        .filter(~Exists(answered))
        .select_related("round__survey")
        .order_by("round__closes_at")
    )
    return [invitation.round for invitation in invitations]


def programme_overview(*, membership: Membership) -> dict[str, int]:
    """Counts for the HR home page (one query)."""

    def count(queryset) -> Subquery:
        return Subquery(queryset.order_by().values("organization").annotate(n=Count("pk")).values("n")[:1])

    counts = Organization.objects.filter(pk=membership.organization_id).values(
        people=count(Membership.objects.filter(is_active=True)),
        teams=count(Team.objects.all()),
        surveys=count(Survey.objects.filter(is_active=True)),
        open_rounds=count(Round.objects.filter(status=RoundStatus.OPEN)),
    )
    return {name: cast(int, value) or 0 for name, value in counts.get().items()}


@dataclass(frozen=True)
class TeamFigures:
    team: Team
    line: HeatmapLine | None  # None: the round's survey does not include this team


@dataclass(frozen=True)
class LatestTeamFigures:
    round: Round | None  # the latest round with published results for one of the teams
    teams: tuple[TeamFigures, ...]
    look_first: tuple[Flag, ...] = ()  # likely changes in that round, largest first
    summary: bool = False  # HR: counts and where to look, the teams themselves on the results page
    shown: int = 0  # teams of the round with results of their own
    in_round: int = 0  # teams in the round
    flags: ViewFlags = ViewFlags()  # the view's flags: how many comparisons, which teams could miss a drop

    @property
    def with_figures(self) -> int:
        """How many of the teams this view is about have figures in the round."""
        if self.summary:
            return self.shown
        return sum(1 for entry in self.teams if entry.line is not None and not entry.line.suppressed)

    @property
    def first_flags(self) -> tuple[Flag, ...]:
        """The flags the page lists: all of a lead's, the largest SUMMARY_FLAGS of HR's summary."""
        return self.look_first[:SUMMARY_FLAGS] if self.summary else self.look_first

    @property
    def more_flags(self) -> int:
        """Flags left to the results page."""
        return len(self.look_first) - len(self.first_flags)


#: HR's home page lists this many of the round's likely changes; the results page lists them all.
SUMMARY_FLAGS = 10


def led_team_figures(*, membership: Membership) -> LatestTeamFigures:
    """The teams the viewer may see, each with its figures from the latest published round
    that has results for any of them; for HR and admins (every team) a summary instead: how
    many teams have results and where to look first, the whole table being the results page.
    Nine queries at most."""
    teams = visible_teams(membership)
    summary = membership.is_hr
    team_list = [] if summary else list(teams.order_by("path"))
    # The newest round first, each asked only whether one of the teams has a result (a join
    # over every round's results took 30 ms for 2,000 teams × 26 rounds).
    with_results = Result.objects.filter(round=OuterRef("pk"))
    if not summary:  # HR and admins see every team: any result will do
        with_results = with_results.filter(team__in=teams)
    latest = (
        Round.objects.filter(Exists(with_results), status=RoundStatus.PUBLISHED)
        .select_related("survey")
        .order_by("-closes_at", "-pk")
        .first()
    )
    if latest is None:
        return LatestTeamFigures(None, tuple(TeamFigures(team, None) for team in team_list), summary=summary)
    if summary:
        # Counts and the view's cached flags: no team need be scored or even loaded, but the
        # flagged ones (the first time aside).
        # Every team of the round's frozen tree (teams are never deleted, only emptied).
        scope_ids = list(RoundTeam.objects.filter(round=latest).values_list("team_id", flat=True))
        flags = cached_flags(round=latest, team_ids=scope_ids, published=True)
        if flags is None:
            flags = heatmap_flags(org_heatmap(round=latest, rows_of=heatmap_teams(round=latest, teams=teams)))
        look_first = where_to_look(Team.objects.in_bulk(list(flags.changes)), flags)
        shown = Result.objects.filter(round=latest).count()
        return LatestTeamFigures(
            latest, (), look_first, summary=True, shown=shown, in_round=len(scope_ids), flags=flags
        )
    heatmap = org_heatmap(round=latest, teams=teams)
    flags = heatmap_flags(heatmap)
    look_first = where_to_look({row.team.pk: row.team for row in heatmap.rows}, flags)
    lines = {line.team.pk: line for line in heatmap_lines(heatmap, flags)}
    figures = tuple(TeamFigures(team, lines.get(team.pk)) for team in team_list)
    return LatestTeamFigures(latest, figures, look_first, flags=flags)


@dataclass(frozen=True)
class OwnTeam:
    """What a person's home page shows about their own team between pulses."""

    team: Team
    results: LatestResults | None  # its latest shown results, or the nearest team above's
    plans: list[ActionPlan]


def own_team(*, membership: Membership) -> OwnTeam | None:
    """The person's team with its latest published results and its action plans."""
    team = membership.team
    if team is None:
        return None
    return OwnTeam(team, team_latest_results_any_survey(team=team), team_plans(team_id=team.pk))


@dataclass(frozen=True)
class FirstRun:
    """The first steps a role has still to take, for the home page's "Getting started" card.
    Each step: its words, where to go, and whether it is done."""

    steps: tuple[tuple[str, str, bool], ...]

    @property
    def done(self) -> bool:
        return all(done for _, _, done in self.steps)


def first_run(*, membership: Membership) -> FirstRun | None:
    """HR's and managers' first steps until they are taken; None for employees and once done.

    HR: people imported, a survey launched, a round published. A manager: a pulse opened for
    their teams, then its results published (until then, what will happen and what to do)."""
    slug = membership.organization.slug
    results = reverse("org_results", args=[slug])
    if membership.is_hr:
        people = Membership.objects.filter(is_active=True, team__isnull=False).count()
        steps: tuple[tuple[str, str, bool], ...] = (
            (
                _("Import your roster: everyone, their team and the teams they lead"),
                reverse("roster_import", args=[slug]),
                people > 1,
            ),
            (
                _("Create a survey, preview it as an employee, then launch it"),
                reverse("survey_list", args=[slug]),
                Survey.objects.filter(launched_at__isnull=False).exists(),
            ),
            (
                _("When the first round closes, read the results and share them with the leads"),
                results,
                Round.objects.filter(status=RoundStatus.PUBLISHED).exists(),
            ),
        )
    elif membership.is_manager:
        led = visible_teams(membership)
        started = (RoundStatus.OPEN, RoundStatus.CLOSED, RoundStatus.PUBLISHED)
        steps = (
            (
                _("A pulse opens for your team: tell them it takes a few minutes and no one sees what one person said"),
                "",
                Round.objects.filter(status__in=started).exists(),
            ),
            (
                _(
                    "When the round closes, open your team's results, see what changed, and agree one or two "
                    "action plans with your team"
                ),
                results,
                Result.objects.filter(team__in=led, round__status=RoundStatus.PUBLISHED).exists(),
            ),
        )
    else:
        return None
    run = FirstRun(steps)
    return None if run.done else run
