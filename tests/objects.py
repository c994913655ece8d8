"""Objects of one organisation that organisation URLs point at, for the generic route tests.

When a page takes a new kind of id (`<int:survey_id>`, …), add a maker here so the tenancy and
role tests cover it.
"""

from collections.abc import Callable


def populate(tenant) -> dict:
    """Create one of each object organisation pages can address, for `tenant`."""
    return {}


#: URL parameter name -> function(tenant, populated objects) -> the value to put in the URL.
URL_OBJECTS: dict[str, Callable] = {
    "team_id": lambda tenant, objects: tenant.platform.pk,
}
