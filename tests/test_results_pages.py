"""The results pages: team dashboard, results heatmap, action plans, the home page's teams.

Rounds are published through the real pipeline (bulk answers, then `results_publish`), so every
figure checked here went through suppression and the audit.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone

from surveys.core.exceptions import PulseError
from surveys.engine.scoring import BURNOUT_TONES, index_tone
from surveys.models import ActionPlan, ActionPlanStatus, Role, RoundStatus
from surveys.presentation.results import colour_key
from surveys.selectors import home as home_selectors
from surveys.selectors import results as results_selectors
from surveys.services.action_plans import ActionPlanFields, action_plan_create, action_plan_update
from surveys.services.teams import team_repath
from tests.support.factories import MembershipFactory, RoundFactory, SurveyFactory, TeamFactory
from tests.support.results_data import FALLING, centres, history, published_round, spread
from tests.support.survey_data import invite_everyone, question_ids, respond, staff


def dashboard_url(team, query: str = "") -> str:
    return f"/o/{team.organization.slug}/teams/{team.pk}/{query}"


def card(html: str, construct: str) -> str:
    """The text of one measure's card on the dashboard."""
    match = re.search(rf'<article[^>]*aria-labelledby="card-{construct}".*?</article>', html, re.S)
    assert match, f"no card for {construct}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def survey(tenant):
    return SurveyFactory(organization=tenant.org, name="Team pulse")


@pytest.fixture
def rounds(tenant, survey):
    """Four published rounds: Engineering's autonomy climbs from round 3 on; comments released
    for Engineering (13 answered) only."""
    with tenant.scope():
        return history(tenant, survey, rounds=4)


# ------------------------------------------------------------------------------------------
# Who sees which dashboard


def test_a_manager_sees_the_teams_they_lead_and_below_and_nothing_else(login, tenant, other_tenant, rounds):
    sales = TeamFactory(parent=tenant.root, name="Sales")
    client = login(tenant.manager)
    for team in (tenant.engineering, tenant.platform, tenant.product):
        assert client.get(dashboard_url(team)).status_code == 200, team
    assert client.get(dashboard_url(sales)).status_code == 404  # a peer's team
    assert client.get(dashboard_url(tenant.root)).status_code == 404  # the team above
    assert client.get(f"/o/acme/teams/{other_tenant.platform.pk}/").status_code == 404
    assert client.get(f"/o/globex/teams/{other_tenant.platform.pk}/").status_code == 404


def test_hr_and_admins_see_every_team_and_employees_none(login, tenant, rounds):
    for membership in (tenant.hr, tenant.admin):
        client = login(membership)
        for team in (tenant.root, tenant.engineering, tenant.platform):
            assert client.get(dashboard_url(team)).status_code == 200
    assert login(tenant.employee).get(dashboard_url(tenant.platform)).status_code == 403


def test_the_breadcrumb_links_only_the_teams_above_that_the_viewer_may_open(login, tenant, rounds):
    manager_page = login(tenant.manager).get(dashboard_url(tenant.platform)).content.decode()
    assert f'href="/o/acme/teams/{tenant.engineering.pk}/' in manager_page
    assert f'href="/o/acme/teams/{tenant.root.pk}/' not in manager_page
    assert "<span>Acme</span>" in manager_page
    hr_page = login(tenant.hr).get(dashboard_url(tenant.platform)).content.decode()
    assert f'href="/o/acme/teams/{tenant.root.pk}/' in hr_page


# ------------------------------------------------------------------------------------------
# What the dashboard shows


def test_the_dashboard_shows_the_latest_round_with_its_figures_and_change_flags(login, tenant, rounds):
    response = login(tenant.manager).get(dashboard_url(tenant.engineering))
    html = response.content.decode()
    page = text(response)
    assert "Team pulse · round 4" in page
    assert "13 of 14 invited answered" in page and "93% response rate" in page
    autonomy = card(html, "autonomy")
    assert "Likely improved" in autonomy and "+33 points, comparing rounds 2–4 against round 1" in autonomy
    competence = card(html, "competence")
    assert "No clear change" in competence
    assert re.search(r"a lasting change of about \d+ points would be spotted four times in five", competence)
    assert "Burnout signal" in page and "provisional" in page and "not a diagnosis" in page
    assert re.search(r"(Some|Few|Many) signs of strain|Between two zones: the interval spans both", page)
    # Trends as charts with a table alternative, items with their distribution.
    assert html.count('role="img"') == 6 and "Show these figures as a table" in page
    assert "I have a real say in how I organise my own work." in page and "Strongly agree" in page
    # Sub-teams link to their dashboards on the same round.
    assert f'href="/o/acme/teams/{tenant.platform.pk}/?round={rounds[-1].pk}"' in html


def test_a_drop_held_over_three_rounds_is_flagged_as_likely_declined(login, tenant, survey):
    with tenant.scope():
        for number, autonomy in enumerate(FALLING, start=1):
            answers = {tenant.platform: spread(6, centres(autonomy)), tenant.product: spread(6, centres(autonomy))}
            published_round(survey, answers, number=number, days_ago=15 - number)
    html = login(tenant.manager).get(dashboard_url(tenant.engineering)).content.decode()
    autonomy = card(html, "autonomy")
    assert "Likely worsened" in autonomy and "−50 points, comparing rounds 4–6 against rounds 1–3" in autonomy
    assert "No clear change" in card(html, "relatedness")


