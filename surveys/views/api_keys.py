"""Settings → API keys: HR and admins create, see and revoke their organisation's keys."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from surveys.access import access_api_key, role_required
from surveys.core.exceptions import PulseError
from surveys.forms.api_keys import ApiKeyForm
from surveys.models import HR_ROLES, ApiKey
from surveys.services.api_keys import api_key_create, api_key_revoke

#: Where a new key waits, in the creator's session, for the one page that shows it.
NEW_KEY = "pulse_new_api_key"


@never_cache  # the page that shows a new key once must not be kept by any cache
@role_required(*HR_ROLES)
def api_keys(request, org_slug: str):
    form = ApiKeyForm(request.POST or None)
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


@role_required(*HR_ROLES)
def api_key_revoke_view(request, org_slug: str, key_prefix: str):
    api_key = access_api_key(membership=request.membership, prefix=key_prefix)
    if request.method == "POST":
        api_key_revoke(api_key=api_key)
        messages.success(request, f"The key “{api_key.name}” is revoked: it stops working now.")
    return redirect("api_keys", org_slug=org_slug)
