"""Hand-built cases of the publication rule and its attacks, and the auditor (docs/privacy.md).

Each case is a small team tree: the reporting units it forms, what a round publishes, and what
an attacker who knows the rule can work out from it (tests/support/brute_force.py, every world
of the tree). Then the same cases end to end through the database, and the auditor refusing
each kind of forged publication.
"""

import re

import numpy as np
import pytest

from surveys.models import Result, RoundStatus, RoundTeam
from surveys.privacy.audit import PrivacyAuditError, audit_round
from surveys.privacy.publication import publication_plan
from surveys.privacy.rules import remainder_is_safe
from surveys.privacy.units import reporting_units
from surveys.services.results import results_publish
from tests.support.brute_force import attack_organisation, no_leak
from tests.support.errors import refused
from tests.support.factories import SurveyFactory, TeamFactory
from tests.support.survey_data import close_round, invite_everyone, question_ids, respond, staff, team_round

K = 5


def plan(parent, invited, answered, skipped=None, k=K, k_comments=10):
    """The rule on one world: each team's own invited people and respondents, and how many of
    them skipped the round's one item."""
    skipped = skipped or [0] * len(parent)
    histogram = np.zeros((len(parent), 1, 5), dtype=np.int64)
    histogram[:, 0, 3] = np.subtract(answered, skipped)
    return publication_plan(
        parent=parent,
        home=reporting_units(parent=parent, invited=invited, k=k),
        invited=invited,
        respondents=answered,
        histogram=histogram,
        k=k,
        k_comments=k_comments,
    )


def test_the_rule_counts_nobody_in_invited_people_not_in_contributors():
    assert remainder_is_safe(invited=0, contributors=0, threshold=5)
    assert remainder_is_safe(invited=7, contributors=5, threshold=5)
    # One invited person who did not answer is still somebody: their silence must not show.
    assert not remainder_is_safe(invited=1, contributors=0, threshold=5)
    assert not remainder_is_safe(invited=9, contributors=4, threshold=5)


# -- reporting units -------------------------------------------------------------------------


def test_a_lead_alone_above_their_teams_is_counted_with_the_smallest_of_them():
    # 0: Company (nobody), 1: Engineering (its manager alone), 2: Platform 6, 3: Product 5.
    assert reporting_units(parent=[-1, 0, 1, 1], invited=[0, 1, 6, 5], k=K).tolist() == [-1, 3, 2, 3]


def test_small_teams_are_pooled_where_they_meet_and_a_big_enough_team_stands_alone():
    # 0: a department (nobody of its own) over A (3), B (2) and C (8): A and B meet at the
    # department, five people, a unit of their own; C is its own.
    assert reporting_units(parent=[-1, 0, 0, 0], invited=[0, 3, 2, 8], k=K).tolist() == [-1, 0, 0, 3]
    # With only four between them, they join the smallest unit below the department: C.
    assert reporting_units(parent=[-1, 0, 0, 0], invited=[0, 2, 2, 8], k=K).tolist() == [-1, 3, 3, 3]


def test_every_unit_has_k_people_but_a_scope_that_has_fewer():
    rng = np.random.default_rng(5)
    for _ in range(300):
        size = int(rng.integers(1, 40))
        parent = [-1] + [int(rng.integers(0, node)) for node in range(1, size)]
        invited = rng.integers(0, 7, size=size)
        for k in (3, 5, 8):
            home = reporting_units(parent=parent, invited=invited, k=k)
            assert ((home >= 0) == (invited > 0)).all()
            people = np.bincount(home[home >= 0], weights=invited[home >= 0], minlength=size)
            units = np.unique(home[home >= 0])
            assert len(units) <= 1 or (people[units] >= k).all()
            assert len(units) <= 1 or invited.sum() >= k
    # A whole scope of four people is one unit, never shown.
    assert reporting_units(parent=[-1, 0], invited=[1, 3], k=K).tolist() == [0, 0]
    assert not plan([-1, 0], [1, 3], [1, 3]).shown.any()


