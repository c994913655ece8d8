"""Undo: any one change of the roster history (an import or a single edit) put back from what
its entry says each change replaced (`surveys.services.history`), if nothing since has changed
the same people, teams or leads."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from surveys.core.bulk import chunks
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
from surveys.services.history import change_touches, roster_change_record
from surveys.services.teams import team_name_check, team_repath


def roster_change_undo(*, change: RosterChange, actor: Membership | None) -> RosterChange:
    """Put back what `change` replaced: people's teams, roles and activity, names, leads, team
    names and places. People and teams it created are removed when nothing refers to them (a
    round they were invited to keeps them, inactive or empty). Refused, changing nothing, when a
    later change (not undone) wrote the same people, teams or leads, or when they are no longer
    as the change left them."""
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=change.organization_id).first()
        change = RosterChange.objects.select_for_update().get(pk=change.pk)
        if not change.undoable:
            message = "This change is undone already." if change.undone_at else "This entry cannot be undone."
            raise PulseError(message, code="undo")
        _later_changes_check(change)
        details = change.details
        _still_as_left_check(details)
        _undo(details)
        change.undone_at = timezone.now()
        change.save(update_fields=["undone_at"])
        return roster_change_record(
            organization_id=change.organization_id,
            actor=actor,
            kind=RosterChangeKind.UNDO,
            summary=f"Undid: {change.summary}",
            roster_import=change.roster_import,
        )


def _later_changes_check(change: RosterChange) -> None:
    touched = change_touches(change.details)
    later = (
        RosterChange.objects.filter(pk__gt=change.pk, undone_at__isnull=True)
        .exclude(kind=RosterChangeKind.UNDO)
        .order_by("-pk")
    )
    for entry in later.only("pk", "summary", "details", "created_at").iterator(chunk_size=100):
        if touched & change_touches(entry.details):
            when = date_format(timezone.localtime(entry.created_at), pgettext("date format", "j M Y, H:i"))
            raise PulseError(
                _(
                    "A later change (%(when)s: “%(summary)s”) changed the same people, teams or leads. "
                    "Undo that one first, then this one."
                )
                % {"when": when, "summary": entry.summary},
                code="undo",
            )


def _still_as_left_check(details: dict) -> None:
    """Everything the change wrote is still as it left it (an edit outside the history, such as
    the admin, would otherwise be overwritten unseen)."""
    left = {membership_id: after for membership_id, _before, after in details.get("memberships_changed", [])}
    for chunk in chunks(sorted(left)):
        for membership in Membership.objects.filter(pk__any_of=chunk).select_related("user"):
            if [membership.role, membership.team_id, membership.is_active] != left[membership.pk]:
                _refuse(_("%(name)s's team, role or activity") % {"name": membership.user.get_full_name()})
    for user_id, _old, new in details.get("user_names", []):
        if User.objects.filter(pk=user_id).exclude(name=new).exists():
            _refuse(_("A name"))
    for team_id, _unused, new in details.get("team_renames", []):
        team = Team.objects.filter(pk=team_id).first()
        if team is not None and team.name != Team.name_of(new):
            _refuse(_("The name of %(team)s") % {"team": team.path})
    for team_id, _unused, new_parent in details.get("team_parents", []):
        team = Team.objects.filter(pk=team_id).first()
        if team is not None and team.parent_id != new_parent:
            _refuse(_("The place of %(team)s") % {"team": team.path})


def _refuse(what: str) -> None:
    raise PulseError(
        _(
            "%(what)s changed since, outside the roster history, so this change cannot be undone safely. "
            "Edit it directly instead."
        )
        % {"what": what},
        code="undo",
    )


def _undo(details: dict) -> None:
    for team_id, membership_id in details.get("leads_added", []):
        TeamManagement.objects.filter(team_id=team_id, membership_id=membership_id).delete()
    for team_id, membership_id in details.get("leads_removed", []):
        TeamManagement.objects.get_or_create(team_id=team_id, membership_id=membership_id)
    for membership_id, before, _after in reversed(details.get("memberships_changed", [])):
        role, team_id, active = before
        Membership.objects.filter(pk=membership_id).update(role=role, team_id=team_id, is_active=active)
    _undo_created_memberships(details.get("memberships_created", []))
    for user_id, old, _unused in details.get("user_names", []):
        User.objects.filter(pk=user_id).update(name=old)
    _undo_created_users(details.get("users_created", []))
    for team_id, old_parent, _unused in reversed(details.get("team_parents", [])):
        _team_place(Team.objects.get(pk=team_id), parent_id=old_parent)
    for team_id, old, _unused in reversed(details.get("team_renames", [])):
        team = Team.objects.get(pk=team_id)
        _team_place(team, parent_id=team.parent_id, name=Team.name_of(old))
    _undo_created_teams(details.get("teams_created", []))


def _team_place(team: Team, *, parent_id: int | None, name: str | None = None) -> None:
    """Put `team` under the team `parent_id` (None: the top), called `name` (else its own), with
    the checks a move or a rename makes."""
    parent = Team.objects.filter(pk=parent_id).first() if parent_id is not None else None
    if parent_id is not None and parent is None:
        raise PulseError(_("The team %(team)s was under no longer exists.") % {"team": team.path}, code="undo")
    if parent is not None and team.contains(parent):
        raise PulseError(
            _("%(parent)s is now inside %(team)s: move it out first.") % {"parent": parent.path, "team": team.path},
            code="undo",
        )
    name = team_name_check(name=name or team.name, parent=parent, team=team)
    Team.objects.filter(pk=team.pk).update(parent=parent)
    team_repath(team=team, path=Team.child_path(parent, name))


def _undo_created_memberships(ids: list[int]) -> None:
    kept = set(Invitation.objects.filter(membership_id__in=ids).values_list("membership_id", flat=True))
    Membership.objects.filter(pk__in=kept).update(is_active=False)
    Membership.objects.filter(pk__in=set(ids) - kept).delete()


def _undo_created_users(ids: list[int]) -> None:
    """Users the change created, unless they belong somewhere now or have signed in."""
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
