"""An identity provider's changes (SCIM 2.0, `surveys.scim`) fed to the same roster plan as
imports: each request becomes rows (`RosterRow`) and names to deactivate, planned by
`roster_plan` with the same checks, written by `roster_apply` and recorded in the roster
history, so HR can undo it like any entry.

What SCIM may change: a person's address (once, at creation), name and activity; the teams
(a group's displayName is a team's path) and who is in each. Never a role or a lead: access to
results is granted in Pulse, so a compromised or misconfigured identity provider can add, move
and remove people but not make anyone a manager or HR.

A burst of deactivations is held: once the identity provider's deactivations of the last
HOLD_WINDOW would exceed LARGE_DEACTIVATION (the import's threshold) of the organisation's
active people, each further deactivation waits (`ScimHeldDeactivation`) for HR to confirm it or
keep the person, on the People page. One leaver at a time is always applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from surveys.core.exceptions import PulseError
from surveys.core.names import name_check
from surveys.models import (
    HeldDeactivationStatus,
    Membership,
    Organization,
    Role,
    RosterChange,
    RosterChangeKind,
    RosterImportMode,
    ScimHeldDeactivation,
    ScimPerson,
    ScimTeam,
    ScimToken,
    Team,
)
from surveys.services.roster.apply import roster_apply
from surveys.services.roster.plan import LARGE_DEACTIVATION, roster_plan
from surveys.services.roster_file import EMAIL_MAX, NAME_MAX, RosterRow, team_path_read
from surveys.services.teams import team_move, team_rename

#: Deactivations by the identity provider within this window count together against the threshold.
HOLD_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class ScimPersonFields:
    """A SCIM User as Pulse keeps it: the roster's part (email, name, active) and SCIM's own."""

    user_name: str
    email: str
    name: str = ""
    active: bool = True
    external_id: str = ""
    name_parts: dict = field(default_factory=dict)
    display_name: str = ""


@dataclass(frozen=True)
class ScimOutcome:
    membership: Membership
    held: bool = False


def scim_person_create(*, organization: Organization, token: ScimToken | None, fields: ScimPersonFields) -> ScimOutcome:
    """Add a person (an employee, with no team until a group names one). Someone the roster has
    already is a conflict (the identity provider finds them by userName and links them),
    unless the identity provider deleted them before: then they come back."""
    fields = _fields_check(fields)
    with transaction.atomic():
        _lock(organization)
        _user_name_free(fields.user_name, keep=None)
        existing = Membership.objects.filter(user__email=fields.email).select_related("user", "team").first()
        link = ScimPerson.objects.filter(membership=existing).first() if existing is not None else None
        if existing is not None and (link is None or link.deleted_at is None):
            raise PulseError(
                f"{fields.email} is in the roster already: find them by userName or emails and update them.",
                code="uniqueness",
                status=409,
            )
        team = existing.team.path if existing is not None and existing.team else ""
        role = existing.role if existing is not None else Role.EMPLOYEE
        name = fields.name or (existing.user.name if existing is not None else "")
        row = RosterRow(0, fields.email, name, team, role)
        _apply(organization, token, rows=[row], what=f"added {fields.email}")
        membership = Membership.objects.select_related("user", "team").get(user__email=fields.email)
        _link_save(membership, fields, link)
        held = False
        if not fields.active:
            held = _deactivate(organization, token, membership)
        return ScimOutcome(Membership.objects.select_related("user", "team").get(pk=membership.pk), held)


def scim_person_replace(*, membership: Membership, token: ScimToken | None, fields: ScimPersonFields) -> ScimOutcome:
    """Make a person what the identity provider says (PUT, and PATCH once applied): name,
    activity, SCIM's own attributes. The address is the person's key in Pulse, so it cannot
    change here (as in an import, a new address is a new person)."""
    fields = _fields_check(fields)
    organization = membership.organization
    with transaction.atomic():
        _lock(organization)
        membership = Membership.objects.select_related("user", "team").get(pk=membership.pk)
        link = ScimPerson.objects.filter(membership=membership).first()
        if fields.email != membership.user.email:
            raise PulseError(
                "A person's e-mail address cannot change through SCIM: Pulse knows people by their address.",
                code="mutability",
            )
        _user_name_free(fields.user_name, keep=link)
        name = fields.name  # no name is no name: the identity provider removed it
        # A name, and a reactivation, go through a row; a deactivation may be held, so it is asked apart.
        active = fields.active or membership.is_active
        if name != membership.user.name or active != membership.is_active:
            team = membership.team.path if membership.team else ""
            row = RosterRow(0, fields.email, name, team, membership.role, active=active)
            _apply(organization, token, rows=[row], what=f"updated {fields.email}")
        if fields.active:
            ScimHeldDeactivation.objects.filter(membership=membership, status=HeldDeactivationStatus.HELD).update(
                status=HeldDeactivationStatus.DISMISSED, resolved_at=timezone.now()
            )
        held = _deactivate(organization, token, membership) if not fields.active and membership.is_active else False
        _link_save(membership, fields, link)
        return ScimOutcome(Membership.objects.select_related("user", "team").get(pk=membership.pk), held)


def scim_person_delete(*, membership: Membership, token: ScimToken | None) -> ScimOutcome:
    """The identity provider deletes a person: SCIM answers 404 for them from now on, and Pulse
    deactivates them (never deletes: the rounds they were counted in keep them), or holds the
    deactivation for HR."""
    organization = membership.organization
    with transaction.atomic():
        _lock(organization)
        membership = Membership.objects.select_related("user", "team").get(pk=membership.pk)
        link = ScimPerson.objects.filter(membership=membership).first()
        if link is None:
            link = ScimPerson(organization=organization, membership=membership, user_name=membership.user.email)
        link.deleted_at = timezone.now()
        link.save()
        held = _deactivate(organization, token, membership) if membership.is_active else False
        return ScimOutcome(membership, held)


def scim_held_confirm(*, held: ScimHeldDeactivation, actor: Membership | None) -> ScimHeldDeactivation:
    """HR confirms a held deactivation: applied now (recorded in the history, undoable)."""
    with transaction.atomic():
        held = _held_locked(held)
        membership = Membership.objects.select_related("user", "organization").get(pk=held.membership_id)
        if membership.is_active:
            plan = roster_plan(
                organization=membership.organization,
                rows=[],
                mode=RosterImportMode.ADD,
                deactivate=[membership.user.email],
                leads=False,
            )
            roster_apply(
                organization=membership.organization,
                plan=plan,
                actor=actor,
                source="Confirmed a deactivation held from the identity provider (SCIM)",
                kind=RosterChangeKind.SCIM,
            )
        return _held_resolve(held, HeldDeactivationStatus.APPLIED, actor)


def scim_held_dismiss(*, held: ScimHeldDeactivation, actor: Membership | None) -> ScimHeldDeactivation:
    """HR keeps the person: the held deactivation is dropped (the identity provider still says
    they left; fix that there, or it may ask again)."""
    with transaction.atomic():
        return _held_resolve(_held_locked(held), HeldDeactivationStatus.DISMISSED, actor)


def _held_locked(held: ScimHeldDeactivation) -> ScimHeldDeactivation:
    held = ScimHeldDeactivation.objects.select_for_update().get(pk=held.pk)
    if held.status != HeldDeactivationStatus.HELD:
        raise PulseError("This deactivation was decided already.", code="status", status=409)
    return held


def _held_resolve(held: ScimHeldDeactivation, status: str, actor: Membership | None) -> ScimHeldDeactivation:
    held.status, held.resolved_at, held.resolved_by = status, timezone.now(), actor
    held.save(update_fields=["status", "resolved_at", "resolved_by"])
    return held


def _fields_check(fields: ScimPersonFields) -> ScimPersonFields:
    email = fields.email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise PulseError(
            f"“{email[:80]}” is not an e-mail address: Pulse needs one for each person.", code="email"
        ) from None
    if len(email) > EMAIL_MAX:
        raise PulseError(f"An e-mail address has at most {EMAIL_MAX} characters.", code="email")
    user_name = name_check(fields.user_name, code="user_name")
    if not user_name or len(user_name) > EMAIL_MAX:
        raise PulseError(f"Give a userName of 1 to {EMAIL_MAX} characters.", code="user_name")
    name = name_check(fields.name, code="name")
    if len(name) > NAME_MAX:
        raise PulseError(f"A name has at most {NAME_MAX} characters.", code="name")
    display_name = name_check(fields.display_name, code="display_name")[:200]
    external_id = name_check(fields.external_id, code="external_id")[:254]
    return ScimPersonFields(
        user_name, email, name, fields.active, external_id, dict(fields.name_parts or {}), display_name
    )


def _lock(organization: Organization) -> None:
    """One roster change at a time per organisation (as imports and single edits)."""
    Organization.objects.select_for_update().filter(pk=organization.pk).first()


def _user_name_free(user_name: str, *, keep: ScimPerson | None) -> None:
    taken = ScimPerson.objects.filter(user_name__iexact=user_name, deleted_at__isnull=True)
    if keep is not None:
        taken = taken.exclude(pk=keep.pk)
    if taken.exists():
        raise PulseError(f"The userName “{user_name[:80]}” is taken by another person.", code="uniqueness", status=409)


def _link_save(membership: Membership, fields: ScimPersonFields, link: ScimPerson | None) -> ScimPerson:
    link = link or ScimPerson(organization_id=membership.organization_id, membership=membership)
    link.user_name, link.external_id = fields.user_name, fields.external_id
    link.name_parts, link.display_name, link.deleted_at = fields.name_parts, fields.display_name, None
    link.save()
    return link


def _apply(
    organization: Organization, token: ScimToken | None, *, rows: Sequence[RosterRow], deactivate=(), what: str
) -> dict:
    plan = roster_plan(
        organization=organization,
        rows=rows,
        mode=RosterImportMode.ADD,
        deactivate=deactivate,
        leads=False,
        renames=False,
    )
    return _apply_plan(organization, token, plan, what=what)


def _deactivate(organization: Organization, token: ScimToken | None, membership: Membership) -> bool:
    """Deactivate now, or hold for HR when the identity provider has deactivated many people
    lately (or has deactivations waiting already). Returns whether it was held."""
    if _should_hold(membership):
        ScimHeldDeactivation.objects.get_or_create(
            membership=membership,
            status=HeldDeactivationStatus.HELD,
            defaults={"organization_id": organization.pk, "token": token},
        )
        return True
    _apply(
        organization, token, rows=[], deactivate=[membership.user.email], what=f"deactivated {membership.user.email}"
    )
    return False


def _should_hold(membership: Membership) -> bool:
    if ScimHeldDeactivation.objects.filter(status=HeldDeactivationStatus.HELD).exists():
        return True
    recent = scim_recent_deactivations()
    active = Membership.objects.filter(is_active=True).count()
    allowed = max(1, int(LARGE_DEACTIVATION * (active + recent)))
    return recent + 1 > allowed


def scim_recent_deactivations(*, now: dt.datetime | None = None) -> int:
    """How many people the identity provider deactivated in the last HOLD_WINDOW (held ones
    confirmed by HR included)."""
    since = (now or timezone.now()) - HOLD_WINDOW
    count = 0
    changes = RosterChange.objects.filter(kind=RosterChangeKind.SCIM, created_at__gte=since, undone_at__isnull=True)
    for details in changes.values_list("details", flat=True):
        count += sum(1 for _, before, after in details.get("memberships_changed", []) if before[2] and not after[2])
    return count


# Groups: teams --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScimTeamFields:
    """A SCIM Group as Pulse keeps it: its displayName is a team's path, its members the people
    whose team it is (each person has one team: joining a group moves them into it)."""

    path: str
    member_ids: frozenset[int] = frozenset()
    external_id: str = ""


def scim_team_create(*, organization: Organization, token: ScimToken | None, fields: ScimTeamFields) -> Team:
    """A team at the group's path (and the teams above it that do not exist yet), with its
    members moved into it, in one history entry."""
    path = team_path_read(fields.path)
    with transaction.atomic():
        _lock(organization)
        existing = Team.objects.filter(path__iexact=path).first()
        link = ScimTeam.objects.filter(team=existing).first() if existing is not None else None
        if existing is not None and (link is None or link.deleted_at is None):
            raise PulseError(
                f"The team {existing.path} exists already: find it by displayName and update it.",
                code="uniqueness",
                status=409,
            )
        rows = _member_rows(fields.member_ids, path)
        plan = roster_plan(organization=organization, rows=rows, mode=RosterImportMode.ADD, leads=False, renames=False)
        plan.teams_to_create = [p for p in Team.path_prefixes(path) if not Team.objects.filter(path=p).exists()]
        _apply_plan(organization, token, plan, what=f"created the team {path}")
        team = Team.objects.get(path=path)
        _team_link_save(team, fields.external_id, link)
        return team


def scim_team_replace(*, team: Team, token: ScimToken | None, fields: ScimTeamFields) -> Team:
    """Make a team what the group says: its path (a rename, or a move under a team that
    exists), and exactly its members (those who join move in, those who leave have no team)."""
    path = team_path_read(fields.path)
    organization = team.organization
    with transaction.atomic():
        _lock(organization)
        team = Team.objects.get(pk=team.pk)
        if path != team.path:
            _team_repath(team, path)
            team = Team.objects.get(pk=team.pk)
        current = set(Membership.objects.filter(team=team).values_list("pk", flat=True))
        rows = _member_rows(fields.member_ids - current, team.path) + _member_rows(current - fields.member_ids, "")
        if rows:
            _apply(organization, token, rows=rows, what=f"changed the members of {team.path}")
        _team_link_save(team, fields.external_id, ScimTeam.objects.filter(team=team).first())
        return team


def scim_team_delete(*, team: Team, token: ScimToken | None) -> None:
    """The identity provider deletes a group: its people have no team from now on (undoable in
    the history), and SCIM answers 404 for it; the team itself stays for the rounds that used it."""
    with transaction.atomic():
        _lock(team.organization)
        members = set(Membership.objects.filter(team=team).values_list("pk", flat=True))
        if members:
            _apply(team.organization, token, rows=_member_rows(members, ""), what=f"emptied the team {team.path}")
        link = ScimTeam.objects.filter(team=team).first() or ScimTeam(organization_id=team.organization_id, team=team)
        link.deleted_at = timezone.now()
        link.save()


def _member_rows(membership_ids, path: str) -> list[RosterRow]:
    """Rows that put these people (of the organisation in scope) in the team at `path` ("": no
    team), keeping their name and role; an id that is no one here is an error."""
    ids = sorted(membership_ids)
    people = {m.pk: m for m in Membership.objects.filter(pk__in=ids).select_related("user")}
    unknown = [str(pk) for pk in ids if pk not in people]
    if unknown:
        raise PulseError(f"No such person: {', '.join(unknown[:10])}.", code="members")
    return [RosterRow(0, m.user.email, m.user.name, path, m.role, active=m.is_active) for m in people.values()]


def _team_repath(team: Team, path: str) -> None:
    parent_path = Team.parent_path(path)
    parent = Team.objects.filter(path=parent_path).first() if parent_path else None
    if parent_path and parent is None:
        raise PulseError(f"There is no team {parent_path} to move {team.path} under: create it first.", code="team")
    if parent != team.parent:
        team_move(team=team, parent=parent, actor=None)
        team = Team.objects.get(pk=team.pk)
    if Team.name_of(path) != team.name:
        team_rename(team=team, name=Team.name_of(path), actor=None)


def _team_link_save(team: Team, external_id: str, link: ScimTeam | None) -> None:
    link = link or ScimTeam(organization_id=team.organization_id, team=team)
    link.external_id, link.deleted_at = name_check(external_id, code="external_id")[:254], None
    link.save()


def _apply_plan(organization: Organization, token: ScimToken | None, plan, *, what: str) -> dict:
    source = f"Identity provider (SCIM{f', token “{token.name}”' if token else ''}) {what}"
    return roster_apply(organization=organization, plan=plan, actor=None, source=source, kind=RosterChangeKind.SCIM)