def test_nodes_must_come_after_their_parent():
    with pytest.raises(ValueError):
        reporting_units(parent=[1, -1], invited=[5, 5], k=K)
    with pytest.raises(ValueError):
        publication_plan(parent=[1, -1], home=[0, 1], invited=[5, 5], respondents=[5, 5],
                         histogram=np.zeros((2, 0, 5)), k=K, k_comments=10)  # fmt: skip


def test_thresholds_below_the_floor_are_refused():
    with refused("k", match="cannot be below 3"):
        plan([-1], [9], [9], k=2)
    with refused("k_comments"):
        plan([-1], [9], [9], k=5, k_comments=4)


# -- what a round publishes ---------------------------------------------------------------


def test_a_unit_is_shown_on_its_own_count_whatever_its_neighbours_do():
    # 0: department (nobody), 1: A (8, 7 answered), 2: B (6, 2 answered), 3: C (6, 5 answered).
    published = plan([-1, 0, 0, 0], [0, 8, 6, 6], [0, 7, 2, 5])
    assert published.shown.tolist() == [True, True, False, True]
    # B's two respondents are too few to add: the department's figure holds A and C, and says so.
    assert published.respondents.tolist() == [12, 7, 0, 5]
    assert published.partial[published.shown].tolist() == [True, False, False]
    assert published.included_at.tolist() == [-1, 1, -1, 3]


def test_hidden_units_are_added_where_together_they_reach_k():
    # B and C hidden (2 and 3 of 6): together five, added to the department's figure.
    published = plan([-1, 0, 0, 0], [0, 8, 6, 6], [0, 7, 2, 3])
    assert published.shown.tolist() == [True, True, False, False]
    assert published.respondents[0] == 12 and not published.partial[0]
    assert published.included_at.tolist() == [-1, 1, 0, 0]
    # Too few to add anywhere, they pass up to the top and are published nowhere.
    short = plan([-1, 0, 0, 0], [0, 8, 6, 6], [0, 7, 2, 1])
    assert short.respondents[0] == 7 and short.partial[0]
    assert short.included_at.tolist() == [-1, 1, -1, -1]


def test_an_item_counts_only_where_k_answered_it_and_is_added_nowhere_else():
    # A: 5 answered, one skipped the item; B: 6 answered it.
    published = plan([-1, 0, 0], [0, 5, 6], [0, 5, 6], skipped=[0, 1, 0])
    assert published.shown.tolist() == [True, True, True]
    assert published.items[:, 0].tolist() == [True, False, True]
    # The department's figure of the item is B's alone: subtracting B shows nothing of A's four.
    assert published.histogram[0, 0].sum() == 6


def test_comments_are_released_where_a_release_isolates_no_smaller_group():
    # 0: a department with 5 people of its own, 1: a team of 12, 2: a team of 10 (27 in all).
    published = plan([-1, 0, 0], [5, 12, 10], [5, 12, 10])
    assert published.shown.tolist() == [True, True, True]
    # The teams' lists are released; the department's would add its own five people's comments.
    assert published.comments.tolist() == [False, True, True]
    assert plan([-1, 0, 0], [10, 12, 10], [10, 12, 10]).comments.tolist() == [True, True, True]


# -- the attacks: every world of each tree ------------------------------------------------


@pytest.mark.parametrize(
    ("parent", "invited", "k"),
    [
        # Company (nobody) → Engineering (its manager Maria, alone) → Platform (3), Payments (3):
        # the earlier rule's reproduction A, where the pattern told whether Maria answered.
        ([-1, 0, 1, 1], [0, 1, 3, 3], 3),
        # Ops (nobody) → A (6), B (3), C (4): reproduction B, where the pattern pinned B and C.
        ([-1, 0, 0, 0], [0, 6, 3, 4], 3),
        # A parent of nine over children of five and four; a child team of one.
        ([-1, 0, 0], [0, 5, 4], K),
        ([-1, 0, 0], [0, 5, 1], K),
        # A lead alone at the root, a grouping node with nobody of its own, and a team.
        ([-1, 0, 1, 1, 0], [1, 0, 6, 6, 7], K),
        # A manager alone above two teams.
        ([-1, 0, 1, 1], [0, 1, 6, 5], K),
    ],
)
def test_no_world_of_these_trees_isolates_anyone_or_pins_a_participation(parent, invited, k):
    found = attack_organisation(parent, invited, k)
    assert found["worlds"] > 50
    no_leak(found)


