from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from surveys.models import Membership
from surveys.services.person_data import ErasureMode

from .base import PulseForm


class ErasureForm(PulseForm):
    """How to remove a person, confirmed by typing their address."""

    mode = forms.ChoiceField(
        label=gettext_lazy("How"),
        choices=[
            (ErasureMode.ERASE, gettext_lazy("Erase: remove them from the roster with everything above")),
            (
                ErasureMode.ANONYMISE,
                gettext_lazy("Anonymise: keep an inactive “former member” with no name or address in their place"),
            ),
        ],
        widget=forms.RadioSelect,
        initial=ErasureMode.ERASE,
    )
    confirm = forms.CharField(
        label=gettext_lazy("Type their e-mail address to confirm"),
        max_length=254,
        help_text=gettext_lazy("This cannot be undone."),
    )

    def __init__(self, *args, person: Membership, **kwargs):
        self.person = person
        super().__init__(*args, **kwargs)

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"].strip()
        if typed.lower() != self.person.user.email.lower():
            raise forms.ValidationError(_("That is not their address: type it exactly as shown above."))
        return typed
