"""What SCIM reads of the roster: the organisation's people as the identity provider sees them
(everyone with a membership, active or not, but those it deleted)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from surveys.models import HeldDeactivationStatus, Membership, ScimHeldDeactivation, Team

#: Attributes an equality filter can be answered from the database for (lower-cased paths).
_NARROWED = {"username", "emails.value", "emails", "externalid", "id"}


def scim_people(*, filter_hint: Any = None) -> QuerySet[Membership]:
    """The people SCIM lists, oldest first. `filter_hint`, a parsed SCIM filter, narrows the
    query when it is one equality on userName, an address, externalId or id (what identity
    providers send to find someone); the caller still applies the whole filter."""
    people = (
        Membership.objects.select_related("user", "team", "scim").exclude(scim__deleted_at__isnull=False).order_by("pk")
    )
    narrowed = _narrowed(filter_hint)
    return people.filter(narrowed) if narrowed is not None else people


def _narrowed(filter_hint: Any) -> Q | None:
    node = getattr(filter_hint, "ast", None)
    if node is None or type(node).__name__ != "Comparison" or str(getattr(node, "op", "")).lower() != "eq":
        return None
    path = node.attr_path
    name = ".".join(part for part in (path.attr, path.sub_attr) if part).lower()
    value = node.value
    if name not in _NARROWED or not isinstance(value, str):
        return None
    if name == "id":
        return Q(pk=int(value)) if value.isdigit() and len(value) < 19 else Q(pk__in=[])
    if name == "externalid":
        return Q(scim__external_id=value)
    if name.startswith("emails"):
        return Q(user__email__iexact=value)
    return Q(scim__user_name__iexact=value) | Q(scim__isnull=True, user__email__iexact=value)


def scim_held_deactivations() -> QuerySet[ScimHeldDeactivation]:
    """Deactivations the identity provider asked for that wait for HR, oldest first."""
    return ScimHeldDeactivation.objects.filter(status=HeldDeactivationStatus.HELD).select_related(
        "membership__user", "membership__team", "token"
    )


def scim_teams(*, filter_hint: Any = None) -> QuerySet[Team]:
    """The teams SCIM lists as groups, by id; narrowed by an equality on displayName (a path),
    externalId or id, as `scim_people` is."""
    teams = Team.objects.select_related("scim").exclude(scim__deleted_at__isnull=False).order_by("pk")
    node = getattr(filter_hint, "ast", None)
    if node is None or type(node).__name__ != "Comparison" or str(getattr(node, "op", "")).lower() != "eq":
        return teams
    name = ".".join(part for part in (node.attr_path.attr, node.attr_path.sub_attr) if part).lower()
    if not isinstance(node.value, str):
        return teams
    if name == "displayname":
        return teams.filter(path__iexact=node.value)
    if name == "externalid":
        return teams.filter(scim__external_id=node.value)
    if name == "id":
        return teams.filter(pk=int(node.value)) if node.value.isdigit() and len(node.value) < 19 else teams.none()
    return teams


def scim_team_members(team_ids: list[int]) -> dict[int, list[Membership]]:
    """The people of each team (those SCIM has not deleted), in one query."""
    members: dict[int, list[Membership]] = {team_id: [] for team_id in team_ids}
    people = (
        Membership.objects.filter(team_id__in=team_ids)
        .exclude(scim__deleted_at__isnull=False)
        .select_related("user")
        .order_by("pk")
    )
    for membership in people:
        members[membership.team_id].append(membership)  # type: ignore[index]
    return members
