"""Hand-built attacks on publication, and the auditor (docs/privacy.md).

Each attack is a small team tree where publishing every team with at least k contributors
would let anyone subtract published figures and isolate fewer than k people (or learn whether
one person answered). The suppression must stop each one, and the auditor must catch a
publication that does not.
"""

import re

import numpy as np
import pytest

from surveys.models import Result, RoundStatus
from surveys.privacy.audit import PrivacyAuditError, audit_round
from surveys.privacy.rules import remainder_is_safe
from surveys.privacy.suppression import public_order, public_suppression, publication_plan
from surveys.services.results import results_publish
from tests.support.errors import refused
from tests.support.factories import SurveyFactory, TeamFactory
from tests.support.privacy_reference import is_valid, public_pattern, subtree_totals
from tests.support.survey_data import invite_everyone, question_ids, respond, staff, team_round

K = 5


def publish(parent, own_invited, own_contributors, k=K):
    """Participation through the real suppression; returns the published flags as a list."""
    invited = subtree_totals(parent, own_invited)
    flags = public_suppression(
        parent=parent,
        invited=invited,
        contributors=np.array(subtree_totals(parent, own_contributors))[:, None],
        bounds=np.array(invited)[:, None],
        thresholds=k,
        order=public_order(invited=np.array(invited), ids=np.arange(len(parent))),
    )[:, 0]
    return flags.tolist()


def test_the_rule_counts_nobody_in_invited_people_not_in_contributors():
    assert remainder_is_safe(invited=0, contributors=0, threshold=5)
    assert remainder_is_safe(invited=7, contributors=5, threshold=5)
    # One invited person who did not answer is still somebody: their silence must not show.
    assert not remainder_is_safe(invited=1, contributors=0, threshold=5)
    assert not remainder_is_safe(invited=9, contributors=4, threshold=5)


def test_parent_of_nine_with_children_of_five_and_four():
    # 0: parent (nobody of its own), 1: child of 5, 2: child of 4.
    parent, invited, answered = [-1, 0, 0], [0, 5, 4], [0, 5, 4]
    published = publish(parent, invited, answered)
    # Publishing the parent (9) and the child of 5 would give the child of 4 as 9 - 5.
    assert published == [True, False, False]
    assert is_valid(parent, published, invited, answered, K)


def test_a_manager_alone_at_an_internal_node_cannot_be_seen_answering_or_not():
    # 0: Company (nobody), 1: Engineering (its manager only), 2: Platform 6, 3: Product 5.
    parent, invited = [-1, 0, 1, 1], [0, 1, 6, 5]
    answered = publish(parent, invited, [0, 1, 6, 5])
    silent = publish(parent, invited, [0, 0, 6, 5])
    # The smallest child is suppressed either way, so the pattern says nothing about the manager.
    assert answered == silent == [True, True, True, False]
    # The weaker rule (remainder 0 counted in contributors) would have published every team when the manager was silent
    # (remainder 0) and suppressed one when they answered (remainder 1): that difference leaks.
    assert is_valid(parent, [True] * 4, invited, [0, 0, 6, 5], K, strong=False)
    assert not is_valid(parent, [True] * 4, invited, [0, 1, 6, 5], K, strong=False)
    assert not is_valid(parent, [True] * 4, invited, [0, 0, 6, 5], K, strong=True)


def test_a_child_team_of_one_is_never_left_as_a_remainder():
    # 0: department with no one of its own, 1: team of 5, 2: team of 1.
    parent, invited, answered = [-1, 0, 0], [0, 5, 1], [0, 5, 1]
    assert publish(parent, invited, answered) == [True, False, False]
    # With five people of its own, the department absorbs the lone person safely.
    assert publish(parent, [5, 5, 1], [5, 5, 1]) == [True, True, False]


def test_an_empty_grouping_node_is_published_with_its_teams_and_the_last_team_protects_the_root():
    # 0: root with one person; 1: a grouping node with no one of its own over 2 and 3 (6 each);
    # 4: a team of 7. Everyone answered.
    parent = [-1, 0, 1, 1, 0]
    invited = answered = [1, 0, 6, 6, 7]
    published = publish(parent, invited, answered)
    assert is_valid(parent, published, invited, answered, K)
    # Publishing team 4 too would leave the root's own person as a remainder of one.
    assert published == [True, True, True, True, False]
    assert published == public_pattern(parent, invited, subtree_totals(parent, answered), K)


# -- the pattern of hidden teams pins nothing (issue: an attacker re-running the algorithm) ----


