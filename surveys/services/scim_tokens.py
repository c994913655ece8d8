"""SCIM tokens of an organisation: created by HR on the settings page (or by an operator's
`manage.py scim_token`), shown once, kept as a hash, revoked for good."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from surveys.core.exceptions import PulseError
from surveys.core.names import name_check
from surveys.models import Membership, Organization, ScimToken

NAME_MAX = ScimToken._meta.get_field("name").max_length or 100
#: An organisation has at most this many tokens that are not revoked.
MAX_TOKENS = 10
#: Every token starts with this, so a secret scanner (and a person) can tell what it is.
TOKEN_START = "pulse_scim_"


def scim_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scim_token_prefix(token: str) -> str:
    """The part of a token that names it (stored in clear, shown in lists): what lies between
    TOKEN_START and the first dot; "" for anything that is not a token's shape."""
    if not token.startswith(TOKEN_START):
        return ""
    prefix, dot, _ = token.removeprefix(TOKEN_START).partition(".")
    return prefix if dot and len(prefix) == 8 else ""


def scim_token_create(*, organization: Organization, created_by: Membership | None, name: str) -> tuple[ScimToken, str]:
    """A new token: (the stored token, the secret to show once)."""
    name = name_check(name, code="name")
    if not name:
        raise PulseError("Name the token after the identity provider that uses it, e.g. “Okta”.", code="name")
    if len(name) > NAME_MAX:
        raise PulseError(f"Keep the name under {NAME_MAX} characters.", code="name")
    if ScimToken.objects.filter(revoked_at__isnull=True).count() >= MAX_TOKENS:
        raise PulseError(f"An organisation has at most {MAX_TOKENS} tokens: revoke one you no longer use.", code="name")
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_START}{prefix}.{secrets.token_urlsafe(32)}"
    token = ScimToken.objects.create(
        organization=organization, created_by=created_by, name=name, prefix=prefix, hashed=scim_token_hash(secret)
    )
    return token, secret


def scim_token_revoke(*, token: ScimToken) -> ScimToken:
    """Revoke for good: the identity provider gets 401 from its next request."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
