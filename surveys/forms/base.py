from django import forms

from surveys.exceptions import PulseError


class PulseForm(forms.Form):
    """A form whose rules live in services: a PulseError lands beside the field it is about
    (its `code` names the field) or above the form."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def add_pulse_error(self, error: PulseError) -> None:
        self.add_error(error.code if error.code in self.fields else None, error.message)

    def check(self, field: str | None, rule, **kwargs):
        """Run a service rule; on PulseError, show it on `field` and return None."""
        try:
            return rule(**kwargs)
        except PulseError as error:
            self.add_error(field, error.message)
            return None