def test_hr_and_managers_see_where_to_look_first(login, tenant, survey):
    with tenant.scope():
        for number, autonomy in enumerate(FALLING, start=1):
            falling = centres(autonomy)
            steady = centres()
            answers = {tenant.platform: spread(6, falling), tenant.product: spread(6, steady)}
            published_round(survey, answers, number=number, days_ago=15 - number)
    for who, path in ((tenant.hr, "/o/acme/results/"), (tenant.manager, "/o/acme/")):
        page = text(login(who).get(path))
        look = page.split("Where to look first", 1)[1]
        page_wide = "unlikely to be chance even among every team on this page"
        assert re.search(rf"Platform\s*:\s*Autonomy likely worsened \* , {page_wide} −50 points", look)
        assert re.search(r"counting all \d+ comparisons of the \d+ teams with figures here", look)
        assert "Product" not in look.split("Teams", 1)[0]
    html = login(tenant.hr).get("/o/acme/results/?expand=all").content.decode().split("Teams at a glance", 1)[1]
    platform_row = html.split(">Platform</a>", 1)[1].split("</tr>", 1)[0]
    assert "heat-flag-declined" in platform_row and "likely worsened" in platform_row
    product_row = html.split(">Product</a>", 1)[1].split("</tr>", 1)[0]
    assert "heat-flag" not in product_row


def test_no_flag_is_no_all_clear_where_a_drop_would_likely_be_missed(login, tenant, survey):
    def look() -> str:
        page = text(login(tenant.hr).get("/o/acme/results/"))
        return page.split("Where to look first", 1)[1].split("Teams at a glance", 1)[0]

    with tenant.scope():
        published_round(survey, {tenant.platform: spread(6, 4), tenant.product: spread(6, 3)}, number=1)
    first = look()
    assert "No likely change flagged in round 1 among the teams with figures. Changes are checked every round." in first
    # One round: nothing is compared yet, so a drop would go unseen in every team.
    assert "That is not an all-clear: for 4 of these teams, a lasting drop of 13 points could go unseen" in first
    with tenant.scope():
        for number in range(2, 7):
            published_round(survey, {tenant.platform: spread(30, 4), tenant.product: spread(30, 3)}, number=number)
    # Six rounds of large, steady teams: a drop of 13 points would be caught; no warning.
    assert "No likely change flagged in round 6" in look() and "not an all-clear" not in look()


def test_hrs_home_page_summarises_and_leaves_the_table_to_the_results_page(login, tenant, survey):
    with tenant.scope():
        published_round(survey, {tenant.platform: spread(6, 4), tenant.product: spread(6, 2)}, number=1)
    hr = login(tenant.hr).get("/o/acme/").content.decode()
    assert re.search(r"<strong>\d+ of \d+</strong> teams in this round have results of their own", hr)
    assert "team-figures" not in hr and 'href="/o/acme/results/"' in hr
    manager = login(tenant.manager).get("/o/acme/").content.decode()
    assert "team-figures" in manager  # a lead's own teams, each with its figures


def test_hrs_home_lists_the_largest_changes_and_leaves_the_rest_to_the_results_page(login, tenant, survey, monkeypatch):
    monkeypatch.setattr(home_selectors, "SUMMARY_FLAGS", 1)
    with tenant.scope():
        for number, autonomy in enumerate(FALLING, start=1):
            falling = centres(autonomy)
            answers = {tenant.platform: spread(6, falling), tenant.product: spread(6, falling)}
            published_round(survey, answers, number=number, days_ago=15 - number)
    client = login(tenant.hr)

    def flags(path: str) -> tuple[int, str]:
        look = client.get(path).content.decode().split("Where to look first", 1)[1].split("</section>", 1)[0]
        return look.count("<li>"), look

    everywhere, _ = flags("/o/acme/results/")
    listed, home = flags("/o/acme/")
    assert everywhere > 1 and listed == 1
    more = everywhere - 1
    assert f"{more} more likely change{'s' if more > 1 else ''} on the results page</a>" in home
    assert 'href="/o/acme/results/?round=' in home


def test_an_organisation_view_keeps_every_flag_and_words_only_those_that_survive_its_false_discovery_rate(
    tenant, survey, monkeypatch, django_assert_num_queries
):
    from django.core.cache import cache

    from surveys.models import StoredViewFlags
    from surveys.selectors import results as selectors

    with tenant.scope():
        for number, autonomy in enumerate(FALLING, start=1):
            falling = centres(autonomy)
            last = published_round(
                survey, {tenant.platform: spread(6, falling), tenant.product: spread(6, falling)}, number=number
            )
        heatmap = selectors.org_heatmap(round=last)
        flags = selectors.heatmap_flags(heatmap)
        assert {tenant.platform.pk, tenant.product.pk} <= set(flags.changes)
        assert (tenant.platform.pk, "autonomy") in flags.page_wide
        # Every shown cell has a comparison: six constructs of the four teams.
        assert flags.comparisons == 6 * flags.teams and flags.teams == 4
        monkeypatch.setattr(selectors, "page_flags", lambda changes: [False] * len(changes))
        with django_assert_num_queries(2):  # published flags cannot change: read from the cache
            assert selectors.heatmap_flags(heatmap) == flags
        cache.clear()
        with django_assert_num_queries(3):  # the cache emptied: read back from the database, not scored
            assert selectors.heatmap_flags(heatmap) == flags
        cache.clear()
        StoredViewFlags.objects.all().delete()
        # Flags that do not hold page-wide keep their cells; they only lose the page-wide words.
        fewer = selectors.heatmap_flags(heatmap)
        assert fewer.changes == flags.changes and fewer.page_wide == frozenset()


