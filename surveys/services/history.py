"""The roster history: who changed the organisation's people and teams, what, and when.

Every change records what it replaced in `RosterChange.details` (the format of
`models.roster.CHANGE_DETAILS`, one for imports and single edits), so that any one of them can
be undone (`services.roster.undo.roster_change_undo`).
"""

from __future__ import annotations

from collections.abc import Iterable

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
        details={key: value for key, value in (details or {}).items() if value},
        roster_import=roster_import,
    )


def change_touches(details: dict) -> set[str]:
    """What a change wrote, as keys ("membership:12", "team:4", "lead:4:12", "user:9"): two
    changes conflict when their keys meet, so the earlier cannot be undone before the later."""
    keys: set[str] = set()
    keys.update(f"team:{team_id}" for team_id in details.get("teams_created", []))
    for key in ("team_renames", "team_parents"):
        keys.update(f"team:{entry[0]}" for entry in details.get(key, []))
    keys.update(f"user:{user_id}" for user_id in details.get("users_created", []))
    keys.update(f"user:{entry[0]}" for entry in details.get("user_names", []))
    keys.update(f"membership:{membership_id}" for membership_id in details.get("memberships_created", []))
    keys.update(f"membership:{entry[0]}" for entry in details.get("memberships_changed", []))
    for key in ("leads_added", "leads_removed"):
        keys.update(f"lead:{team_id}:{membership_id}" for team_id, membership_id in details.get(key, []))
    return keys


def leads_entries(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """(team, membership) pairs as `details` stores them, in a stable order."""
    return [[team_id, membership_id] for team_id, membership_id in sorted(pairs)]
