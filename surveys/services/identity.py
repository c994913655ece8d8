"""Single sign-on per organisation (docs/architecture.md, "Signing in"): its settings, and who a
sign-in through it may be.

The rule that keeps tenants apart: an identity provider speaks for its own organisation only.
A sign-in through organisation A's provider is looked up in A's roster alone (`sso_member_find`),
so it can never open an account that A does not hold, and the session it starts is marked as
A's (`SSO_SESSION_KEY`): another organisation's pages ask for a sign-in of their own."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.core.cross_lookups import sso_domain_organization
from surveys.core.exceptions import PulseError
from surveys.core.tenancy import organization_scope
from surveys.models import MANAGER_ROLES, IdentityProvider, Membership, Organization, SsoProtocol, User

#: The session's record of a sign-in through an organisation's provider: that organisation's id.
SSO_SESSION_KEY = "pulse_sso_organization"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def email_domain_check(domain: str) -> str:
    domain = domain.strip().lower().lstrip("@")
    if not _DOMAIN.match(domain):
        raise PulseError(
            _("“%(domain)s” is not an e-mail domain (like acme.example).") % {"domain": domain[:80]},
            code="email_domains",
        )
    return domain


def _address_check(url: str, *, field: str, what: str) -> str:
    """An https address (plain http only on this machine, for a provider run beside Pulse)."""
    url = url.strip()
    parts = urlsplit(url)
    if not parts.netloc or parts.scheme not in ("https", "http"):
        raise PulseError(_("Give %(what)s as a full address starting with https://.") % {"what": what}, code=field)
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise PulseError(_("%(what)s must start with https:// (plain http is refused).") % {"what": what}, code=field)
    return url


def identity_provider_of(*, organization: Organization) -> IdentityProvider:
    """The organisation's provider settings, a blank unsaved one if it has none."""
    with organization_scope(organization):
        found = IdentityProvider.objects.first()
    return found or IdentityProvider(organization=organization)


@transaction.atomic
def identity_provider_save(
    *,
    organization: Organization,
    protocol: str,
    is_enabled: bool,
    label: str,
    email_domains: str,
    oidc_issuer: str = "",
    oidc_client_id: str = "",
    oidc_client_secret: str = "",
    saml_entity_id: str = "",
    saml_sso_url: str = "",
    saml_certificate: str = "",
    required_for_managers: bool = False,
    signed_in_through_it: bool = False,
) -> IdentityProvider:
    """Save the organisation's single sign-on. A blank client secret keeps the one saved. Turned
    on, it must be complete; to be required of managers and HR it must be on, and the person
    requiring it must have signed in through it (`signed_in_through_it`): proof that it works,
    before anyone's password stops working. The audit log records each change, never the secret."""
    provider = identity_provider_of(organization=organization)
    newly_required = required_for_managers and not organization.sso_required
    if protocol not in SsoProtocol.values:
        raise PulseError(_("Choose OpenID Connect or SAML 2.0."), code="protocol")
    domains = [email_domain_check(part) for part in email_domains.replace(",", " ").split()]
    provider.protocol, provider.is_enabled, provider.label = protocol, is_enabled, label.strip()[:80]
    provider.email_domains = " ".join(dict.fromkeys(domains))
    provider.oidc_issuer, provider.oidc_client_id = oidc_issuer.strip(), oidc_client_id.strip()
    if oidc_client_secret.strip():
        provider.oidc_client_secret = oidc_client_secret.strip()
    provider.saml_entity_id, provider.saml_sso_url = saml_entity_id.strip(), saml_sso_url.strip()
    provider.saml_certificate = saml_certificate.strip()
    if is_enabled:
        _complete_check(provider)
    if required_for_managers and not is_enabled:
        raise PulseError(
            _("Turn single sign-on on before requiring it: otherwise managers and HR could not sign in at all."),
            code="required_for_managers",
        )
    if newly_required and not signed_in_through_it:
        raise PulseError(
            _(
                "Sign in through your identity provider once before requiring it (sign out, then “Sign in with "
                "your organisation”): that proves it works before managers' and HR's passwords stop working."
            ),
            code="required_for_managers",
        )
    provider.updated_at = timezone.now()
    with organization_scope(organization):
        provider.save()
    if organization.sso_required != required_for_managers:
        organization.sso_required = required_for_managers
        organization.save(update_fields=["sso_required"])
    return provider


