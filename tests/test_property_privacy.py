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
from tests.support.privacy_reference import is_valid, public_pattern, subtree_totals
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


def _check(published, parent, invited, own_contributors, threshold, eligible, *, bounds=None):
    """Every rule holds, and the pattern is exactly what the naive public rule gives."""
    published = [bool(x) for x in published]
    totals = subtree_totals(parent, own_contributors)
    assert all(totals[node] >= threshold for node in range(len(parent)) if published[node])
    assert all(eligible[node] for node in range(len(parent)) if published[node])
    assert is_valid(parent, published, invited, own_contributors, threshold, strong=True)
    assert is_valid(parent, published, invited, own_contributors, threshold, strong=False)
    assert published == public_pattern(parent, invited, totals, threshold, bounds=bounds, eligible=eligible)


def _plan(parent, invited, own_respondents, own_items, k, k_comments):
    return publication_plan(
        parent=parent,
        invited=subtree_totals(parent, invited),
        respondents=subtree_totals(parent, own_respondents),
        contributors=np.array([subtree_totals(parent, column) for column in zip(*own_items, strict=True)]).T,
        k=k,
        k_comments=k_comments,
    )


@settings(max_examples=400, deadline=None)
@given(organisations())
def test_publication_keeps_every_rule_and_follows_the_public_rule(organisation):
    parent, invited, answered, skipped, k, k_comments = organisation
    own_items = [[a - s for s in skips] for a, skips in zip(answered, skipped, strict=True)]
    plan = _plan(parent, invited, answered, own_items, k, k_comments)
    everywhere = [True] * len(parent)
    participation = plan.participation.tolist()
    _check(participation, parent, invited, answered, k, everywhere)
    respondents = subtree_totals(parent, answered)
    for question, column in enumerate(zip(*own_items, strict=True)):
        _check(plan.questions[:, question], parent, invited, list(column), k, participation, bounds=respondents)
    _check(plan.comments, parent, invited, answered, k_comments, participation, bounds=respondents)


@settings(max_examples=400, deadline=None)
@given(organisations(max_nodes=12, max_people=8, max_questions=2), st.integers(0, 2**32 - 1))
def test_worlds_with_the_same_published_figures_publish_the_same_pattern(organisation, seed):
    """The attacker's move: another world that gives every published figure the same value.
    Moving one respondent (or one answer to an item) between two teams of the same remainder
    changes no published figure, so it must change no decision either: the pattern tells
    nothing the figures do not."""
    parent, invited, answered, skipped, k, k_comments = organisation
    own_items = [[a - s for s in skips] for a, skips in zip(answered, skipped, strict=True)]
    plan = _plan(parent, invited, answered, own_items, k, k_comments)
    rng = random.Random(seed)
    # Participation: move a respondent inside one remainder of the published family.
    owner = _owners(parent, plan.participation.tolist())
    moves = [
        (a, b)
        for a in range(len(parent))
        for b in range(len(parent))
        if a != b and owner[a] == owner[b] and answered[a] > 0 and answered[b] < invited[b]
    ]
    if not moves:
        return
    a, b = rng.choice(moves)
    other = list(answered)
    other[a] -= 1
    other[b] += 1
    # Each item's answers follow their people: the moved person answered what they answered.
    other_items = [list(row) for row in own_items]
    for question in range(len(own_items[0])):
        if own_items[a][question] > 0 and other_items[b][question] < other[b]:
            other_items[a][question] -= 1
            other_items[b][question] += 1
        other_items[a][question] = min(other_items[a][question], other[a])
    moved = _plan(parent, invited, other, other_items, k, k_comments)
    assert moved.participation.tolist() == plan.participation.tolist()
    same_items = all(
        subtree_totals(parent, [row[q] for row in own_items])[node]
        == subtree_totals(parent, [row[q] for row in other_items])[node]
        for q in range(len(own_items[0]))
        for node in range(len(parent))
        if plan.questions[node, q]
    )
    if same_items:  # every published item figure is unchanged too
        assert moved.questions.tolist() == plan.questions.tolist()
        assert moved.comments.tolist() == plan.comments.tolist()


def _owners(parent, published):
    """The remainder each team belongs to: its nearest published ancestor-or-self or, under a
    hidden root, that root's tree (whose total decided the root)."""
    owners = []
    for node in range(len(parent)):
        up, root = node, node
        while up >= 0 and not published[up]:
            root, up = up, parent[up]
        owners.append(up if up >= 0 else ("hidden root", root))
    return owners


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(organisations(max_nodes=8, max_people=7, max_questions=10), st.integers(0, 2**32 - 1))
def test_end_to_end_random_organisations_publish_only_what_the_audit_proves(db, organisation, seed):
    parent, invited, answered, _, k, k_comments = organisation
    rng = random.Random(seed)
    org = OrganizationFactory(k=k, k_comments=k_comments)
    from surveys.core.tenancy import organization_scope

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
