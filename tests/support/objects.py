"""Objects of one organisation that organisation URLs point at, for the generic route tests.

When a page takes a new kind of id (`<int:survey_id>`, …), add a maker here so the tenancy and
role tests cover it.
"""

import datetime as dt
import secrets
from collections.abc import Callable

from django.utils import timezone

from surveys.models import (
    ActionPlan,
    ApiKey,
    HeldDeactivationStatus,
    RosterChange,
    RosterChangeKind,
    RosterImport,
    RosterImportStatus,
    RoundStatus,
    ScimHeldDeactivation,
    ScimToken,
)
from tests.support.factories import RoundFactory, SurveyFactory, invite


def populate(tenant) -> dict:
    """Create one of each object organisation pages can address, for `tenant`."""
    roster_import = RosterImport.all_organizations.create(
        organization=tenant.org,
        uploaded_by=tenant.hr,
        filename="roster.csv",
        content=b"",
        status=RosterImportStatus.FAILED,
        errors=[{"line": 2, "column": "role", "message": "“boss” is not a role."}],
    )
    survey = SurveyFactory(organization=tenant.org)
    open_round = RoundFactory(survey=survey, number=1)
    now = timezone.now()
    scheduled = RoundFactory(
        survey=survey,
        number=2,
        status=RoundStatus.SCHEDULED,
        opens_at=now + dt.timedelta(days=10),
        closes_at=now + dt.timedelta(days=15),
        k=None,
        k_comments=None,
    )
    # Everyone is invited to the open round, so the signed-in answering pages open for each role.
    for membership in (tenant.employee, tenant.manager, tenant.hr, tenant.admin):
        invite(open_round, membership)
    change = RosterChange.all_organizations.create(
        organization=tenant.org, actor=tenant.hr, kind=RosterChangeKind.PERSON, summary="Changed someone."
    )
    api_key, _ = ApiKey.all_organizations.create_key(organization=tenant.org, name="BI", created_by=tenant.hr)
    plan = ActionPlan.all_organizations.create(organization=tenant.org, team=tenant.platform, title="Fewer meetings")
    scim_token = ScimToken.all_organizations.create(
        organization=tenant.org, name="Okta", prefix=secrets.token_hex(4), hashed="-"
    )
    held = ScimHeldDeactivation.all_organizations.create(
        organization=tenant.org, membership=tenant.employee, status=HeldDeactivationStatus.DISMISSED
    )
    return {
        "roster_import": roster_import,
        "roster_change": change,
        "api_key": api_key,
        "action_plan": plan,
        "scim_token": scim_token,
        "scim_held": held,
        "survey": survey,
        "open_round": open_round,
        "scheduled_round": scheduled,
    }


#: URL parameter name -> function(tenant, populated objects) -> the value to put in the URL.
URL_OBJECTS: dict[str, Callable] = {
    "team_id": lambda tenant, objects: tenant.platform.pk,
    "import_id": lambda tenant, objects: objects["roster_import"].pk,
    "survey_id": lambda tenant, objects: objects["survey"].pk,
    "round_id": lambda tenant, objects: objects["open_round"].pk,
    "plan_id": lambda tenant, objects: objects["action_plan"].pk,
    "person_id": lambda tenant, objects: tenant.employee.pk,
    "change_id": lambda tenant, objects: objects["roster_change"].pk,
    "key_prefix": lambda tenant, objects: objects["api_key"].prefix,
    "prefix": lambda tenant, objects: objects["scim_token"].prefix,
    "held_id": lambda tenant, objects: objects["scim_held"].pk,
}
