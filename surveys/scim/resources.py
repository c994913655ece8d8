"""What Pulse publishes and reads over SCIM, as scim2-models resources: a User with the few
attributes Pulse keeps (RFC 7643 lets a service provider support a subset; Pulse keeps no
address, phone, photo or title it has no use for), a Group that is a team, and the discovery
documents (ServiceProviderConfig, ResourceTypes, Schemas) derived from them."""

from __future__ import annotations

from typing import Annotated, Any

from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Filter,
    GroupMembership,
    Meta,
    Mutability,
    Patch,
    Required,
    Resource,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

from surveys.models import Membership, ScimPerson
from surveys.services.roster.provisioning import ScimPersonFields

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

    value: str | None = None
    type: str | None = None
    primary: bool | None = None


class User(Resource[Any]):
    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: PersonName | None = None
    display_name: str | None = None
    # Pulse knows people by their address: set when the person is created, never changed here.
    emails: Annotated[list[PersonEmail] | None, Mutability.immutable] = None
    active: bool | None = None
    groups: Annotated[list[GroupMembership] | None, Mutability.read_only] = None


#: Unknown attributes an identity provider sends (a title, a phone number, another schema's
#: extension) are ignored rather than refused, and never stored.
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)

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

PROVIDER = ScimProvider(models=[User], config=CONFIG, policy=POLICY)


def person_resource(membership: Membership, link: ScimPerson | None, base: str) -> User:
    """A person as SCIM shows them: the roster's truth (address, name, activity, team) and what
    the identity provider sent of its own (userName, externalId, name parts, displayName)."""
    user = membership.user
    parts = link.name_parts if link is not None else {}
    name = PersonName(
        formatted=user.name or None, family_name=parts.get("familyName"), given_name=parts.get("givenName")
    )
    groups = None
    if membership.team_id is not None:
        groups = [
            GroupMembership(value=str(membership.team_id), display=membership.team.path, type="direct")  # type: ignore[union-attr,call-arg]
        ]
    return User(
        id=str(membership.pk),
        external_id=(link.external_id or None) if link is not None else None,
        user_name=link.user_name if link is not None else user.email,
        name=name,
        display_name=(link.display_name if link is not None and link.display_name else None) or user.name or None,
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


def person_fields(resource: User) -> ScimPersonFields:
    """What a User sent by an identity provider says, as the roster service takes it."""
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
        name=name or resource.display_name or "",
        active=resource.active if resource.active is not None else True,
        external_id=resource.external_id or "",
        name_parts=parts,
        display_name=resource.display_name or "",
    )
