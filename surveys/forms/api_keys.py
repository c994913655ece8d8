from django import forms
from django.utils.translation import gettext_lazy

from surveys.models import ApiKeyScope
from surveys.services.api_keys import NAME_MAX

from .base import PulseForm


class ApiKeyForm(PulseForm):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=NAME_MAX,
        help_text=gettext_lazy("What uses it, e.g. “Power BI” or “HRIS sync”."),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("It may"),
        choices=ApiKeyScope.choices,
        initial=ApiKeyScope.READ,
        widget=forms.RadioSelect,
        help_text=gettext_lazy("Read: results, heatmaps, plans, the roster. Read and write: also import rosters."),
    )
    expires_on = forms.DateField(
        label=gettext_lazy("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Optional. After this day the key stops working."),
    )
