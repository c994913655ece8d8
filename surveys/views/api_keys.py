"""Settings → API keys: HR and admins create, see and revoke their organisation's keys.

Revoking is shown first (the key's name, what it may do, when it was last used) and is final: a
revoked key is never restored, since a key that can come back is a key nobody can be sure is
dead. Its replacement is a new key, offered with the old one's name and scope filled in."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from surveys.access import access_api_key, role_required
from surveys.core.exceptions import PulseError
from surveys.forms.api_keys import ApiKeyForm
from surveys.models import HR_ROLES, ApiKey, ApiKeyScope
from surveys.services.api_keys import NAME_MAX, api_key_create, api_key_revoke

#: Where a new key waits, in the creator's session, for the one page that shows it.
NEW_KEY = "pulse_new_api_key"


@never_cache  # the page that shows a new key once must not be kept by any cache
@role_required(*HR_ROLES)
def api_keys(request, org_slug: str):
    form = ApiKeyForm(request.POST or None, initial=_replacement_of(request.GET))
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = api_key_create(
                organization=request.organization, created_by=request.membership, **form.cleaned_data
            )
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            # Shown by the page the browser is sent to, then forgotten: reloading it neither
            # shows the key again nor creates another.
            request.session[NEW_KEY] = {"organization": request.organization.pk, "name": created.name, "secret": secret}
            return redirect("api_keys", org_slug=org_slug)
    new = request.session.pop(NEW_KEY, None)
    if new and new["organization"] != request.organization.pk:
        new = None
    keys = ApiKey.objects.select_related("created_by__user").order_by("revoked", "-created")
    return render(request, "surveys/api_keys.html", {"form": form, "keys": keys, "new": new})


def _replacement_of(query) -> dict:
    """The create form's first values when replacing a revoked key: its name and scope."""
    initial = {}
    if query.get("name"):
        initial["name"] = query["name"][:NAME_MAX]
    if query.get("scope") in ApiKeyScope.values:
        initial["scope"] = query["scope"]
    return initial


@role_required(*HR_ROLES)
def api_key_revoke_view(request, org_slug: str, key_prefix: str):
    """GET: what revoking this key does, before it is done. POST: revoke it, for good."""
    api_key = access_api_key(membership=request.membership, prefix=key_prefix)
    if request.method != "POST":
        return render(request, "surveys/api_key_revoke.html", {"key": api_key})
    was_revoked = api_key.revoked
    api_key_revoke(api_key=api_key)
    if not was_revoked:
        messages.success(
            request,
            _(
                "The key “%(name)s” is revoked: it stopped working now, and cannot be restored. "
                "If a tool still needs access, create a replacement for it (its link is beside the key)."
            )
            % {"name": api_key.name},
        )
    return redirect("api_keys", org_slug=org_slug)
