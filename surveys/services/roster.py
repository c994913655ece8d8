"""What a roster file changes: shown first, written only once HR confirms, undoable.

`roster_plan` compares checked rows (`surveys.services.roster_file`) with the organisation as
it stands and works out every change without writing anything: people added, updated, moved,
reactivated and deactivated; teams created, renamed and emptied; team leads added and removed.
HR sees that as a preview (`RosterImport.plan`). `roster_apply` writes exactly a plan, in one
transaction with bulk operations, records it in the roster history with what each change
replaced (so the last import can be undone), and e-mails new managers, HR and admins a link to
set up their account.

An import's life: `roster_import_start` (check and plan: in the request, or in a task for big
files) → PREVIEW → `roster_import_confirm` (a large deactivation needs a second confirmation;
the plan is worked out again and must not have changed) → apply (request or task) → DONE. A
preview can be cancelled, and one left alone is abandoned after a day. The file is deleted
whenever an import ends; the report stays.

Two modes: a full sync deactivates everyone absent from the file and makes the team leads
exactly the file's; add-and-update leaves absent people (and their leads) as they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from surveys.core.bulk import bulk_insert, bulk_update, chunks
from surveys.core.enqueue import enqueue
from surveys.core.exceptions import PulseError
from surveys.core.tenancy import across_organizations
from surveys.models import (
    HR_ROLES,
    MANAGER_ROLES,
    Invitation,
    Membership,
    Organization,
    Response,
    Role,
    RosterChange,
    RosterChangeKind,
    RosterImport,
    RosterImportMode,
    RosterImportStatus,
    RoundTeam,
    Team,
    TeamManagement,
    User,
)
from surveys.services.accounts import account_invitations_queue_ids
from surveys.services.history import roster_change_record
from surveys.services.roster_file import ProgressCallback, RosterError, RosterRow, roster_validate
from surveys.services.teams import team_repath

logger = logging.getLogger(__name__)

#: Files with more rows than this are checked and imported by a Celery task, with a progress page.
BACKGROUND_ROWS = 2_000
#: Deactivating more than this share of the active people needs a second confirmation.
LARGE_DEACTIVATION = 0.10
#: How many entries of each list the preview keeps (the counts are always complete).
PREVIEW_LIMIT = 200
#: A preview nobody confirms is abandoned (and its file deleted) after this long.
PREVIEW_LIFETIME = dt.timedelta(days=1)
#: An import that shows no progress for this long is queued again (a lost task, a dead worker).
STRANDED_AFTER = dt.timedelta(minutes=10)


# Planning --------------------------------------------------------------------------------


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
    def role_label(self) -> str:
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
    *, organization: Organization, rows: Sequence[RosterRow], mode: str, importer: Membership | None = None
) -> RosterPlan:
    """Everything `rows` would change, worked out without writing."""
    state = _state(organization, rows)
    plan = RosterPlan(mode=mode, rows=rows, active_before=state.active)
    plan.team_paths = {team_id: path for path, (team_id, _) in state.teams.items()}
    renamed = _plan_teams(plan, state, rows)
    _plan_people(plan, state, rows, importer, renamed)
    _plan_leads(plan, state, rows, importer, renamed)
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
        users.update(
            (email, _User(pk, email, name))
            for pk, email, name in User.objects.filter(email__any_of=chunk).values_list("id", "email", "name")
        )
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
        with across_organizations():
            shared.update(
                Membership.all_organizations.filter(user_id__any_of=chunk)
                .exclude(organization=organization)
                .values_list("user_id", flat=True)
            )
    return _State(teams, members, users, leads, active_per_team, shared)


def _plan_teams(plan: RosterPlan, state: _State, rows: Sequence[RosterRow]) -> dict[str, int]:
    """New teams, and teams renamed: a team the file no longer names whose people all turn up,
    together and alone, in a new team of the same parent (both without teams below them).
    Returns the new path of every renamed team -> its id."""
    wanted = {prefix for row in rows for prefix in Team.path_prefixes(row.team)}
    new_paths = sorted(wanted - state.teams.keys(), key=lambda path: (path.count(Team.SEPARATOR), path))
    in_file: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        user = state.users.get(row.email)
        if user is not None and user.pk in state.members:
            in_file[row.team].add(state.members[user.pk].pk)
    parents_in_file = {Team.parent_path(path) for path in wanted}
    parents_now = {parent for _, parent in state.teams.values()}
    renamed: dict[str, int] = {}
    gone = [path for path in state.teams if path not in wanted]
    active_in: dict[int, set[int]] = defaultdict(set)  # team id -> its active people's memberships
    for member in state.members.values():
        if member.is_active and member.team_id:
            active_in[member.team_id].add(member.pk)
    for new in new_paths:
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
        same_team = team_id is not None and membership.team_id == team_id
        if not same_team or (membership.role, membership.is_active) != (role, True):
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
                        "You are not in the file. You stay active, with your role, team and leads as they "
                        "were: an import never deactivates the person running it."
                    )
                    continue
                plan.deactivations.append(membership)
        if teamless:
            plan.notes.append(
                f"{teamless} active {'person has' if teamless == 1 else 'people have'} no team and "
                f"{'is' if teamless == 1 else 'are'} not in the file: a file cannot name them, so they stay as "
                "they are."
            )
    plan.member_emails = {m.pk: (m.email, m.name) for m in state.members.values()}


def _role_kept_for_importer(row: RosterRow, membership: _Member, importer: Membership | None, plan) -> str:
    if importer is None or membership.pk != importer.pk:
        return row.role
    if membership.role in HR_ROLES and row.role not in HR_ROLES:
        plan.notes.append(
            f"The file gives you (line {row.line}) the role {row.role}. You keep the role "
            f"{membership.role_label}: an import never takes HR rights from the person running it."
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
    for membership, row, _ in plan.membership_changes:
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


# The preview -----------------------------------------------------------------------------


def plan_preview(plan: RosterPlan, *, ignored_columns: Sequence[str] = ()) -> dict:
    """The plan as HR reads it: every count, and the first PREVIEW_LIMIT entries of each list."""
    moved, updated, reactivated = [], [], []
    for membership, row, role in plan.membership_changes:
        name = row.name
        if not membership.is_active:
            reactivated.append([row.email, name, row.team])
            continue
        before_team = membership.team_path or "no team"
        if before_team != row.team:
            moved.append([row.email, name, before_team, row.team])
        if membership.role != role:
            updated.append([row.email, name, f"role {membership.role_label} → {role}"])
    for _, email, old, new in plan.user_renames:
        updated.append([email, new, f"name {old} → {new}"])
    lists = {
        "people_added": [[row.email, row.name, row.team, row.role] for row in plan.memberships_to_create],
        "people_moved": moved,
        "people_updated": updated,
        "people_reactivated": reactivated,
        "people_deactivated": [[m.email, m.name, m.team_path or "no team"] for m in plan.deactivations],
        "teams_created": [[path] for path in plan.teams_to_create],
        "teams_renamed": [[old, new] for _, old, new in plan.team_renames],
        "teams_emptied": [[path] for path in plan.teams_emptied],
        "leads_added": [[path, email] for path, email in sorted(plan.leads_to_add)],
        "leads_removed": sorted(
            [plan.team_paths.get(team_id, "?"), plan.member_emails.get(membership_id, ("?", ""))[0]]
            for team_id, membership_id in plan.leads_to_remove
        ),
    }
    counts = {name: len(entries) for name, entries in lists.items()}
    counts["people_unchanged"] = plan.unchanged
    return {
        "mode": plan.mode,
        "rows": len(plan.rows),
        "active_before": plan.active_before,
        "deactivation_share": round(plan.deactivation_share, 4),
        "large_deactivation": plan.large_deactivation,
        "fingerprint": plan.fingerprint(),
        "counts": counts,
        "lists": {name: sorted(entries)[:PREVIEW_LIMIT] for name, entries in lists.items()},
        "notes": plan.notes,
        "ignored_columns": list(ignored_columns),
        "changes_nothing": not any(count for name, count in counts.items() if name != "people_unchanged"),
    }


# Applying --------------------------------------------------------------------------------


def roster_apply(*, organization: Organization, plan: RosterPlan, actor: Membership | None, roster_import=None) -> dict:
    """Write `plan` in one transaction, record it in the history, and return the summary."""
    started = time.monotonic()
    summary = plan_preview(plan)["counts"]
    with transaction.atomic():
        # One import at a time per organisation: a second waits here, then finds its plan stale.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        undo: dict[str, list] = defaultdict(list)
        team_ids = _apply_teams(organization, plan, undo)
        user_ids = _apply_users(plan, undo)
        managers = _apply_memberships(organization, plan, team_ids, user_ids, undo)
        _apply_leads(organization, plan, team_ids, undo)
        summary.update(rows=len(plan.rows), notes=plan.notes, seconds=round(time.monotonic() - started, 2))
        roster_change_record(
            organization_id=organization.pk,
            actor=actor,
            kind=RosterChangeKind.IMPORT,
            summary=_history_line(roster_import, summary),
            details=dict(undo),
            roster_import=roster_import,
        )
        account_invitations_queue_ids(sorted(managers))
    return summary


def _history_line(roster_import, counts: dict) -> str:
    name = f"Imported {roster_import.filename}" if roster_import is not None else "Imported a roster"
    parts = [
        f"{counts[key]} {label}"
        for key, label in (
            ("people_added", "added"),
            ("people_moved", "moved"),
            ("people_updated", "updated"),
            ("people_reactivated", "reactivated"),
            ("people_deactivated", "deactivated"),
            ("teams_created", "teams created"),
            ("teams_renamed", "teams renamed"),
        )
        if counts.get(key)
    ]
    return f"{name}: {', '.join(parts) or 'nothing changed'}."


def _apply_teams(organization: Organization, plan: RosterPlan, undo) -> dict[str, int]:
    for team_id, old, new in plan.team_renames:
        team_repath(team=Team.objects.get(pk=team_id), path=new)
        undo["team_renames"].append([team_id, old, new])
    team_ids = dict(Team.objects.values_list("path", "id"))
    by_depth: dict[int, list[str]] = defaultdict(list)
    for path in plan.teams_to_create:
        by_depth[path.count(Team.SEPARATOR)].append(path)
    for depth in sorted(by_depth):  # parents first: one insert per level of the tree
        rows = [(Team.name_of(path), path, team_ids.get(Team.parent_path(path))) for path in by_depth[depth]]
        created = bulk_insert(
            Team,
            ["name", "path", "parent_id"],
            rows,
            constants={"organization_id": organization.pk},
            returning=["path", "id"],
        )
        team_ids.update(created)
        undo["teams_created"] += sorted(team_id for _, team_id in created)
    return team_ids


def _apply_users(plan: RosterPlan, undo) -> dict[str, int]:
    # People imported have no password until they set one (managers are e-mailed a link).
    rows = [(row.email, row.name, UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)) for row in plan.users_to_create]
    created = dict(
        bulk_insert(
            User,
            ["email", "name", "password"],
            rows,
            constants={"is_superuser": False, "is_staff": False, "is_active": True, "date_joined": timezone.now()},
            returning=["email", "id"],
        )
    )
    undo["users_created"] = sorted(created.values())
    bulk_update(User, ["id", "name"], [(user_id, new_name) for user_id, _, _, new_name in plan.user_renames])
    undo["user_names"] = [[user_id, old, new] for user_id, _, old, new in plan.user_renames]
    wanted = {row.email for row in plan.memberships_to_create}
    user_ids = dict(created)
    for chunk in chunks(sorted(wanted - user_ids.keys())):
        user_ids.update(User.objects.filter(email__any_of=chunk).values_list("email", "id"))
    return user_ids


def _apply_memberships(organization, plan: RosterPlan, team_ids, user_ids, undo) -> set[int]:
    """Create, change, reactivate and deactivate memberships; returns those created or changed
    whose role has pages of its own (who may need an account)."""
    rows = [(user_ids[row.email], row.role, team_ids[row.team]) for row in plan.memberships_to_create]
    created = bulk_insert(
        Membership,
        ["user_id", "role", "team_id"],
        rows,
        constants={"organization_id": organization.pk, "is_active": True, "created_at": timezone.now()},
        returning=["id", "role"],
    )
    undo["memberships_created"] = sorted(membership_id for membership_id, _ in created)
    changed = []
    for membership, row, role in plan.membership_changes:
        before = [membership.role, membership.team_id, membership.is_active]
        changed.append((membership.pk, role, team_ids[row.team], True))
        undo["memberships_changed"].append([membership.pk, before, [role, team_ids[row.team], True]])
    bulk_update(Membership, ["id", "role", "team_id", "is_active"], changed)
    off = [m.pk for m in plan.deactivations]
    for chunk in chunks(off):
        Membership.objects.filter(pk__any_of=chunk).update(is_active=False)
    undo["memberships_changed"].extend(
        [m.pk, [m.role, m.team_id, True], [m.role, m.team_id, False]] for m in plan.deactivations
    )
    return {membership_id for membership_id, role, *_ in [*created, *changed] if role in MANAGER_ROLES}


def _apply_leads(organization, plan: RosterPlan, team_ids, undo) -> None:
    for team_id, membership_id in sorted(plan.leads_to_remove):
        TeamManagement.objects.filter(team_id=team_id, membership_id=membership_id).delete()
        undo["leads_removed"].append([team_id, membership_id])
    if not plan.leads_to_add:
        return
    emails = sorted({email for _, email in plan.leads_to_add})
    membership_of: dict[str, int] = {}
    for chunk in chunks(emails):
        membership_of.update(Membership.objects.filter(user__email__any_of=chunk).values_list("user__email", "id"))
    rows = [(team_ids[path], membership_of[email]) for path, email in sorted(plan.leads_to_add)]
    bulk_insert(TeamManagement, ["team_id", "membership_id"], rows, constants={"organization_id": organization.pk})
    undo["leads_added"] = [list(row) for row in rows]


# Undo ------------------------------------------------------------------------------------


def roster_import_undo(*, change: RosterChange, actor: Membership | None) -> RosterChange:
    """Put the roster back as it was before an import, if nothing has changed since: people's
    teams, roles and activity, names, leads, renamed teams. People and teams the import created
    are removed when nothing refers to them (a round they were invited to keeps them, inactive
    or empty)."""
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=change.organization_id).first()
        change = RosterChange.objects.select_for_update().get(pk=change.pk)
        latest = RosterChange.objects.filter(undone_at__isnull=True).exclude(kind=RosterChangeKind.UNDO).first()
        if change.kind != RosterChangeKind.IMPORT or change.undone_at is not None or latest != change:
            raise PulseError(
                "Only the latest change can be undone, and only if it is an import: something changed since.",
                code="undo",
            )
        details = change.details
        for team_id, membership_id in details.get("leads_added", []):
            TeamManagement.objects.filter(team_id=team_id, membership_id=membership_id).delete()
        for team_id, membership_id in details.get("leads_removed", []):
            TeamManagement.objects.get_or_create(team_id=team_id, membership_id=membership_id)
        for membership_id, before, _ in reversed(details.get("memberships_changed", [])):
            role, team_id, active = before
            Membership.objects.filter(pk=membership_id).update(role=role, team_id=team_id, is_active=active)
        _undo_created_memberships(details.get("memberships_created", []))
        for user_id, old, _ in details.get("user_names", []):
            User.objects.filter(pk=user_id).update(name=old)
        _undo_created_users(details.get("users_created", []))
        for team_id, old, _ in reversed(details.get("team_renames", [])):
            team_repath(team=Team.objects.get(pk=team_id), path=old)
        _undo_created_teams(details.get("teams_created", []))
        change.undone_at = timezone.now()
        change.save(update_fields=["undone_at"])
        return roster_change_record(
            organization_id=change.organization_id,
            actor=actor,
            kind=RosterChangeKind.UNDO,
            summary=f"Undid: {change.summary}",
            roster_import=change.roster_import,
        )


def _undo_created_memberships(ids: list[int]) -> None:
    kept = set(Invitation.objects.filter(membership_id__in=ids).values_list("membership_id", flat=True))
    Membership.objects.filter(pk__in=kept).update(is_active=False)
    Membership.objects.filter(pk__in=set(ids) - kept).delete()


def _undo_created_users(ids: list[int]) -> None:
    """Users the import created, unless they belong somewhere now or have signed in."""
    User.objects.filter(pk__in=ids, memberships__isnull=True, last_login__isnull=True).delete()


def _undo_created_teams(ids: list[int]) -> None:
    in_use = Q(pk__in=Membership.objects.filter(team_id__in=ids).values("team_id")) | Q(
        pk__in=Team.objects.filter(parent_id__in=ids).values("parent_id")
    )
    in_use |= Q(pk__in=Invitation.objects.filter(team_id__in=ids).values("team_id"))
    in_use |= Q(pk__in=Response.objects.filter(team_id__in=ids).values("team_id"))
    in_use |= Q(pk__in=RoundTeam.objects.filter(team_id__in=ids).values("team_id"))
    # Children before parents: a team is free once the teams below it are gone.
    for team_id in sorted(ids, reverse=True):
        Team.objects.filter(pk=team_id).exclude(in_use).delete()


# Running an import -----------------------------------------------------------------------


def roster_import_start(
    *,
    organization: Organization,
    uploaded_by: Membership | None,
    filename: str,
    content: bytes,
    mode: str = RosterImportMode.SYNC,
    background: bool | None = None,
) -> RosterImport:
    """Record an upload, then check it and work out its preview: now for small files, in a
    Celery task for big ones (`background=None` decides by BACKGROUND_ROWS). Nothing is
    changed until HR confirms (`roster_import_confirm`)."""
    if mode not in RosterImportMode.values:
        raise PulseError("Choose how to import: full sync, or add and update only.", code="mode")
    roster_import = RosterImport.objects.create(
        organization=organization, uploaded_by=uploaded_by, filename=filename[:255], content=content, mode=mode
    )
    if background is None:
        background = _is_big(content)
    if not background:
        return roster_import_process(roster_import=roster_import)
    enqueue("surveys.tasks.roster_import_run", roster_import.pk)
    return roster_import


def _is_big(content: bytes) -> bool:
    return max(content.count(b"\n"), content.count(b"\r")) > BACKGROUND_ROWS


def roster_import_confirm(
    *,
    roster_import: RosterImport,
    confirmed_by: Membership | None,
    large_deactivation_ok: bool,
    background: bool | None = None,
) -> RosterImport:
    """HR confirms a preview. A large deactivation needs `large_deactivation_ok`. The import is
    then written: now, or in a task (`background=None`: for a big file)."""
    roster_import = RosterImport.objects.get(pk=roster_import.pk)
    if roster_import.status != RosterImportStatus.PREVIEW:
        raise PulseError("This import is not waiting for a confirmation any more.", code="status", status=409)
    if roster_import.plan.get("large_deactivation") and not large_deactivation_ok:
        raise PulseError(
            "This import deactivates more than one person in ten. Tick the box to confirm that this is what you want.",
            code="large_deactivation_ok",
        )
    changed = RosterImport.objects.filter(pk=roster_import.pk, status=RosterImportStatus.PREVIEW).update(
        status=RosterImportStatus.IMPORTING, confirmed_by=confirmed_by, progress_at=timezone.now()
    )
    if not changed:  # a second click: the first confirmation is under way
        raise PulseError("This import is already being saved.", code="status", status=409)
    roster_import.status, roster_import.confirmed_by = RosterImportStatus.IMPORTING, confirmed_by
    if background is None:
        background = _is_big(bytes(roster_import.content))
    if background:
        enqueue("surveys.tasks.roster_import_run", roster_import.pk)
        return roster_import
    return roster_import_process(roster_import=roster_import)


def roster_import_cancel(*, roster_import: RosterImport) -> RosterImport:
    updated = RosterImport.objects.filter(pk=roster_import.pk, status=RosterImportStatus.PREVIEW).update(
        status=RosterImportStatus.CANCELLED, content=b"", finished_at=timezone.now()
    )
    if not updated:
        raise PulseError("Only an import waiting for its confirmation can be cancelled.", code="status", status=409)
    return RosterImport.objects.get(pk=roster_import.pk)


def roster_import_process(*, roster_import: RosterImport) -> RosterImport:
    """Move an import one step on: check and plan it (→ PREVIEW, or FAILED with every problem),
    or, once confirmed, write it (→ DONE). Safe to run again (a redelivered or re-queued task):
    a finished import is left alone, and an interrupted one starts its step over, since its
    writes were rolled back with their transaction."""
    roster_import = RosterImport.objects.select_related("organization", "uploaded_by").get(pk=roster_import.pk)
    if roster_import.status in (RosterImportStatus.PREVIEW, *FINISHED):
        return roster_import
    confirming = roster_import.status == RosterImportStatus.IMPORTING
    if not confirming:
        _progress(roster_import, status=RosterImportStatus.VALIDATING, processed_rows=0)
    try:
        check = roster_validate(content=bytes(roster_import.content), on_progress=_progress_recorder(roster_import))
        if not check.ok:
            return _finish(roster_import, RosterImportStatus.FAILED, errors=[e.as_dict() for e in check.errors])
        if not confirming:
            plan = _plan_for(roster_import, check.rows)
            _progress(
                roster_import,
                status=RosterImportStatus.PREVIEW,
                plan=plan_preview(plan, ignored_columns=check.ignored_columns),
            )
            return roster_import
        with transaction.atomic():
            # Plan again and write under the organisation's lock, so that what is written is
            # what HR confirmed, and a second run of this step (a task queued again while the
            # first was still going) finds the import done and leaves it alone.
            Organization.objects.select_for_update().filter(pk=roster_import.organization_id).first()
            if RosterImport.objects.filter(pk=roster_import.pk, status=RosterImportStatus.IMPORTING).count() == 0:
                return RosterImport.objects.get(pk=roster_import.pk)
            plan = _plan_for(roster_import, check.rows)
            preview = plan_preview(plan, ignored_columns=check.ignored_columns)
            if preview["fingerprint"] != roster_import.plan.get("fingerprint"):
                _progress(roster_import, status=RosterImportStatus.PREVIEW, plan={**preview, "stale": True})
                return roster_import
            summary = roster_apply(
                organization=roster_import.organization,
                plan=plan,
                actor=roster_import.confirmed_by or roster_import.uploaded_by,
                roster_import=roster_import,
            )
            summary["ignored_columns"] = check.ignored_columns
            return _finish(roster_import, RosterImportStatus.DONE, summary=summary)
    except Exception:
        logger.exception("Roster import %s failed", roster_import.pk)
        message = "Something went wrong while saving, and nothing was imported. Please try again."
        _finish(roster_import, RosterImportStatus.FAILED, errors=[RosterError(1, message).as_dict()])
        raise


def _plan_for(roster_import: RosterImport, rows: Sequence[RosterRow]) -> RosterPlan:
    return roster_plan(
        organization=roster_import.organization, rows=rows, mode=roster_import.mode, importer=roster_import.uploaded_by
    )


FINISHED = (RosterImportStatus.DONE, RosterImportStatus.FAILED, RosterImportStatus.CANCELLED)


def _progress_recorder(roster_import: RosterImport) -> ProgressCallback:
    def record(checked: int, total: int) -> None:
        _progress(roster_import, processed_rows=checked, total_rows=total)

    return record


def _progress(roster_import: RosterImport, **fields) -> None:
    """Write progress outside any transaction of the import, so the page sees it as it goes."""
    fields["progress_at"] = timezone.now()
    for name, value in fields.items():
        setattr(roster_import, name, value)
    RosterImport.objects.filter(pk=roster_import.pk).update(**fields)


def _finish(roster_import: RosterImport, status: str, *, errors: list | None = None, summary: dict | None = None):
    # The file is personal data that has served its purpose: keep the report, drop the file.
    _progress(
        roster_import,
        status=status,
        errors=errors or [],
        summary=summary or {},
        content=b"",
        finished_at=timezone.now(),
    )
    return roster_import


def roster_imports_tend(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The safety net (beat and cron): queue again the imports that stopped moving (a task lost
    while the broker was down, a worker that died), and abandon previews nobody confirmed,
    deleting their files. Spans organisations; each import runs in its own scope."""
    now = now or timezone.now()
    with across_organizations():
        stranded = list(
            RosterImport.all_organizations.filter(
                status__in=[RosterImportStatus.PENDING, RosterImportStatus.VALIDATING, RosterImportStatus.IMPORTING],
                progress_at__lt=now - STRANDED_AFTER,
            ).values_list("pk", flat=True)
        )
        for import_id in stranded:
            RosterImport.all_organizations.filter(pk=import_id).update(progress_at=now)
            enqueue("surveys.tasks.roster_import_run", import_id)
        abandoned = RosterImport.all_organizations.filter(
            status=RosterImportStatus.PREVIEW, progress_at__lt=now - PREVIEW_LIFETIME
        ).update(status=RosterImportStatus.CANCELLED, content=b"", finished_at=now)
    return {"requeued": len(stranded), "abandoned": abandoned}
