"""Reads for the People pages: the team tree, the list of people, recent imports.

Roster data only (who is in which team, with which role): nothing here touches answers,
invitations or participation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from surveys.core.csv_cells import csv_lines
from surveys.models import (
    ROSTER_COLUMNS,
    Membership,
    Organization,
    RosterChange,
    RosterImport,
    Team,
    TeamManagement,
)

PEOPLE_PER_PAGE = 50
ERRORS_PER_PAGE = 100


@dataclass
class TeamNode:
    team: Team
    members: int  # active people in this team itself
    subtree_members: int = 0  # active people in this team and every team below it
    leads: list[str] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return self.team.depth


def roster_team_tree(*, organization: Organization) -> list[TeamNode]:
    """Every team in tree order (a parent right before its children), with counts and leads."""
    teams = Team.objects.filter(organization=organization).annotate(
        active_members=Count("members", filter=Q(members__is_active=True))
    )
    nodes = {team.path: TeamNode(team=team, members=team.active_members) for team in teams}
    for node in nodes.values():
        path = node.team.path
        while path:
            if path in nodes:
                nodes[path].subtree_members += node.members
            path = Team.parent_path(path)
    leads = (
        TeamManagement.objects.filter(organization=organization, membership__is_active=True)
        .select_related("membership__user")
        .order_by("membership__user__name", "membership__user__email")
    )
    by_team: dict[int, list[str]] = defaultdict(list)
    for lead in leads:
        by_team[lead.team_id].append(lead.membership.user.get_full_name())
    for node in nodes.values():
        node.leads = by_team.get(node.team.pk, [])
    # Sorting by the list of names keeps each parent right before its children ("A/B" < "A B").
    return sorted(nodes.values(), key=lambda node: Team.path_names(node.team.path))


def team_leads(*, team: Team) -> list[Membership]:
    """The active people who lead `team`, by name."""
    return list(
        Membership.objects.filter(management__team=team, is_active=True)
        .select_related("user")
        .order_by("user__name", "user__email")
    )


def roster_people(*, organization: Organization, search: str = "", status: str = "") -> QuerySet[Membership]:
    """People of the organisation matching `search` (name, email or team), active or not."""
    people = Membership.objects.filter(organization=organization).select_related("user", "team")
    if search:
        people = people.filter(
            Q(user__name__icontains=search) | Q(user__email__icontains=search) | Q(team__path__icontains=search)
        )
    if status == "active":
        people = people.filter(is_active=True)
    elif status == "inactive":
        people = people.filter(is_active=False)
    return people.order_by("-is_active", "user__name", "user__email")


def roster_active_count(*, organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, is_active=True).count()


def roster_imports_recent(*, organization: Organization, limit: int = 10) -> QuerySet[RosterImport]:
    return (
        RosterImport.objects.filter(organization=organization)
        .select_related("uploaded_by__user")
        .defer("content", "errors", "plan")
        .order_by("-created_at")[:limit]
    )


@dataclass(frozen=True)
class HistoryEntry:
    change: RosterChange
    undoable: bool  # it records what it replaced and is not undone: its undo page previews it


def roster_history(*, organization: Organization, limit: int = 100) -> list[HistoryEntry]:
    """The latest roster changes, newest first, each marked undoable when it may be offered for
    undoing (whether a later change stands in the way is said by the undo's preview)."""
    changes = list(
        RosterChange.objects.filter(organization=organization)
        .select_related("actor__user", "roster_import")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [HistoryEntry(change, change.undoable) for change in changes]


def _csv(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text, every cell safe to open in a spreadsheet (surveys.core.csv_cells)."""
    return "".join(csv_lines(rows))


def roster_import_errors_csv(*, roster_import: RosterImport) -> str:
    """The report of a failed import as CSV, to sort and filter in a spreadsheet."""
    return _csv(
        [("line", "column", "problem")]
        + [(error["line"], error["column"], error["message"]) for error in roster_import.errors]
    )


def roster_export_rows(*, organization: Organization) -> Iterator[tuple]:
    """The active roster in exactly the import format, header first: exported, edited and
    imported again, it changes only what was edited (people without a team cannot be imported
    and are left out). Read in chunks, so a download streams in flat memory."""
    leads: dict[int, list[str]] = defaultdict(list)
    for membership_id, path in (
        TeamManagement.objects.filter(membership__is_active=True)
        .order_by("team__path")
        .values_list("membership_id", "team__path")
    ):
        leads[membership_id].append(path)
    people = (
        Membership.objects.filter(organization=organization, is_active=True, team__isnull=False)
        .order_by("team__path", "user__email")
        .values_list("pk", "user__email", "user__name", "team__path", "role")
    )
    yield ROSTER_COLUMNS
    for pk, email, name, path, role in people.iterator(chunk_size=2_000):
        yield (email, name or email, path, role, ";".join(leads.get(pk, ())))


def roster_export_csv(*, organization: Organization) -> str:
    return _csv(roster_export_rows(organization=organization))


def roster_example_csv(*, organization: Organization) -> str:
    """The file to start from: the organisation's own roster as exported, so that uploading it
    unchanged changes nothing and editing it changes only the edit. An organisation with nobody
    but its first HR person yet gets their row and a sketch on its own tree (or on one that looks
    like a company's): colleagues are not known yet, so they have made-up example.com addresses,
    which its preview adds only if confirmed."""
    if roster_example_is_export(organization=organization):
        return roster_export_csv(organization=organization)
    paths = _example_paths(organization)
    rows: list[Sequence[object]] = list(roster_export_rows(organization=organization))
    for local, name, role, manages in (
        ("alan.turing", "Alan Turing", "manager", paths[-1]),
        ("edsger.dijkstra", "Edsger Dijkstra", "employee", ""),
        ("barbara.liskov", "Barbara Liskov", "employee", ""),
    ):
        rows.append((f"{local}@example.com", name, paths[-1], role, manages))
    return _csv(rows)


def roster_example_is_export(*, organization: Organization) -> bool:
    """Whether the file to start from is the organisation's own roster, unchanged (more than the
    first HR person has a team)."""
    return Membership.objects.filter(organization=organization, is_active=True, team__isnull=False).count() > 1


@dataclass(frozen=True)
class PathExamples:
    """Team paths the roster help quotes, taken from the organisation's own tree."""

    root: str  # a top-level team
    team: str  # a team a level or two below it
    lead: str  # a team someone might lead, for the manages column


def roster_path_examples(*, organization: Organization) -> PathExamples:
    paths = _example_paths(organization)
    return PathExamples(root=paths[0], team=paths[-1], lead=paths[min(1, len(paths) - 1)])


def _example_paths(organization: Organization) -> list[str]:
    """A path from the top of the tree down to two levels below it, through its first teams
    (the tree's own names; a company-like tree named after the organisation when it has none)."""
    root = Team.objects.filter(organization=organization, parent__isnull=True).order_by("path").first()
    if root is None:
        top = organization.name.replace(Team.SEPARATOR, "-")
        return [top, Team.path_of([top, "Engineering"]), Team.path_of([top, "Engineering", "Platform"])]
    paths = [root.path]
    for _ in range(2):
        child = Team.objects.filter(organization=organization, parent__path=paths[-1]).order_by("path").first()
        if child is None:
            break
        paths.append(child.path)
    return paths
