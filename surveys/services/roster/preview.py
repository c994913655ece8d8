"""The preview: a plan as HR reads it (`RosterImport.plan`), every count and the first entries
of each list."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from surveys.services.roster.plan import RosterPlan
from surveys.services.roster_file import SEPARATORS

#: How many entries of each list the preview keeps (the counts are always complete).
PREVIEW_LIMIT = 200


def plan_preview(plan: RosterPlan, *, ignored_columns: Sequence[str] = (), separator: str = ",") -> dict:
    """The plan as HR reads it: every count, and the first PREVIEW_LIMIT entries of each list."""
    moved, updated, reactivated = [], [], []
    for membership, row, role in plan.membership_changes:
        name = row.name
        if not membership.is_active and row.active:
            reactivated.append([row.email, name, row.team or _("no team")])
            continue
        before_team = membership.team_path or _("no team")
        if before_team != (row.team or _("no team")):
            moved.append([row.email, name, before_team, row.team or _("no team")])
        if membership.role != role:
            updated.append(
                [row.email, name, _("role %(before)s → %(after)s") % {"before": membership.role_label, "after": role}]
            )
    for _unused, email, old, new in plan.user_renames:
        updated.append([email, new, _("name %(before)s → %(after)s") % {"before": old, "after": new}])
    lists = {
        "people_added": [
            [row.email, row.name, row.team or _("no team"), row.role] for row in plan.memberships_to_create
        ],
        "people_moved": moved,
        "people_updated": updated,
        "people_reactivated": reactivated,
        "people_deactivated": [[m.email, m.name, m.team_path or _("no team")] for m in plan.deactivations],
        "teams_created": [[path] for path in plan.teams_to_create],
        "teams_renamed": [[old, new] for _unused, old, new in plan.team_renames],
        "teams_emptied": [[path] for path in plan.teams_emptied],
        "leads_added": [[path, email] for path, email in sorted(plan.leads_to_add)],
        "leads_removed": sorted(
            [plan.team_paths.get(team_id, "?"), plan.member_emails.get(membership_id, ("?", ""))[0]]
            for team_id, membership_id in plan.leads_to_remove
        ),
    }
    counts = {name: len(entries) for name, entries in lists.items()}
    counts["people_unchanged"] = plan.unchanged
    return {
        "mode": plan.mode,
        "rows": len(plan.rows),
        "active_before": plan.active_before,
        "deactivation_share": round(plan.deactivation_share, 4),
        "large_deactivation": plan.large_deactivation,
        "fingerprint": plan.fingerprint(),
        "counts": counts,
        "lists": {name: sorted(entries)[:PREVIEW_LIMIT] for name, entries in lists.items()},
        "notes": plan.notes,
        "ignored_columns": list(ignored_columns),
        "separator": str(SEPARATORS[separator][0]),
        "changes_nothing": not any(count for name, count in counts.items() if name != "people_unchanged"),
    }