def test_an_earlier_round_shows_the_change_flags_as_they_stood_then(login, tenant, rounds):
    response = login(tenant.manager).get(dashboard_url(tenant.engineering, f"?round={rounds[1].pk}"))
    html = response.content.decode()
    assert "Team pulse · round 2" in text(response)
    assert "Not enough rounds yet" in card(html, "autonomy")
    assert "Likely improved" not in html


def test_the_trend_leaves_a_gap_where_a_round_showed_nothing_for_the_team(login, tenant, survey):
    with tenant.scope():
        for number in range(1, 6):
            answered = 3 if number == 3 else 6
            published_round(
                survey,
                {tenant.platform: spread(answered, 4), tenant.product: spread(6, 3)},
                number=number,
                silent={tenant.platform: 6 - answered},
                days_ago=20 - number,
            )
    html = login(tenant.manager).get(dashboard_url(tenant.platform)).content.decode()
    chart = html[html.index('aria-labelledby="trend-autonomy-title') :].split("</svg>")[0]
    assert chart.count("<polyline") == 2  # rounds 1–2 and 4–5, nothing drawn for round 3
    assert "round 3: not shown" in chart and "round 2: " in chart
    row = html[html.index('<th scope="row">Autonomy</th>') :].split("</tr>")[0]
    assert row.count('aria-label="not shown"') == 1


def test_a_team_smaller_than_k_explains_why_and_shows_no_number(login, tenant, survey):
    with tenant.scope():
        published_round(survey, {tenant.platform: spread(3, 4), tenant.product: spread(7, 3)}, number=1)
    response = login(tenant.manager).get(dashboard_url(tenant.platform))
    page = text(response)
    assert "Platform's 3 people are counted with Product." in page
    assert "its answers are in Product's figures whenever those are shown" in page
    assert "See Product" in page
    html = response.content.decode()
    assert "score-value" not in html and "out of 100" not in page and "answered" not in page.split("Action plans")[0]
    assert 'role="img"' not in html  # no empty trend charts either


def test_a_large_team_with_too_few_answers_says_not_enough_responses(login, tenant, survey):
    with tenant.scope():
        published_round(
            survey, {tenant.platform: spread(5, 4), tenant.product: spread(4, 3)}, number=1, silent={tenant.product: 4}
        )
    page = text(login(tenant.manager).get(dashboard_url(tenant.product)))
    assert "Product has no figures of its own in round 1: fewer than 5 of its 8 people answered." in page
    assert "It is shown whenever at least 5 of them answer (63% or more)." in page
    assert "Its answers are in no figures this round" in page
    assert "out of 100" not in page
    # Engineering's figures are Platform's alone, and say so.
    page = text(login(tenant.manager).get(dashboard_url(tenant.engineering)))
    assert "Partial figures. They leave out Product: fewer than 5 of their people answered" in page


def test_a_team_above_a_surveys_root_says_the_survey_covers_a_team_below(login, tenant):
    platform_only = SurveyFactory(organization=tenant.org, name="Platform pulse", root_team=tenant.platform)
    with tenant.scope():
        published_round(platform_only, {tenant.platform: spread(6, 4)}, number=1)
    client = login(tenant.manager)
    page = text(client.get(dashboard_url(tenant.engineering)))
    assert "This survey covers only Platform and the teams below it." in page and "out of 100" not in page
    assert "Platform pulse" in page
    assert "out of 100" in text(client.get(dashboard_url(tenant.platform)))
    # A survey of another part of the tree is not offered at all.
    assert "Platform pulse" not in text(client.get(dashboard_url(tenant.product)))


def test_a_hidden_item_is_marked_and_its_measure_not_scored(login, tenant, survey):
    with tenant.scope():
        answers = spread(6, 4)
        for person in answers[:2]:
            person[0] = None  # two skip the first autonomy item: 4 < k answered it
        published_round(survey, {tenant.platform: answers, tenant.product: spread(6, 3)}, number=1)
    html = login(tenant.manager).get(dashboard_url(tenant.platform)).content.decode()
    autonomy = card(html, "autonomy")
    assert "Hidden here: fewer than 5 people answered one of its questions, or showing it would let" in autonomy
    assert "out of 100" not in autonomy
    assert "out of 100" in card(html, "competence")


def test_no_figure_appears_for_an_open_or_unpublished_round(login, tenant, survey):
    with tenant.scope():
        open_round = RoundFactory(survey=survey, number=1)
        people = staff(tenant.platform, 6)
        invite_everyone(open_round, people)
        for person in people:
            respond(open_round, person, 4, questions=question_ids(open_round), comment="Open-round comment")
    client = login(tenant.hr)
    page = text(client.get(dashboard_url(tenant.platform)))
    assert "Results appear after the first round closes, for groups of at least 5 people." in page
    assert "Round 1 of Team pulse is open until" in page
    asked = text(client.get(dashboard_url(tenant.platform, f"?round={open_round.pk}")))
    assert "Round 1 of “Team pulse” is still open: its results appear after it closes." in asked
    assert "out of 100" not in asked and "Open-round comment" not in asked
    heatmap = text(client.get("/o/acme/results/"))
    assert "Results appear after the first round closes" in heatmap and "Answered" not in heatmap
    # Closed but not yet published: still nothing.
    open_round.status = RoundStatus.CLOSED
    open_round.save()
    closed = text(client.get(dashboard_url(tenant.platform)))
    assert "has closed; its results are being prepared" in closed and "out of 100" not in closed


