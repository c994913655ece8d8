"""Changing the team tree on a page: rename a team, move it under another parent, merge it into
another team. Rounds freeze their tree when they open (docs/privacy.md, "Frozen at open"), so
none of this changes what an open or published round shows. Each change is recorded in the
roster history."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.core.names import name_check
from surveys.models import Membership, RosterChangeKind, Team, TeamManagement
from surveys.services.history import leads_entries, roster_change_record

TEAM_NAME_MAX = Team._meta.get_field("name").max_length or 120


def team_name_check(*, name: str, parent: Team | None, team: Team | None = None) -> str:
    """A team name: one line, not empty, no "/" (paths use it), unique among its siblings."""
    name = name_check(name, code="name")
    if not name:
        raise PulseError(_("Give the team a name."), code="name")
    if Team.SEPARATOR in name:
        raise PulseError(_("A team name cannot contain “%(separator)s”.") % {"separator": Team.SEPARATOR}, code="name")
    if len(name) > TEAM_NAME_MAX:
        raise PulseError(_("Keep the name under %(limit)s characters.") % {"limit": TEAM_NAME_MAX}, code="name")
    path = Team.child_path(parent, name)
    clash = Team.objects.filter(path__iexact=path)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise PulseError(_("Another team there already has this name."), code="name")
    return name


def team_repath(*, team: Team, path: str) -> None:
    """Give `team` the path `path` (a free one: `team_name_check`) and rewrite the paths of every
    team below it to match. Nothing can clash on the way: every new path starts with `path`."""
    old = team.path
    below = list(Team.objects.filter(team.below_filter()).only("id", "path"))
    team.path, team.name = path, Team.name_of(path)
    Team.objects.filter(pk=team.pk).update(path=team.path, name=team.name)
    for member in below:
        Team.objects.filter(pk=member.pk).update(path=path + member.path[len(old) :])


def team_rename(*, team: Team, name: str, actor: Membership | None) -> Team:
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        parent = team.parent
        name = team_name_check(name=name, parent=parent, team=team)
        old = team.path
        if name == team.name:
            return team
        team_repath(team=team, path=Team.child_path(parent, name))
        roster_change_record(
            organization_id=team.organization_id,
            actor=actor,
            kind=RosterChangeKind.TEAM,
            summary=f"Renamed {old} to {team.path}.",
            details={"team_renames": [[team.pk, old, team.path]]},
        )
    return team


def team_move(*, team: Team, parent: Team | None, actor: Membership | None) -> Team:
    """Move `team` (and everything below it) under `parent` (None: to the top)."""
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if parent is not None and (parent == team or team.contains(parent)):
            raise PulseError(_("A team cannot move inside itself."), code="parent")
        if parent == team.parent:
            return team
        team_name_check(name=team.name, parent=parent, team=team)
        old, old_parent = team.path, team.parent_id
        Team.objects.filter(pk=team.pk).update(parent=parent)
        team.parent = parent
        team_repath(team=team, path=Team.child_path(parent, team.name))
        where = f"under {parent.path}" if parent else "to the top of the tree"
        roster_change_record(
            organization_id=team.organization_id,
            actor=actor,
            kind=RosterChangeKind.TEAM,
            summary=f"Moved {old} {where} (now {team.path}).",
            details={"team_parents": [[team.pk, old_parent, team.parent_id]]},
        )
    return team


def team_merge(*, team: Team, into: Team, actor: Membership | None, leads_follow: bool = False) -> Team:
    """Merge `team` into `into`: its people and the teams below it move there. The merged team
    stays, empty, because rounds and results may refer to it, and its leads keep leading it (its
    past results). With `leads_follow` they also lead `into`, and so see its results: the
    preview says so by name."""
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        into = Team.objects.select_for_update().get(pk=into.pk)
        if into == team or team.contains(into):
            raise PulseError(_("Choose a team outside the one being merged."), code="into")
        children = list(Team.objects.filter(parent=team))
        for child in children:
            team_name_check(name=child.name, parent=into, team=child)
        moved = list(Membership.objects.filter(team=team).values_list("pk", "role", "is_active"))
        Membership.objects.filter(team=team).update(team=into)
        for child in children:
            Team.objects.filter(pk=child.pk).update(parent=into)
            child.parent = into
            team_repath(team=child, path=Team.child_path(into, child.name))
        added = _leads_follow(team, into) if leads_follow else []
        roster_change_record(
            organization_id=team.organization_id,
            actor=actor,
            kind=RosterChangeKind.TEAM,
            summary=f"Merged {team.path} into {into.path}: {_count(len(moved), 'person', 'people')} and "
            f"{_count(len(children), 'team', 'teams')} moved"
            + (f", {_count(len(added), 'lead', 'leads')} added to {into.name}." if added else "."),
            details={
                "memberships_changed": [
                    [pk, [role, team.pk, active], [role, into.pk, active]] for pk, role, active in moved
                ],
                "team_parents": [[child.pk, team.pk, into.pk] for child in children],
                "leads_added": leads_entries(added),
            },
        )
    return into


def team_merge_leads(team: Team, into: Team) -> list[Membership]:
    """The leads of `team` who would become leads of `into` if they followed it."""
    led = TeamManagement.objects.filter(team=into).values("membership_id")
    return list(
        Membership.objects.filter(management__team=team, is_active=True)
        .exclude(pk__in=led)
        .select_related("user")
        .order_by("user__name", "user__email")
    )


def _leads_follow(team: Team, into: Team) -> list[tuple[int, int]]:
    added = [(into.pk, lead.pk) for lead in team_merge_leads(team, into)]
    TeamManagement.objects.bulk_create(
        [TeamManagement(organization_id=team.organization_id, team_id=t, membership_id=m) for t, m in added]
    )
    return added


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"
