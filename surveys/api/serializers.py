"""What the API returns. Results are built from `selectors.exports.NodeResults` (the pages'
figures); the serializers here describe their shape for the schema and serialise the models
that are plain data (teams, surveys, rounds, plans, people)."""

from __future__ import annotations

import copy

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from surveys.core.words import Words
from surveys.models import ActionPlan, Membership, RosterImport, RosterImportMode, Round, Survey, Team
from surveys.models.roster import DEFAULT_ROSTER_MODE
from surveys.selectors.exports import REASONS, NodeResults, estimate_figures, heatmap_cell_reason, rounded
from surveys.selectors.results import Heatmap


class NamedFields(serializers.Serializer):
    """Adds `named_fields`: fields whose names DRF uses for its own attributes (`errors`,
    `label`), which therefore cannot be declared as class attributes."""

    named_fields: dict[str, serializers.Field] = {}

    def get_fields(self):
        fields = super().get_fields()
        for name, field in self.named_fields.items():
            fields[name] = copy.deepcopy(field)
        return fields


class ErrorSerializer(NamedFields):
    detail = serializers.CharField()
    code = serializers.CharField()
    retry_after = serializers.IntegerField(required=False, help_text="Seconds to wait (429 only).")
    named_fields = {"errors": serializers.JSONField(required=False, help_text="Per parameter, field or roster line.")}


class TeamSerializer(serializers.ModelSerializer):
    people = serializers.IntegerField(read_only=True, help_text="Active people in this team itself.")

    class Meta:
        model = Team
        fields = ["id", "name", "path", "parent", "people"]


class SurveySerializer(serializers.ModelSerializer):
    class Meta:
        model = Survey
        fields = ["id", "name", "cadence", "open_days", "starts_on", "root_team", "comments_enabled", "is_active"]


class RoundSerializer(serializers.ModelSerializer):
    survey_name = serializers.CharField(source="survey.name", read_only=True)
    k = serializers.IntegerField(source="shown_k", read_only=True, help_text="The anonymity threshold of the round.")

    class Meta:
        model = Round
        fields = [
            "id",
            "survey",
            "survey_name",
            "number",
            "status",
            "opens_at",
            "closes_at",
            "closed_at",
            "published_at",
            "k",
            "invited_count",
            "teams_published",
        ]


class ActionPlanSerializer(serializers.ModelSerializer):
    team_path = serializers.CharField(source="team.path", read_only=True)

    class Meta:
        model = ActionPlan
        fields = ["id", "team", "team_path", "round", "title", "description", "status", "due_on", "created_at"]


class PersonSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    team_path = serializers.CharField(source="team.path", read_only=True, allow_null=True)
    leads = serializers.SerializerMethodField(help_text="Paths of the teams this person leads.")

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "team", "team_path", "role", "is_active", "leads"]

    def get_leads(self, membership: Membership) -> list[str]:
        return sorted(lead.team.path for lead in membership.management.all())


# Results ---------------------------------------------------------------------------------


class SharesSerializer(serializers.Serializer):
    favourable = serializers.FloatField()
    neutral = serializers.FloatField()
    unfavourable = serializers.FloatField()


class MeasureSerializer(NamedFields):
    type = serializers.ChoiceField(choices=["construct", "question"])
    code = serializers.CharField(help_text="The construct (autonomy, …) or the question's code.")
    named_fields = {"label": serializers.CharField(help_text="The construct's name or the question's text.")}
    construct = serializers.CharField()
    shown = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=sorted(REASONS), allow_null=True, help_text="Why it is not shown.")
    reason_text = serializers.CharField(allow_null=True)
    index = serializers.FloatField(allow_null=True, help_text="0–100.")
    index_low = serializers.FloatField(allow_null=True, help_text="90% interval, low end.")
    index_high = serializers.FloatField(allow_null=True, help_text="90% interval, high end.")
    n = serializers.FloatField(allow_null=True)
    shares = SharesSerializer(allow_null=True)
    change = serializers.CharField(
        allow_null=True, help_text="Constructs: improved, declined, no_clear_change or not_enough_rounds."
    )


class RoundRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    survey = serializers.IntegerField()
    survey_name = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    path = serializers.CharField()


class BurnoutSerializer(serializers.Serializer):
    index = serializers.FloatField()
    zone = serializers.ChoiceField(choices=["few", "some", "many"])


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A team shown",
            value={
                "round": {"id": 7, "number": 6, "survey": 2, "survey_name": "Team pulse", "closed_at": None},
                "team": {"id": 12, "name": "Payments", "path": "Northwind/Engineering/Payments"},
                "shown": True,
                "reason": None,
                "reason_text": None,
                "respondents": 8,
                "invited": 9,
                "response_rate": 0.8889,
                "is_partial": False,
                "covered_teams": [12],
                "burnout": {"index": 41.2, "zone": "some"},
                "measures": [
                    {
                        "type": "construct",
                        "code": "autonomy",
                        "label": "Autonomy",
                        "construct": "autonomy",
                        "shown": True,
                        "reason": None,
                        "reason_text": None,
                        "index": 43.8,
                        "index_low": 35.1,
                        "index_high": 52.4,
                        "n": 8.0,
                        "shares": {"favourable": 0.25, "neutral": 0.375, "unfavourable": 0.375},
                        "change": "declined",
                    }
                ],
            },
        ),
        OpenApiExample(
            "A team not shown",
            value={
                "round": {"id": 7, "number": 6, "survey": 2, "survey_name": "Team pulse", "closed_at": None},
                "team": {"id": 15, "name": "People & Culture", "path": "Northwind/People & Culture"},
                "shown": False,
                "reason": "group_hidden",
                "reason_text": REASONS["group_hidden"],
                "respondents": None,
                "invited": None,
                "response_rate": None,
                "is_partial": False,
                "covered_teams": [],
                "burnout": None,
                "measures": [],
            },
        ),
    ]
)
class NodeResultSerializer(serializers.Serializer):
    round = RoundRefSerializer()
    team = TeamRefSerializer()
    shown = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=sorted(REASONS), allow_null=True)
    reason_text = serializers.CharField(allow_null=True)
    respondents = serializers.IntegerField(allow_null=True)
    invited = serializers.IntegerField(allow_null=True)
    response_rate = serializers.FloatField(allow_null=True)
    is_partial = serializers.BooleanField(
        help_text="The figures leave out teams below whose answers were too few to add here (see covered_teams)."
    )
    covered_teams = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the teams whose people's answers the figures hold."
    )
    burnout = BurnoutSerializer(allow_null=True)
    measures = MeasureSerializer(many=True, help_text="Empty when the group is not shown.")


class HeatmapCellSerializer(serializers.Serializer):
    construct = serializers.CharField()
    shown = serializers.BooleanField()
    index = serializers.FloatField(allow_null=True)
    n = serializers.FloatField(allow_null=True)
    reason = serializers.ChoiceField(choices=sorted(REASONS), allow_null=True)


class HeatmapRowSerializer(serializers.Serializer):
    team = TeamRefSerializer()
    respondents = serializers.IntegerField(allow_null=True)
    invited = serializers.IntegerField(allow_null=True)
    response_rate = serializers.FloatField(allow_null=True)
    burnout = BurnoutSerializer(allow_null=True)
    cells = HeatmapCellSerializer(many=True)


class ConstructRefSerializer(NamedFields):
    code = serializers.CharField()
    named_fields = {"label": serializers.CharField()}


class HeatmapSerializer(serializers.Serializer):
    round = RoundRefSerializer()
    constructs = ConstructRefSerializer(many=True)
    rows = HeatmapRowSerializer(many=True)


def round_ref(round_: Round) -> dict:
    return {
        "id": round_.pk,
        "number": round_.number,
        "survey": round_.survey_id,
        "survey_name": round_.survey.name,
        "closed_at": serializers.DateTimeField().to_representation(round_.closed_at) if round_.closed_at else None,
    }


def team_ref(team: Team) -> dict:
    return {"id": team.pk, "name": team.name, "path": team.path}


