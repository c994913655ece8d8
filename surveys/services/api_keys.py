"""API keys of an organisation, created and revoked by HR or admins on the settings page.
The key itself is returned once, at creation, and stored only as a hash
(djangorestframework-api-key)."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.core.names import name_check
from surveys.models import ApiKey, ApiKeyScope, Membership, Organization

NAME_MAX = ApiKey._meta.get_field("name").max_length or 50
#: An organisation has at most this many keys that are not revoked.
MAX_KEYS = 50


def api_key_create(
    *, organization: Organization, created_by: Membership | None, name: str, scope: str, expires_on: dt.date | None
) -> tuple[ApiKey, str]:
    """A new key: (the stored key, the secret to show once)."""
    name = name_check(name, code="name")
    if not name:
        raise PulseError(_("Name the key after what uses it, e.g. “Power BI”."), code="name")
    if len(name) > NAME_MAX:
        raise PulseError(_("Keep the name under %(limit)s characters.") % {"limit": NAME_MAX}, code="name")
    if scope not in ApiKeyScope.values:
        raise PulseError(_("Choose what the key may do."), code="scope")
    if expires_on is not None and expires_on <= timezone.localdate():
        raise PulseError(_("Choose an expiry date after today, or none."), code="expires_on")
    if ApiKey.objects.filter(revoked=False).count() >= MAX_KEYS:
        raise PulseError(
            _("An organisation has at most %(most)s keys: revoke one you no longer use.") % {"most": MAX_KEYS},
            code="name",
        )
    expiry = None
    if expires_on is not None:
        expiry = timezone.make_aware(dt.datetime.combine(expires_on, dt.time.max))
    api_key, secret = ApiKey.objects.create_key(
        organization=organization, created_by=created_by, name=name, scope=scope, expiry_date=expiry
    )
    return cast(ApiKey, api_key), secret


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke for good: clients using it get 401 from the next request."""
    if not api_key.revoked:
        api_key.revoked = True
        api_key.save(update_fields=["revoked"])
    return api_key