def test_reproduction_a_whether_the_lone_manager_answered_is_not_in_the_pattern():
    """Company (nobody) → Engineering (its manager Maria, alone) → Platform (3, lower id),
    Payments (3); k = 3. The worlds the counts allow, Maria answered and Payments 2 of 3, or
    Maria silent and Payments 3 of 3, must give the same pattern."""
    parent, invited = [-1, 0, 1, 1], [0, 1, 3, 3]
    answered = publish(parent, invited, [0, 1, 3, 2], k=3)
    silent = publish(parent, invited, [0, 0, 3, 3], k=3)
    assert answered == silent
    assert answered[:2] == [True, True]  # Company and Engineering: 6 of 7 either way


def test_reproduction_b_which_team_did_not_reach_k_is_not_in_the_pattern():
    """Ops (nobody) → A (6), B (3), C (4); k = 3. Answers 6, 2, 4 and 6, 3, 3 publish the same
    Ops total and A; they must hide the same teams, so C is not pinned at 4 nor B at 2."""
    parent, invited = [-1, 0, 0, 0], [0, 6, 3, 4]
    assert publish(parent, invited, [0, 6, 2, 4], k=3) == publish(parent, invited, [0, 6, 3, 3], k=3)


def test_a_node_is_published_once_the_figures_above_it_force_it_to_be_safe():
    """Dept (nobody) → X (6 invited), Y (5); k = 5. With 10 answering the split may be 6 + 4,
    so neither team can be shown whatever the truth; with 11 the split is forced, 6 + 5."""
    parent, invited = [-1, 0, 0], [0, 6, 5]
    assert publish(parent, invited, [0, 5, 5]) == [True, False, False]
    assert publish(parent, invited, [0, 6, 4]) == [True, False, False]
    assert publish(parent, invited, [0, 6, 5]) == [True, True, True]


def test_one_item_skipped_by_one_person_suppresses_that_item_where_it_would_leak():
    # 0: department (nobody), 1: team A, 5 answered but one skipped item 0, 2: team B, 6 answered.
    parent = [-1, 0, 0]
    invited = np.array([0, 5, 6])
    respondents = np.array(subtree_totals(parent, [0, 5, 6]))
    item0 = subtree_totals(parent, [0, 4, 6])
    item1 = subtree_totals(parent, [0, 5, 6])
    plan = publication_plan(
        parent=parent,
        invited=subtree_totals(parent, invited),
        respondents=respondents,
        contributors=np.column_stack([item0, item1]),
        k=K,
        k_comments=10,
    )
    assert plan.participation.tolist() == [True, True, True]
    assert plan.questions[:, 1].tolist() == [True, True, True]
    # Item 0: A has 4 contributors; department - B would show those 4, so B's item 0 goes too.
    assert plan.questions[:, 0].tolist() == [True, False, False]


def test_comments_need_k_comments_respondents_and_a_safe_remainder_too():
    # 0: department with 5 people of its own, 1: team of 12, 2: team of 10 (27 in all).
    parent = [-1, 0, 0]
    totals = subtree_totals(parent, [5, 12, 10])
    plan = publication_plan(
        parent=parent,
        invited=totals,
        respondents=totals,
        contributors=np.zeros((3, 0), dtype=int),
        k=K,
        k_comments=10,
    )
    assert plan.participation.tolist() == [True, True, True]  # the department's own 5 are >= k
    # Comment lists: the department's minus both teams' would be its own 5 people's comments.
    assert plan.comments.tolist() == [True, True, False]


def test_thresholds_below_the_floor_are_refused():
    with refused("k", match="cannot be below 3"):
        publication_plan(parent=[-1], invited=[9], respondents=[9], contributors=np.zeros((1, 0)), k=2, k_comments=5)
    with refused("k_comments"):
        publication_plan(parent=[-1], invited=[9], respondents=[9], contributors=np.zeros((1, 0)), k=5, k_comments=4)


def test_nodes_must_come_after_their_parent():
    with pytest.raises(ValueError):
        public_suppression(parent=[1, -1], invited=[5, 5], contributors=[[5], [5]], bounds=[[5], [5]], thresholds=5)


# -- the same attacks end to end, through the database -------------------------------------


def _published_paths(round_):
    return sorted(Result.objects.filter(round=round_).values_list("team__path", flat=True))


def test_end_to_end_the_manager_pattern_is_the_same_whether_or_not_they_answered(tenant, other_tenant):
    patterns = []
    for manager_answers in (True, False):
        with tenant.scope():
            survey = SurveyFactory(organization=tenant.org)
            round_ = team_round(survey, {tenant.platform: 6, tenant.product: 5}, close=False)
            manager = staff(tenant.engineering, 1)
            invite_everyone(round_, manager)
            if manager_answers:
                respond(round_, manager[0], 3)
            from tests.support.survey_data import close_round

            close_round(round_)
            results_publish(round_id=round_.pk)
            patterns.append(_published_paths(round_))
    assert patterns[0] == patterns[1] == ["Acme", "Acme/Engineering", "Acme/Engineering/Platform"]