def test_bad_round_or_survey_parameters_fall_back_to_the_latest_round(login, tenant, other_tenant, rounds):
    theirs = RoundFactory(survey=SurveyFactory(organization=other_tenant.org), number=1, status=RoundStatus.PUBLISHED)
    client = login(tenant.manager)
    for query in ("?round=abc", "?round=99999999", f"?round={theirs.pk}", "?survey=x", "?round=%C2%B2", "?survey=0"):
        response = client.get(dashboard_url(tenant.engineering, query))
        assert response.status_code == 200, query
        page = text(response)
        assert "Team pulse · round 4" in page, query
        assert "no results to show here" in page and "Showing the latest results instead." in page, query


def test_comments_appear_only_where_released(login, tenant, rounds):
    client = login(tenant.manager)
    engineering = text(client.get(dashboard_url(tenant.engineering)))
    assert "Platform round 4: the new deploy pipeline saves us hours." in engineering
    assert "Product round 4: too many meetings on Fridays." in engineering
    assert "in a random order and without dates" in engineering
    platform = text(client.get(dashboard_url(tenant.platform)))
    assert "deploy pipeline" not in platform and "meetings on Fridays" not in platform
    assert "Comments appear only for groups of at least 10 people who answered" in platform


def test_sub_teams_show_their_indexes_and_mark_hidden_ones(login, tenant, survey):
    field = TeamFactory(parent=tenant.engineering, name="Field")
    with tenant.scope():
        # Field's 3 and Engineering's own 2 people make a reporting unit of 5 at Engineering;
        # Field has no figures of its own, and its row says why.
        answers = {
            tenant.engineering: spread(2, 3),
            tenant.platform: spread(6, 4),
            tenant.product: spread(6, 2),
            field: spread(3, 3),
        }
        published_round(survey, answers, number=1)
    html = login(tenant.manager).get(dashboard_url(tenant.engineering)).content.decode()
    rows = {
        name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
        for name, row in re.findall(r'<tr class="depth-\d+[^"]*">.*?>([A-Za-z]+)</a></th>(.*?)</tr>', html, re.S)
    }
    assert list(rows) == ["Field", "Platform", "Product"]
    assert "Counted with Engineering: 3 people, fewer than 5." in rows["Field"]
    # Six people: a wide interval, drawn in the colour of the score shown, lighter.
    wide = "27 (needs attention, though its interval reaches the next band)"
    assert "100%" in rows["Platform"] and wide in rows["Product"]


def test_the_heatmap_colours_every_score_and_draws_a_wide_interval_lighter(login, tenant, survey):
    with tenant.scope():
        published_round(survey, {tenant.platform: spread(40, 2), tenant.product: spread(6, 2)}, number=1)
    html = login(tenant.hr).get("/o/acme/results/?expand=all").content.decode().split("Teams at a glance", 1)[1]
    cells = {
        team: re.findall(r'<td class="heat ([^"]*)" data-label="([^"]+)">(.*?)</td>', html.split(f">{team}</a>", 1)[1])
        for team in ("Platform", "Product")
    }
    cells = {team: {label: (classes, cell) for classes, label, cell in found[:6]} for team, found in cells.items()}
    # Forty people: a narrow interval, the colour of the score.
    assert cells["Platform"]["Autonomy"][0] == "tone-poor" and "(needs attention)" in cells["Platform"]["Autonomy"][1]
    # Six people: the interval reaches the next band; the colour is still the score's, lighter.
    classes, cell = cells["Product"]["Autonomy"]
    assert classes == "tone-poor heat-uncertain"
    assert "(needs attention, though its interval reaches the next band)" in cell
    # A column per burnout sign, coloured the other way round (low exhaustion is good).
    assert cells["Platform"]["Exhaustion"][0] == "tone-good" and "Mental distance" in cells["Platform"]
    assert "lighter, striped: the interval reaches the next band" in html


# ------------------------------------------------------------------------------------------
# Heatmap


def test_the_heatmap_shows_two_levels_and_opens_a_team_without_script(login, tenant, survey):
    with tenant.scope():
        published_round(survey, {tenant.platform: spread(6, 4), tenant.product: spread(6, 3)}, number=1)
    client = login(tenant.hr)

    def rows(query=""):
        html = client.get(f"/o/acme/results/{query}").content.decode().split("Teams at a glance", 1)[1]
        return html, re.findall(r'<th scope="row" class="tree-name"><a [^>]*>([^<]+)</a>', html)

    html, names = rows()
    assert names == ["Acme", "Engineering"]  # two levels
    assert "2 of 4 teams shown" in html
    opener = re.search(r'class="tree-toggle" href="([^"]+)" aria-expanded="false">Show 2 below', html)[1]
    html, names = rows(opener.replace("&amp;", "&"))
    assert names == ["Acme", "Engineering", "Platform", "Product"]
    assert 'aria-expanded="true">Hide the 2 below' in html
    assert rows("?expand=all")[1] == names


