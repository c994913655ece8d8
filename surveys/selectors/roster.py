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
    RosterChangeKind,
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
    undoable: bool  # the latest change, an import: it may be undone


def roster_history(*, organization: Organization, limit: int = 100) -> list[HistoryEntry]:
    """The latest roster changes, newest first; the latest import may be undone while nothing
    came after it."""
    changes = list(
        RosterChange.objects.filter(organization=organization)
        .select_related("actor__user", "roster_import")
        .order_by("-created_at", "-pk")[:limit]
    )
    latest = next(
        (change for change in changes if change.undone_at is None and change.kind != RosterChangeKind.UNDO), None
    )
    return [HistoryEntry(change, change is latest and change.kind == RosterChangeKind.IMPORT) for change in changes]


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
    """An example to start from, built on the organisation's own tree (or on one that looks
    like a company's when it has none yet): a lead for each of the first teams and two people
    with made-up example.com addresses. Imported as it is, in either mode, the preview shows
    what it would do before anything changes."""
    teams = list(Team.objects.filter(organization=organization).order_by("path")[:6])
    if not teams:
        top = organization.name.replace(Team.SEPARATOR, "-")
        paths = [top, f"{top}/People", f"{top}/Engineering", f"{top}/Engineering/Platform"]
    else:
        paths = [team.path for team in teams]
    people = [
        ("ada.lovelace", "Ada Lovelace", "admin"),
        ("grace.hopper", "Grace Hopper", "hr"),
        ("alan.turing", "Alan Turing", "manager"),
        ("katherine.johnson", "Katherine Johnson", "manager"),
        ("tim.berners-lee", "Tim Berners-Lee", "manager"),
        ("margaret.hamilton", "Margaret Hamilton", "manager"),
    ]
    rows = [ROSTER_COLUMNS]
    for path, (local, name, role) in zip(paths, people, strict=False):
        rows.append((f"{local}@example.com", name, path, role, path))
    rows.append(("edsger.dijkstra@example.com", "Edsger Dijkstra", paths[-1], "employee", ""))
    rows.append(("barbara.liskov@example.com", "Barbara Liskov", paths[-1], "employee", ""))
    return _csv(rows)
