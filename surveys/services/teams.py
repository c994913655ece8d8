"""Changing the team tree on a page: rename a team, move it under another parent, merge it into
another team. Rounds freeze their tree when they open (docs/privacy.md, "Frozen at open"), so
none of this changes what an open or published round shows. Each change is recorded in the
roster history."""

from __future__ import annotations

from django.db import transaction

from surveys.core.exceptions import PulseError
from surveys.core.names import name_check
from surveys.models import Membership, RosterChangeKind, Team, TeamManagement
from surveys.services.history import roster_change_record

TEAM_NAME_MAX = Team._meta.get_field("name").max_length or 120


def team_name_check(*, name: str, parent: Team | None, team: Team | None = None) -> str:
    """A team name: one line, not empty, no "/" (paths use it), unique among its siblings."""
    name = name_check(name, code="name")
    if not name:
        raise PulseError("Give the team a name.", code="name")
    if Team.SEPARATOR in name:
        raise PulseError(f"A team name cannot contain “{Team.SEPARATOR}”.", code="name")
    if len(name) > TEAM_NAME_MAX:
        raise PulseError(f"Keep the name under {TEAM_NAME_MAX} characters.", code="name")
    path = Team.child_path(parent, name)
    clash = Team.objects.filter(path__iexact=path)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise PulseError("Another team there already has this name.", code="name")
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
        )
    return team


def team_move(*, team: Team, parent: Team | None, actor: Membership | None) -> Team:
    """Move `team` (and everything below it) under `parent` (None: to the top)."""
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if parent is not None and (parent == team or team.contains(parent)):
            raise PulseError("A team cannot move inside itself.", code="parent")
        if parent == team.parent:
            return team
        team_name_check(name=team.name, parent=parent, team=team)
        old = team.path
        Team.objects.filter(pk=team.pk).update(parent=parent)
        team.parent = parent
        team_repath(team=team, path=Team.child_path(parent, team.name))
        where = f"under {parent.path}" if parent else "to the top of the tree"
        roster_change_record(
            organization_id=team.organization_id,
            actor=actor,
            kind=RosterChangeKind.TEAM,
            summary=f"Moved {old} {where} (now {team.path}).",
        )
    return team


def team_merge(*, team: Team, into: Team, actor: Membership | None) -> Team:
    """Merge `team` into `into`: its people, the teams below it and its leads move there. The
    merged team stays, empty, because rounds and results may refer to it."""
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        into = Team.objects.select_for_update().get(pk=into.pk)
        if into == team or team.contains(into):
            raise PulseError("Choose a team outside the one being merged.", code="into")
        people = Membership.objects.filter(team=team).update(team=into)
        children = list(Team.objects.filter(parent=team))
        for child in children:
            team_name_check(name=child.name, parent=into, team=child)
        for child in children:
            Team.objects.filter(pk=child.pk).update(parent=into)
            child.parent = into
            team_repath(team=child, path=Team.child_path(into, child.name))
        led = set(TeamManagement.objects.filter(team=into).values_list("membership_id", flat=True))
        for lead in TeamManagement.objects.filter(team=team):
            if lead.membership_id not in led:
                TeamManagement.objects.create(team=into, membership_id=lead.membership_id)
        TeamManagement.objects.filter(team=team).delete()
        roster_change_record(
            organization_id=team.organization_id,
            actor=actor,
            kind=RosterChangeKind.TEAM,
            summary=f"Merged {team.path} into {into.path}: {people} people and {len(children)} teams moved.",
        )
    return into
