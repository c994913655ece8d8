"""Objects of one organisation that organisation URLs point at, for the generic route tests.

When a page takes a new kind of id (`<int:survey_id>`, …), add a maker here so the tenancy and
role tests cover it.
"""

from collections.abc import Callable


def populate(tenant) -> dict:
    """Create one of each object organisation pages can address, for `tenant`."""
    from tests.factories import RoundFactory, SurveyFactory, invite

    round_ = RoundFactory(survey=SurveyFactory(organization=tenant.org))
    for membership in (tenant.employee, tenant.manager, tenant.hr, tenant.admin):
        invite(round_, membership)
    return {"round": round_}


#: URL parameter name -> function(tenant, populated objects) -> the value to put in the URL.
URL_OBJECTS: dict[str, Callable] = {
    "team_id": lambda tenant, objects: tenant.platform.pk,
    "round_id": lambda tenant, objects: objects["round"].pk,
}
