"""Who calls SCIM: an organisation's bearer token (`Authorization: Bearer pulse_scim_…`).

The token's prefix names its organisation (`core.cross_lookups.scim_token_organization`, the
one question across organisations this needs); the token is then found and compared, by its
hash, in that organisation's scope only. A token of organisation A can therefore never be
checked, let alone used, against B's rows. The token is never logged (`core.log_redaction`
redacts Authorization headers in any message)."""

from __future__ import annotations

import hmac

from django.http import HttpRequest
from django.utils import timezone

from surveys.core.cross_lookups import scim_token_organization
from surveys.core.tenancy import organization_scope
from surveys.models import Organization, ScimToken
from surveys.services.scim_tokens import scim_token_hash, scim_token_prefix

#: last_used_at is written at most this often per token (not on every request).
LAST_USED_EVERY = 60


class ScimAuthenticationError(Exception):
    """No token, or one that does not work: a 401, with this reason."""


def scim_token_authenticate(request: HttpRequest) -> ScimToken:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise ScimAuthenticationError("Send the organisation's SCIM token: Authorization: Bearer <token>.")
    prefix = scim_token_prefix(secret)
    organization = Organization.objects.filter(pk=scim_token_organization(prefix)).first() if prefix else None
    if organization is None:
        raise ScimAuthenticationError("This SCIM token is not valid.")
    with organization_scope(organization):
        token = ScimToken.objects.filter(prefix=prefix).first()
        if token is None or not hmac.compare_digest(token.hashed, scim_token_hash(secret)):
            raise ScimAuthenticationError("This SCIM token is not valid.")
        if token.revoked:
            raise ScimAuthenticationError("This SCIM token was revoked.")
        if not organization.is_active:
            raise ScimAuthenticationError("This SCIM token's organisation is closed.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_EVERY:
            ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.organization = organization
    return token
