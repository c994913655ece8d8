"""HR plans and watches a round (docs/privacy.md, "While a round is open"): which teams a round
would show, from the roster; estimates of an open round's participation taken at fixed times
with noise; the close confirmation's estimate and warning."""

import datetime as dt
import math

import numpy as np
import pytest
from django.utils import timezone

from surveys.models import Participation, ParticipationSnapshot, RoundStatus
from surveys.privacy.live import (
    LIVE_EPSILON,
    LIVE_HOURS,
    live_groups,
    live_period_start,
    noisy_counts,
    response_to_show,
    shown_chance,
    shown_percent,
)
from surveys.selectors.surveys import round_live, survey_plan
from surveys.services.participation import participation_snapshot_take, participation_snapshots_take
from tests.support.factories import RoundFactory, SurveyFactory, TeamFactory
from tests.support.survey_data import invite_everyone, respond, staff


def test_the_noise_has_every_value_possible_and_moves_a_count_by_a_bounded_factor():
    rng = np.random.default_rng(11)
    draws = noisy_counts(np.zeros(400_000, dtype=np.int64), rng=rng)
    values, counts = np.unique(draws, return_counts=True)
    assert draws.min() < -10 and draws.max() > 10  # both ways, far
    assert abs(draws.mean()) < 0.05
    # Two-sided geometric: one more person changes any estimate's chance by e^ε at most.
    share = dict(zip(values.tolist(), (counts / counts.sum()).tolist(), strict=True))
    for z in range(-3, 3):
        assert share[z + 1] / share[z] == pytest.approx(math.exp(-LIVE_EPSILON if z >= 0 else LIVE_EPSILON), rel=0.05)


def test_estimates_are_taken_at_fixed_times_and_shown_rounded():
    assert live_period_start(dt.datetime(2026, 12, 7, 13, 47, tzinfo=dt.UTC)) == dt.datetime(
        2026, 12, 7, 12, 0, tzinfo=dt.UTC
    )
    assert 24 % LIVE_HOURS == 0
    assert shown_percent(31, 50) == 60 and shown_percent(-3, 50) == 0 and shown_percent(80, 50) == 100
    # Groups: every root, and teams of at least twenty people.
    assert live_groups(parent=np.array([-1, 0, 0, -1]), invited=np.array([45, 25, 19, 3])).tolist() == [0, 1, 3]


def test_a_units_chance_and_the_response_that_shows_it():
    assert shown_chance(8, 0.7, 5) == pytest.approx(0.8059, abs=1e-3)
    assert shown_chance(4, 0.9, 5) == 0.0
    assert response_to_show(8, 5) == 63 and response_to_show(4, 5) is None


def test_the_plan_groups_the_roster_as_a_round_would_and_gives_each_unit_its_chances(tenant, other_tenant):
    with tenant.scope():
        lone = TeamFactory(parent=tenant.engineering, name="Lone")
        staff(tenant.platform, 7)
        staff(tenant.product, 9)
        staff(lone, 2)
        survey = SurveyFactory(organization=tenant.org, root_team=tenant.engineering)
        plan = survey_plan(survey=survey, organization=tenant.org)
    rows = {row.team.name: row for row in plan.teams}
    # Engineering's manager (alone at Engineering) and Lone (2) join the smallest unit: Platform.
    assert rows["Engineering"].counted_with == tenant.platform and rows["Lone"].counted_with == tenant.platform
    platform, product = rows["Platform"], rows["Product"]
    together = platform.people + rows["Engineering"].people + rows["Lone"].people
    assert platform.unit_people == together and {t.name for t in platform.joined} == {"Engineering", "Lone"}
    assert platform.chances[1] == pytest.approx(shown_chance(together, 0.7, 5))
    assert platform.percent_to_show == math.ceil(500 / together)
    assert product.percent_to_show == math.ceil(500 / product.people)
    expected = shown_chance(together, 0.9, 5) + shown_chance(product.people, 0.9, 5)
    assert plan.units == 2 and plan.expected[3] == pytest.approx(expected)
    assert "Globex" not in {row.team.path.split("/")[0] for row in plan.teams}


def test_the_survey_page_and_the_open_confirmation_show_the_plan(login, tenant):
    with tenant.scope():
        staff(tenant.platform, 7)
        survey = SurveyFactory(organization=tenant.org)
        round_ = RoundFactory(survey=survey, status=RoundStatus.SCHEDULED, number=1)
    client = login(tenant.hr)
    page = client.get(f"/o/acme/surveys/{survey.pk}/").content.decode()
    assert "Which teams will have results" in page and "At 70%" in page and "Counted with Platform" in page
    confirm = client.get(f"/o/acme/surveys/{survey.pk}/rounds/{round_.pk}/open/").content.decode()
    assert "would have figures of their own if 70% answer" in confirm


