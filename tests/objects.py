"""Objects of one organisation that organisation URLs point at, for the generic route tests.

When a page takes a new kind of id (`<int:survey_id>`, …), add a maker here so the tenancy and
role tests cover it.
"""

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from surveys.models import RoundStatus
from tests.factories import RoundFactory, SurveyFactory


def populate(tenant) -> dict:
    """Create one of each object organisation pages can address, for `tenant`."""
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
    return {"survey": survey, "open_round": open_round, "scheduled_round": scheduled}


#: URL parameter name -> function(tenant, populated objects) -> the value to put in the URL.
URL_OBJECTS: dict[str, Callable] = {
    "team_id": lambda tenant, objects: tenant.platform.pk,
    "survey_id": lambda tenant, objects: objects["survey"].pk,
    "round_id": lambda tenant, objects: objects["open_round"].pk,
}