def test_every_team_comes_a_page_at_a_time(login, tenant, survey, monkeypatch):
    from surveys.selectors import dashboard

    monkeypatch.setattr(dashboard, "EVERY_TEAM_PAGE", 3)
    with tenant.scope():
        published_round(survey, {tenant.platform: spread(6, 4), tenant.product: spread(6, 3)}, number=1)
    client = login(tenant.hr)

    def page(query):
        html = client.get(f"/o/acme/results/?expand=all{query}").content.decode().split("Teams at a glance", 1)[1]
        return html, re.findall(r'<th scope="row" class="tree-name"><a [^>]*>([^<]+)</a>', html)

    html, names = page("")
    assert names == ["Acme", "Engineering", "Platform"]
    assert "page 1 of 2 (4 teams in all)" in html and 'rel="next"' in html and 'rel="prev"' not in html
    following = re.search(r'href="([^"]+)" rel="next"', html)[1].replace("&amp;", "&")
    html, names = page(following[following.index("&expand=all") + len("&expand=all") :])
    assert names == ["Product"] and 'rel="prev"' in html and 'rel="next"' not in html
    assert page("&page=99")[1] == ["Product"] and page("&page=x")[1] == ["Acme", "Engineering", "Platform"]


def test_hr_sees_every_team_in_tree_order_with_hidden_rows_marked(login, tenant, survey):
    sales = TeamFactory(parent=tenant.root, name="Sales")
    field = TeamFactory(parent=sales, name="Field")
    with tenant.scope():
        published_round(
            survey,
            {tenant.platform: spread(5, 4), tenant.product: spread(6, 3), sales: spread(7, 2), field: spread(3, 3)},
            number=1,
            silent={tenant.platform: 2},
        )
    html = login(tenant.hr).get("/o/acme/results/?expand=all").content.decode()
    names = re.findall(r'<th scope="row" class="tree-name"><a [^>]*>([^<]+)</a>', html)
    assert names == ["Acme", "Engineering", "Platform", "Product", "Sales", "Field"]
    assert "85%" in html  # Engineering: 11 of 13
    # Platform (5 of 7) and Product (6 of 6) are shown on their own counts; Field, three
    # people, is counted with Sales and has no figure of its own.
    for team, shown in (("Platform", True), ("Product", True), ("Field", False)):
        row = html[html.index(f">{team}</a>") :].split("</tr>")[0]
        assert ("heat-value" in row) == shown, team
    assert "63–100 good" in html and "needs attention" in html


def test_the_colour_key_prints_the_ranges_the_figures_are_coloured_by():
    """The key is worked out from the bands (presentation.colour_key), never typed: every printed
    figure falls in the range of the colour `index_tone` gives it, and of its burnout zone."""
    key = colour_key()
    for figure in range(101):
        (band,) = [band for band in key["bands"] if band.low <= figure <= band.high]
        assert band.name == index_tone(figure)
        (zone,) = [zone for zone in key["zones"].values() if zone.low <= figure <= zone.high]
        assert BURNOUT_TONES[zone.name] == index_tone(figure, higher_is_worse=True)
    assert [(band.low, band.high) for band in key["bands"]] == [(63, 100), (38, 62), (0, 37)]


def test_a_manager_sees_the_heatmap_of_their_teams_only(login, tenant, survey):
    sales = TeamFactory(parent=tenant.root, name="Sales")
    with tenant.scope():
        published_round(
            survey, {tenant.platform: spread(5, 4), tenant.product: spread(6, 3), sales: spread(6, 2)}, number=1
        )
    html = login(tenant.manager).get("/o/acme/results/").content.decode()
    names = re.findall(r'<th scope="row" class="tree-name"><a [^>]*>([^<]+)</a>', html)
    assert names == ["Engineering", "Platform", "Product"]
    assert "The teams you lead and the teams below them" in html
    assert login(tenant.employee).get("/o/acme/results/").status_code == 403


def test_a_manager_of_no_team_sees_an_empty_results_page(login, tenant, survey):
    lone = MembershipFactory(organization=tenant.org, role=Role.MANAGER, team=tenant.product)
    with tenant.scope():
        published_round(survey, {tenant.platform: spread(5, 4), tenant.product: spread(6, 3)}, number=1)
    response = login(lone).get("/o/acme/results/")
    assert response.status_code == 200
    assert "None of your teams takes part in this survey." in text(response)


def test_the_heatmap_lists_only_surveys_covering_the_managers_teams(login, tenant, survey):
    sales = TeamFactory(parent=tenant.root, name="Sales")
    sales_only = SurveyFactory(organization=tenant.org, name="Sales pulse", root_team=sales)
    with tenant.scope():
        published_round(survey, {tenant.platform: spread(5, 4), tenant.product: spread(6, 3)}, number=1)
        sales_round = published_round(sales_only, {sales: spread(6, 3)}, number=1)
    client = login(tenant.manager)
    assert "Sales pulse" not in client.get("/o/acme/results/").content.decode()
    page = text(client.get(f"/o/acme/results/?round={sales_round.pk}"))
    assert "That round has no results to show here." in page and "Team pulse, round 1" in page


# ------------------------------------------------------------------------------------------
# Query counts


def test_the_dashboard_runs_a_fixed_number_of_queries(login, tenant, survey, django_assert_num_queries):
    with tenant.scope():
        history(tenant, survey, rounds=4)
    client = login(tenant.manager)
    # Every visit reads what the figures cover (the frozen tree and units, the Results' team
    # lists: two queries) and which stability estimate the flags use (one); drawn, the figures too.
    with django_assert_num_queries(23):  # drawn: the figures are read
        client.get(dashboard_url(tenant.engineering))
    with django_assert_num_queries(14):  # drawn before: no result is read
        client.get(dashboard_url(tenant.engineering))
    # More rounds, sub-teams and plans: the same number.
    TeamFactory(parent=tenant.engineering, name="Data")
    with tenant.scope():
        history(tenant, SurveyFactory(organization=tenant.org, name="Second"), rounds=6)
        for n in range(3):
            ActionPlan.objects.create(team=tenant.engineering, title=f"Plan {n}")
    # Data, new, has no figures: its row says why (three queries, however many such rows).
    with django_assert_num_queries(26):
        client.get(dashboard_url(tenant.engineering))
    with django_assert_num_queries(14):
        client.get(dashboard_url(tenant.engineering))


