from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from surveys.models import Membership, Organization


def organization_context(request) -> dict[str, Membership | Organization | None]:
    """Template context: the organisation and membership of the current page, if any."""
    return {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
    }
