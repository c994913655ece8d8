"""Settings → SCIM provisioning: HR and admins create, see and revoke the bearer tokens their
identity provider provisions people and teams with (surveys/scim/). A token is shown once,
on the page the browser is sent to after creating it; revoking is shown first and is final."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from surveys.access import access_scim_token, role_required
from surveys.core.exceptions import PulseError
from surveys.forms.scim_tokens import ScimTokenForm
from surveys.models import HR_ROLES, ScimToken
from surveys.services.scim_tokens import scim_token_create, scim_token_revoke

#: Where a new token waits, in the creator's session, for the one page that shows it.
NEW_TOKEN = "pulse_new_scim_token"


@never_cache  # the page that shows a new token once must not be kept by any cache
@role_required(*HR_ROLES)
def scim_tokens(request, org_slug: str):
    form = ScimTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = scim_token_create(
                organization=request.organization, created_by=request.membership, name=form.cleaned_data["name"]
            )
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            request.session[NEW_TOKEN] = {
                "organization": request.organization.pk,
                "name": created.name,
                "secret": secret,
            }
            return redirect("scim_tokens", org_slug=org_slug)
    new = request.session.pop(NEW_TOKEN, None)
    if new and new["organization"] != request.organization.pk:
        new = None
    tokens = ScimToken.objects.select_related("created_by__user").order_by("revoked_at", "-created_at")
    base = request.build_absolute_uri("/scim/v2/")
    return render(request, "surveys/scim_tokens.html", {"form": form, "tokens": tokens, "new": new, "base": base})


@role_required(*HR_ROLES)
def scim_token_revoke_view(request, org_slug: str, prefix: str):
    """GET: what revoking this token does, before it is done. POST: revoke it, for good."""
    token = access_scim_token(membership=request.membership, prefix=prefix)
    if request.method != "POST":
        return render(request, "surveys/scim_token_revoke.html", {"token": token})
    was_revoked = token.revoked
    scim_token_revoke(token=token)
    if not was_revoked:
        messages.success(
            request,
            _("The token “%(name)s” is revoked: the identity provider using it is refused from its next request.")
            % {"name": token.name},
        )
    return redirect("scim_tokens", org_slug=org_slug)
