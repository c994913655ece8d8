"""Invitation tokens. The clear token exists only in the e-mail (and the link); the database
keeps its SHA-256, so a leaked dump cannot be turned into working links."""

import hashlib
import secrets

from django.conf import settings


def token_new() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_path(*, org_slug: str, token: str) -> str:
    """The answering page for an invitation link (route name "answer")."""
    return f"/answer/{org_slug}/{token}/"


def invitation_url(*, org_slug: str, token: str) -> str:
    return settings.PULSE_BASE_URL + invitation_path(org_slug=org_slug, token=token)
