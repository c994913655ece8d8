"""The roster history: who changed the organisation's people and teams, what, and when."""

from __future__ import annotations

from surveys.models import Membership, RosterChange, RosterImport


def roster_change_record(
    *,
    organization_id: int,
    actor: Membership | None,
    kind: str,
    summary: str,
    details: dict | None = None,
    roster_import: RosterImport | None = None,
) -> RosterChange:
    return RosterChange.objects.create(
        organization_id=organization_id,
        actor=actor,
        kind=kind,
        summary=summary[:500],
        details=details or {},
        roster_import=roster_import,
    )
