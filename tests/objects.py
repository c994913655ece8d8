"""Objects of one organisation that organisation URLs point at, for the generic route tests.

When a page takes a new kind of id (`<int:survey_id>`, …), add a maker here so the tenancy and
role tests cover it.
"""

from collections.abc import Callable

from surveys.models import RosterImport, RosterImportStatus


def populate(tenant) -> dict:
    """Create one of each object organisation pages can address, for `tenant`."""
    return {
        "roster_import": RosterImport.all_organizations.create(
            organization=tenant.org,
            uploaded_by=tenant.hr,
            filename="roster.csv",
            content=b"",
            status=RosterImportStatus.FAILED,
            errors=[{"line": 2, "column": "role", "message": "“boss” is not a role."}],
        ),
    }


#: URL parameter name -> function(tenant, populated objects) -> the value to put in the URL.
URL_OBJECTS: dict[str, Callable] = {
    "team_id": lambda tenant, objects: tenant.platform.pk,
    "import_id": lambda tenant, objects: objects["roster_import"].pk,
}
