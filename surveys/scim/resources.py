"""What Pulse publishes and reads over SCIM, as scim2-models resources: a User with the few
attributes Pulse keeps (RFC 7643 lets a service provider support a subset; Pulse keeps no
address, phone, photo or title it has no use for), a Group that is a team, and the discovery
documents (ServiceProviderConfig, ResourceTypes, Schemas) derived from them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Filter,
    GroupMembership,
    Meta,
    Mutability,
    Patch,
    Reference,
    Required,
    Resource,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

from surveys.core.exceptions import PulseError
from surveys.models import Membership, ScimPerson, ScimTeam, Team
from surveys.services.roster.provisioning import ScimPersonFields, ScimTeamFields

#: A page of a list has at most this many resources (a larger `count` is lowered to it).
MAX_RESULTS = 200


class PersonName(ComplexAttribute):
    """The parts of a name Pulse keeps: `formatted` is the roster's name."""

    formatted: str | None = None
    family_name: str | None = None
    given_name: str | None = None


class PersonEmail(ComplexAttribute):
    """An address. Checked by Django's validator, as every address Pulse takes (scim2-models'
    own refuses reserved domains such as .test and .example, which the demo uses)."""

    value: Annotated[str | None, Required.true] = None
    type: str | None = None
    primary: bool | None = None


class TeamMember(ComplexAttribute):
    """A person in a team: who (value, $ref), never a group (teams hold people). No display
    name: the person's own resource has it."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    ref: Annotated[Reference[User] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])


class Group(Resource[Any]):
    """A team: its path is the displayName (Engineering/Platform), its people the members."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true] = None
    members: list[TeamMember] | None = None


class User(Resource[Any]):
    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: PersonName | None = None
    display_name: str | None = None
    # Pulse knows people by their address: required, set when the person is created, never
    # changed here. Whether they are active is always known, so it is required too.
    emails: Annotated[list[PersonEmail] | None, Mutability.immutable, Required.true] = None
    active: Annotated[bool | None, Required.true] = None
    groups: Annotated[list[GroupMembership] | None, Mutability.read_only] = None


#: Unknown attributes an identity provider sends (a title, a phone number, another schema's
#: extension) are ignored rather than refused, and never stored.
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)
#: Groups are read strictly: under the tolerant policy scim2-models drops the members' values of
#: a group model of one's own (0.12.3), and identity providers send groups nothing unknown.
GROUP_POLICY = ScimPolicy()

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="Bearer token",
            description="A token HR creates under Settings → SCIM provisioning, sent as Authorization: Bearer <token>.",
            primary=True,
        )
    ],
)

PROVIDER = ScimProvider(models=[User, Group], config=CONFIG, policy=POLICY)


def person_resource(membership: Membership, link: ScimPerson | None, base: str) -> User:
    """A person as SCIM shows them: the roster's truth (address, name, activity, team) and what
    the identity provider sent of its own (userName, externalId, name parts, displayName)."""
    user = membership.user
    parts = link.name_parts if link is not None else {}
    name = PersonName(
        formatted=user.name or None, family_name=parts.get("familyName"), given_name=parts.get("givenName")
    )
    if not (name.formatted or name.family_name or name.given_name):
        name = None  # type: ignore[assignment]
    groups = None
    if membership.team_id is not None:
        groups = [
            GroupMembership(
                value=str(membership.team_id),
                ref=f"{base}/Groups/{membership.team_id}",  # type: ignore[arg-type]
                display=membership.team.path,  # type: ignore[union-attr]
                type="direct",
            )
        ]
    return User(
        id=str(membership.pk),
        external_id=(link.external_id or None) if link is not None else None,
        user_name=link.user_name if link is not None else user.email,
        name=name,
        display_name=(link.display_name or None) if link is not None else (user.name or None),
        emails=[PersonEmail(value=user.email, primary=True, type="work")],
        active=membership.is_active,
        groups=groups,
        meta=Meta(
            resource_type="User",
            created=membership.created_at,
            last_modified=membership.created_at,
            location=f"{base}/Users/{membership.pk}",
        ),
    )


def person_fields(resource: User, *, creating: bool = False) -> ScimPersonFields:
    """What a User sent by an identity provider says, as the roster service takes it. The name
    is `name` (formatted, else given and family names); a new person without one is named by
    their displayName. A name removed is removed."""
    emails = resource.emails or []
    primary = next((email for email in emails if email.primary), None) or next(iter(emails), None)
    email = primary.value if primary is not None and primary.value else resource.user_name or ""
    parts = {}
    name = ""
    if resource.name is not None:
        parts = {
            key: value
            for key, value in (("givenName", resource.name.given_name), ("familyName", resource.name.family_name))
            if value
        }
        name = resource.name.formatted or " ".join(parts.get(key, "") for key in ("givenName", "familyName")).strip()
    return ScimPersonFields(
        user_name=resource.user_name or "",
        email=str(email),
        name=name or (resource.display_name or "" if creating else ""),
        active=resource.active if resource.active is not None else True,
        external_id=resource.external_id or "",
        name_parts=parts,
        display_name=resource.display_name or "",
    )


def team_resource(team: Team, link: ScimTeam | None, members: list[Membership], base: str) -> Group:
    """A team as SCIM shows it: its path as displayName, the people whose team it is."""
    return Group(
        id=str(team.pk),
        external_id=(link.external_id or None) if link is not None else None,
        display_name=team.path,
        members=[
            TeamMember(value=str(member.pk), ref=f"{base}/Users/{member.pk}", type="User")  # type: ignore[arg-type]
            for member in members
        ]
        or None,
        meta=Meta(resource_type="Group", location=f"{base}/Groups/{team.pk}"),
    )


def team_fields(resource: Group) -> ScimTeamFields:
    """What a Group sent by an identity provider says, as the roster service takes it. Pulse's
    teams hold people, not other groups (the tree is made of paths)."""
    ids = set()
    for member in resource.members or []:
        if member.type not in (None, "User"):
            raise PulseError("A team's members are people: a group cannot be a member of another.", code="members")
        if member.value is None or not str(member.value).isdigit() or len(str(member.value)) > 18:
            raise PulseError(f"No such person: {str(member.value)[:40]}.", code="members")
        ids.add(int(member.value))
    return ScimTeamFields(
        path=resource.display_name or "", member_ids=frozenset(ids), external_id=resource.external_id or ""
    )
