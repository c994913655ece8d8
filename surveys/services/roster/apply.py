"""Applying: a plan written in one transaction with set-based writes (`surveys.core.bulk`),
recorded in the roster history with what each change replaced, and the account e-mails queued."""

from __future__ import annotations

import secrets
import time
from collections import defaultdict

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.utils import timezone

from surveys.core.bulk import bulk_insert, bulk_update, chunks
from surveys.core.cross_lookups import people_by_email
from surveys.models import (
    MANAGER_ROLES,
    Membership,
    Organization,
    RosterChangeKind,
    Team,
    TeamManagement,
    User,
)
from surveys.services.accounts import account_invitations_queue_ids
from surveys.services.history import roster_change_record
from surveys.services.roster.plan import RosterPlan
from surveys.services.roster.preview import plan_preview
from surveys.services.teams import team_repath


def roster_apply(
    *,
    organization: Organization,
    plan: RosterPlan,
    actor: Membership | None,
    roster_import=None,
    source: str | None = None,
    kind: str = RosterChangeKind.IMPORT,
) -> dict:
    """Write `plan` in one transaction, record it in the history (as `kind`, its line starting
    with `source`, else the import's file name), and return the summary."""
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
            kind=kind,
            summary=_history_line(roster_import, summary, source),
            details=dict(undo),
            roster_import=roster_import,
        )
        account_invitations_queue_ids(sorted(managers))
    return summary


def _history_line(roster_import, counts: dict, source: str | None = None) -> str:
    name = f"Imported {roster_import.filename}" if roster_import is not None else "Imported a roster"
    name = source or name
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
        by_depth[Team.path_depth(path)].append(path)
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
            constants={
                "is_superuser": False,
                "is_staff": False,
                "is_active": True,
                "date_joined": timezone.now(),
                "language": "",
            },
            returning=["email", "id"],
        )
    )
    undo["users_created"] = sorted(created.values())
    bulk_update(User, ["id", "name"], [(user_id, new_name) for user_id, _, _, new_name in plan.user_renames])
    undo["user_names"] = [[user_id, old, new] for user_id, _, old, new in plan.user_renames]
    wanted = {row.email for row in plan.memberships_to_create}
    user_ids = dict(created)
    for chunk in chunks(sorted(wanted - user_ids.keys())):
        found = set(chunk)  # people already on Pulse, some perhaps only elsewhere (core.cross_lookups)
        user_ids.update((email, pk) for pk, email, _ in people_by_email(chunk) if email in found)
    return user_ids


def _apply_memberships(organization, plan: RosterPlan, team_ids, user_ids, undo) -> set[int]:
    """Create, change, reactivate and deactivate memberships; returns those created or changed
    whose role has pages of its own (who may need an account)."""
    rows = [(user_ids[row.email], row.role, _team_id(team_ids, row.team)) for row in plan.memberships_to_create]
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
        team_id = _team_id(team_ids, row.team)
        changed.append((membership.pk, role, team_id, row.active))
        undo["memberships_changed"].append([membership.pk, before, [role, team_id, row.active]])
    bulk_update(Membership, ["id", "role", "team_id", "is_active"], changed)
    off = [m.pk for m in plan.deactivations]
    for chunk in chunks(off):
        Membership.objects.filter(pk__any_of=chunk).update(is_active=False)
    undo["memberships_changed"].extend(
        [m.pk, [m.role, m.team_id, True], [m.role, m.team_id, False]] for m in plan.deactivations
    )
    return {membership_id for membership_id, role, *_ in [*created, *changed] if role in MANAGER_ROLES}


def _team_id(team_ids: dict[str, int], path: str) -> int | None:
    """A row's team, by its path; an empty path is no team."""
    return team_ids[path] if path else None


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
