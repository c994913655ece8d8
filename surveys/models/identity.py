"""How an organisation's people sign in: its identity provider (single sign-on, OIDC or SAML 2.0)
whether managers and HR must use it is the organisation's own setting, `Organization.sso_required`
(docs/architecture.md, "Signing in").

The provider is the organisation's own: a tenant row, under its row-level security, read only
in its scope. A sign-in through it proves who someone is to that organisation only
(services.identity.sso_member_find looks them up in its roster, nowhere else).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.core.tenancy import TenantModel


class SsoProtocol(models.TextChoices):
    OIDC = "oidc", _("OpenID Connect")
    SAML = "saml", _("SAML 2.0")


class IdentityProvider(TenantModel):
    """The organisation's single sign-on: one per organisation."""

    protocol = models.CharField(max_length=10, choices=SsoProtocol.choices, default=SsoProtocol.OIDC)
    is_enabled = models.BooleanField(default=False)
    label = models.CharField(max_length=80, blank=True, help_text="The sign-in button's words.")
    #: The e-mail domains whose people it serves ("acme.example other.example"), for finding it
    #: from an address on the sign-in page.
    email_domains = models.CharField(max_length=500, blank=True)
    oidc_issuer = models.URLField(max_length=500, blank=True)
    oidc_client_id = models.CharField(max_length=255, blank=True)
    oidc_client_secret = models.CharField(max_length=500, blank=True)
    saml_entity_id = models.CharField(max_length=500, blank=True)
    saml_sso_url = models.URLField(max_length=500, blank=True)
    saml_certificate = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="identityprovider_one_per_org")]

    def __str__(self) -> str:
        return f"{self.get_protocol_display()} ({self.organization_id})"

    @property
    def domains(self) -> list[str]:
        return [part.strip().lower().lstrip("@") for part in self.email_domains.replace(",", " ").split() if part]

    @property
    def button_label(self) -> str:
        return self.label or str(_("your organisation's sign-in"))
