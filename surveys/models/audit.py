"""The audit log: who changed what, when (docs/operations.md, "Audit log").

django-pghistory keeps, for each table HR and admins run the programme with, an event table:
one row per insert, change or deletion of a row, with the row's audited columns as they became
(as they were, for a deletion), when, and the context of the change (who, through which door:
`core/audit.py`). On PostgreSQL triggers write the events, so nothing escapes them: bulk and
set-based writes (a roster import's `INSERT … SELECT`), the admin, a shell. On SQLite (the
demo) the triggers do not exist; `audit_fallback_connect` writes the same events from Django's
save and delete signals, which set-based writes do not send.

Only the columns named in `AUDITED` are kept. Never audited: what was said (Response, Answer,
Comment), who answered (Participation), invitations (their rows change as links are sent and
answered) and anything else that would give a time of answering; nor derived data (results,
estimates). `tests/test_audit_log.py` checks that answering writes no event at all.

Exports write no row, so they are recorded as an event of the organisation labelled
`exported` (`services.audit.export_record`).
"""

from __future__ import annotations

from typing import Any

import pghistory
from django.db import connection, models
from django.db.models.signals import post_delete, post_save
from pghistory.models import Event

from surveys.core.audit import audit_metadata
from surveys.core.tenancy import TenantManager, TenantModel, current_organization

from .action_plans import ActionPlan
from .api import ApiKey
from .identity import IdentityProvider
from .organization import Membership, Organization, Team, TeamManagement
from .roster import RosterImport
from .rounds import Round
from .scim import ScimHeldDeactivation, ScimToken
from .surveys import Survey, SurveyQuestion

#: Labels of the events (the triggers' and the fallback's).
CREATED, CHANGED, DELETED, EXPORTED = "created", "changed", "deleted", "exported"


def _trackers() -> tuple[Any, ...]:
    return (pghistory.InsertEvent(CREATED), pghistory.UpdateEvent(CHANGED), pghistory.DeleteEvent(DELETED))


class AuditEvent(Event, TenantModel):
    """Base of the tenant tables' events: the organisation's row-level security and the
    fail-closed manager, like every tenant table."""

    objects = TenantManager()  # type: ignore[assignment,misc]
    all_organizations = models.Manager()  # type: ignore[misc]

    class Meta:
        abstract = True


def _event_model(tracked: type[models.Model], fields: list[str]) -> Any:
    return pghistory.create_event_model(
        tracked,
        *_trackers(),
        fields=fields,
        base_model=AuditEvent,
        obj_field=pghistory.ObjForeignKey(related_name="+", db_constraint=False),
        context_field=pghistory.ContextJSONField(),
        context_id_field=pghistory.ContextUUIDField(),
    )


def _meta(name: str) -> dict[str, Any]:
    return {"indexes": [models.Index(fields=["organization", "pgh_created_at"], name=f"{name}_org_at")]}


class MembershipEvent(_event_model(Membership, ["organization", "user", "role", "team", "is_active"])):  # type: ignore[misc]
    class Meta:
        indexes = _meta("membershipevent")["indexes"]


class TeamEvent(_event_model(Team, ["organization", "name", "parent", "path"])):  # type: ignore[misc]
    class Meta:
        indexes = _meta("teamevent")["indexes"]


class TeamManagementEvent(_event_model(TeamManagement, ["organization", "team", "membership"])):  # type: ignore[misc]
    class Meta:
        indexes = _meta("teammanagementevent")["indexes"]


class SurveyEvent(
    _event_model(  # type: ignore[misc]
        Survey,
        [
            "organization",
            "name",
            "cadence",
            "open_days",
            "starts_on",
            "root_team",
            "comments_enabled",
            "support_text",
            "support_links",
            "is_active",
        ],
    )
):
    class Meta:
        indexes = _meta("surveyevent")["indexes"]


class SurveyQuestionEvent(_event_model(SurveyQuestion, ["organization", "survey", "question", "position"])):  # type: ignore[misc]
    class Meta:
        indexes = _meta("surveyquestionevent")["indexes"]


class RoundEvent(
    _event_model(  # type: ignore[misc]
        Round,
        ["organization", "survey", "number", "status", "opens_at", "closes_at", "k", "k_comments", "answers_purged_at"],
    )
):
    class Meta:
        indexes = _meta("roundevent")["indexes"]


class ApiKeyEvent(
    _event_model(ApiKey, ["organization", "name", "prefix", "scope", "expiry_date", "revoked", "created_by"])  # type: ignore[misc]
):
    class Meta:
        indexes = _meta("apikeyevent")["indexes"]


