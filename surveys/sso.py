"""Single sign-on through each organisation's identity provider, on django-allauth
(docs/architecture.md, "Signing in").

allauth runs the protocol (OpenID Connect: discovery, state and nonce, PKCE, the code exchange,
the ID token's signature, issuer and audience). Pulse decides the rest, here:

- **Whose provider.** Every provider is an organisation's own (`IdentityProvider`), handed to
  allauth as an app whose provider id is the organisation's slug; nothing is stored in allauth's
  own tables (`list_apps`).
- **Who may sign in.** Only a person already on that organisation's roster, found by the e-mail
  address the provider vouches for (`services.identity.sso_member_find`): no account is ever
  created, no other organisation's roster is read. Anyone else gets a page that says why.
- **What the session proves.** The session is marked as signed in through that organisation
  (`SSO_SESSION_KEY`); `middleware.SignInRulesMiddleware` keeps it to that organisation's pages.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.core.tenancy import organization_scope, person_scope_switch
from surveys.models import IdentityProvider, Organization, SsoProtocol
from surveys.services.identity import SSO_SESSION_KEY, enabled_identity_provider, sso_member_find

logger = logging.getLogger(__name__)

#: allauth's provider for each protocol.
ALLAUTH_PROVIDERS = {SsoProtocol.OIDC: "openid_connect"}


def social_app(organization: Organization, provider: IdentityProvider) -> SocialApp:
    """The organisation's provider as the (unsaved) app allauth asks for."""
    return SocialApp(
        provider=ALLAUTH_PROVIDERS[SsoProtocol(provider.protocol)],
        provider_id=organization.slug,
        name=provider.button_label,
        client_id=provider.oidc_client_id,
        secret=provider.oidc_client_secret,
        settings={"server_url": provider.oidc_issuer, "oauth_pkce_enabled": True},
    )


def provider_origin(provider: IdentityProvider) -> str:
    """Where the provider's own sign-in page is (its issuer's or SSO address's scheme and host)."""
    parts = urlsplit(provider.oidc_issuer if provider.protocol == SsoProtocol.OIDC else provider.saml_sso_url)
    return f"{parts.scheme}://{parts.netloc}"


def allow_form_to_provider(response, provider: IdentityProvider | None):
    """A page with the provider's button lets its form lead there: the policy's form-action
    ('self') covers the redirect a form's answer makes, so the provider's origin is added for
    this page alone."""
    if provider is not None:
        response._csp_update = {"form-action": [provider_origin(provider)]}
    return response


def _organization_of(provider_id: str) -> tuple[Organization, IdentityProvider] | None:
    organization = Organization.objects.filter(slug=provider_id, is_active=True).first()
    if organization is None:
        return None
    provider = enabled_identity_provider(organization=organization)
    if provider is None or provider.protocol not in ALLAUTH_PROVIDERS:
        return None
    return organization, provider


def _landing(sociallogin, organization: Organization) -> str:
    """The page asked for before signing in, if it is one of this organisation's; else its home."""
    asked = str((sociallogin.state or {}).get("next") or "")
    home = reverse("org_home", kwargs={"org_slug": organization.slug})
    return asked if asked.startswith(home) and "//" not in asked and "\\" not in asked else home


def refusal(request, message: str, *, organization: Organization | None = None, status: int = 403):
    return render(
        request, "registration/sso_refused.html", {"message": message, "sso_organization": organization}, status=status
    )


class PulseAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up: people are added to an organisation's roster by its HR."""

    def is_open_for_signup(self, request) -> bool:
        return False


class PulseSocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None) -> list[SocialApp]:
        """The one organisation's provider named by `provider` (its slug), if it is turned on.
        Pulse never lists every organisation's providers (the web's role could not read them)."""
        if not provider or provider in ALLAUTH_PROVIDERS.values():
            return []
        found = _organization_of(str(provider))
        if found is None:
            return []
        app = social_app(*found)
        return [app] if client_id in (None, app.client_id) else []

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False

    def pre_social_login(self, request, sociallogin) -> None:
        """The provider vouched for someone: sign in the member of its organisation with that
        e-mail address, or refuse. Never lets allauth create or connect an account."""
        found = _organization_of(sociallogin.account.provider)
        if found is None:
            raise ImmediateHttpResponse(refusal(request, _("This organisation's single sign-on is turned off.")))
        organization, _provider = found
        email = sociallogin.user.email or next((address.email for address in sociallogin.email_addresses), "")
        try:
            membership = sso_member_find(organization=organization, email=email)
        except PulseError as error:
            logger.info("single sign-on refused for organisation %s: %s", organization.pk, error.code)
            raise ImmediateHttpResponse(refusal(request, error.message, organization=organization)) from None
        with organization_scope(organization):
            person_scope_switch(membership.user_id)
            login(request, membership.user, backend="surveys.signin.SignInBackend")
        request.session[SSO_SESSION_KEY] = organization.pk
        raise ImmediateHttpResponse(redirect(_landing(sociallogin, organization)))

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None) -> None:
        logger.warning("single sign-on failed: %s %r", error, exception)
        raise ImmediateHttpResponse(
            refusal(
                request,
                _(
                    "Your organisation's sign-in did not complete (it was cancelled, took too long, or its answer "
                    "could not be checked). Try again; if it keeps failing, ask your HR team."
                ),
                status=400,
            )
        )
