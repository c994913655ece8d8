"""One person at a time, on the People page: add, edit (name, team, role, teams led),
deactivate, reactivate, send the account set-up link again. Each change is recorded in the
roster history; a new or promoted manager, HR person or admin is e-mailed a set-up link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from surveys.core.cross_lookups import people_by_email, people_elsewhere
from surveys.core.exceptions import PulseError
from surveys.core.names import name_check
from surveys.models import HR_ROLES, MANAGER_ROLES, Membership, Organization, Role, RosterChangeKind, Team, User
from surveys.services.accounts import (
    account_invitations_prepare,
    account_invitations_queue,
    account_invitations_send,
)
from surveys.services.history import leads_entries, roster_change_record

NAME_MAX = User._meta.get_field("name").max_length or 200


@dataclass(frozen=True)
class PersonFields:
    """What HR decides about one person, as the form (or an API) hands it over."""

    name: str
    team: Team
    role: str
    leads: Sequence[Team] = ()


def person_name_check(*, name: str) -> str:
    name = name_check(name, code="name")
    if not name:
        raise PulseError(_("Give the person's name."), code="name")
    if len(name) > NAME_MAX:
        raise PulseError(_("Keep the name under %(limit)s characters.") % {"limit": NAME_MAX}, code="name")
    return name


def person_email_check(*, organization: Organization, email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise PulseError(_("Enter a valid e-mail address."), code="email") from None
    if Membership.objects.filter(organization=organization, user__email=email).exists():
        raise PulseError(_("Someone with this e-mail is already in the organisation: edit them instead."), code="email")
    return email


def _fields_check(*, fields: PersonFields) -> PersonFields:
    name = person_name_check(name=fields.name)
    if fields.role not in Role.values:
        raise PulseError(_("Choose a role."), code="role")
    if fields.leads and fields.role not in MANAGER_ROLES:
        raise PulseError(
            _("Only managers, HR and admins lead teams: choose the manager role, or no teams."), code="leads"
        )
    return PersonFields(name=name, team=fields.team, role=fields.role, leads=tuple(fields.leads))


def person_create(*, organization: Organization, actor: Membership | None, email: str, fields: PersonFields):
    """Add one person (someone new to Pulse, or already in another organisation)."""
    email = person_email_check(organization=organization, email=email)
    fields = _fields_check(fields=fields)
    with transaction.atomic():
        known = [pk for pk, address, _ in people_by_email([email]) if address == email]  # on Pulse elsewhere?
        user = User.objects.get(pk=known[0]) if known else None
        created = user is None
        if user is None:
            user = User.objects.create_user(email, name=fields.name)
        membership = Membership.objects.create(organization=organization, user=user, role=fields.role, team=fields.team)
        added, _ = _leads_set(membership, fields.leads)
        roster_change_record(
            organization_id=organization.pk,
            actor=actor,
            kind=RosterChangeKind.PERSON,
            summary=f"Added {fields.name} <{email}> to {fields.team.path} as {membership.get_role_display()}.",
            details={
                "users_created": [user.pk] if created else [],
                "memberships_created": [membership.pk],
                "leads_added": leads_entries(added),
            },
        )
        account_invitations_queue([membership])
    return membership


def person_update(*, membership: Membership, actor: Membership | None, fields: PersonFields) -> Membership:
    """Change a person's name, team, role and the teams they lead. Nobody takes HR rights from
    themselves: they could not undo it."""
    fields = _fields_check(fields=fields)
    if actor is not None and membership.pk == actor.pk and actor.role in HR_ROLES and fields.role not in HR_ROLES:
        raise PulseError(_("You cannot take your own HR rights away: ask another HR person."), code="role")
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update(of=("self",)).select_related("user", "team").get(pk=membership.pk)
        )
        before = _described(membership)
        state_before = _state(membership)
        old_name = membership.user.name
        if membership.user.name != fields.name:
            elsewhere = bool(people_elsewhere([membership.user_id], organization_id=membership.organization_id))
            if elsewhere:
                raise PulseError(
                    _(
                        "This person also belongs to another organisation on Pulse, so their name is theirs to "
                        "change (on their account), not the roster's."
                    ),
                    code="name",
                )
            membership.user.name = fields.name
            membership.user.save(update_fields=["name"])
        membership.team, membership.role = fields.team, fields.role
        membership.save(update_fields=["team", "role"])
        added, removed = _leads_set(membership, fields.leads)
        after = _described(membership)
        if after != before:
            changes = "; ".join(f"{key} {before[key]} → {after[key]}" for key in after if before[key] != after[key])
            state_after = _state(membership)
            roster_change_record(
                organization_id=membership.organization_id,
                actor=actor,
                kind=RosterChangeKind.PERSON,
                summary=f"Changed {fields.name} <{membership.user.email}>: {changes}.",
                details={
                    "memberships_changed": [[membership.pk, state_before, state_after]]
                    if state_after != state_before
                    else [],
                    "user_names": [[membership.user_id, old_name, fields.name]] if old_name != fields.name else [],
                    "leads_added": leads_entries(added),
                    "leads_removed": leads_entries(removed),
                },
            )
        account_invitations_queue([membership])
    return membership


def person_deactivate(*, membership: Membership, actor: Membership | None) -> Membership:
    """Deactivate (never delete: their rounds' counts keep them). They are invited to nothing
    more, lose their pages, and stop leading teams."""
    if actor is not None and membership.pk == actor.pk:
        raise PulseError(_("You cannot deactivate yourself."), code="active")
    return _set_active(membership=membership, actor=actor, active=False)


def person_reactivate(*, membership: Membership, actor: Membership | None) -> Membership:
    return _set_active(membership=membership, actor=actor, active=True)


def _set_active(*, membership: Membership, actor: Membership | None, active: bool) -> Membership:
    with transaction.atomic():
        membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
        if membership.is_active == active:
            return membership
        state_before = _state(membership)
        membership.is_active = active
        membership.save(update_fields=["is_active"])
        removed: list[tuple[int, int]] = []
        if not active:
            removed = [(team_id, membership.pk) for team_id in membership.management.values_list("team_id", flat=True)]
            membership.management.all().delete()
        verb = "Reactivated" if active else "Deactivated"
        roster_change_record(
            organization_id=membership.organization_id,
            actor=actor,
            kind=RosterChangeKind.PERSON,
            summary=f"{verb} {membership.user.get_full_name()} <{membership.user.email}>.",
            details={
                "memberships_changed": [[membership.pk, state_before, _state(membership)]],
                "leads_removed": leads_entries(removed),
            },
        )
        if active:
            account_invitations_queue([membership])
    return membership


def account_invitation_resend(*, membership: Membership) -> None:
    """HR's "send the set-up link again": now, whatever was sent before."""
    if membership.user.has_usable_password():
        raise PulseError(_("This person has set up their account already."), code="account")
    if not membership.is_active:
        raise PulseError(_("This person is deactivated: reactivate them first."), code="account")
    message = account_invitations_prepare(membership_ids=[membership.pk])
    account_invitations_send(message_id=message.pk)


def _leads_set(membership: Membership, teams: Sequence[Team]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Make `teams` exactly the teams `membership` leads; returns the (team, membership) pairs
    added and removed."""
    wanted = {team.pk for team in teams}
    current = set(membership.management.values_list("team_id", flat=True))
    membership.management.filter(team_id__in=current - wanted).delete()
    for team_id in wanted - current:
        membership.management.create(organization_id=membership.organization_id, team_id=team_id)
    return [(t, membership.pk) for t in wanted - current], [(t, membership.pk) for t in current - wanted]


def _state(membership: Membership) -> list:
    """What `memberships_changed` records of a membership (surveys.services.history)."""
    return [membership.role, membership.team_id, membership.is_active]


def _described(membership: Membership) -> dict[str, str]:
    leads = sorted(membership.management.values_list("team__path", flat=True))
    return {
        "name": membership.user.name,
        "team": membership.team.path if membership.team else "no team",
        "role": membership.get_role_display(),
        "leads": ", ".join(leads) or "no team",
    }
