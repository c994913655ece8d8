"""The attacks on publication, end to end through the real services (open, answer, close, seal,
publish), each one a reproduction from the attack review (docs/privacy.md)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone

from surveys.core.exceptions import PulseError
from surveys.core.tenancy import organization_scope
from surveys.models import (
    Membership,
    Question,
    Result,
    Role,
    Round,
    RoundStatus,
    RoundTeam,
    Survey,
    Team,
    TeamManagement,
)
from surveys.privacy.audit import audit_round
from surveys.selectors.results import org_heatmap
from surveys.services.results import results_publish, round_publish
from surveys.services.rounds import round_close, round_open
from surveys.services.surveys import SurveyFields, survey_create, survey_update
from tests.support.brute_force import attack_organisation, no_leak
from tests.support.factories import OrganizationFactory, TeamFactory
from tests.support.survey_data import respond, staff


def _survey(org, root: Team | None, name: str = "Pulse") -> Survey:
    return survey_create(
        organization=org,
        created_by=None,
        launch=True,
        fields=SurveyFields(
            name=name,
            questions=list(Question.objects.filter(organization=None, is_core=True)),
            cadence="biweekly",
            open_days=5,
            starts_on=timezone.localdate(),
            root_team=root,
        ),
    )


def _round(survey: Survey, answers: dict[Membership, int | None]) -> Round:
    """Open the survey's next round, let each invited member answer every item with their value
    (None: they do not answer), close it and publish it, all through the services."""
    round_ = round_open(round_=Round.objects.get(survey=survey, status=RoundStatus.SCHEDULED))
    invited = set(round_.invitations.values_list("membership_id", flat=True))
    for member, value in answers.items():
        if value is not None and member.pk in invited:
            respond(round_, member, value)
    round_close(round_=round_)
    round_publish(round_id=round_.pk)
    round_.refresh_from_db()
    return round_


def _rows(round_: Round) -> list[tuple]:
    return sorted(Result.objects.filter(round=round_).values_list("team_id", "n", "invited", "items", "covered_teams"))


def _published_teams(round_: Round) -> set[str]:
    return set(Result.objects.filter(round=round_).values_list("team__path", flat=True))


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="attacked", k=5, k_comments=10)


def _people(team: Team, count: int) -> list[Membership]:
    return staff(team, count)


def test_reproduction_1_re_publication_after_a_scope_change_reveals_nothing(org, other_tenant):
    """Eng (its manager Maria alone) → Core (nobody) → X (5), Y (5), survey rooted at Eng; Maria
    answers 1, X and Y answer 4. HR re-roots the survey at Core and the round is aggregated
    again (the operator command, a redelivered task). Before, the second publication gave Core
    n = 10 beside the first's Eng n = 11: Eng − Core = Maria's answers. Now the round's
    publication was computed on the tree frozen at its opening and is final."""
    with organization_scope(org):
        eng = TeamFactory(organization=org, name="Eng")
        core = TeamFactory(parent=eng, name="Core")
        x, y = TeamFactory(parent=core, name="X"), TeamFactory(parent=core, name="Y")
        maria = staff(eng, 1, role=Role.MANAGER)[0]
        TeamManagement.objects.create(team=eng, membership=maria)
        people = _people(x, 5) + _people(y, 5)
        survey = _survey(org, root=eng)
        first = _round(survey, {maria: 1, **dict.fromkeys(people, 4)})
        published = _rows(first)
        assert first.status == RoundStatus.PUBLISHED and first.scope_root_id == eng.pk
        assert _published_teams(first) >= {"Eng"}

        survey_update(
            survey=survey,
            fields=SurveyFields(
                name=survey.name,
                questions=list(Question.objects.filter(organization=None, is_core=True)),
                cadence=survey.cadence,
                open_days=survey.open_days,
                starts_on=survey.starts_on,
                root_team=core,
            ),
        )
        # Every way of aggregating again changes nothing.
        assert not round_publish(round_id=first.pk).newly_published
        assert not results_publish(round_id=first.pk).newly_published
    call_command("round_aggregate", str(first.pk))
    with organization_scope(org):
        assert _rows(first) == published
        assert audit_round(first).ok
        # Whatever the current survey says, the round's scope and tree are the frozen ones, on
        # the results pages too.
        first.refresh_from_db()
        assert first.scope_root_id == eng.pk
        assert [row.team.name for row in org_heatmap(round=first).rows] == ["Eng", "Core", "X", "Y"]
        # The next round is rooted at Core and does not invite Maria at all.
        second = _round(survey, dict.fromkeys(people, 4))
        assert second.scope_root_id == core.pk
        assert "Eng" not in _published_teams(second)
        assert not second.invitations.filter(membership=maria).exists()


def test_reproduction_a_the_lone_manager_is_counted_with_a_team_and_never_pinned(other_tenant):
    """Company (nobody) → Engineering (Maria alone) → Platform (3, lower id), Payments (3);
    k = 3. The earlier rule's pattern told whether Maria answered. Now she is counted with
    Platform (the smaller team, first on a tie), through the real services, and an attacker
    who re-runs the rule on every world finds no world in which anyone's participation is
    certain, whether she answered or not."""
    for maria_answers in (True, False):
        org = OrganizationFactory(k=3, k_comments=3)
        with organization_scope(org):
            company = TeamFactory(organization=org, name="Company")
            engineering = TeamFactory(parent=company, name="Engineering")
            platform = TeamFactory(parent=engineering, name="Platform")
            payments = TeamFactory(parent=engineering, name="Payments")
            maria = staff(engineering, 1, role=Role.MANAGER)[0]
            platform_people, payments_people = _people(platform, 3), _people(payments, 3)
            answers = {maria: 2 if maria_answers else None, **dict.fromkeys(platform_people, 4)}
            answers.update(dict.fromkeys(payments_people[: 2 if maria_answers else 3], 3))
            round_ = _round(_survey(org, root=None), answers)
            assert audit_round(round_).ok
            units = dict(RoundTeam.objects.filter(round=round_).values_list("team_id", "unit_id"))
            assert units[engineering.pk] == units[platform.pk] == platform.pk
            frozen = sorted(RoundTeam.objects.filter(round=round_).values_list("team_id", "parent_id", "invited"))
    ids = [team for team, _, _ in frozen]
    no_leak(attack_organisation([ids.index(up) if up else -1 for _, up, _ in frozen], [n for *_, n in frozen], 3))


def test_a_team_moved_while_a_round_is_open_changes_nothing_that_round_publishes(org, other_tenant):
    """HR re-parents a team (and the roster moves people) while a round is open: the round
    publishes on the tree frozen when it opened; the next round on the new tree."""
    with organization_scope(org):
        company = TeamFactory(organization=org, name="Company")
        north, south = TeamFactory(parent=company, name="North"), TeamFactory(parent=company, name="South")
        alpha = TeamFactory(parent=north, name="Alpha")
        people = {team: _people(team, 6) for team in (north, south, alpha)}
        survey = _survey(org, root=None)
        round_ = round_open(round_=Round.objects.get(survey=survey, status=RoundStatus.SCHEDULED))
        for team_people in people.values():
            for member in team_people:
                respond(round_, member, 4)
        # While it is open: Alpha moves under South, and two North people move to Alpha.
        Team.objects.filter(pk=alpha.pk).update(parent=south, path="Company/South/Alpha")
        Membership.objects.filter(pk__in=[m.pk for m in people[north][:2]]).update(team=alpha)
        round_close(round_=round_)
        round_publish(round_id=round_.pk)
        round_.refresh_from_db()
        north_result = Result.objects.get(round=round_, team=north)
        assert north_result.n == 12  # North's six and Alpha's six, as when the round opened
        assert sorted(north_result.covered_teams) == sorted([north.pk, alpha.pk])
        assert audit_round(round_).ok
        later = _round(survey, {member: 4 for team_people in people.values() for member in team_people})
        assert RoundTeam.objects.get(round=later, team=alpha).parent_id == south.pk
        assert RoundTeam.objects.get(round=round_, team=alpha).parent_id == north.pk
        assert audit_round(later).ok and audit_round(round_).ok  # the first still checks out


def test_a_round_whose_status_was_reset_by_hand_is_not_published_again(org):
    with organization_scope(org):
        team = TeamFactory(organization=org, name="Team")
        people = _people(team, 6)
        round_ = _round(_survey(org, root=None), dict.fromkeys(people, 4))
        published = _rows(round_)
        Round.objects.filter(pk=round_.pk).update(status=RoundStatus.CLOSED)
        with pytest.raises(PulseError) as refused:
            results_publish(round_id=round_.pk)
        assert refused.value.code == "already_published"
        assert _rows(round_) == published
        assert Round.objects.get(pk=round_.pk).status == RoundStatus.CLOSED


def test_two_surveys_over_overlapping_subtrees_each_publish_on_their_own_frozen_scope(org):
    with organization_scope(org):
        company = TeamFactory(organization=org, name="Company")
        sales = TeamFactory(parent=company, name="Sales")
        field, inside = TeamFactory(parent=sales, name="Field"), TeamFactory(parent=sales, name="Inside")
        everyone = _people(company, 5) + _people(field, 6) + _people(inside, 6)
        whole, part = _survey(org, root=None, name="Everyone"), _survey(org, root=sales, name="Sales")
        for survey in (whole, part):
            round_ = _round(survey, dict.fromkeys(everyone, 3))
            assert audit_round(round_).ok
            teams = _published_teams(round_)
            if survey == part:
                assert "Company" not in teams and teams <= {
                    "Company/Sales",
                    "Company/Sales/Field",
                    "Company/Sales/Inside",
                }
                assert not round_.invitations.filter(Q(team=company)).exists()
