from django import forms

from surveys.models import Membership
from surveys.services.person_data import ErasureMode

from .base import PulseForm


class ErasureForm(PulseForm):
    """How to remove a person, confirmed by typing their address."""

    mode = forms.ChoiceField(
        label="How",
        choices=[
            (ErasureMode.ERASE, "Erase: remove them from the roster with everything above"),
            (
                ErasureMode.ANONYMISE,
                "Anonymise: keep an inactive “former member” with no name or address in their place",
            ),
        ],
        widget=forms.RadioSelect,
        initial=ErasureMode.ERASE,
    )
    confirm = forms.CharField(
        label="Type their e-mail address to confirm",
        max_length=254,
        help_text="This cannot be undone.",
    )

    def __init__(self, *args, person: Membership, **kwargs):
        self.person = person
        super().__init__(*args, **kwargs)

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"].strip()
        if typed.lower() != self.person.user.email.lower():
            raise forms.ValidationError("That is not their address: type it exactly as shown above.")
        return typed
