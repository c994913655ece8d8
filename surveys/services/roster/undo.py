"""Undo: the last import put back from what its history entry says each change replaced."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from surveys.core.exceptions import PulseError
from surveys.models import (
    Invitation,
    Membership,
    Organization,
    Response,
    RosterChange,
    RosterChangeKind,
    RoundTeam,
    Team,
    TeamManagement,
    User,
)
from surveys.services.history import roster_change_record
from surveys.services.teams import team_repath


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
