"""Query parameters of the list endpoints (django-filter). A team filter takes the team and
every team below it; ids are whole numbers or a 400, never a database error."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from rest_framework import exceptions

from surveys.core.ids import whole_number
from surveys.forms.base import IdChoiceField
from surveys.models import (
    ActionPlan,
    ActionPlanStatus,
    Construct,
    Membership,
    Role,
    Round,
    RoundStatus,
    RoundTeam,
    Survey,
    Team,
)


class IdFilter(filters.ModelChoiceFilter):
    field_class = IdChoiceField


class FilterBackend(filters.DjangoFilterBackend):
    """An id that is a whole number but not one of the organisation's (another organisation's,
    or none at all) is a 404, as on the pages; any other bad parameter is a 400."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None and not filterset.is_valid():
            for name, field_errors in filterset.errors.as_data().items():
                raw = request.query_params.get(name, "")
                is_id = isinstance(filterset.filters.get(name), IdFilter) and whole_number(raw) is not None
                if is_id and any(error.code == "invalid_choice" for error in field_errors):
                    raise exceptions.NotFound(
                        _("No such %(thing)s in your organisation.") % {"thing": name}, code="not_found"
                    )
        return filterset


def _teams(request):
    return Team.objects.all()


def _surveys(request):
    return Survey.objects.all()


def _rounds(request):
    return Round.objects.all()


def _subtree(field: str):
    """A filter method: rows whose `field` is the chosen team or a team below it."""

    def method(queryset, name, team):
        if team is None:
            return queryset
        return queryset.filter(**{f"{field}__in": Team.objects.filter(team.subtree_filter())})

    return method


class RoundFilter(filters.FilterSet):
    survey = IdFilter(queryset=_surveys, help_text="Survey id.")
    status = filters.ChoiceFilter(choices=RoundStatus.choices)
    closed_after = filters.DateFilter(field_name="closed_at", lookup_expr="date__gte", help_text="YYYY-MM-DD")
    closed_before = filters.DateFilter(field_name="closed_at", lookup_expr="date__lte", help_text="YYYY-MM-DD")

    class Meta:
        model = Round
        fields = ["survey", "status", "closed_after", "closed_before"]


class ResultFilter(filters.FilterSet):
    survey = IdFilter(field_name="round__survey", queryset=_surveys, help_text="Survey id.")
    round = IdFilter(queryset=_rounds, help_text="Round id.")
    closed_after = filters.DateFilter(field_name="round__closed_at", lookup_expr="date__gte", help_text="YYYY-MM-DD")
    closed_before = filters.DateFilter(field_name="round__closed_at", lookup_expr="date__lte", help_text="YYYY-MM-DD")
    team = IdFilter(queryset=_teams, method=_subtree("team"), help_text="Team id: that team and every team below it.")
    construct = filters.MultipleChoiceFilter(
        choices=Construct.choices,
        method=lambda queryset, name, value: queryset,  # limits the measures of each node, not the nodes
        help_text="Only these constructs and their questions (repeat the parameter for several).",
    )

    class Meta:
        model = RoundTeam
        fields = ["survey", "round", "closed_after", "closed_before", "team", "construct"]


class ActionPlanFilter(filters.FilterSet):
    team = IdFilter(queryset=_teams, method=_subtree("team"), help_text="Team id: that team and every team below it.")
    round = IdFilter(queryset=_rounds, help_text="Round id.")
    status = filters.ChoiceFilter(choices=ActionPlanStatus.choices)

    class Meta:
        model = ActionPlan
        fields = ["team", "round", "status"]


class PersonFilter(filters.FilterSet):
    team = IdFilter(queryset=_teams, method=_subtree("team"), help_text="Team id: that team and every team below it.")
    role = filters.ChoiceFilter(choices=Role.choices)
    active = filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = Membership
        fields = ["team", "role", "active"]
