from typing import cast

from django import forms
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from surveys.models import Role, RosterImportMode, Team
from surveys.models.roster import DEFAULT_ROSTER_MODE
from surveys.services.people import PersonFields, person_name_check
from surveys.services.roster_file import MAX_BYTES
from surveys.services.teams import team_name_check

from .base import IdChoiceField, IdMultipleChoiceField, PulseForm

WORKBOOK_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")


class TeamPathChoiceField(IdChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.path


class TeamPathsField(IdMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.path


class RosterUploadForm(PulseForm):
    file = forms.FileField(
        label=gettext_lazy("Roster file (CSV)"),
        allow_empty_file=True,  # the import report explains an empty file, like any other problem
        help_text=gettext_lazy("A .csv file saved as “CSV UTF-8”, up to 20 MB and 100,000 people."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("What to do with people who are not in the file"),
        choices=RosterImportMode.choices,
        initial=DEFAULT_ROSTER_MODE,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Choose a full sync only for a file that holds everyone: its preview lists each person it "
            "would deactivate before anything changes."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.name.lower().endswith(WORKBOOK_SUFFIXES):
            raise forms.ValidationError(
                _("This is a spreadsheet workbook. Save it as “CSV UTF-8 (comma delimited)” and upload the .csv file.")
            )
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("This file is %(size)s MB; Pulse accepts files up to 20 MB.")
                % {"size": number_format(upload.size / (1024 * 1024), decimal_pos=1)}
            )
        return upload


class RosterConfirmForm(PulseForm):
    large_deactivation_ok = forms.BooleanField(
        label=gettext_lazy("Yes, deactivate these people"),
        required=False,
        help_text=gettext_lazy("They get no more pulses and lose their pages. Their past answers stay counted."),
    )


class PeopleSearchForm(PulseForm):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            ("", gettext_lazy("Everyone")),
            ("active", gettext_lazy("Active people")),
            ("inactive", gettext_lazy("Deactivated people")),
        ],
    )


class PersonForm(PulseForm):
    """A person's name, team, role and the teams they lead; the e-mail only when adding."""

    email = forms.EmailField(label=gettext_lazy("E-mail"), max_length=254)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    team = TeamPathChoiceField(
        label=gettext_lazy("Team"), queryset=None, help_text=gettext_lazy("The team whose results they count for.")
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, widget=forms.RadioSelect)
    leads = TeamPathsField(
        label=gettext_lazy("Teams they lead"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "They see the results of these teams and every team below them. Managers, HR and admins only."
        ),
    )

    def __init__(self, *args, adding: bool, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.order_by("path")
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams
        cast(forms.ModelMultipleChoiceField, self.fields["leads"]).queryset = teams
        if not adding:
            del self.fields["email"]

    def clean_name(self) -> str:
        return self.check("name", person_name_check, name=self.cleaned_data["name"]) or ""

    def person_fields(self) -> PersonFields:
        data = self.cleaned_data
        return PersonFields(name=data["name"], team=data["team"], role=data["role"], leads=tuple(data["leads"]))


class TeamForm(PulseForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    parent = TeamPathChoiceField(
        label=gettext_lazy("Sits under"),
        queryset=None,
        required=False,
        empty_label=gettext_lazy("Nothing: a top-level team"),
        help_text=gettext_lazy("Moving a team moves every team below it too."),
    )

    def __init__(self, *args, team: Team, **kwargs):
        self.team = team
        super().__init__(*args, **kwargs)
        outside = Team.objects.exclude(team.subtree_filter()).order_by("path")
        cast(forms.ModelChoiceField, self.fields["parent"]).queryset = outside

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if "name" in data:
            self.check("name", team_name_check, name=data["name"], parent=data.get("parent"), team=self.team)
        return data


class TeamMergeForm(PulseForm):
    into = TeamPathChoiceField(label=gettext_lazy("Merge into"), queryset=None)
    leads_follow = forms.BooleanField(
        label=gettext_lazy("Its leads also lead the team it merges into"),
        required=False,
        help_text=gettext_lazy(
            "Off: they keep leading this team and its past results, and see nothing new. On: they also see "
            "the results of the team it merges into and every team below it. The next page names everyone either way."
        ),
    )

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["into"]).queryset = Team.objects.exclude(
            team.subtree_filter()
        ).order_by("path")
