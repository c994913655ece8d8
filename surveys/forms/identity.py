from django import forms
from django.utils.translation import gettext_lazy as _

from surveys.models import IdentityProvider, Organization, SsoProtocol

from .base import PulseForm


class SsoFindForm(PulseForm):
    """ "Sign in with your organisation": which organisation's provider to go to."""

    name_or_email = forms.CharField(
        label=_("Your work e-mail address, or your organisation's name in Pulse"),
        max_length=254,
        help_text=_("For example you@acme.example, or acme if your Pulse address is …/o/acme/."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )


class IdentityProviderForm(PulseForm):
    is_enabled = forms.BooleanField(
        label=_("Single sign-on is on"),
        required=False,
        help_text=_("People on your roster can then sign in through your identity provider."),
    )
    protocol = forms.ChoiceField(label=_("Protocol"), choices=[(SsoProtocol.OIDC.value, SsoProtocol.OIDC.label)])
    label = forms.CharField(
        label=_("Button label"),
        max_length=80,
        required=False,
        help_text=_("What the sign-in button says, e.g. “Acme Okta”."),
    )
    email_domains = forms.CharField(
        label=_("E-mail domains"),
        max_length=500,
        required=False,
        help_text=_(
            "Your people's e-mail domains, separated by spaces (acme.example): the sign-in page finds you by them."
        ),
    )
    oidc_issuer = forms.CharField(
        label=_("Issuer"),
        max_length=500,
        required=False,
        help_text=_("The provider's issuer address; Pulse reads /.well-known/openid-configuration under it."),
    )
    oidc_client_id = forms.CharField(label=_("Client ID"), max_length=255, required=False)
    oidc_client_secret = forms.CharField(
        label=_("Client secret"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Never shown again once saved. Leave empty to keep the saved one."),
    )
    required_for_managers = forms.BooleanField(
        label=_("Managers, HR and admins must sign in through it"),
        required=False,
        help_text=_(
            "Their password is then refused, with a button to your provider instead. Employees keep answering "
            "through their personal links, so your provider never learns who opened a pulse."
        ),
    )

    def __init__(self, *args, provider: IdentityProvider, organization: Organization, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "is_enabled": provider.is_enabled,
                "protocol": provider.protocol,
                "label": provider.label,
                "email_domains": provider.email_domains,
                "oidc_issuer": provider.oidc_issuer,
                "oidc_client_id": provider.oidc_client_id,
                "required_for_managers": organization.sso_required,
            },
        )
        super().__init__(*args, **kwargs)


class MfaCodeForm(PulseForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The six digits your authenticator app shows now, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "none"}),
    )
