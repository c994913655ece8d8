"""Signing in through an organisation's identity provider, and HR's page to set it up."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from surveys.access import role_required
from surveys.core.exceptions import PulseError
from surveys.forms.identity import IdentityProviderForm, SsoFindForm
from surveys.models import HR_ROLES, SsoProtocol
from surveys.services.identity import (
    SSO_SESSION_KEY,
    identity_provider_of,
    identity_provider_save,
    sso_organization_find,
)
from surveys.sso import allow_form_to_provider


@require_http_methods(["GET", "POST"])
def sso_find(request):
    """ "Sign in with your organisation": the visitor names it (or types their work address) and
    is offered its provider's button. An organisation without single sign-on, or none at all,
    gets the same answer."""
    form = SsoFindForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        found = sso_organization_find(name_or_email=form.cleaned_data["name_or_email"])
        if found is None:
            form.add_error(
                "name_or_email",
                _(
                    "Pulse knows no organisation with single sign-on by that name or e-mail domain. Check it, "
                    "or sign in with your password."
                ),
            )
    organization, provider = found if found else (None, None)
    context = {"form": form, "sso_organization": organization, "sso_provider": provider}
    response = render(request, "registration/sso_find.html", context, status=200 if found or not form.errors else 404)
    return allow_form_to_provider(response, provider)


@role_required(*HR_ROLES)
def identity_settings(request, org_slug: str):
    provider = identity_provider_of(organization=request.organization)
    form = IdentityProviderForm(request.POST or None, provider=provider, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            identity_provider_save(
                organization=request.organization,
                signed_in_through_it=request.session.get(SSO_SESSION_KEY) == request.organization.pk,
                **form.cleaned_data,
            )
        except PulseError as error:
            form.add_pulse_error(error)
        else:
            messages.success(request, _("Single sign-on settings saved."))
            return redirect("identity_settings", org_slug=org_slug)
    callback = request.build_absolute_uri(reverse("openid_connect_callback", kwargs={"provider_id": org_slug}))
    return render(
        request,
        "surveys/identity_settings.html",
        {"form": form, "provider": provider, "oidc_callback": callback, "protocols": SsoProtocol},
    )