def test_a_drawn_dashboard_is_reused_only_while_what_it_shows_is_unchanged(login, tenant, survey, rounds):
    """The figures part of the page is cached as HTML, keyed on everything it is drawn from: a
    second visit shows the same page, and a renamed sub-team or a newly published round draws it
    afresh."""
    client = login(tenant.manager)
    first = client.get(dashboard_url(tenant.engineering)).content.decode()
    assert client.get(dashboard_url(tenant.engineering)).content.decode().count("Round 4") == first.count("Round 4")
    with tenant.scope():
        team_repath(team=tenant.product, path=tenant.engineering.path + "/Product design")
    assert "Product design" in text(client.get(dashboard_url(tenant.engineering)))
    compared = re.compile(r"the same way for every measure: the last (\d+) rounds")
    before = compared.search(text(client.get(dashboard_url(tenant.engineering)))).group(1)
    survey.cadence = "weekly" if survey.cadence != "weekly" else "monthly"
    survey.save(update_fields=["cadence"])
    assert compared.search(text(client.get(dashboard_url(tenant.engineering)))).group(1) != before
    with tenant.scope():  # a fifth round, published after the page was drawn
        published_round(survey, {tenant.platform: spread(5, 3), tenant.product: spread(8, 3)}, number=5)
    column = '<th scope="col" class="num">Round 5</th>'  # the trend table's
    page = client.get(dashboard_url(tenant.engineering, f"?round={rounds[-1].pk}")).content.decode()
    assert "up to round 4" in page and column not in page
    page = client.get(dashboard_url(tenant.engineering)).content.decode()
    assert "up to round 5" in page and column in page


def test_the_heatmap_runs_a_fixed_number_of_queries(login, tenant, survey, django_assert_num_queries):
    """The same whatever the number of teams. The first time a view is seen its change flags
    are computed, with every team's figures (the rounds they look back on, those rounds'
    Results and questions, the stability estimate), looked for in the database first and kept
    there; after that they come from the cache (or the database) and only the teams drawn are
    scored."""
    with tenant.scope():
        history(tenant, survey, rounds=2)
    hr = login(tenant.hr)
    with django_assert_num_queries(16):
        hr.get("/o/acme/results/")
    with django_assert_num_queries(11):
        hr.get("/o/acme/results/")
    squads = {TeamFactory(parent=tenant.platform, name=f"Squad {n}"): spread(5, 3) for n in range(4)}
    with tenant.scope():
        published_round(survey, squads, number=3)
    # Teams of round 3 with nobody invited have no figures: the first time, every team is scored
    # and those rows say why (three queries, however many such rows); the folded page draws none.
    with django_assert_num_queries(19):
        hr.get("/o/acme/results/")
    with django_assert_num_queries(11):
        hr.get("/o/acme/results/")
    manager = login(tenant.manager)
    with django_assert_num_queries(21):
        manager.get("/o/acme/results/")
    with django_assert_num_queries(16):
        manager.get("/o/acme/results/")


def test_the_folded_heatmap_scores_only_the_teams_it_draws(login, tenant, survey, monkeypatch):
    with tenant.scope():
        history(tenant, survey, rounds=2)
    hr = login(tenant.hr)

    def page() -> str:  # the form's CSRF token aside
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", hr.get("/o/acme/results/").content.decode())

    first = page()  # the view's flags are computed and cached
    scored: list[int] = []
    real = results_selectors.team_round_figures
    monkeypatch.setattr(
        results_selectors, "team_round_figures", lambda team, *args: scored.append(team.pk) or real(team, *args)
    )
    assert page() == first
    drawn = {tenant.root.pk, tenant.engineering.pk}  # two levels: Platform and Product are folded away
    assert set(scored) == drawn


# ------------------------------------------------------------------------------------------
# Home page and navigation


def test_the_home_page_links_each_team_to_its_dashboard_with_its_latest_indexes(login, tenant, rounds):
    html = login(tenant.manager).get("/o/acme/").content.decode()
    assert "Teams you lead" in html and "Latest results: Team pulse, round 4" in html
    latest = rounds[-1]
    for team in (tenant.engineering, tenant.platform, tenant.product):
        # The link opens the round the table describes, even once a later round is published.
        assert f'href="/o/acme/teams/{team.pk}/?round={latest.pk}"' in html
    assert html.count('class="heat tone-') == 18  # three teams × (four conditions + two burnout signs)
    assert 'href="/o/acme/results/"' in html


