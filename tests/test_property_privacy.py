"""Property tests of publication (docs/privacy.md): random team forests (depth up to 5), people
at any node (internal ones too), non-respondents, skipped items, k from 3 to 10, k_comments ≥ k.

Checked against the naive reference in tests/privacy_reference.py, never against the code
under test: every published node has at least its threshold of contributors, every remainder
satisfies both rules (the weaker one and the stronger one), items and comments are published only
where participation is, and the publication is maximal: no suppressed candidate could be
published on its own (which, the rule being closed under merging, means no set of them could).
"""

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.models import Result
from surveys.privacy.audit import audit_round
from surveys.privacy.suppression import publication_plan
from surveys.services.results import results_publish
from tests.support.factories import OrganizationFactory, SurveyFactory, TeamFactory
from tests.support.privacy_reference import is_valid, subtree_totals, unneeded_suppressions
from tests.support.survey_data import close_round, invite_everyone, question_ids, respond, staff

MAX_DEPTH = 5


@st.composite
def organisations(draw, max_nodes: int = 24, max_people: int = 9, max_questions: int = 3):
    size = draw(st.integers(1, max_nodes))
    parent: list[int] = []
    depth: list[int] = []
    for node in range(size):
        options = [-1] + [p for p in range(node) if depth[p] < MAX_DEPTH]
        chosen = draw(st.sampled_from(options)) if node else -1
        parent.append(chosen)
        depth.append(0 if chosen < 0 else depth[chosen] + 1)
    invited = [draw(st.integers(0, max_people)) for _ in range(size)]
    answered = [draw(st.integers(0, people)) for people in invited]
    n_questions = draw(st.integers(1, max_questions))
    skipped = [[draw(st.integers(0, min(2, a))) for _ in range(n_questions)] for a in answered]
    k = draw(st.integers(3, 10))
    k_comments = draw(st.integers(k, k + 10))
    return parent, invited, answered, skipped, k, k_comments


def _check(published, parent, invited, own_contributors, threshold, eligible):
    published = [bool(x) for x in published]
    totals = subtree_totals(parent, own_contributors)
    assert all(totals[node] >= threshold for node in range(len(parent)) if published[node])
    assert is_valid(parent, published, invited, own_contributors, threshold, strong=True)
    assert is_valid(parent, published, invited, own_contributors, threshold, strong=False)
    candidates = [eligible[node] and totals[node] >= threshold for node in range(len(parent))]
    assert all(candidates[node] for node in range(len(parent)) if published[node])
    assert unneeded_suppressions(parent, published, candidates, invited, own_contributors, threshold) == []


@settings(max_examples=400, deadline=None)
@given(organisations())
def test_publication_keeps_every_rule_and_is_maximal(organisation):
    parent, invited, answered, skipped, k, k_comments = organisation
    own_items = [[a - s for s in skips] for a, skips in zip(answered, skipped, strict=True)]
    plan = publication_plan(
        parent=parent,
        invited=subtree_totals(parent, invited),
        respondents=subtree_totals(parent, answered),
        contributors=np.array([subtree_totals(parent, column) for column in zip(*own_items, strict=True)]).T,
        k=k,
        k_comments=k_comments,
    )
    everywhere = [True] * len(parent)
    participation = plan.participation.tolist()
    _check(participation, parent, invited, answered, k, everywhere)
    for question, column in enumerate(zip(*own_items, strict=True)):
        _check(plan.questions[:, question], parent, invited, list(column), k, participation)
    _check(plan.comments, parent, invited, answered, k_comments, participation)


@settings(max_examples=300, deadline=None)
@given(organisations(max_nodes=9, max_people=6), st.integers(0, 2**32 - 1))
def test_one_persons_answer_changes_nothing_unless_it_tips_a_group_to_k(organisation, seed):
    """Every suppression decision is a function of the invitation snapshot and of facts "this
    set of teams has at least k contributors". So if one person's answering or not changes no
    such fact (no union of teams containing theirs goes from k - 1 to k), the published
    pattern must be identical: it cannot tell anyone whether that person answered."""
    parent, invited, answered, _, k, k_comments = organisation
    people = [node for node in range(len(parent)) if invited[node] > answered[node]]
    if not people:
        return
    node = random.Random(seed).choice(people)
    with_answer = list(answered)
    with_answer[node] += 1
    others = [n for n in range(len(parent)) if n != node]
    tips = {
        threshold
        for threshold in (k, k_comments)
        for mask in range(2 ** len(others))
        if with_answer[node] + sum(with_answer[n] for i, n in enumerate(others) if mask >> i & 1) == threshold
    }
    plans = []
    for own in (answered, with_answer):
        plan = publication_plan(
            parent=parent,
            invited=subtree_totals(parent, invited),
            respondents=subtree_totals(parent, own),
            contributors=np.zeros((len(parent), 0), dtype=int),
            k=k,
            k_comments=k_comments,
        )
        plans.append((plan.participation.tolist(), plan.comments.tolist()))
    if k not in tips:
        assert plans[0][0] == plans[1][0]
    if not tips:
        assert plans[0] == plans[1]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(organisations(max_nodes=8, max_people=7, max_questions=10), st.integers(0, 2**32 - 1))
def test_end_to_end_random_organisations_publish_only_what_the_audit_proves(db, organisation, seed):
    parent, invited, answered, _, k, k_comments = organisation
    rng = random.Random(seed)
    org = OrganizationFactory(k=k, k_comments=k_comments)
    from surveys.tenancy import organization_scope

    with organization_scope(org):
        teams = []
        for node, up in enumerate(parent):
            teams.append(TeamFactory(organization=org, parent=teams[up] if up >= 0 else None, name=f"T{node}"))
        survey = SurveyFactory(organization=org)
        from tests.support.factories import RoundFactory

        round_ = RoundFactory(survey=survey)
        questions = question_ids(round_)
        for team, people, answering in zip(teams, invited, answered, strict=True):
            members = staff(team, people)
            invite_everyone(round_, members)
            for member in members[:answering]:
                values = [None if rng.random() < 0.15 else rng.randint(1, 5) for _ in questions]
                respond(round_, member, values, questions=questions, comment="A comment." if rng.random() < 0.5 else "")
        close_round(round_)
        results_publish(round_id=round_.pk)
        assert audit_round(round_).ok
        for result in Result.objects.filter(round=round_):
            assert result.n >= k
            assert all(sum(counts) >= k for counts in result.item_counts().values())
            assert not result.comments_released or result.n >= k_comments