@pytest.fixture
def open_round(tenant):
    """An open round of 30 Platform people and 12 Product people."""
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = RoundFactory(survey=survey, number=1)
        people = {team: staff(team, size) for team, size in ((tenant.platform, 30), (tenant.product, 12))}
        for members in people.values():
            invite_everyone(round_, members)
        round_.refresh_from_db()
        return round_, people


def test_one_estimate_per_period_noisy_and_never_per_small_group(tenant, open_round):
    round_, people = open_round
    noon = dt.datetime(2026, 12, 7, 12, 5, tzinfo=dt.UTC)
    with tenant.scope():
        for member in people[tenant.platform][:20]:
            respond(round_, member, 4)
        first = participation_snapshot_take(round_=round_, now=noon)
        # Someone answers; the same period gives the same estimate, whoever asks and however often.
        respond(round_, people[tenant.product][0], 4)
        assert participation_snapshot_take(round_=round_, now=noon + dt.timedelta(hours=2)).pk == first.pk
        assert ParticipationSnapshot.objects.filter(round=round_).count() == 1
        later = participation_snapshot_take(round_=round_, now=noon + dt.timedelta(hours=LIVE_HOURS))
        assert later.pk != first.pk
    # The scope's root and the groups of at least twenty; never Product (12) on its own.
    named = {int(pk) for pk in first.groups}
    assert tenant.root.pk in named and tenant.platform.pk in named and tenant.product.pk not in named
    assert first.groups[str(tenant.platform.pk)][1] == 30
    assert first.units == 2


def test_the_job_takes_each_open_rounds_estimate_once_and_in_its_own_organisation(tenant, other_tenant, open_round):
    round_, _ = open_round
    with other_tenant.scope():
        theirs = RoundFactory(survey=SurveyFactory(organization=other_tenant.org), number=1)
        invite_everyone(theirs, staff(other_tenant.platform, 25))
    now = timezone.now()
    assert participation_snapshots_take(now=now) == 2
    assert participation_snapshots_take(now=now) == 0
    assert ParticipationSnapshot.all_organizations.filter(round=theirs, organization=other_tenant.org).count() == 1
    with tenant.scope():
        assert list(ParticipationSnapshot.objects.values_list("round_id", flat=True)) == [round_.pk]


def test_pages_show_the_stored_estimate_and_nothing_that_moves_when_someone_answers(login, tenant, open_round):
    round_, people = open_round
    with tenant.scope():
        participation_snapshot_take(round_=round_)
        live = round_live(round_=round_)
    assert live.taken_at is not None and {g.team.name for g in live.groups} >= {"Acme", "Platform"}
    client = login(tenant.hr)
    detail = f"/o/acme/surveys/{round_.survey_id}/"
    confirm = f"/o/acme/surveys/{round_.survey_id}/rounds/{round_.pk}/close/"
    before = client.get(detail).content.decode(), client.get(confirm).content.decode()
    with tenant.scope():
        respond(round_, people[tenant.platform][0], 4)
        Participation.objects.filter(round=round_).exists()
    after = client.get(detail).content.decode(), client.get(confirm).content.decode()
    strip = lambda html: html.split('name="csrfmiddlewaretoken"')[0]  # noqa: E731
    assert [strip(page) for page in before] == [strip(page) for page in after]
    assert "If round 1 closed now, about" in after[1] and "Each figure carries a little random noise" in after[1]


def test_the_close_confirmation_warns_when_closing_would_show_almost_nothing(login, tenant, open_round):
    round_, _ = open_round
    with tenant.scope():
        ParticipationSnapshot.objects.create(
            round=round_, period_start=live_period_start(timezone.now()), groups={}, units_shown=0, units=2
        )
    page = login(tenant.hr).get(f"/o/acme/surveys/{round_.survey_id}/rounds/{round_.pk}/close/").content.decode()
    assert "Closing now would likely show figures for very few teams." in page


def test_a_round_that_shows_nothing_is_never_called_ready(login, tenant, open_round):
    from surveys.services.results import round_publish
    from surveys.services.rounds import round_close
    from surveys.views.surveys import _after_close

    round_, _ = open_round
    with tenant.scope():
        round_close(round_=round_)
        round_publish(round_id=round_.pk)
        round_.refresh_from_db()
    assert round_.status == RoundStatus.PUBLISHED and round_.teams_published == 0
    assert _after_close(round_) == "It has nothing to show: fewer than 5 people answered in every group."
    page = login(tenant.hr).get(f"/o/acme/surveys/{round_.survey_id}/").content.decode()
    assert "Nothing to show" in page and "Results ready" not in page
