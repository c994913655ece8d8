from __future__ import annotations

from surveys.models import Membership, Organization, Round
from surveys.privacy.rules import DEFAULT_K, DEFAULT_K_COMMENTS


def organization_context(request) -> dict[str, Membership | Organization | int | None]:
    """Template context: the organisation and membership of the current page, if any, and the
    thresholds pages state about its rounds to come (`Round.thresholds_to_come`; a page about
    one round states that round's, `Round.shown_k`). Without an organisation, the defaults."""
    organization = getattr(request, "organization", None)
    k, k_comments = Round.thresholds_to_come(organization) if organization else (DEFAULT_K, DEFAULT_K_COMMENTS)
    return {
        "organization": organization,
        "membership": getattr(request, "membership", None),
        "upcoming_k": k,
        "upcoming_k_comments": k_comments,
    }
