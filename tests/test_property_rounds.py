"""Property test of publication across several rounds of two surveys over overlapping subtrees,
with the organisation changing between and during rounds (people join, leave and move, teams
are re-parented) and published rounds aggregated again, k from 3 to 10.

After every round, and again at the end: the standalone audit of every published round passes
on its frozen tree, and no published round's Results have changed since they were published.
And each round, on the tree and units it froze, is attacked by brute force (every world of its
respondents and item answers, tests/support/brute_force.py): no isolation, no certain
participation, whatever the roster did between rounds.
"""

from __future__ import annotations

import random

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.core.tenancy import organization_scope
from surveys.models import Membership, Question, Result, Round, RoundStatus, Team
from surveys.privacy.audit import audit_round
from surveys.services.responses import response_submit
from surveys.services.results import round_publish
from surveys.services.rounds import round_close, round_open
from surveys.services.surveys import SurveyFields, survey_create
from tests.support.brute_force import attack_round, no_leak
from tests.support.factories import OrganizationFactory, TeamFactory
from tests.support.survey_data import staff


@st.composite
def histories(draw):
    size = draw(st.integers(2, 7))
    parent = [-1] + [draw(st.integers(0, node - 1)) for node in range(1, size)]
    people = [draw(st.integers(0, 7)) for _ in range(size)]
    k = draw(st.integers(3, 10))
    part_root = draw(st.integers(0, size - 1))
    rounds = draw(st.integers(2, 3))
    return parent, people, k, part_root, rounds, draw(st.integers(0, 2**32 - 1))


def _reparent(team: Team, new_parent: Team) -> None:
    """What a team move on the People page does: the team and its subtree get new paths."""
    old = team.path
    new = f"{new_parent.path}/{team.name}"
    for member in Team.objects.filter(team.subtree_filter()):
        Team.objects.filter(pk=member.pk).update(path=new + member.path[len(old) :])
    Team.objects.filter(pk=team.pk).update(parent=new_parent)


def _change_the_organisation(rng: random.Random, teams: list[Team]) -> None:
    members = list(Membership.objects.filter(is_active=True))
    if members and rng.random() < 0.6:
        mover = rng.choice(members)
        Membership.objects.filter(pk=mover.pk).update(team=rng.choice(teams))
    if members and rng.random() < 0.4:
        Membership.objects.filter(pk=rng.choice(members).pk).update(is_active=False)
    if rng.random() < 0.6:
        staff(rng.choice(teams), rng.randint(1, 3))
    if rng.random() < 0.5 and len(teams) > 2:
        team = Team.objects.get(pk=rng.choice(teams[1:]).pk)
        outside = [t for t in Team.objects.all() if not team.contains(t)]
        if outside:
            _reparent(team, rng.choice(outside))


def _run_round(survey, rng: random.Random, teams: list[Team]) -> Round:
    round_ = round_open(round_=Round.objects.get(survey=survey, status=RoundStatus.SCHEDULED))
    questions = list(round_.round_questions.values_list("question_id", flat=True))
    for invitation in round_.invitations.select_related("organization"):
        if rng.random() < 0.75:
            answers = {q: rng.choice([None, 1, 2, 3, 4, 5]) for q in questions}
            comment = "Something." if rng.random() < 0.3 else ""
            if any(v is not None for v in answers.values()) or comment:
                response_submit(invitation=invitation, answers=answers, comment=comment)
        if rng.random() < 0.2:
            _change_the_organisation(rng, teams)  # changes while the round is open
    round_close(round_=round_)
    round_publish(round_id=round_.pk)
    round_.refresh_from_db()
    return round_


def _rows(round_: Round) -> list:
    return sorted(Result.objects.filter(round=round_).values_list("team_id", "n", "invited", "items", "covered_teams"))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories())
def test_every_round_stays_safe_and_final_while_the_organisation_changes(db, history):
    parent, people, k, part_root, rounds, seed = history
    rng = random.Random(seed)
    org = OrganizationFactory(k=k, k_comments=k + 2)
    with organization_scope(org):
        teams: list[Team] = []
        for node, up in enumerate(parent):
            teams.append(TeamFactory(organization=org, parent=teams[up] if up >= 0 else None, name=f"T{node}"))
        for team, count in zip(teams, people, strict=True):
            staff(team, count)
        questions = list(Question.objects.filter(organization=None, is_core=True))
        surveys = [
            survey_create(
                organization=org,
                created_by=None,
                launch=True,
                fields=SurveyFields(
                    name=name, questions=questions, cadence="weekly", open_days=3, starts_on=timezone.localdate(),
                    root_team=root,
                ),
            )
            for name, root in (("Everyone", None), ("Part", teams[part_root]))
        ]  # fmt: skip
        published: dict[int, list] = {}
        for _ in range(rounds):
            for survey in surveys:
                round_ = _run_round(survey, rng, teams)
                assert round_.status == RoundStatus.PUBLISHED, round_.failure_reason
                report = audit_round(round_)
                assert report.ok, report.summary()
                found = attack_round(round_)
                if found is not None:
                    no_leak(found)
                published[round_.pk] = _rows(round_)
                assert not round_publish(round_id=round_.pk).newly_published  # a redelivered task
                _change_the_organisation(rng, teams)
        for round_ in Round.objects.filter(pk__in=list(published)):
            report = audit_round(round_)
            assert report.ok, report.summary()
            assert _rows(round_) == published[round_.pk]
            for result in Result.objects.filter(round=round_):
                assert result.n >= k and all(sum(counts) >= k for counts in result.item_counts().values())