def _complete_check(provider: IdentityProvider) -> None:
    if provider.protocol == SsoProtocol.OIDC:
        provider.oidc_issuer = _address_check(provider.oidc_issuer, field="oidc_issuer", what=_("the issuer"))
        if not provider.oidc_client_id:
            raise PulseError(_("Give the client ID your identity provider gave Pulse."), code="oidc_client_id")
        if not provider.oidc_client_secret:
            raise PulseError(_("Give the client secret your identity provider gave Pulse."), code="oidc_client_secret")
        return
    provider.saml_sso_url = _address_check(provider.saml_sso_url, field="saml_sso_url", what=_("the sign-in address"))
    if not provider.saml_entity_id:
        raise PulseError(_("Give the identity provider's entity ID."), code="saml_entity_id")
    if "BEGIN CERTIFICATE" not in provider.saml_certificate and len(provider.saml_certificate) < 100:
        raise PulseError(_("Paste the identity provider's signing certificate (PEM)."), code="saml_certificate")


def enabled_identity_provider(*, organization: Organization) -> IdentityProvider | None:
    provider = identity_provider_of(organization=organization)
    return provider if provider.pk and provider.is_enabled else None


def sso_member_find(*, organization: Organization, email: str) -> Membership:
    """The active member of `organization` whom its provider says signed in. The provider speaks
    for this organisation only, so only its roster is read: someone it does not hold (another
    organisation's person included) is refused, and nobody is ever created.

    Stops: an identity provider, configured (or compromised) in organisation A, signing anyone
    into organisation B; a self-registration into a tenant by whoever the provider lets in."""
    email = (email or "").strip().lower()
    if not email:
        raise PulseError(_("Your organisation's sign-in did not say your e-mail address."), code="no_email", status=403)
    with organization_scope(organization):
        membership = (
            Membership.objects.select_related("user")
            .filter(user__email__iexact=email, is_active=True, user__is_active=True)
            .first()
        )
    if membership is None:
        raise PulseError(
            _("%(email)s is not on %(organization)s's roster in Pulse, so Pulse cannot sign you in.")
            % {"email": email, "organization": organization.name},
            code="not_on_roster",
            status=403,
        )
    return membership


def sso_required_of(*, user: User) -> Organization | None:
    """The first organisation that asks this person (a manager, HR or an admin there) to sign in
    through its provider, so their password is refused; None if none does."""
    membership = (
        Membership.all_organizations.filter(
            user=user, is_active=True, role__in=MANAGER_ROLES, organization__sso_required=True
        )
        .select_related("organization")
        .first()
    )
    return membership.organization if membership is not None else None


def sso_enforced_for(*, membership: Membership) -> bool:
    """Whether this member must have signed in through their organisation's provider (read from
    the organisation the request already holds: no query)."""
    return membership.is_manager and membership.organization.sso_required


def sso_organization_find(*, name_or_email: str) -> tuple[Organization, IdentityProvider] | None:
    """The organisation whose single sign-on (turned on) a visitor means: by its Pulse name (the
    `acme` of /o/acme/) or by the domain of a work e-mail address. None when there is none, said
    the same way whether or not the organisation exists."""
    typed = (name_or_email or "").strip().lower()
    organization = None
    if "@" in typed:
        domain = typed.rpartition("@")[2]
        if _DOMAIN.match(domain):
            organization_id = sso_domain_organization(domain)
            organization = (
                Organization.objects.filter(pk=organization_id, is_active=True).first() if organization_id else None
            )
    elif re.fullmatch(r"[a-z0-9_-]{1,60}", typed):
        organization = Organization.objects.filter(slug=typed, is_active=True).first()
    if organization is None:
        return None
    provider = enabled_identity_provider(organization=organization)
    return (organization, provider) if provider is not None else None
