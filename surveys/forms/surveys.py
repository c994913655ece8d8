from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

from surveys.core.ids import whole_number
from surveys.models import Cadence, Organization, Question, Survey
from surveys.selectors.surveys import team_choices
from surveys.services.organization import SUPPORT_LINKS_MAX, SUPPORT_TEXT_MAX, support_check
from surveys.services.surveys import (
    CUSTOM_QUESTION_MAX_LENGTH,
    MESSAGE_TEXT_MAX_LENGTH,
    SurveyFields,
    survey_message_text_check,
    survey_name_check,
    survey_new_questions_check,
    survey_questions_check,
    survey_start_check,
    survey_window_check,
)

from .base import IdChoiceField, IdMultipleChoiceField, PulseForm

NEW_QUESTION_FIELDS = ("new_question_1", "new_question_2", "new_question_3")


class TeamChoiceField(IdChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.path


MESSAGE_TEXT_TOO_LONG = f"Keep it to {MESSAGE_TEXT_MAX_LENGTH:,} characters (%(show_value)s now)."


class SurveyForm(PulseForm):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=200,
        help_text=gettext_lazy("People see it in their invitation, e.g. “Team pulse”."),
    )
    questions: forms.ModelMultipleChoiceField = IdMultipleChoiceField(queryset=None, required=False)
    new_question_1 = forms.CharField(
        label=gettext_lazy("New question 1"), required=False, max_length=CUSTOM_QUESTION_MAX_LENGTH
    )
    new_question_2 = forms.CharField(
        label=gettext_lazy("New question 2"), required=False, max_length=CUSTOM_QUESTION_MAX_LENGTH
    )
    new_question_3 = forms.CharField(
        label=gettext_lazy("New question 3"), required=False, max_length=CUSTOM_QUESTION_MAX_LENGTH
    )
    cadence = forms.ChoiceField(label=gettext_lazy("How often"), choices=Cadence.choices, widget=forms.RadioSelect)
    open_days = forms.IntegerField(
        label=gettext_lazy("Days each round stays open"),
        min_value=1,
        max_value=27,
        help_text=gettext_lazy(
            "Shorter than the time between two rounds: up to 6 days weekly, 13 every two weeks, 27 monthly."
        ),
    )
    starts_on = forms.DateField(
        label=gettext_lazy("First opening date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("Rounds open at the same time of day, then follow the rhythm you chose from this date."),
    )
    root_team = TeamChoiceField(
        label=gettext_lazy("Who takes part"),
        queryset=None,
        required=False,
        empty_label=gettext_lazy("The whole organisation"),
        help_text=gettext_lazy("A team and every team below it. People without a team are not invited."),
    )
    comments_enabled = forms.BooleanField(
        label=gettext_lazy("Let people add an optional comment"),
        required=False,
        help_text=gettext_lazy(
            "Comments are shown only for groups large enough (the comment threshold), after a round closes."
        ),
    )
    support_text = forms.CharField(
        label=gettext_lazy("Support message for this survey"),
        required=False,
        max_length=SUPPORT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Shown after answering, below your organisation's support resources."),
    )
    support_links = forms.CharField(
        label=gettext_lazy("Support links for this survey"),
        required=False,
        max_length=SUPPORT_LINKS_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line, as “Label | https://address”."),
    )
    invitation_text = forms.CharField(
        label=gettext_lazy("Your opening words in the invitation"),
        required=False,
        max_length=MESSAGE_TEXT_MAX_LENGTH,
        error_messages={"max_length": MESSAGE_TEXT_TOO_LONG},
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            gettext_lazy(
                "Optional: replaces Pulse's first paragraph. The link, the closing date and the privacy promise "
                "always follow."
            )
        ),
    )
    reminder_text = forms.CharField(
        label=gettext_lazy("Your opening words in the reminder"),
        required=False,
        max_length=MESSAGE_TEXT_MAX_LENGTH,
        error_messages={"max_length": MESSAGE_TEXT_TOO_LONG},
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Optional: replaces Pulse's first paragraph of the one reminder sent half-way to everyone invited."
        ),
    )
    is_active = forms.BooleanField(
        label=gettext_lazy("Running"),
        required=False,
        help_text=gettext_lazy("Untick to pause: no new round opens until you tick it again."),
    )

    def __init__(self, *args, organization: Organization, survey: Survey | None = None, **kwargs):
        self.organization = organization
        self.survey = survey
        if survey is not None:
            kwargs.setdefault("initial", _initial(survey))
        else:
            core = Question.objects.filter(organization=None, is_core=True, is_active=True).values_list("pk", flat=True)
            kwargs.setdefault(
                "initial",
                {
                    "questions": list(core),
                    "cadence": Cadence.BIWEEKLY,
                    "open_days": 5,
                    "starts_on": timezone.localdate(),
                },
            )
            kwargs["initial"].setdefault("comments_enabled", True)
        super().__init__(*args, **kwargs)
        questions = cast(forms.ModelMultipleChoiceField, self.fields["questions"])
        questions.queryset = Question.objects.filter(is_active=True)
        cast(TeamChoiceField, self.fields["root_team"]).queryset = team_choices()
        if survey is None or survey.is_draft:
            del self.fields["is_active"]  # a draft is launched, not switched on

    def selected_question_ids(self) -> set[int]:
        """What the checkboxes show: what was posted (even if invalid), else the initial choice."""
        raw = self["questions"].value() or []
        return {number for value in raw if (number := whole_number(str(value))) is not None}

    def clean_name(self) -> str:
        return self.check("name", survey_name_check, name=self.cleaned_data["name"], survey=self.survey) or ""

    def clean_starts_on(self):
        starts_on = self.cleaned_data["starts_on"]
        self.check("starts_on", survey_start_check, starts_on=starts_on, survey=self.survey)
        return starts_on

    def clean_invitation_text(self) -> str:
        text = self.cleaned_data["invitation_text"]
        return self.check("invitation_text", survey_message_text_check, text=text, code="invitation_text") or ""

    def clean_reminder_text(self) -> str:
        text = self.cleaned_data["reminder_text"]
        return self.check("reminder_text", survey_message_text_check, text=text, code="reminder_text") or ""

    def clean_support_links(self) -> str:
        links = self.cleaned_data["support_links"]
        self.check("support_links", support_check, text="", links=links)
        return links

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("cadence") and data.get("open_days"):
            self.check("open_days", survey_window_check, cadence=data["cadence"], open_days=data["open_days"])
        texts = [data.get(name, "") for name in NEW_QUESTION_FIELDS]
        new = self.check(None, survey_new_questions_check, texts=texts)
        if new is not None and "questions" in data:
            self.check(
                "questions",
                survey_questions_check,
                organization=self.organization,
                questions=list(data["questions"]),
                new_count=len(new),
            )
        return data

    def survey_fields(self) -> SurveyFields:
        data = self.cleaned_data
        return SurveyFields(
            name=data["name"],
            questions=list(data["questions"]),
            new_questions=[data[name] for name in NEW_QUESTION_FIELDS],
            cadence=data["cadence"],
            open_days=data["open_days"],
            starts_on=data["starts_on"],
            root_team=data["root_team"],
            comments_enabled=data["comments_enabled"],
            support_text=data["support_text"],
            support_links=data["support_links"],
            is_active=data.get("is_active", True) if self.survey is not None else True,
            invitation_text=data.get("invitation_text", ""),
            reminder_text=data.get("reminder_text", ""),
        )


def _initial(survey: Survey) -> dict:
    return {
        "name": survey.name,
        "questions": list(survey.survey_questions.values_list("question_id", flat=True)),
        "cadence": survey.cadence,
        "open_days": survey.open_days,
        "starts_on": survey.starts_on,
        "root_team": survey.root_team_id,
        "comments_enabled": survey.comments_enabled,
        "support_text": survey.support_text,
        "support_links": survey.support_links,
        "is_active": survey.is_active,
        "invitation_text": survey.invitation_text,
        "reminder_text": survey.reminder_text,
    }
