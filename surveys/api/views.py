"""The endpoints of /api/v1/. Each reads through the selectors the pages use and checks its
client (`surveys.api.clients`) before anything else; lists are cursor-paginated, CSVs stream."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.models import Count, Prefetch, Q
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, parsers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.core.csv_cells import csv_lines
from surveys.core.ids import whole_number
from surveys.core.replica import replica_reads, replica_reads_begin, replica_reads_end
from surveys.core.tenancy import organization_scope
from surveys.models import (
    ActionPlan,
    Construct,
    Membership,
    RosterImport,
    RosterImportMode,
    RosterImportStatus,
    Round,
    RoundStatus,
    RoundTeam,
    Survey,
    Team,
    TeamManagement,
)
from surveys.models.roster import DEFAULT_ROSTER_MODE
from surveys.selectors.exports import (
    heatmap_columns,
    heatmap_rows,
    node_results,
    result_csv,
    result_nodes,
)
from surveys.selectors.results import org_heatmap
from surveys.selectors.roster import roster_export_rows
from surveys.services.roster import roster_import_cancel, roster_import_confirm, roster_import_start
from surveys.services.roster_file import MAX_BYTES

from . import filters, serializers
from .clients import ApiKeyAuthentication, ClientRateThrottle, OrganizationClient
from .errors import error_response

ORGANIZATION_PARAMETER = OpenApiParameter(
    "organization",
    str,
    description="Your organisation's slug. Only for a signed-in person who belongs to several; a key knows its own.",
)


class Cursor(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "id"


class ApiView(generics.GenericAPIView):
    """Authentication, the client check with its organisation scope, throttling, filters."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [OrganizationClient]
    throttle_classes = [ClientRateThrottle]
    filter_backends = [filters.FilterBackend]
    pagination_class: type[Cursor] | None = Cursor
    metadata_class = None  # OPTIONS: 405, like any method an endpoint does not take
    hr_only = False
    #: What a list is of, for the schema (which is built without a request or a scope).
    schema_model: Any = None

    @property
    def client(self):
        return self.request.api_client  # type: ignore[attr-defined]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Authenticated and scoped: a GET's reads may go to the replica (core/replica.py).
        self._replica_token = replica_reads_begin(request)

    def finalize_response(self, request, response, *args, **kwargs):
        replica_reads_end(getattr(self, "_replica_token", None))
        self._replica_token = None
        return super().finalize_response(request, response, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) and self.schema_model is not None:
            return self.schema_model.all_organizations.none()
        return self.scoped_queryset()

    def scoped_queryset(self):
        raise NotImplementedError


def _stream(request: Request, filename: str, text: Callable[[], Iterable[str]]) -> StreamingHttpResponse:
    """A CSV download that streams: its text is made batch by batch as the client takes it, in
    the request's organisation scope (which the request itself has left by then)."""
    organization = request.api_client.organization  # type: ignore[attr-defined]

    def lines() -> Iterator[str]:
        with organization_scope(organization), replica_reads(request):
            yield from text()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


class CsvDownload:
    """A view whose success is a streamed CSV whatever the Accept header, and whose errors
    are JSON like every other endpoint's."""

    def perform_content_negotiation(self, request, force=False):
        renderer = JSONRenderer()
        return renderer, renderer.media_type


CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, formula-safe cells.")}


# The organisation and its structure ----------------------------------------------------------------


