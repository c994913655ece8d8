"""Planning: what a roster file changes, worked out against the organisation as it stands,
without writing anything (`roster_plan` → `RosterPlan`)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from surveys.core.bulk import chunks
from surveys.core.cross_lookups import people_by_email, people_elsewhere
from surveys.core.words import Words
from surveys.models import (
    HR_ROLES,
    Membership,
    Organization,
    Role,
    RosterImportMode,
    Team,
    TeamManagement,
)
from surveys.services.roster_file import RosterRow

#: Deactivating more than this share of the active people needs a second confirmation.
LARGE_DEACTIVATION = 0.10


class _User(NamedTuple):
    pk: int
    email: str
    name: str


class _Member(NamedTuple):
    """A membership as planning reads it: plain values, not three model instances a person."""

    pk: int
    user_id: int
    role: str
    team_id: int | None
    is_active: bool
    email: str
    name: str  # as pages show the person: their name, else their email
    team_path: str | None

    @property
    def role_label(self) -> Words:
        return Role(self.role).label


@dataclass
class _State:
    """The organisation as it stands, read once."""

    teams: dict[str, tuple[int, int | None]]  # path -> (id, parent id)
    members: dict[int, _Member]  # user id -> membership
    users: dict[str, _User]  # email -> user, for the emails of the file
    leads: set[tuple[int, int]]  # (team id, membership id)
    active_per_team: dict[int, int]
    #: users of the file who belong to another organisation too: their name is not this one's to change
    shared: set[int] = field(default_factory=set)

    @property
    def active(self) -> int:
        return sum(1 for m in self.members.values() if m.is_active)


@dataclass
class RosterPlan:
    """Every change a file makes, with what each replaces."""

    mode: str
    rows: Sequence[RosterRow]
    teams_to_create: list[str] = field(default_factory=list)  # paths, parents first
    team_renames: list[tuple[int, str, str]] = field(default_factory=list)  # id, old path, new path
    users_to_create: list[RosterRow] = field(default_factory=list)
    user_renames: list[tuple[int, str, str, str]] = field(default_factory=list)  # id, email, old, new
    memberships_to_create: list[RosterRow] = field(default_factory=list)
    membership_changes: list[tuple[_Member, RosterRow, str]] = field(default_factory=list)  # kept role
    deactivations: list[_Member] = field(default_factory=list)
    leads_to_add: set[tuple[str, str]] = field(default_factory=set)  # (team path, email)
    leads_to_remove: set[tuple[int, int]] = field(default_factory=set)  # (team id, membership id)
    teams_emptied: list[str] = field(default_factory=list)
    unchanged: int = 0
    active_before: int = 0
    notes: list[str] = field(default_factory=list)
    team_paths: dict[int, str] = field(default_factory=dict)  # id -> path, for display
    member_emails: dict[int, tuple[str, str]] = field(default_factory=dict)  # membership id -> email, name

    @property
    def deactivation_share(self) -> float:
        return len(self.deactivations) / self.active_before if self.active_before else 0.0

    @property
    def large_deactivation(self) -> bool:
        return self.deactivation_share > LARGE_DEACTIVATION

    def fingerprint(self) -> str:
        """Identical for two plans that would write the same thing."""
        canonical = {
            "create": sorted(self.teams_to_create),
            "rename": sorted(self.team_renames),
            "users": sorted(row.email for row in self.users_to_create),
            "names": sorted(self.user_renames),
            "members": sorted((row.email, row.role, row.team) for row in self.memberships_to_create),
            "changes": sorted((m.pk, row.team, role) for m, row, role in self.membership_changes),
            "off": sorted(m.pk for m in self.deactivations),
            "leads+": sorted(self.leads_to_add),
            "leads-": sorted(self.leads_to_remove),
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def roster_plan(
    *,
    organization: Organization,
    rows: Sequence[RosterRow],
    mode: str,
    importer: Membership | None = None,
    deactivate: Sequence[str] = (),
    leads: bool = True,
    renames: bool = True,
) -> RosterPlan:
    """Everything `rows` would change, worked out without writing. A row's empty team is no
        team. `deactivate` names (by e-mail) people to deactivate whatever the mode (an identity
        provider's deprovisioning); `leads=False` leaves every lead as it is, but those of people
        deactivated (rows that do not speak for leads: SCIM's); `renames=False` never takes a new path
    for a team renamed (rows that name a few people, not the whole tree: SCIM's)."""
    state = _state(organization, [*rows, *(RosterRow(0, email, "", "", "") for email in deactivate)])
    plan = RosterPlan(mode=mode, rows=rows, active_before=state.active)
    plan.team_paths = {team_id: path for path, (team_id, _) in state.teams.items()}
    renamed = _plan_teams(plan, state, rows, renames=renames)
    _plan_people(plan, state, rows, importer, renamed)
    _plan_deactivations(plan, state, deactivate, importer)
    if leads:
        _plan_leads(plan, state, rows, importer, renamed)
    else:
        off = {membership.pk for membership in plan.deactivations}
        plan.leads_to_remove = {lead for lead in state.leads if lead[1] in off}
    _plan_emptied(plan, state, renamed)
    return plan


def _state(organization: Organization, rows: Sequence[RosterRow]) -> _State:
    teams: dict[str, tuple[int, int | None]] = {
        path: (pk, parent) for pk, path, parent in Team.objects.values_list("id", "path", "parent_id")
    }
    # Only what planning reads, as plain values: a roster of 50,000 is 150,000 model instances otherwise.
    rows_read = Membership.objects.values_list(
        "pk", "user_id", "role", "team_id", "is_active", "user__email", "user__name", "team__path"
    )
    members = {
        user_id: _Member(pk, user_id, role, team_id, active, email, name or email, path)
        for pk, user_id, role, team_id, active, email, name, path in rows_read
    }
    users: dict[str, _User] = {}
    for chunk in chunks([row.email for row in rows]):
        wanted = set(chunk)  # people of other organisations too (core.cross_lookups)
        users.update((email, _User(pk, email, name)) for pk, email, name in people_by_email(chunk) if email in wanted)
    active_per_team: dict[int, int] = defaultdict(int)
    for member in members.values():
        if member.is_active and member.team_id:
            active_per_team[member.team_id] += 1
    # Leads of people deactivated earlier are no file's business (deactivating removes them).
    leads = set(TeamManagement.objects.filter(membership__is_active=True).values_list("team_id", "membership_id"))
    # Whose name is not this organisation's to change: asked only about names the file changes.
    renamed = [user.pk for row in rows if (user := users.get(row.email)) is not None and user.name != row.name]
    shared: set[int] = set()
    for chunk in chunks(renamed):
        shared.update(people_elsewhere(chunk, organization_id=organization.pk))
    return _State(teams, members, users, leads, active_per_team, shared)


def _plan_teams(plan: RosterPlan, state: _State, rows: Sequence[RosterRow], *, renames: bool = True) -> dict[str, int]:
    """New teams, and teams renamed: a team the file no longer names whose people all turn up,
    together and alone, in a new team of the same parent (both without teams below them).
    Returns the new path of every renamed team -> its id."""
    wanted = {prefix for row in rows if row.team for prefix in Team.path_prefixes(row.team)}
    new_paths = sorted(wanted - state.teams.keys(), key=lambda path: (Team.path_depth(path), path))
    in_file: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        user = state.users.get(row.email)
        if user is not None and user.pk in state.members and row.team:
            in_file[row.team].add(state.members[user.pk].pk)
    parents_in_file = {Team.parent_path(path) for path in wanted}
    parents_now = {parent for _, parent in state.teams.values()}
    renamed: dict[str, int] = {}
    gone = [path for path in state.teams if path not in wanted]
    active_in: dict[int, set[int]] = defaultdict(set)  # team id -> its active people's memberships
    for member in state.members.values():
        if member.is_active and member.team_id:
            active_in[member.team_id].add(member.pk)
    for new in new_paths if renames else ():
        if new in parents_in_file:
            continue
        for old in gone:
            team_id, _ = state.teams[old]
            if team_id in parents_now or Team.parent_path(old) != Team.parent_path(new):
                continue
            people = active_in.get(team_id)
            if people and people == in_file.get(new):
                renamed[new] = team_id
                plan.team_renames.append((team_id, old, new))
                gone.remove(old)
                break
    plan.teams_to_create = [path for path in new_paths if path not in renamed]
    return renamed


def _plan_people(plan, state: _State, rows, importer: Membership | None, renamed: dict[str, int]) -> None:
    in_file: set[int] = set()
    for row in rows:
        user = state.users.get(row.email)
        if user is None:
            plan.users_to_create.append(row)
            plan.memberships_to_create.append(row)
            continue
        if user.name != row.name and user.pk not in state.shared:
            plan.user_renames.append((user.pk, user.email, user.name, row.name))
        membership = state.members.get(user.pk)
        if membership is None:
            plan.memberships_to_create.append(row)
            continue
        in_file.add(membership.pk)
        role = _role_kept_for_importer(row, membership, importer, plan)
        team_id = renamed.get(row.team) or state.teams.get(row.team, (None,))[0]  # None: a team to create
        same_team = (team_id is not None and membership.team_id == team_id) if row.team else membership.team_id is None
        if not same_team or (membership.role, membership.is_active) != (role, row.active):
            plan.membership_changes.append((membership, row, role))
        elif user.name == row.name or user.pk in state.shared:
            plan.unchanged += 1
    if plan.mode == RosterImportMode.SYNC:
        teamless = 0
        for membership in state.members.values():
            if membership.is_active and membership.pk not in in_file:
                if membership.team_id is None:
                    teamless += 1  # a file cannot name them (the export leaves them out)
                    continue
                if importer is not None and membership.pk == importer.pk:
                    plan.notes.append(
                        _(
                            "You are not in the file. You stay active, with your role, team and leads as they "
                            "were: an import never deactivates the person running it."
                        )
                    )
                    continue
                plan.deactivations.append(membership)
        if teamless:
            plan.notes.append(
                ngettext(
                    "%(count)s active person has no team and is not in the file: a file cannot name them, "
                    "so they stay as they are.",
                    "%(count)s active people have no team and are not in the file: a file cannot name them, "
                    "so they stay as they are.",
                    teamless,
                )
                % {"count": teamless}
            )
    plan.member_emails = {m.pk: (m.email, m.name) for m in state.members.values()}


def _plan_deactivations(plan: RosterPlan, state: _State, emails: Sequence[str], importer: Membership | None) -> None:
    """People named to deactivate, whatever the mode: those active, never the importer."""
    named = {membership.pk for membership in plan.deactivations}
    for email in emails:
        user = state.users.get(email)
        membership = state.members.get(user.pk) if user is not None else None
        if membership is None or not membership.is_active or membership.pk in named:
            continue
        if importer is not None and membership.pk == importer.pk:
            continue
        plan.deactivations.append(membership)
        named.add(membership.pk)


def _role_kept_for_importer(row: RosterRow, membership: _Member, importer: Membership | None, plan) -> str:
    if importer is None or membership.pk != importer.pk:
        return row.role
    if membership.role in HR_ROLES and row.role not in HR_ROLES:
        plan.notes.append(
            _(
                "The file gives you (line %(line)s) the role %(role)s. You keep the role "
                "%(kept)s: an import never takes HR rights from the person running it."
            )
            % {"line": row.line, "role": row.role, "kept": membership.role_label}
        )
        return membership.role
    return row.role


def _plan_leads(plan, state: _State, rows, importer: Membership | None, renamed: dict[str, int]) -> None:
    """Leads the file names that do not exist yet, and existing leads it no longer names: all
    of them in a full sync, only those of people in the file when adding and updating. The
    importer's own leads stay when they are not in the file."""
    team_id_of = {path: team_id for path, (team_id, _) in state.teams.items()}
    team_id_of.update(renamed)
    membership_of = {user.email: state.members[user.pk].pk for user in state.users.values() if user.pk in state.members}
    wanted: set[tuple[str, str]] = {(path, row.email) for row in rows for path in row.manages}
    wanted_ids = {
        (team_id_of[path], membership_of[email])
        for path, email in wanted
        if path in team_id_of and email in membership_of
    }
    plan.leads_to_add = {
        (path, email)
        for path, email in wanted
        if path not in team_id_of
        or email not in membership_of
        or (team_id_of[path], membership_of[email]) not in state.leads
    }
    in_file = {membership_of[row.email] for row in rows if row.email in membership_of}
    kept = importer.pk if importer is not None and importer.pk not in in_file else None
    for team_id, membership_id in state.leads - wanted_ids:
        if membership_id == kept:
            continue
        if plan.mode == RosterImportMode.ADD and membership_id not in in_file:
            continue
        plan.leads_to_remove.add((team_id, membership_id))


def _plan_emptied(plan: RosterPlan, state: _State, renamed: dict[str, int]) -> None:
    """Teams that have people now and would have none after the import."""
    after = dict(state.active_per_team)
    for membership in plan.deactivations:
        if membership.team_id:
            after[membership.team_id] = after.get(membership.team_id, 0) - 1
    team_id_of = {path: team_id for path, (team_id, _) in state.teams.items()}
    team_id_of.update(renamed)
    for membership, row, _unused in plan.membership_changes:
        if membership.is_active and membership.team_id:
            after[membership.team_id] -= 1
        target = team_id_of.get(row.team)
        if target:
            after[target] = after.get(target, 0) + 1
    for row in plan.memberships_to_create:
        target = team_id_of.get(row.team)
        if target:
            after[target] = after.get(target, 0) + 1
    paths = {team_id: path for path, (team_id, _) in state.teams.items()}
    plan.teams_emptied = sorted(
        paths[team_id] for team_id, before in state.active_per_team.items() if before and after.get(team_id, 0) <= 0
    )