def test_the_lone_manager_could_have_answered_or_not_in_every_world():
    """The promise for Maria: whatever was published, both are possible. The attacker's
    certainty counts would be non-zero otherwise; here, the worlds where she answered and
    Payments 2 of 3, and where she did not and Payments 3 of 3, even publish the same."""
    parent, invited = [-1, 0, 1, 1], [0, 1, 3, 3]
    answered = plan(parent, invited, [0, 1, 3, 2], k=3)
    silent = plan(parent, invited, [0, 0, 3, 3], k=3)
    assert answered.shown.tolist() == [True, True, True, False]
    assert silent.shown.tolist() == [True, True, True, True]
    # Different figures, but neither pins her: other worlds reproduce each (brute force above).
    no_leak(attack_organisation(parent, invited, 3))


# -- the same, end to end through the database --------------------------------------------


def _published_paths(round_):
    return sorted(Result.objects.filter(round=round_).values_list("team__path", flat=True))


def test_end_to_end_the_manager_is_counted_with_the_smaller_team(tenant, other_tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 5}, close=False)
        manager = staff(tenant.engineering, 1)
        invite_everyone(round_, manager)
        respond(round_, manager[0], 3)
        close_round(round_)
        results_publish(round_id=round_.pk)
        assert _published_paths(round_) == [
            "Acme",
            "Acme/Engineering",
            "Acme/Engineering/Platform",
            "Acme/Engineering/Product",
        ]
        product = Result.objects.get(round=round_, team=tenant.product)
        assert (product.n, product.invited) == (6, 6)
        assert sorted(product.covered_teams) == sorted([tenant.engineering.pk, tenant.product.pk])
        units = dict(RoundTeam.objects.filter(round=round_).values_list("team_id", "unit_id"))
        assert units[tenant.engineering.pk] == tenant.product.pk
        assert audit_round(round_).ok


def test_end_to_end_a_small_team_is_counted_with_its_sibling(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 5, tenant.product: 4})
        results_publish(round_id=round_.pk)
        assert _published_paths(round_) == ["Acme", "Acme/Engineering", "Acme/Engineering/Platform"]
        platform = Result.objects.get(round=round_, team=tenant.platform)
        assert platform.n == 9 and sorted(platform.covered_teams) == sorted([tenant.platform.pk, tenant.product.pk])
        assert audit_round(round_).ok


def test_end_to_end_a_hidden_team_leaves_a_partial_figure_above_it(tenant):
    with tenant.scope():
        lone = TeamFactory(parent=tenant.engineering, name="Lone")
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, lone: 6}, answered={tenant.platform: 6, lone: 3})
        results_publish(round_id=round_.pk)
        assert _published_paths(round_) == ["Acme", "Acme/Engineering", "Acme/Engineering/Platform"]
        engineering = Result.objects.get(round=round_, team=tenant.engineering)
        assert engineering.partial and engineering.n == 6 and engineering.covered_teams == [tenant.platform.pk]
        assert audit_round(round_).ok


def test_end_to_end_one_skipped_item(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6}, close=False)
        people = staff(tenant.product, 5)
        invite_everyone(round_, people)
        questions = question_ids(round_)
        for i, person in enumerate(people):
            respond(round_, person, [None if (i == 0 and j == 0) else 4 for j in range(len(questions))])
        close_round(round_)
        results_publish(round_id=round_.pk)
        results = {r.team.name: r.item_counts() for r in Result.objects.filter(round=round_).select_related("team")}
        assert set(results) == {"Acme", "Engineering", "Platform", "Product"}
        skipped = questions[0]
        assert skipped not in results["Product"]  # 4 answers only
        assert results["Platform"][skipped] == [0, 0, 0, 6, 0]
        # Engineering's figure of the item is Platform's alone: Product's four are added nowhere.
        assert results["Engineering"][skipped] == [0, 0, 0, 6, 0]
        assert all(q in results["Product"] for q in questions[1:])


# -- the auditor ---------------------------------------------------------------------------


