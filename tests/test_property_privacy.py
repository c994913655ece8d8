"""Property tests of publication (docs/privacy.md): random team forests (depth up to 5), people
at any node (internal ones too), non-respondents, a skipped item, k from 3 to 10, k_comments ≥ k.

- The product's rule equals a naive restatement of it (tests/support/privacy_reference.py),
  never the code under test, and every group its figures can isolate has k contributors.
- The proof's own move, on forests too large to search exhaustively: for any person and any
  world, the world where their participation is the other way round (traded with someone of
  their unit, or of the rest their unit's answers pass up with) publishes exactly the same.
- Small random organisations, every world, by brute force (tests/support/brute_force.py).
- End to end through the database, the auditor passes every publication.
"""

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.models import Result
from surveys.privacy.audit import audit_round
from surveys.privacy.publication import publication_plan
from surveys.privacy.units import reporting_units
from surveys.services.results import results_publish
from tests.support import privacy_reference as reference
from tests.support.brute_force import attack_organisation, no_leak
from tests.support.factories import OrganizationFactory, SurveyFactory, TeamFactory
from tests.support.survey_data import close_round, invite_everyone, question_ids, respond, staff

MAX_DEPTH = 5


@st.composite
def organisations(draw, max_nodes: int = 24, max_people: int = 9):
    """A forest in depth-first preorder, people in each team, respondents, item answers."""
    size = draw(st.integers(1, max_nodes))
    parent: list[int] = [-1]
    for node in range(1, size):
        # Depth-first preorder: a new team hangs under the previous one or one of its ancestors.
        chain = [node - 1]
        while parent[chain[-1]] >= 0:
            chain.append(parent[chain[-1]])
        options = [-1] + [up for up in chain if reference.depth_of(parent, up) < MAX_DEPTH]
        parent.append(draw(st.sampled_from(options)))
    invited = [draw(st.integers(0, max_people)) for _ in range(size)]
    answered = [draw(st.integers(0, people)) for people in invited]
    item = [a - draw(st.integers(0, min(2, a))) for a in answered]
    k = draw(st.integers(3, 10))
    return parent, invited, answered, item, k, draw(st.integers(k, k + 10))


def _plan(parent, invited, answered, item, k, k_comments, home=None):
    histogram = np.zeros((len(parent), 1, 5), dtype=np.int64)
    histogram[:, 0, 2] = item
    return publication_plan(
        parent=parent,
        home=reporting_units(parent=parent, invited=invited, k=k) if home is None else home,
        invited=invited,
        respondents=answered,
        histogram=histogram,
        k=k,
        k_comments=k_comments,
    )


@settings(max_examples=400, deadline=None)
@given(organisations())
def test_the_rule_is_what_its_naive_statement_says(organisation):
    parent, invited, answered, item, k, k_comments = organisation
    home = reporting_units(parent=parent, invited=invited, k=k)
    formed = reference.units(parent, invited, k)
    assert {team: int(home[team]) for team in range(len(parent)) if home[team] >= 0} == {
        team: unit for unit, teams in formed.items() for team in teams
    }
    published = _plan(parent, invited, answered, item, k, k_comments, home)
    expected = reference.publication(parent, invited, answered, item, k, k_comments)
    assert set(np.flatnonzero(published.shown).tolist()) == set(expected)
    for node, figure in expected.items():
        inside = reference.subtree(parent, node)
        covered = {team for team in range(len(parent)) if published.included_at[team] in inside}
        assert covered == figure.covered
        assert published.respondents[node] == figure.respondents
        assert published.invited[node] == sum(invited[team] for team in figure.covered)
        assert (published.histogram[node, 0].sum() if published.items[node, 0] else None) == figure.item
        assert bool(published.partial[node]) == figure.partial
        assert bool(published.comments[node]) == figure.comments
        # Every figure holds k respondents, every item figure k answers, comments k_comments.
        assert figure.respondents >= k and (figure.item is None or figure.item >= k)
        assert not figure.comments or figure.respondents >= k_comments