def test_end_to_end_parent_of_nine(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 5, tenant.product: 4})
        results_publish(round_id=round_.pk)
        assert _published_paths(round_) == ["Acme", "Acme/Engineering"]
        assert audit_round(round_).ok


def test_end_to_end_child_team_of_one(tenant):
    with tenant.scope():
        lone = TeamFactory(parent=tenant.engineering, name="Lone")
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 5, lone: 1})
        results_publish(round_id=round_.pk)
        assert _published_paths(round_) == ["Acme", "Acme/Engineering"]


def test_end_to_end_one_skipped_item(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6}, close=False)
        people = staff(tenant.product, 5)
        invite_everyone(round_, people)
        questions = question_ids(round_)
        for i, person in enumerate(people):
            respond(round_, person, [None if (i == 0 and j == 0) else 4 for j in range(len(questions))])
        from tests.support.survey_data import close_round

        close_round(round_)
        results_publish(round_id=round_.pk)
        results = {r.team.name: r.item_counts() for r in Result.objects.filter(round=round_).select_related("team")}
        assert set(results) == {"Acme", "Engineering", "Platform", "Product"}
        skipped = questions[0]
        assert skipped not in results["Product"]  # 4 answers only
        assert skipped not in results["Platform"]  # else Engineering - Platform = Product's 4
        assert results["Engineering"][skipped] == [0, 0, 0, 10, 0]
        assert all(q in results["Product"] for q in questions[1:])


# -- the auditor ---------------------------------------------------------------------------


def test_the_audit_passes_on_a_publication_and_fails_on_a_corrupted_result(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 7})
        results_publish(round_id=round_.pk)
        assert audit_round(round_).ok
        result = Result.objects.get(round=round_, team=tenant.platform)
        question = next(iter(result.items))
        result.items[question] = [0, 0, 0, 5, 0]  # one answer fewer than the raw rows
        result.save()
        report = audit_round(round_)
        assert not report.ok
        assert any("differ from the raw answers" in p for p in report.problems)
        # Messages name the team and question by id, and never carry a count.
        assert all(not re.search(r"\d", re.sub(r"(team|question) \d+", "", p)) for p in report.problems)


def test_the_audit_catches_a_remainder_below_k(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 5, tenant.product: 4})
        results_publish(round_id=round_.pk)
        engineering = Result.objects.get(round=round_, team=tenant.engineering)
        # Forge what a naive publisher would add: Platform's own row (5 >= k, but 9 - 5 = 4).
        report = _audit_with_a_row_of_its_own(
            round_, tenant.platform, 5, {q: [0, 0, 0, 5, 0] for q in engineering.items}
        )
        assert any("remainder breaks the suppression rule" in p for p in report.problems)


def _audit_with_a_row_of_its_own(round_, team, people: int, items: dict):
    """The audit of `round_` once a Result for `team` alone (`people` of them, `items`) is forged in."""
    Result.objects.create(round=round_, team=team, n=people, invited=people, items=items, covered_teams=[team.pk])
    return audit_round(round_)


def test_the_audit_catches_a_remainder_of_people_who_all_stayed_silent(tenant):
    """The remainder rule (`rules.remainder_is_safe`) counts "nobody" in invited people: a
    remainder of two people who did not answer is not empty, since publishing it would tell
    that neither answered. The weaker rule (no contributors left) would let it through."""
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 2}, answered={tenant.product: 0})
        results_publish(round_id=round_.pk)
        assert audit_round(round_).ok
        engineering = Result.objects.get(round=round_, team=tenant.engineering)
        # Platform's own row: 6 >= k, and what it leaves under Engineering has no contributor.
        report = _audit_with_a_row_of_its_own(round_, tenant.platform, 6, engineering.items)
        assert (
            f"team {tenant.engineering.pk}, participation: a remainder breaks the suppression rule" in report.problems
        )


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
    from surveys.models import RoundTeam

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
        )
        assert audit_round(round_, leaf_counts=computed.leaf, results=table).ok
        report = audit_round(round_, leaf_counts=computed.leaf, results=twice)
    assert f"team {table.team_ids[0]}: more than one result" in report.problems


def test_the_audit_refuses_a_frozen_team_list_that_is_not_the_subtree(tenant):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {tenant.platform: 6, tenant.product: 7})
        results_publish(round_id=round_.pk)
        engineering = Result.objects.get(round=round_, team=tenant.engineering)
        engineering.covered_teams = [tenant.engineering.pk, tenant.platform.pk]  # Product left out
        engineering.save()
        root = Result.objects.get(round=round_, team=tenant.root)
        root.covered_teams = list(reversed(root.covered_teams))  # order does not matter
        root.save()
        report = audit_round(round_)
    assert report.problems == [f"team {tenant.engineering.pk}: covered teams differ from the subtree"]


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