@pytest.fixture
def published(tenant):
    """Platform 6 and Product 7 all answering, Engineering's manager answering too (counted
    with Platform, the smaller team)."""
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 7}, close=False)
        manager = staff(tenant.engineering, 1)
        invite_everyone(round_, manager)
        respond(round_, manager[0], 3)
        close_round(round_)
        results_publish(round_id=round_.pk)
        assert audit_round(round_).ok
        return round_


def test_the_audit_passes_on_a_publication_and_fails_on_a_corrupted_result(tenant, published):
    with tenant.scope():
        result = Result.objects.get(round=published, team=tenant.product)
        question = next(iter(result.items))
        result.items[question] = [0, 0, 0, 6, 0]  # one answer fewer than the raw rows
        result.save()
        report = audit_round(published)
        assert not report.ok
        assert any("differ from the raw answers" in p for p in report.problems)
        # Messages name the team and question by id, and never carry a count.
        assert all(not re.search(r"\d", re.sub(r"(team|question) \d+", "", p)) for p in report.problems)


def test_the_audit_catches_a_remainder_of_one(tenant, published):
    """Platform's figure forged to leave out the manager it is counted with: Engineering minus
    its two teams would then be the manager alone."""
    with tenant.scope():
        Result.objects.filter(round=published, team=tenant.platform).update(covered_teams=[tenant.platform.pk])
        Result.objects.filter(round=published, team=tenant.platform).update(n=6, invited=6)
        report = audit_round(published)
    assert f"team {tenant.engineering.pk}, participation: a remainder breaks the publication rule" in report.problems
    assert f"team {tenant.platform.pk}: covers other teams than the rule gives" in report.problems


def test_the_audit_catches_a_remainder_of_people_who_all_stayed_silent(tenant):
    """The remainder rule (`rules.remainder_is_safe`) counts "nobody" in invited people: a
    remainder of two people who did not answer is not empty, since publishing it would tell
    that neither answered. The weaker rule (no contributors left) would let it through."""
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 7}, close=False)
        invite_everyone(round_, staff(tenant.engineering, 2))  # they never answer
        close_round(round_)
        results_publish(round_id=round_.pk)
        assert audit_round(round_).ok
        # Platform's row forged to its own six, leaving Engineering's two silent people over.
        Result.objects.filter(round=round_, team=tenant.platform).update(
            covered_teams=[tenant.platform.pk], n=6, invited=6
        )
        report = audit_round(round_)
    assert f"team {tenant.engineering.pk}, participation: a remainder breaks the publication rule" in report.problems


def test_the_audit_refuses_a_unit_of_fewer_than_k(tenant, published):
    with tenant.scope():
        RoundTeam.objects.filter(round=published, team=tenant.engineering).update(unit=tenant.engineering)
        report = audit_round(published)
    assert f"the reporting unit of team {tenant.engineering.pk} has fewer than k invited people" in report.problems


def test_the_audit_refuses_a_figure_the_rule_does_not_give(tenant):
    """A hidden team's own figure forged in (4 of 6 answered): the rule gives it none."""
    with tenant.scope():
        lone = TeamFactory(parent=tenant.engineering, name="Lone")
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, lone: 6}, answered={tenant.platform: 6, lone: 4})
        results_publish(round_id=round_.pk)
        Result.objects.create(round=round_, team=lone, n=4, invited=6, covered_teams=[lone.pk])
        report = audit_round(round_)
    assert f"team {lone.pk}: published without figures under the rule" in report.problems
    assert f"team {lone.pk}: published with fewer than k respondents" in report.problems


def test_the_audit_refuses_comments_and_partial_marks_against_the_rule(tenant, published):
    with tenant.scope():
        Result.objects.filter(round=published, team=tenant.product).update(comments_released=True)
        Result.objects.filter(round=published, team=tenant.root).update(partial=True)
        report = audit_round(published)
    assert f"team {tenant.product.pk}: comments released below k_comments" in report.problems
    assert f"team {tenant.product.pk}: comments released or withheld against the rule" in report.problems
    assert f"team {tenant.root.pk}: marked partial or whole against the rule" in report.problems


def test_the_audit_refuses_anything_published_for_an_open_round(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6}, close=False)
        assert round_.status == RoundStatus.OPEN
        assert audit_round(round_).ok  # nothing published: fine
        Result.objects.create(round=round_, team=tenant.platform, n=6, invited=6)
        report = audit_round(round_)
        assert report.problems == ["results exist for a round that is not closed"]


