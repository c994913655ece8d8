from django import forms

from surveys.core.exceptions import PulseError
from surveys.core.ids import whole_number


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


class IdChoiceField(forms.ModelChoiceField):
    """A choice of one object by id: a value that is not a plain whole number (“³”, “1e3”, a
    number larger than any id) is an invalid choice, never a database error."""

    def to_python(self, value):
        if value not in self.empty_values and whole_number(value) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A choice of several objects by id, read as `IdChoiceField` reads one."""

    def _check_values(self, value):
        for item in value:
            if whole_number(item) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": item}
                )
        return super()._check_values(value)  # type: ignore[misc]  # private in the stubs, not in Django
