"""The API's trust and compliance endpoints (docs/operations.md): the audit log, and a person's
data on request (export, erasure preview, erasure). HR, admins and keys only; erasing needs a
read-and-write key. The same selectors and services as the pages."""

from __future__ import annotations

from dataclasses import asdict

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, parsers, serializers
from rest_framework.response import Response

from surveys.models import Membership
from surveys.selectors.audit import KIND_CHOICES, audit_log
from surveys.selectors.person_data import ANSWERS_NOTE, erasure_preview, person_data
from surveys.services.person_data import ErasureMode, person_erase

from .views import ORGANIZATION_PARAMETER, ApiView


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=["created", "changed", "deleted", "exported"])
    kind = serializers.CharField(help_text="What kind of thing: " + ", ".join(k for k, _ in KIND_CHOICES) + ", export.")
    subject = serializers.CharField(help_text="Which one, in words.")
    actor = serializers.CharField(help_text="Who: an e-mail address, an API key, or Pulse itself (a job).")
    via = serializers.CharField(help_text="web, api, admin, or empty (a scheduled job or a command).", allow_blank=True)
    changes = ChangeSerializer(many=True)


class AuditPageSerializer(serializers.Serializer):
    results = AuditEntrySerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as `after` for the next, older page.")


@extend_schema(
    summary="The audit log: who changed what, newest first",
    parameters=[
        ORGANIZATION_PARAMETER,
        OpenApiParameter("after", str, description="The `next` of the page before."),
        OpenApiParameter("kind", str, enum=[k for k, _ in KIND_CHOICES], description="Only this kind of thing."),
    ],
    responses=AuditPageSerializer,
)
class AuditLogView(ApiView):
    hr_only = True
    pagination_class = None

    def get(self, request):
        kind = request.query_params.get("kind", "")
        if kind and kind not in dict(KIND_CHOICES):
            raise exceptions.ValidationError({"kind": ["Not a kind the log knows."]})
        page = audit_log(cursor=request.query_params.get("after", ""), kinds=[kind] if kind else [])
        entries = [{**asdict(entry), "changes": [asdict(change) for change in entry.changes]} for entry in page.entries]
        return Response(AuditPageSerializer({"results": entries, "next": page.next_cursor}).data)


class _PersonView(ApiView):
    hr_only = True
    pagination_class = None

    def person(self, person_id: int) -> Membership:
        found = Membership.objects.select_related("user", "team", "organization").filter(pk=person_id).first()
        if found is None:
            raise exceptions.NotFound(_("No such person."), code="not_found")
        return found


@extend_schema(
    summary="Everything Pulse holds about one person, for a data-protection request (never their answers)",
    parameters=[ORGANIZATION_PARAMETER],
    responses=OpenApiTypes.OBJECT,
)
class PersonDataView(_PersonView):
    def get(self, request, person_id: int):
        return Response(person_data(membership=self.person(person_id)))


class ErasurePreviewSerializer(serializers.Serializer):
    invitations = serializers.IntegerField()
    rounds_answered = serializers.IntegerField()
    teams_led = serializers.IntegerField()
    roster_history = serializers.IntegerField()
    audit_entries = serializers.IntegerField()
    account_deleted = serializers.BooleanField(help_text="False when another organisation shares the account.")
    open_invitations = serializers.IntegerField()
    answers = serializers.CharField(help_text="Why answers are not part of it.")


class ErasureSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=[m.value for m in ErasureMode])
    confirm = serializers.CharField(max_length=254, help_text="The person's e-mail address, as a confirmation.")


class ErasedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    mode = serializers.CharField()


class PersonErasureView(_PersonView):
    parser_classes = [parsers.JSONParser]

    @extend_schema(
        summary="What erasing a person would remove (a preview; nothing changes)",
        parameters=[ORGANIZATION_PARAMETER],
        responses=ErasurePreviewSerializer,
    )
    def get(self, request, person_id: int):
        preview = erasure_preview(membership=self.person(person_id))
        return Response(ErasurePreviewSerializer({**asdict(preview), "answers": ANSWERS_NOTE}).data)

    @extend_schema(
        summary="Erase or anonymise a person (needs a read-and-write key; cannot be undone)",
        parameters=[ORGANIZATION_PARAMETER],
        request=ErasureSerializer,
        responses=ErasedSerializer,
    )
    def post(self, request, person_id: int):
        person = self.person(person_id)
        body = ErasureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["confirm"].strip().lower() != person.user.email.lower():
            raise exceptions.ValidationError({"confirm": ["Give the person's e-mail address to confirm."]})
        person_erase(membership=person, actor=self.client.membership, mode=body.validated_data["mode"])
        done = "Erased." if body.validated_data["mode"] == ErasureMode.ERASE else "Anonymised."
        return Response({"detail": f"{done} {ANSWERS_NOTE}", "mode": body.validated_data["mode"]})