def test_an_answer_whose_copied_team_drifted_blocks_publication(tenant, caplog):
    """Answers carry a copy of their response's team (for the one-scan GROUP BY). If a copy
    drifts, aggregation would count an answer against the wrong team: the audit sees an item
    with more answers than respondents, and nothing is published."""
    from surveys.models import Answer

    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 6})
        moved = Answer.objects.filter(round=round_, team=tenant.product).first()
        Answer.objects.filter(pk=moved.pk).update(team=tenant.platform)
        with pytest.raises(PrivacyAuditError):
            results_publish(round_id=round_.pk)
        round_.refresh_from_db()
        assert round_.status == RoundStatus.FAILED
        assert "more answers than respondents" in round_.failure_reason
        assert not Result.objects.filter(round=round_).exists()
        assert any(r.levelname == "ERROR" and "NOT published" in r.getMessage() for r in caplog.records)


def test_the_audit_refuses_a_snapshot_that_counts_fewer_people_than_were_invited(tenant):
    """Too few invited people is the dangerous direction: a remainder holding someone who did
    not answer could pass for "nobody at all"."""
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 7})
        results_publish(round_id=round_.pk)
        assert audit_round(round_).ok
        RoundTeam.objects.filter(round=round_, team=tenant.product).update(invited=6)
        report = audit_round(round_)
    assert f"team {tenant.product.pk}: more invitations than the round's snapshot counted" in report.problems


def test_the_audit_refuses_two_results_for_one_team(tenant):
    import dataclasses

    from surveys.engine import aggregation

    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 7})
        computed = aggregation.round_aggregate_rows(round_)
        table = computed.results
        first_covers = table.covered_offsets[1]
        twice = dataclasses.replace(
            table,
            team_ids=np.concatenate([table.team_ids, table.team_ids[:1]]),
            respondents=np.concatenate([table.respondents, table.respondents[:1]]),
            invited=np.concatenate([table.invited, table.invited[:1]]),
            comments_released=np.concatenate([table.comments_released, table.comments_released[:1]]),
            item_published=np.concatenate([table.item_published, table.item_published[:1]]),
            item_counts=np.concatenate([table.item_counts, table.item_counts[:1]]),
            covered_offsets=np.concatenate([table.covered_offsets, table.covered_offsets[-1:] + first_covers]),
            covered_teams=np.concatenate([table.covered_teams, table.covered_teams[:first_covers]]),
            partial=np.concatenate([table.partial, table.partial[:1]]),
        )
        assert audit_round(round_, leaf_counts=computed.leaf, results=table).ok
        report = audit_round(round_, leaf_counts=computed.leaf, results=twice)
    assert f"team {table.team_ids[0]}: more than one result" in report.problems


def test_the_audit_refuses_a_frozen_team_list_the_rule_does_not_give(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 7})
        results_publish(round_id=round_.pk)
        engineering = Result.objects.get(round=round_, team=tenant.engineering)
        engineering.covered_teams = [tenant.platform.pk]  # Product left out
        engineering.save()
        root = Result.objects.get(round=round_, team=tenant.root)
        root.covered_teams = list(reversed(root.covered_teams))  # order does not matter
        root.save()
        report = audit_round(round_)
    assert f"team {tenant.engineering.pk}: covers other teams than the rule gives" in report.problems
    assert f"team {tenant.engineering.pk}: respondents or invited differ from the raw rows" in report.problems
    assert f"team {tenant.product.pk}: covers teams its nearest published ancestor does not" in report.problems
    assert not any(f"team {tenant.root.pk}" in problem for problem in report.problems)


def test_the_audit_reports_stored_items_that_are_not_items_of_the_round(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 7})
        results_publish(round_id=round_.pk)
        result = Result.objects.get(round=round_, team=tenant.root)
        result.items["999999"] = [0, 0, 13, 0, 0]
        result.items[next(iter(result.items))] = [1, 2, 3]
        result.save()
        report = audit_round(round_)
    assert sum("not an item of this round" in problem for problem in report.problems) == 2