def _words(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_an_employees_home_shows_their_teams_latest_results_and_plans_between_pulses(login, tenant, rounds):
    ActionPlan.all_organizations.create(
        organization=tenant.org, team=tenant.employee.team, round=rounds[-1], title="Focus mornings", status="planned"
    )
    ActionPlan.all_organizations.create(  # another team's plan stays on that team's pages
        organization=tenant.org, team=tenant.product, title="Product's own plan", status="planned"
    )
    page = _words(login(tenant.employee).get("/o/acme/"))
    assert "No pulse is waiting for you" in page
    results = page.split("last published results" if "last published results" in page else "Results for", 1)[1]
    assert "Round 4" in results and "Autonomy" in results
    assert "Focus mornings" in page and "Product's own plan" not in page
    assert "Getting started" not in page  # nothing for an employee to set up


def test_an_employees_home_before_any_results_says_when_they_come(login, tenant):
    page = _words(login(tenant.employee).get("/o/acme/"))
    assert "No published results for" in page and "No action plans yet" in page


def test_hrs_first_steps_show_until_they_are_taken(login, tenant, survey):
    Round = RoundFactory._meta.model
    Round.all_organizations.filter(organization=tenant.org).delete()
    SurveyFactory._meta.model.all_organizations.filter(organization=tenant.org).update(launched_at=None)
    page = _words(login(tenant.hr).get("/o/acme/"))
    assert "Getting started" in page
    assert "Done Import your roster" in page  # four people have teams already
    assert 'href="/o/acme/surveys/"' in login(tenant.hr).get("/o/acme/").content.decode()
    with tenant.scope():
        history(tenant, SurveyFactory(organization=tenant.org, name="Launched"), rounds=1)
    assert "Getting started" not in _words(login(tenant.hr).get("/o/acme/"))


def test_a_managers_first_steps_say_what_happens_next_until_their_teams_first_results(login, tenant, survey):
    page = _words(login(tenant.manager).get("/o/acme/"))
    assert "Getting started" in page and "A pulse opens for your team" in page
    assert "agree one or two action plans" in page
    RoundFactory(survey=survey, status=RoundStatus.OPEN)
    assert "Done A pulse opens for your team" in _words(login(tenant.manager).get("/o/acme/"))
    with tenant.scope():
        history(tenant, survey, rounds=1)
    page = _words(login(tenant.manager).get("/o/acme/"))
    assert "Getting started" not in page
    assert "Your team's last published results" not in page  # a lead's teams are in the table instead


def test_the_results_link_is_for_managers_and_hr(login, tenant):
    assert "/o/acme/results/" not in login(tenant.employee).get("/o/acme/").content.decode()
    for membership in (tenant.manager, tenant.hr):
        nav = login(membership).get("/o/acme/").content.decode().split("</nav>")[0]
        assert 'href="/o/acme/results/"' in nav


# ------------------------------------------------------------------------------------------
# Action plans


def plan_url(team, suffix: str = "") -> str:
    return f"/o/acme/teams/{team.pk}/plans/{suffix}"


def test_a_manager_adds_a_plan_linked_to_a_round(login, tenant, rounds):
    client = login(tenant.manager)
    form = client.get(plan_url(tenant.platform, f"new/?round={rounds[-1].pk}"))
    assert "People in Platform see this plan after they answer a pulse" in text(form)
    due = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
    response = client.post(
        plan_url(tenant.platform, f"new/?round={rounds[-1].pk}"),
        {
            "title": "  Share   the release work ",
            "description": "Pair up.",
            "status": "planned",
            "due_on": due,
            "round": rounds[-1].pk,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/o/acme/teams/{tenant.platform.pk}/?round={rounds[-1].pk}#action-plans"
    with tenant.scope():
        plan = ActionPlan.objects.get()
    assert (plan.title, plan.team, plan.owner, plan.round) == (
        "Share the release work",
        tenant.platform,
        tenant.manager,
        rounds[-1],
    )
    page = text(client.get(response["Location"]))
    assert "Share the release work" in page and "After Team pulse, round 4" in page and "Planned" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": ""}, "Give the plan a short title"),
        ({"title": "   "}, "Give the plan a short title"),
        ({"title": "x" * 201}, "at most 200 characters"),
        ({"due_on": "2001-01-01"}, "Choose a due date from today onwards"),
        ({"due_on": "31/02/2030"}, "Enter a valid date"),
        ({"status": "abandoned"}, "Select a valid choice"),
        ({"round": "99999999"}, "Select a valid choice"),
    ],
)
def test_a_bad_plan_is_refused_and_keeps_what_was_typed(login, tenant, rounds, data, message):
    client = login(tenant.manager)
    posted = {"title": "Fewer meetings", "description": "Cancel the weekly sync.", "status": "in_progress", **data}
    response = client.post(plan_url(tenant.platform, "new/"), posted)
    assert response.status_code == 200
    page = text(response)
    assert message in page and "Some answers need another look." in page
    assert "Cancel the weekly sync." in page
    with tenant.scope():
        assert not ActionPlan.objects.exists()


def test_a_plan_cannot_point_at_an_open_round_or_another_organisations(login, tenant, other_tenant, rounds, survey):
    with tenant.scope():
        open_round = RoundFactory(survey=survey, number=9)
    theirs = RoundFactory(survey=SurveyFactory(organization=other_tenant.org), number=1, status=RoundStatus.PUBLISHED)
    client = login(tenant.manager)
    for round_ in (open_round, theirs):
        response = client.post(
            plan_url(tenant.platform, "new/"), {"title": "T", "status": "planned", "round": round_.pk}
        )
        assert "Select a valid choice" in text(response)
    with tenant.scope(), pytest.raises(PulseError, match="Choose a round"):
        action_plan_create(team=tenant.platform, owner=None, fields=ActionPlanFields("T", round=open_round))


def test_editing_a_plan_and_changing_its_status(login, tenant, rounds):
    with tenant.scope():
        plan = action_plan_create(team=tenant.product, owner=tenant.manager, fields=ActionPlanFields("Calmer planning"))
    client = login(tenant.manager)
    edit = client.get(plan_url(tenant.product, f"{plan.pk}/"))
    assert 'value="Calmer planning"' in edit.content.decode()
    response = client.post(
        plan_url(tenant.product, f"{plan.pk}/"), {"title": "Calmer sprint planning", "status": "in_progress"}
    )
    assert response.status_code == 302
    bad = client.post(plan_url(tenant.product, f"{plan.pk}/"), {"title": "", "status": "done"})
    assert bad.status_code == 200 and "Give the plan a short title" in text(bad)
    response = client.post(plan_url(tenant.product, f"{plan.pk}/status/"), {"status": "done"}, follow=True)
    assert "“Calmer sprint planning” is now done." in text(response)
    response = client.post(plan_url(tenant.product, f"{plan.pk}/status/"), {"status": "finished"}, follow=True)
    assert "Choose planned, in progress or done." in text(response)
    plan.refresh_from_db()
    assert (plan.title, plan.status) == ("Calmer sprint planning", ActionPlanStatus.DONE)
    assert client.get(plan_url(tenant.product, f"{plan.pk}/status/")).status_code == 302  # GET changes nothing


def test_a_plan_whose_due_date_has_passed_can_still_be_finished(tenant):
    with tenant.scope():
        plan = action_plan_create(
            team=tenant.product, owner=None, fields=ActionPlanFields("Retro", due_on=timezone.localdate())
        )
        ActionPlan.objects.filter(pk=plan.pk).update(due_on=timezone.localdate() - dt.timedelta(days=30))
        plan.refresh_from_db()
        done = action_plan_update(
            plan=plan, fields=ActionPlanFields("Retro", status=ActionPlanStatus.DONE, due_on=plan.due_on)
        )
        assert done.status == ActionPlanStatus.DONE
        with pytest.raises(PulseError, match="due date"):
            action_plan_update(
                plan=done, fields=ActionPlanFields("Retro", due_on=timezone.localdate() - dt.timedelta(days=1))
            )


def test_plans_are_reached_only_through_a_team_one_may_see(login, tenant, other_tenant):
    sales = TeamFactory(parent=tenant.root, name="Sales")
    with tenant.scope():
        theirs = ActionPlan.objects.create(team=sales, title="Sales plan")
        product = ActionPlan.objects.create(team=tenant.product, title="Product plan")
    with other_tenant.scope():
        globex = ActionPlan.objects.create(team=other_tenant.platform, title="Globex plan")
    client = login(tenant.manager)
    assert client.get(plan_url(sales, f"{theirs.pk}/")).status_code == 404
    assert client.post(plan_url(sales, f"{theirs.pk}/status/"), {"status": "done"}).status_code == 404
    assert client.post(plan_url(sales, "new/"), {"title": "Sneaky", "status": "planned"}).status_code == 404
    assert client.get(plan_url(tenant.platform, f"{product.pk}/")).status_code == 404  # another team's plan id
    assert client.get(plan_url(tenant.platform, f"{globex.pk}/")).status_code == 404
    assert login(tenant.employee).get(plan_url(tenant.product, f"{product.pk}/")).status_code == 403
    theirs.refresh_from_db()
    assert theirs.status == ActionPlanStatus.PLANNED


def test_the_dashboard_lists_the_teams_plans_with_their_status(login, tenant, rounds):
    with tenant.scope():
        ActionPlan.objects.create(
            team=tenant.engineering,
            title="Focus Fridays",
            status="in_progress",
            due_on=timezone.localdate() - dt.timedelta(days=2),
        )
        ActionPlan.objects.create(team=tenant.platform, title="Platform only")
    page = text(login(tenant.manager).get(dashboard_url(tenant.engineering)))
    assert "Focus Fridays" in page and "In progress" in page and "Overdue" in page
    assert "Platform only" not in page
    assert "People in Engineering see these plans after they answer a pulse" in page


def test_hr_home_counts_the_programme_of_its_own_organisation(login, tenant, other_tenant, django_assert_num_queries):
    from surveys.selectors.home import programme_overview

    RoundFactory(survey=SurveyFactory(organization=tenant.org, name="Pulse"))
    RoundFactory(survey=SurveyFactory(organization=other_tenant.org, name="Theirs"))
    with tenant.scope(), django_assert_num_queries(1):
        counts = programme_overview(membership=tenant.hr)
    # Four people and four teams (Acme, Engineering, Platform, Product); Globex's are not counted.
    assert counts == {"people": 4, "teams": 4, "surveys": 1, "open_rounds": 1}
    html = re.sub(r"\s+", " ", login(tenant.hr).get("/o/acme/").content.decode())
    assert '<div class="stat">4</div><div class="stat-label">active people</div>' in html
    assert '<div class="stat">1</div><div class="stat-label">rounds open now</div>' in html


def test_the_results_pages_work_with_the_cache_down(login, tenant, rounds, settings, caplog):
    """A cache that cannot be reached is a miss: every results page is drawn afresh, none fails."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": settings.PULSE_CACHE_OPTIONS,  # as production has them
        }
    }
    for who, path in (
        (tenant.manager, dashboard_url(tenant.engineering)),
        (tenant.manager, dashboard_url(tenant.engineering)),
        (tenant.hr, "/o/acme/results/"),
        (tenant.hr, "/o/acme/"),
    ):
        response = login(who).get(path)
        assert response.status_code == 200, path
    assert "Over time" in login(tenant.manager).get(dashboard_url(tenant.engineering)).content.decode()
    assert any("Error" in record.getMessage() or record.exc_info for record in caplog.records if "redis" in record.name)