@settings(max_examples=300, deadline=None)
@given(organisations(), st.integers(0, 2**32 - 1))
def test_anyone_s_participation_can_be_turned_round_without_changing_what_is_published(organisation, seed):
    """docs/privacy.md's argument, checked on the world itself: pick anyone; trade their
    participation with someone of their unit who did the other thing, or (nobody in their unit
    answered) with a respondent of the first rest up from their unit that holds one. The
    published figures must be identical, item and comments included; the only exception is
    a shown unit in which everyone answered (its count says so)."""
    parent, invited, answered, item, k, k_comments = organisation
    people = [team for team in range(len(parent)) for _ in range(invited[team])]
    if not people:
        return
    rng = random.Random(seed)
    team = rng.choice(people)
    home = reporting_units(parent=parent, invited=invited, k=k)
    published = _plan(parent, invited, answered, item, k, k_comments, home)
    unit = [t for t in range(len(parent)) if home[t] == home[team]]
    unit_answered = sum(answered[t] for t in unit)
    if unit_answered == sum(invited[t] for t in unit) and published.unit_shown[home[team]]:
        return  # everyone answered in a shown unit: the stated exception
    other = _turned_round(parent, invited, answered, item, home, published, team, rng)
    assert other is not None, "nobody to trade with: the person's participation would be pinned"
    moved_answered, moved_item = other
    again = _plan(parent, invited, moved_answered, moved_item, k, k_comments, home)
    for field in ("respondents", "invited", "included_at", "items", "histogram", "comments", "partial"):
        assert np.array_equal(getattr(again, field), getattr(published, field)), field


def _turned_round(parent, invited, answered, item, home, published, team, rng):
    """Respondents and item answers of a world where `team`'s person did the other thing."""
    unit = [t for t in range(len(parent)) if home[t] == home[team]]
    answered, item = list(answered), list(item)
    person_answered = rng.random() < answered[team] / invited[team]
    if person_answered:
        # Somebody of the unit did not answer: they take the person's answer.
        silent = [t for t in unit if answered[t] < invited[t] and t != team] or (
            [team] if answered[team] < invited[team] else []
        )
        if not silent and published.unit_shown[home[team]]:
            return None
        # A hidden unit everyone answered holds the whole scope, fewer than k: its answers
        # reach no figure, so the person simply answers nothing in the other world.
        receiver = rng.choice(silent) if silent else None
        # The person answered the item for sure if all their team did, never if none did.
        gives = item[team] == answered[team] or (item[team] > 0 and rng.random() < item[team] / answered[team])
        answered[team] -= 1
        item[team] -= gives
        if receiver is not None:
            answered[receiver] += 1
            item[receiver] += gives
        return answered, item
    donors = [t for t in unit if answered[t] > 0]
    if not donors:
        donors = _first_rest_up(parent, home, answered, published, team)
    if not donors:
        return answered[:team] + [answered[team] + 1] + answered[team + 1 :], item  # passes up, added nowhere
    donor = rng.choice(donors)
    answered[donor] -= 1
    answered[team] += 1
    if item[donor] > answered[donor]:  # the donor's answer to the item moves with them
        item[donor] -= 1
        item[team] += 1
    return answered, item


def _first_rest_up(parent, home, answered, published, team) -> list[int]:
    """Teams of other hidden units whose respondents sit in the first rest, going up from the
    person's unit home, that holds any."""
    node = int(home[team])
    while node >= 0:
        holders = [
            t for t in range(len(parent))
            if answered[t] > 0 and home[t] >= 0 and not published.unit_shown[home[t]] and home[t] != home[team]
            and node in _up_to_entry(parent, int(home[t]), published)
        ]  # fmt: skip
        if holders:
            return holders
        if published.rest_added[node]:
            return []
        node = parent[node]
    return []


def _up_to_entry(parent, start: int, published) -> list[int]:
    """The teams a hidden unit's rest passes through, from its home to where it is added."""
    path, node = [], start
    while node >= 0:
        path.append(node)
        if published.rest_added[node]:
            break
        node = parent[node]
    return path


@settings(max_examples=40, deadline=None)
@given(organisations(max_nodes=6, max_people=4), st.integers(3, 5))
def test_small_random_organisations_leak_nothing_in_any_world(organisation, k):
    parent, invited, *_ = organisation
    if sum(invited) > 11:
        invited = [min(people, 2) for people in invited]
    no_leak(attack_organisation(parent, invited, k))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(organisations(max_nodes=8, max_people=7), st.integers(0, 2**32 - 1))
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