class ScimTokenEvent(
    _event_model(ScimToken, ["organization", "name", "prefix", "created_by", "revoked_at"])  # type: ignore[misc]
):
    class Meta:
        indexes = _meta("scimtokenevent")["indexes"]


class ScimHeldDeactivationEvent(
    _event_model(ScimHeldDeactivation, ["organization", "membership", "status", "resolved_by"])  # type: ignore[misc]
):
    class Meta:
        indexes = _meta("scimheldevent")["indexes"]


class ActionPlanEvent(
    _event_model(ActionPlan, ["organization", "team", "round", "title", "description", "status", "owner", "due_on"])  # type: ignore[misc]
):
    class Meta:
        indexes = _meta("actionplanevent")["indexes"]


class RosterImportEvent(
    _event_model(RosterImport, ["organization", "filename", "mode", "status", "uploaded_by", "confirmed_by"])  # type: ignore[misc]
):
    class Meta:
        indexes = _meta("rosterimportevent")["indexes"]


class IdentityProviderEvent(
    _event_model(  # type: ignore[misc]
        IdentityProvider,
        # Never the client secret: the log says the provider changed, not what its secret is.
        [
            "organization",
            "protocol",
            "is_enabled",
            "label",
            "email_domains",
            "oidc_issuer",
            "oidc_client_id",
            "saml_entity_id",
            "saml_sso_url",
            "saml_certificate",
        ],
    )
):
    class Meta:
        indexes = _meta("identityproviderevent")["indexes"]


class OrganizationEventManager(models.Manager):
    """The organisation in scope's own events, or an error: fails closed like `TenantManager`
    (the organisation is the tracked row itself, `pgh_obj`; its row-level security policy reads
    `pgh_obj_id` likewise, migration 0019)."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(pgh_obj_id=current_organization().pk)


class OrganizationEvent(
    pghistory.create_event_model(  # type: ignore[misc]
        Organization,
        *_trackers(),
        pghistory.ManualEvent(EXPORTED),
        fields=[
            "name",
            "slug",
            "k",
            "k_comments",
            "support_text",
            "support_links",
            "answers_kept_days",
            "is_active",
            "mfa_required",
            "sso_required",
        ],
        obj_field=pghistory.ObjForeignKey(related_name="+", db_constraint=False),
        context_field=pghistory.ContextJSONField(),
        context_id_field=pghistory.ContextUUIDField(),
    )
):
    """The organisation's settings as they changed, and its exports (label `exported`, the
    export's description in the context)."""

    objects: OrganizationEventManager = OrganizationEventManager()
    all_organizations: models.Manager = models.Manager()

    class Meta:
        indexes = [models.Index(fields=["pgh_obj", "pgh_created_at"], name="organizationevent_org_at")]


#: Every event model, and the model it audits.
AUDITED: dict[type[models.Model], Any] = {
    event.pgh_tracked_model: event
    for event in (
        OrganizationEvent,
        MembershipEvent,
        TeamEvent,
        TeamManagementEvent,
        SurveyEvent,
        SurveyQuestionEvent,
        RoundEvent,
        ApiKeyEvent,
        ScimTokenEvent,
        ScimHeldDeactivationEvent,
        ActionPlanEvent,
        RosterImportEvent,
        IdentityProviderEvent,
    )
}


def _audited_values(event_model: type[models.Model], instance: models.Model) -> dict[str, Any]:
    tracked = {field.attname for field in type(instance)._meta.concrete_fields}
    return {
        field.attname: getattr(instance, field.attname)
        for field in event_model._meta.concrete_fields
        if not field.name.startswith("pgh_") and field.attname in tracked
    }


def _fallback_event(sender: type[models.Model], instance: models.Model, label: str) -> None:
    """What the trigger would have written, written from Python (SQLite only). A save that
    changed no audited column writes nothing, as the trigger's condition does."""
    if connection.vendor == "postgresql":
        return
    event_model = AUDITED[sender]
    values = _audited_values(event_model, instance)
    events = event_model.all_organizations.filter(pgh_obj_id=instance.pk)
    if label == CHANGED:
        last = events.order_by("-pgh_id").values(*values).first()
        if last is not None and last == values:
            return
    context = audit_metadata()
    event_model.all_organizations.create(
        pgh_label=label, pgh_obj_id=instance.pk, pgh_context=dict(context) if context else None, **values
    )


def _saved(sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        _fallback_event(sender, instance, CREATED if created else CHANGED)


def _deleted(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    _fallback_event(sender, instance, DELETED)


def audit_fallback_connect() -> None:
    """Write the audit events from Django's signals where there are no triggers (SQLite)."""
    for model in AUDITED:
        post_save.connect(_saved, sender=model, dispatch_uid=f"pulse-audit-saved-{model.__name__}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"pulse-audit-deleted-{model.__name__}")
