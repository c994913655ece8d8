"""Reads for the People pages: the team tree, the list of people, recent imports.

Roster data only (who is in which team, with which role): nothing here touches answers,
invitations or participation.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from surveys.models import ROSTER_COLUMNS, Membership, Organization, RosterImport, Team, TeamManagement

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
    return sorted(nodes.values(), key=lambda node: node.team.path.split(Team.SEPARATOR))


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
        .defer("content", "errors")
        .order_by("-created_at")[:limit]
    )


def roster_import_errors_csv(*, roster_import: RosterImport) -> str:
    """The report of a failed import as CSV, to sort and filter in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "column", "problem"])
    for error in roster_import.errors:
        writer.writerow([error["line"], error["column"], error["message"]])
    return out.getvalue()


def roster_example_csv(*, organization: Organization) -> str:
    """A small valid roster, rooted at the organisation's name, to start a real one from."""
    top = organization.name.replace("/", "-")
    rows = [
        ROSTER_COLUMNS,
        ("ada.lovelace@example.com", "Ada Lovelace", top, "admin", top),
        ("grace.hopper@example.com", "Grace Hopper", f"{top}/People", "hr", f"{top}/People"),
        ("alan.turing@example.com", "Alan Turing", f"{top}/Engineering", "manager", f"{top}/Engineering"),
        (
            "katherine.johnson@example.com",
            "Katherine Johnson",
            f"{top}/Engineering/Platform",
            "manager",
            f"{top}/Engineering/Platform;{top}/Engineering/Payments",
        ),
        ("tim.berners-lee@example.com", "Tim Berners-Lee", f"{top}/Engineering/Platform", "employee", ""),
        ("margaret.hamilton@example.com", "Margaret Hamilton", f"{top}/Engineering/Payments", "employee", ""),
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()
