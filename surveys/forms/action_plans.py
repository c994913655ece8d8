from typing import cast

from django import forms
from django.utils.dateformat import format as date_format
from django.utils.text import format_lazy
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from surveys.access import team_readers
from surveys.models import ActionPlan, ActionPlanStatus, Membership, Round, RoundStatus, Survey, Team
from surveys.models.action_plans import REMIND_DAYS
from surveys.selectors.dashboard import surveys_covering
from surveys.services.action_plans import (
    DESCRIPTION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    TITLE_REQUIRED,
    ActionPlanFields,
    action_plan_due_check,
    action_plan_title_check,
)

from .base import IdChoiceField, PulseForm


class RoundChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Round) -> str:
        closed = localtime(obj.closed_at or obj.closes_at)
        return _("%(survey)s, round %(number)s (closed %(closed)s)") % {
            "survey": obj.survey.name,
            "number": obj.number,
            "closed": date_format(closed, pgettext("date format", "j M Y")),
        }


class OwnerChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        return f"{obj.user.get_full_name()} ({obj.get_role_display().lower()})"


class ActionPlanForm(PulseForm):
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=TITLE_MAX_LENGTH,
        error_messages={"required": TITLE_REQUIRED},
        help_text=gettext_lazy("One concrete change, e.g. “No meetings on Friday afternoons”."),
    )
    description = forms.CharField(
        label=gettext_lazy("What you will do"),
        required=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Optional: the first steps, who takes them, and how the team will know it helped."),
    )
    owner = OwnerChoiceField(
        label=gettext_lazy("Owner"),
        queryset=None,
        required=False,
        empty_label=gettext_lazy("Nobody yet"),
        help_text=gettext_lazy("Who makes sure it happens: HR, or a lead of this team or of a team above it."),
    )
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=ActionPlanStatus.choices, widget=forms.RadioSelect)
    due_on = forms.DateField(
        label=gettext_lazy("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=format_lazy(
            gettext_lazy("Optional. The owner gets one e-mail reminder {days} days before, unless it is done."),
            days=REMIND_DAYS,
        ),
    )
    round = RoundChoiceField(
        label=gettext_lazy("In response to"),
        queryset=None,
        required=False,
        empty_label=gettext_lazy("No particular round"),
        help_text=gettext_lazy("Optional: the round whose results led to this plan."),
    )

    def __init__(self, *args, team: Team, plan: ActionPlan | None = None, **kwargs):
        self.plan = plan
        if plan is not None:
            fields = ActionPlanFields.of(plan)
            kwargs.setdefault(
                "initial",
                {
                    "title": fields.title,
                    "description": fields.description,
                    "status": fields.status,
                    "due_on": fields.due_on,
                    "round": plan.round_id,
                    "owner": plan.owner_id,
                },
            )
        kwargs.setdefault("initial", {}).setdefault("status", ActionPlanStatus.PLANNED)
        super().__init__(*args, **kwargs)
        owners = team_readers(team).select_related("user").order_by("user__name", "user__email")
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = owners
        surveys = Survey.objects.filter(surveys_covering([team.path]))
        cast(forms.ModelChoiceField, self.fields["round"]).queryset = (
            Round.objects.filter(survey__in=surveys, status=RoundStatus.PUBLISHED)
            .select_related("survey")
            .order_by("-closes_at", "-pk")
        )

    def clean_title(self) -> str:
        return self.check("title", action_plan_title_check, title=self.cleaned_data["title"]) or ""

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if self.plan is None or due_on != self.plan.due_on:
            self.check("due_on", action_plan_due_check, due_on=due_on)
        return due_on

    def plan_fields(self) -> ActionPlanFields:
        data = self.cleaned_data
        return ActionPlanFields(
            title=data["title"],
            description=data["description"],
            status=data["status"],
            due_on=data["due_on"],
            round=data["round"],
            owner=data["owner"],
        )


class ActionPlanStatusForm(PulseForm):
    status = forms.ChoiceField(choices=ActionPlanStatus.choices)
