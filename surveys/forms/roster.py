from django import forms

from surveys.services.roster import MAX_BYTES

WORKBOOK_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")


class RosterUploadForm(forms.Form):
    label_suffix = ""
    file = forms.FileField(
        label="Roster file (CSV)",
        allow_empty_file=True,  # the import report explains an empty file, like any other problem
        help_text="A .csv file saved as “CSV UTF-8”, up to 20 MB and 100,000 people.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.name.lower().endswith(WORKBOOK_SUFFIXES):
            raise forms.ValidationError(
                "This is a spreadsheet workbook. Save it as “CSV UTF-8 (comma delimited)” and upload the .csv file."
            )
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"This file is {upload.size / (1024 * 1024):.1f} MB; Pulse accepts files up to 20 MB."
            )
        return upload


class PeopleSearchForm(forms.Form):
    label_suffix = ""
    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "Everyone"), ("active", "Active people"), ("inactive", "Deactivated people")],
    )
