from django import forms

from surveys.models import ApiKeyScope
from surveys.services.api_keys import NAME_MAX

from .base import PulseForm


class ApiKeyForm(PulseForm):
    name = forms.CharField(max_length=NAME_MAX, help_text="What uses it, e.g. “Power BI” or “HRIS sync”.")
    scope = forms.ChoiceField(
        label="It may",
        choices=ApiKeyScope.choices,
        initial=ApiKeyScope.READ,
        widget=forms.RadioSelect,
        help_text="Read: results, heatmaps, plans, the roster. Read and write: also import rosters.",
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. After this day the key stops working.",
    )