class ApiRoot(ApiView):
    @extend_schema(
        summary="Who you are to the API",
        parameters=[ORGANIZATION_PARAMETER],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        client = self.client
        base = reverse("api_root")
        return Response(
            {
                "organization": {"name": client.organization.name, "slug": client.organization.slug},
                "access": "write" if client.may_write else "read",
                "sees": "organisation" if client.is_hr else "teams led",
                "schema": request.build_absolute_uri(reverse("api_schema")),
                "docs": request.build_absolute_uri(reverse("api_docs")),
                "endpoints": sorted(
                    request.build_absolute_uri(base + name)
                    for name in ("teams/", "surveys/", "rounds/", "results/", "results.csv", "heatmap/", "plans/")
                ),
            }
        )


@extend_schema(summary="The team tree", parameters=[ORGANIZATION_PARAMETER])
class TeamList(ApiView, generics.ListAPIView):
    serializer_class = serializers.TeamSerializer
    schema_model = Team

    class pagination_class(Cursor):
        ordering = "path"

    def scoped_queryset(self):
        return self.client.teams().annotate(people=Count("members", filter=Q(members__is_active=True)))


@extend_schema(summary="Surveys", parameters=[ORGANIZATION_PARAMETER])
class SurveyList(ApiView, generics.ListAPIView):
    serializer_class = serializers.SurveySerializer
    schema_model = Survey

    def scoped_queryset(self):
        return Survey.objects.all()


@extend_schema(summary="Rounds", parameters=[ORGANIZATION_PARAMETER])
class RoundList(ApiView, generics.ListAPIView):
    serializer_class = serializers.RoundSerializer
    schema_model = Round
    filterset_class = filters.RoundFilter

    def scoped_queryset(self):
        return Round.objects.select_related("survey", "organization")


@extend_schema(summary="Action plans", parameters=[ORGANIZATION_PARAMETER])
class ActionPlanList(ApiView, generics.ListAPIView):
    serializer_class = serializers.ActionPlanSerializer
    schema_model = ActionPlan
    filterset_class = filters.ActionPlanFilter

    def scoped_queryset(self):
        return ActionPlan.objects.filter(team__in=self.client.teams()).select_related("team")


# Results ---------------------------------------------------------------------------------------


class _ResultsView(ApiView):
    filterset_class = filters.ResultFilter
    schema_model = RoundTeam

    def scoped_queryset(self):
        return result_nodes(rounds=Round.objects.all(), teams=self.client.teams())

    def constructs(self) -> set[str] | None:
        chosen = self.request.query_params.getlist("construct")
        return {c for c in chosen if c in Construct.values} or None


@extend_schema(
    summary="Results per team node and round",
    description=(
        "One entry per team node of each published round (the tree the round froze when it opened): "
        "participation, each construct and question with its index, 90% interval, n, shares and change "
        "flag. A group or figure not shown is there with `shown: false` and the reason, never a figure."
    ),
    parameters=[ORGANIZATION_PARAMETER],
    responses=serializers.NodeResultSerializer(many=True),
)
class ResultList(_ResultsView):
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        constructs = self.constructs()
        data = [serializers.node_json(node, constructs=constructs) for node in node_results(page or [])]
        return self.get_paginated_response(data)


@extend_schema(
    summary="Results as CSV (streamed)",
    description="The results endpoint's figures, one row per node × measure. Not shown: empty cells with a reason.",
    parameters=[ORGANIZATION_PARAMETER],
    filters=True,
    responses=CSV_RESPONSE,
)
class ResultCsv(CsvDownload, _ResultsView):
    pagination_class = None

    def get(self, request):
        nodes = self.filter_queryset(self.get_queryset()).order_by("round__survey_id", "team__path", "round__number")
        constructs = self.constructs()

        return _stream(
            request,
            f"{self.client.organization.slug}-results.csv",
            lambda: result_csv(nodes, constructs=constructs),
        )


class _HeatmapView(ApiView):
    pagination_class = None

    def heatmap(self):
        round_id = whole_number(self.request.query_params.get("round", ""))
        if round_id is None:
            raise exceptions.ValidationError({"round": ["Give the id of a published round."]}, code="invalid")
        round_ = Round.objects.select_related("survey", "organization").filter(pk=round_id).first()
        if round_ is None or round_.status != RoundStatus.PUBLISHED:
            raise exceptions.NotFound(_("No published round with this id."), code="not_found")
        teams = None if self.client.is_hr else self.client.teams()
        return org_heatmap(round=round_, teams=teams)


ROUND_PARAMETER = OpenApiParameter("round", int, required=True, description="A published round's id.")


@extend_schema(
    summary="The heatmap of a round",
    parameters=[ROUND_PARAMETER, ORGANIZATION_PARAMETER],
    responses=serializers.HeatmapSerializer,
)
class HeatmapView(_HeatmapView):
    def get(self, request):
        return Response(serializers.heatmap_json(self.heatmap()))


@extend_schema(
    summary="The heatmap of a round as CSV",
    parameters=[ROUND_PARAMETER, ORGANIZATION_PARAMETER],
    responses=CSV_RESPONSE,
)
class HeatmapCsv(CsvDownload, _HeatmapView):
    def get(self, request):
        heatmap = self.heatmap()

        def rows():
            yield heatmap_columns(heatmap)
            yield from heatmap_rows(heatmap)

        return _stream(
            request, f"{self.client.organization.slug}-heatmap-round-{heatmap.round.pk}.csv", lambda: csv_lines(rows())
        )


# The roster ------------------------------------------------------------------------------------


@extend_schema(summary="People (names, teams, roles: never answers)", parameters=[ORGANIZATION_PARAMETER])
class PersonList(ApiView, generics.ListAPIView):
    serializer_class = serializers.PersonSerializer
    schema_model = Membership
    filterset_class = filters.PersonFilter
    hr_only = True

    def scoped_queryset(self):
        leads = Prefetch("management", queryset=TeamManagement.objects.select_related("team"))
        return Membership.objects.select_related("user", "team").prefetch_related(leads)


@extend_schema(
    summary="The roster as CSV, in the import format",
    parameters=[ORGANIZATION_PARAMETER],
    responses=CSV_RESPONSE,
)
class RosterCsv(CsvDownload, ApiView):
    pagination_class = None
    hr_only = True

    def get(self, request):
        organization = self.client.organization
        return _stream(
            request, f"{organization.slug}-roster.csv", lambda: csv_lines(roster_export_rows(organization=organization))
        )


class CsvTextParser(parsers.BaseParser):
    """A roster sent as the request body itself (Content-Type: text/csv)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read(MAX_BYTES + 1)


def _import_response(roster_import: RosterImport, request: Request) -> Response:
    data = serializers.RosterImportSerializer(roster_import).data
    if roster_import.status == RosterImportStatus.FAILED:
        count = len(roster_import.errors)
        return error_response(
            ngettext(
                "Nothing was imported: %(count)s problem in the file (lines counted from the header, line 1).",
                "Nothing was imported: %(count)s problems in the file (lines counted from the header, line 1).",
                count,
            )
            % {"count": count},
            "invalid_roster",
            status.HTTP_400_BAD_REQUEST,
            errors=roster_import.errors,
            roster_import=data,
        )
    code = status.HTTP_202_ACCEPTED if roster_import.is_running else status.HTTP_200_OK
    return Response(data, status=code)


class _RosterImportView(ApiView):
    hr_only = True
    pagination_class = None

    def roster_import(self, import_id: int) -> RosterImport:
        found = RosterImport.objects.filter(pk=import_id).defer("content").first()
        if found is None:
            raise exceptions.NotFound(_("No such roster import."), code="not_found")
        return found


@extend_schema(
    summary="Import a roster: check it and get its preview",
    description=(
        "Send the CSV as a multipart `file` (with `mode`), or as the body with Content-Type text/csv (`mode` as a "
        "query parameter). Nothing changes yet: the answer is the preview (status `preview`), or every problem "
        "with its line number (400, nothing kept). Big files are checked in the background (202): poll the import. "
        "Confirm with POST …/confirm/."
    ),
    parameters=[
        ORGANIZATION_PARAMETER,
        OpenApiParameter(
            "mode", str, enum=RosterImportMode.values, description="With a text/csv body; add (default) or sync."
        ),
    ],
    request={"multipart/form-data": serializers.RosterUploadSerializer, "text/csv": OpenApiTypes.STR},
    responses={
        200: serializers.RosterImportSerializer,
        202: serializers.RosterImportSerializer,
    },
)
class RosterImportCreate(_RosterImportView):
    parser_classes = [parsers.MultiPartParser, CsvTextParser]

    def post(self, request):
        if isinstance(request.data, bytes):
            content, filename = request.data, "roster.csv"
            mode = request.query_params.get("mode", DEFAULT_ROSTER_MODE)
        else:
            upload = serializers.RosterUploadSerializer(data=request.data)
            upload.is_valid(raise_exception=True)
            file = upload.validated_data["file"]
            content, filename, mode = file.read(MAX_BYTES + 1), file.name, upload.validated_data["mode"]
        if len(content) > MAX_BYTES:
            return error_response(_("The file is larger than 20 MB."), "too_large", status.HTTP_400_BAD_REQUEST)
        started = roster_import_start(
            organization=self.client.organization,
            uploaded_by=self.client.membership,
            filename=filename,
            content=content,
            mode=mode,
        )
        return _import_response(started, request)


@extend_schema(summary="A roster import: progress, preview or report", parameters=[ORGANIZATION_PARAMETER])
class RosterImportDetail(_RosterImportView):
    serializer_class = serializers.RosterImportSerializer

    def get(self, request, import_id: int):
        return Response(serializers.RosterImportSerializer(self.roster_import(import_id)).data)


@extend_schema(
    summary="Confirm a roster import's preview: write it",
    parameters=[ORGANIZATION_PARAMETER],
    request=serializers.RosterConfirmSerializer,
    responses={200: serializers.RosterImportSerializer, 202: serializers.RosterImportSerializer},
)
class RosterImportConfirm(_RosterImportView):
    parser_classes = [parsers.JSONParser]

    def post(self, request, import_id: int):
        roster_import = self.roster_import(import_id)
        body = serializers.RosterConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = roster_import_confirm(
            roster_import=roster_import,
            confirmed_by=self.client.membership,
            large_deactivation_ok=body.validated_data["large_deactivation_ok"],
        )
        if done.status == RosterImportStatus.PREVIEW:  # the roster changed meanwhile: a new preview
            return error_response(
                _("The roster changed since this preview was made: check the new preview, then confirm again."),
                "stale_preview",
                status.HTTP_409_CONFLICT,
                roster_import=serializers.RosterImportSerializer(done).data,
            )
        return _import_response(done, request)


@extend_schema(
    summary="Cancel a roster import's preview",
    parameters=[ORGANIZATION_PARAMETER],
    request=None,
    responses=serializers.RosterImportSerializer,
)
class RosterImportCancel(_RosterImportView):
    def post(self, request, import_id: int):
        return Response(
            serializers.RosterImportSerializer(roster_import_cancel(roster_import=self.roster_import(import_id))).data
        )
