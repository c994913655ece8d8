"""Result selectors: what every page and the API will show, read from Result rows only."""

import pytest

from surveys.engine.changes import IMPROVED, NOT_ENOUGH_ROUNDS
from surveys.engine.scoring import item_score
from surveys.models import Comment, Construct, Result, Team
from surveys.selectors.results import (
    org_heatmap,
    team_latest_results,
    team_round_comments,
    team_round_results,
    team_trend,
)
from surveys.services.results import results_publish
from tests.support.factories import SurveyFactory
from tests.support.survey_data import close_round, invite_everyone, question_ids, respond, staff, team_round


@pytest.fixture
def published(tenant):
    """Platform 5 (one skipped the first item), Product 7, both with comments."""
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        round_ = team_round(survey, {}, close=False)
        questions = question_ids(round_)
        for team, size, value in ((tenant.platform, 5, 4), (tenant.product, 7, 2)):
            people = staff(team, size)
            invite_everyone(round_, people)
            for i, person in enumerate(people):
                skips = team == tenant.platform and i == 0  # the first item
                values = [None if (skips and j == 0) else value for j in range(len(questions))]
                respond(round_, person, values, questions=questions, comment=f"{team.name} comment {i}")
        close_round(round_)
        results_publish(round_id=round_.pk)
        round_.refresh_from_db()
        return round_


def test_team_round_results_scores_items_and_constructs(tenant, published, django_assert_num_queries):
    with tenant.scope(), django_assert_num_queries(2):
        figures = team_round_results(team=tenant.product, round=published)
    assert figures.published
    assert (figures.respondents, figures.invited, figures.response_rate) == (7, 7, 1.0)
    competence = figures.construct(Construct.COMPETENCE)
    assert competence.score.mean == 2.0 and competence.score.index == 25.0
    assert not competence.suppressed
    item = competence.items[0]
    assert item.counts == (0, 7, 0, 0, 0)
    assert item.score == item_score([0, 7, 0, 0, 0])
    # Product's own seven answers to the first item are shown; Platform's four are not added
    # anywhere (Engineering's figure of that item is Product's alone), so no difference of
    # figures shows them.
    assert figures.items[0].counts == (0, 7, 0, 0, 0) and not figures.construct(Construct.AUTONOMY).suppressed
    exhaustion = figures.construct(Construct.EXHAUSTION)
    assert exhaustion.higher_is_worse and exhaustion.score.shares.favourable == 1.0  # "rarely"
    assert figures.burnout.mean == 2.0 and figures.burnout.zone == "few"


def test_a_suppressed_item_is_marked_and_its_construct_not_scored(tenant, published):
    with tenant.scope():
        figures = team_round_results(team=tenant.platform, round=published)
    assert figures.published and figures.respondents == 5
    assert figures.items[0].suppressed and figures.items[0].score is None
    assert figures.construct(Construct.AUTONOMY).suppressed  # its first item is hidden
    assert not figures.construct(Construct.COMPETENCE).suppressed


def test_a_team_without_results_shows_nothing(tenant, other_tenant, published):
    with tenant.scope():
        company = team_round_results(team=tenant.root, round=published)
        assert company.published
        lone = Team.objects.create(name="New", parent=tenant.product, path="Acme/Engineering/Product/New")
        empty = team_round_results(team=lone, round=published)
    assert not empty.published and empty.respondents is None and empty.response_rate is None
    assert all(item.suppressed for item in empty.items)
    # Another organisation's team: nothing, even with this round.
    with tenant.scope():
        assert not team_round_results(team=other_tenant.platform, round=published).published


def test_released_comments_are_the_whole_subtree_frozen_at_publication(tenant, published, django_assert_num_queries):
    with tenant.scope():
        with django_assert_num_queries(2):
            comments = team_round_comments(team=tenant.engineering, round=published)
        assert len(comments) == 12 and all(isinstance(c, str) for c in comments)
        assert comments == team_round_comments(team=tenant.engineering, round=published)  # stable order
        assert team_round_comments(team=tenant.product, round=published) == []  # 7 < k_comments
        # Moving Product out of Engineering afterwards does not change the released list.
        tenant.product.parent = tenant.root
        tenant.product.path = "Acme/Product"
        tenant.product.save()
        assert sorted(team_round_comments(team=tenant.engineering, round=published)) == sorted(comments)
        # A comment written later against a covered team is not in a frozen list's round.
        assert Comment.objects.filter(round=published).count() == 12


