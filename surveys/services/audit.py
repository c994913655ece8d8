"""Writes of the audit log beyond what its triggers record (docs/operations.md, "Audit log"):
exports, which change no row; and, when a person is erased or an organisation deleted, the
log's own entries about them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q

from surveys.core.tenancy import organization_scope
from surveys.models import AUDITED, EXPORTED, Membership, Organization, OrganizationEvent

#: Routes whose successful responses are exports: the roster CSV (page and API), the results
#: and heatmap CSVs, an import's problems, a person's data.
EXPORT_ROUTES = frozenset(
    {
        "roster_export",
        "roster_import_errors",
        "api_roster_csv",
        "api_results_csv",
        "api_heatmap_csv",
        "person_data_export",
        "api_person_data",
    }
)
#: Of an export's query, the filters the log keeps (never free text or addresses).
EXPORT_FILTERS = ("survey", "round", "team", "construct", "closed_after", "closed_before")


def export_record(*, what: str, context: Mapping[str, Any], parameters: Mapping[str, Any]) -> OrganizationEvent | None:
    """Record that `what` was exported, by whom (the request's audit context), with which
    filters. Nothing without an organisation (a refused request never gets this far)."""
    organization_id = context.get("organization")
    organization = Organization.objects.filter(pk=organization_id).first() if organization_id else None
    if organization is None:
        return None
    filters = {name: parameters.get(name) for name in EXPORT_FILTERS if parameters.get(name)}
    with organization_scope(organization):
        return OrganizationEvent.objects.create(
            pgh_label=EXPORTED,
            pgh_obj=organization,
            pgh_context={**context, "export": what, "filters": filters},
            **{
                field.attname: getattr(organization, field.attname)
                for field in OrganizationEvent._meta.concrete_fields
                if not field.name.startswith("pgh_")
            },
        )


def audit_person_anonymise(*, membership: Membership, replacement: str) -> int:
    """Replace the person's e-mail address in the audit log's "who" with `replacement`, where
    they acted; the events of their own rows keep ids only. Returns the events changed."""
    email = membership.user.email
    changed = 0
    with transaction.atomic():
        for event_model in AUDITED.values():
            acted = event_model.objects.filter(Q(pgh_context__actor=membership.pk) | Q(pgh_context__actor_email=email))
            for event in acted.only("pgh_id", "pgh_context"):
                context = dict(event.pgh_context or {})
                context["actor_email"] = replacement
                event_model.objects.filter(pgh_id=event.pgh_id).update(pgh_context=context)
                changed += 1
    return changed


def audit_events_forget(*, organization_id: int) -> None:
    """Delete every audit event of an organisation (it is being deleted: so is its log)."""
    for event_model in AUDITED.values():
        column = "pgh_obj_id" if event_model is OrganizationEvent else "organization_id"
        event_model.all_organizations.filter(**{column: organization_id}).delete()