def _estimate(score) -> dict:
    figures = estimate_figures(score)
    shares = {name: figures.pop(name) for name in ("favourable", "neutral", "unfavourable")}
    return {**figures, "shares": shares if score is not None else None}


def _measure(kind: str, code: str, label: Words, construct: str, score, reason: str | None, change=None) -> dict:
    return {
        "type": kind,
        "code": code,
        "label": label,
        "construct": construct,
        "shown": reason is None,
        "reason": reason,
        "reason_text": REASONS.get(reason) if reason else None,
        **_estimate(score),
        "change": change.status if change is not None else None,
    }


def node_json(node: NodeResults, *, constructs: set[str] | None = None) -> dict:
    """A node's figures as the API shows them (NodeResultSerializer's shape)."""
    figures = node.figures
    measures = []
    if figures.published:
        for construct in figures.constructs:
            if constructs and construct.construct not in constructs:
                continue
            measures.append(
                _measure(
                    "construct",
                    construct.construct,
                    construct.label,
                    construct.construct,
                    construct.score,
                    node.construct_reason(construct),
                    node.changes.get(construct.construct),
                )
            )
        for item in figures.items:
            if constructs and item.question.construct not in constructs:
                continue
            measures.append(
                _measure(
                    "question",
                    item.question.code,
                    item.question.text,
                    item.question.construct,
                    item.score,
                    node.item_reason(item),
                )
            )
    burnout = figures.burnout
    return {
        "round": round_ref(figures.round),
        "team": team_ref(figures.team),
        "shown": figures.published,
        "reason": node.reason,
        "reason_text": REASONS.get(node.reason) if node.reason else None,
        "respondents": figures.respondents,
        "invited": figures.invited,
        "response_rate": rounded(figures.response_rate, 4),
        "is_partial": figures.partial,
        "covered_teams": list(figures.covered_teams),
        "burnout": {"index": rounded(burnout.index, 1), "zone": burnout.zone} if burnout else None,
        "measures": measures,
    }


def heatmap_json(heatmap: Heatmap) -> dict:
    rows = []
    for row in heatmap.rows:
        rows.append(
            {
                "team": team_ref(row.team),
                "respondents": row.respondents,
                "invited": row.invited,
                "response_rate": rounded(row.response_rate, 4),
                "burnout": {"index": rounded(row.burnout.index, 1), "zone": row.burnout.zone} if row.burnout else None,
                "cells": [
                    {
                        "construct": cell.construct,
                        "shown": not cell.suppressed,
                        "index": rounded(cell.index, 1),
                        "n": rounded(cell.n, 1),
                        "reason": heatmap_cell_reason(row, cell),
                    }
                    for cell in row.cells
                ],
            }
        )
    return {
        "round": round_ref(heatmap.round),
        "constructs": [{"code": code, "label": label} for code, label in heatmap.constructs],
        "rows": rows,
    }


# The roster import ---------------------------------------------------------------------------


class RosterImportSerializer(NamedFields, serializers.ModelSerializer):
    plan = serializers.JSONField(read_only=True, help_text="The preview: every count, the first entries of each list.")
    summary = serializers.JSONField(read_only=True, help_text="What the confirmed import changed.")
    named_fields = {
        "errors": serializers.JSONField(read_only=True, help_text="Every problem of the file: line, column, message.")
    }

    class Meta:
        model = RosterImport
        fields = [
            "id",
            "filename",
            "mode",
            "status",
            "total_rows",
            "processed_rows",
            "plan",
            "summary",
            "created_at",
            "finished_at",
        ]


class RosterUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV (email,name,team,role,manages), UTF-8.")
    mode = serializers.ChoiceField(
        choices=RosterImportMode.values,
        default=DEFAULT_ROSTER_MODE,
        help_text="add (default): people not in the file stay as they are; sync: they are deactivated.",
    )


class RosterConfirmSerializer(serializers.Serializer):
    large_deactivation_ok = serializers.BooleanField(
        default=False, help_text="Needed when the import deactivates more than one person in ten."
    )