def test_trend_skips_a_round_the_team_had_too_few_responses_in(tenant, django_assert_num_queries):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        values = {1: 2, 2: 2, 3: 4, 4: 1, 5: 4}
        for number, value in values.items():
            answered = {tenant.platform: 4 if number == 4 else 6}
            round_ = team_round(survey, {tenant.platform: 6}, answered=answered, value=value, number=number)
            results_publish(round_id=round_.pk)
        with django_assert_num_queries(4):  # rounds, results, questions, the stability estimate
            trend = team_trend(team=tenant.platform, survey=survey)
    assert [r.number for r in trend.rounds] == [1, 2, 3, 4, 5]
    autonomy = next(c for c in trend.constructs if c.construct == Construct.AUTONOMY)
    assert [p.score.mean if p.score else None for p in autonomy.points] == [2.0, 2.0, 4.0, None, 4.0]
    # At round 5 (fortnightly) the last three rounds are compared with the rounds before: round
    # 4 had 4 respondents, so it is left out, and no older round takes its place: rounds 3 and 5
    # (mean 4.0) against rounds 1–2 (2.0).
    assert autonomy.change.evaluated_at == 5
    assert autonomy.change.comparison == "rounds 3 and 5 against rounds 1–2"
    assert autonomy.change.delta == pytest.approx(2.0)
    assert autonomy.change.status == IMPROVED
    exhaustion = next(c for c in trend.constructs if c.construct == Construct.EXHAUSTION)
    assert exhaustion.change.status == "declined"  # more exhaustion is worse
    assert [n for _, n in trend.participation] == [6, 6, 6, None, 6]


def test_latest_results_for_the_thanks_page_climb_to_a_team_that_has_some(tenant, django_assert_num_queries):
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        assert team_latest_results(team=tenant.platform, survey=survey) is None
        for number, value in ((1, 3), (2, 4)):
            round_ = team_round(survey, {tenant.platform: 3, tenant.product: 6}, value=value, number=number)
            results_publish(round_id=round_.pk)
        with django_assert_num_queries(4):
            latest = team_latest_results(team=tenant.platform, survey=survey)
    # Platform (3 people) never has results: the thanks page shows Engineering's.
    assert latest.team == tenant.engineering
    assert latest.results.round.number == 2 and latest.previous.round.number == 1
    assert latest.results.construct(Construct.AUTONOMY).score.mean == 4.0
    assert latest.changes[Construct.AUTONOMY].status == NOT_ENOUGH_ROUNDS
    assert latest.changes[Construct.AUTONOMY].detectable >= 0.25


def test_heatmap_marks_suppressed_cells(tenant, published, django_assert_num_queries):
    with tenant.scope(), django_assert_num_queries(3):
        heatmap = org_heatmap(round=published)
    rows = {row.team.name: row for row in heatmap.rows}
    assert list(rows) == ["Acme", "Engineering", "Platform", "Product"]
    assert [c for c, _ in heatmap.constructs][:4] == ["autonomy", "competence", "relatedness", "beneficence"]
    product = {cell.construct: cell for cell in rows["Product"].cells}
    assert product["competence"].index == 25.0 and product["competence"].n == 7
    assert not product["autonomy"].suppressed
    platform = {cell.construct: cell for cell in rows["Platform"].cells}
    assert platform["autonomy"].suppressed and not platform["competence"].suppressed
    # A manager's view: only the teams they may see.
    with tenant.scope():
        mine = org_heatmap(round=published, teams=Team.objects.filter(pk=tenant.product.pk))
    assert [row.team.name for row in mine.rows] == ["Product"]


def test_selectors_show_nothing_for_a_round_that_is_not_published(tenant, published):
    with tenant.scope():
        Result.objects.filter(round=published)  # rows exist ...
        published.status = "failed"
        published.save()
        assert not team_round_results(team=tenant.product, round=published).published
        assert team_round_comments(team=tenant.engineering, round=published) == []
        assert team_latest_results(team=tenant.product, survey=published.survey) is None


def test_a_new_bank_version_keeps_past_wording_and_trends_carry_on_by_construct(tenant):
    from surveys.models import Question, RoundQuestion, SurveyQuestion
    from tests.support.results_data import published_round, spread

    bank = Question.all_organizations.filter(organization=None)
    old, new = bank.get(code="aut-2-v1"), bank.get(code="aut-2")
    assert (old.is_active, new.is_active, new.is_core) == (False, True, True)
    with tenant.scope():
        survey = SurveyFactory(organization=tenant.org)
        SurveyQuestion.objects.filter(survey=survey, question=new).update(question=old)  # as before version 2
        first = [published_round(survey, {tenant.platform: spread(6, 4)}, number=n) for n in (1, 2)]
        SurveyQuestion.objects.filter(survey=survey, question=old).update(question=new)  # what the migration does
        later = [published_round(survey, {tenant.platform: spread(6, 2)}, number=n) for n in (3, 4)]
        assert RoundQuestion.objects.filter(round=first[0], question=old).exists()  # what people answered then
        assert RoundQuestion.objects.filter(round=later[0], question=new).exists()
        items = {item.question.code: item for item in team_round_results(team=tenant.platform, round=first[0]).items}
        assert "aut-2-v1" in items and items["aut-2-v1"].question.text.startswith("When a decision affects my work")
        trend = team_trend(team=tenant.platform, survey=survey)
    autonomy = next(c for c in trend.constructs if c.construct == Construct.AUTONOMY)
    assert all(point.score is not None for point in autonomy.points)
    # Rounds 2–4 compared with round 1, across the two wordings: aut-2-v1 and aut-2 are one item.
    assert autonomy.change.status == "declined" and autonomy.change.comparison == "rounds 2–4 against round 1"
