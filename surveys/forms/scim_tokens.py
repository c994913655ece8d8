from django import forms
from django.utils.translation import gettext_lazy as _

from surveys.services.scim_tokens import NAME_MAX

from .base import PulseForm


class ScimTokenForm(PulseForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX,
        help_text=_("The identity provider that uses it, e.g. “Okta” or “Entra ID”."),
    )
