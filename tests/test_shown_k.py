"""The `k` stated to people (docs/architecture.md, "Where each rule lives"): about a round, the
one it locked when it opened (`Round.shown_k`), even once the organisation has changed its own;
about rounds to come, what opening one now would lock (`Round.thresholds_to_come`)."""

import re

import pytest
from django.core import mail

from surveys.models import Organization, Round
from surveys.services.invitations import round_invitations_send
from tests.support.factories import RoundFactory, SurveyFactory
from tests.support.survey_data import invite_everyone, staff


def text(response) -> str:
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def locked(tenant, other_tenant) -> Round:
    """An open round that locked k = 5 and k_comments = 10 when it opened; the organisation has
    raised its own thresholds to 8 and 12 since."""
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org, name="Team pulse")
        round_ = RoundFactory(survey=survey)
        invite_everyone(round_, [tenant.employee, *staff(tenant.platform, 5)])
    assert (round_.k, round_.k_comments) == (5, 10)
    Organization.objects.filter(pk=tenant.org.pk).update(k=8, k_comments=12)
    return round_


def test_pages_about_a_round_state_the_k_it_locked(login, tenant, locked):
    hr = login(tenant.hr)
    survey = f"/o/acme/surveys/{locked.survey_id}/"
    detail = text(hr.get(survey))
    assert "only for groups of at least 5 people." in detail and "shown only for groups of at least 10" in detail
    closing = text(hr.get(f"{survey}rounds/{locked.pk}/close/"))
    assert "They are shown only for groups of at least 5 people who answered." in closing
    dashboard = text(hr.get(f"/o/acme/teams/{tenant.platform.pk}/"))
    assert "Results appear after the first round closes, for groups of at least 5 people." in dashboard
    home = text(login(tenant.employee).get("/o/acme/"))
    assert "Results are shown only for groups of at least 5 people, after a round closes." in home


def test_the_invitation_states_the_k_its_round_locked(tenant, locked):
    with tenant.scope():
        round_invitations_send(round_=locked)
    assert len(mail.outbox) == 6
    assert all("at least 5 people" in message.body and "at least 8" not in message.body for message in mail.outbox)


def test_pages_about_rounds_to_come_state_what_opening_one_would_lock(login, tenant, other_tenant):
    Organization.objects.filter(pk=tenant.org.pk).update(k=8, k_comments=12)
    with tenant.scope():
        scheduled = RoundFactory(
            survey=SurveyFactory(organization=tenant.org), status="scheduled", k=None, k_comments=None
        )
    hr = login(tenant.hr)
    opening = text(hr.get(f"/o/acme/surveys/{scheduled.survey_id}/rounds/{scheduled.pk}/open/"))
    assert "anonymity threshold (8) and comment threshold (12)" in opening
    home = text(hr.get("/o/acme/"))
    assert "Pulse shows results only for groups of at least 8 people" in home
    assert Round.thresholds_to_come(Organization.objects.get(pk=tenant.org.pk)) == (8, 12)
