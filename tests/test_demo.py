"""`manage.py demo`, seeded once per test run (the `demo` fixture; `make test` runs a module's
tests on one worker, so this module seeds it once), and a crawl of every link each demo role
is shown."""

import re
from html import escape

from django.core.management import call_command

from surveys.core.tenancy import organization_scope
from surveys.demo import DEMO_LOGINS, DEMO_PASSWORD, TEAM_STORIES
from surveys.engine.changes import CHANGE_LABELS
from surveys.models import (
    HIGHER_IS_WORSE,
    PILLARS,
    Construct,
    Membership,
    Organization,
    Result,
    Role,
    Round,
    RoundStatus,
    Team,
)
from surveys.privacy.audit import audit_round
from surveys.selectors.results import team_round_results
from tests.support.crawl import crawl


def _demo(capsys, *args) -> str:
    call_command("demo", *args)
    return capsys.readouterr().out


def test_demo_seeds_two_organizations_whose_printed_logins_work(demo, client):
    out = demo
    northwind = Organization.objects.get(slug="northwind")
    assert Organization.objects.filter(slug="globex").exists()
    people = Membership.all_organizations.filter(organization=northwind)
    assert people.count() >= 60
    assert people.filter(role=Role.MANAGER).count() >= 5 and people.filter(role=Role.HR).exists()
    assert max(team.depth for team in Team.all_organizations.filter(organization=northwind)) >= 2
    for _, email, _ in DEMO_LOGINS:
        assert email in out
        assert client.login(username=email, password=DEMO_PASSWORD), email
        client.logout()
    assert DEMO_PASSWORD in out


def test_demo_has_published_rounds_that_pass_the_audit_and_an_open_round_with_a_working_link(demo, client):
    out = demo
    for organization in Organization.objects.filter(slug__in=["northwind", "globex"]):
        with organization_scope(organization):
            published = list(Round.objects.filter(status=RoundStatus.PUBLISHED).order_by("number"))
            assert len(published) >= 3
            for round_ in published:
                report = audit_round(round_)
                assert report.ok, report.summary()
                assert round_.closes_at < Round.objects.get(survey=round_.survey, status=RoundStatus.OPEN).opens_at
            assert Result.objects.filter(round=published[-1]).exists()
    with organization_scope(Organization.objects.get(slug="northwind")):
        assert Result.objects.filter(round__number=6).count() >= 10
        assert Result.objects.filter(team__name="Payments").exists()
        assert not Result.objects.filter(team__name="People & Culture").exists()  # 3 people: below k
        assert Result.objects.filter(comments_released=True).exists()
    link = re.search(r"http://127\.0\.0\.1:8000(/answer/northwind/[\w-]+/)", out)
    assert link, out
    page = client.get(link[1])
    assert page.status_code == 200 and b"Send my answers" in page.content


def test_the_demos_stories_are_flagged_where_people_look_first_and_steady_teams_are_not(demo, client):
    def look_first(email: str, path: str) -> str:
        client.login(email=email, password=DEMO_PASSWORD)
        html = client.get(path).content.decode()
        client.logout()
        section = html.split('id="look-first-title"', 1)[1].split("</section>", 1)[0]
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))

    hr = look_first("hr@northwind.example", "/o/northwind/results/")
    assert re.search(r"Payments :? ?Autonomy likely worsened", hr)
    assert re.search(r"Support EMEA :? ?Exhaustion likely worsened", hr)
    for steady in ("Platform", "Logistics", "Inside Sales"):
        assert steady not in hr
    manager = look_first("manager@northwind.example", "/o/northwind/")
    assert re.search(r"Payments :? ?Autonomy likely worsened", manager) and "Platform" not in manager


#: Department cells that hold a planted story one level up (README, "Try it"): flagged or not, in
#: the story's direction they are the story seen from above, not a new one.
STORY_SEEN_ABOVE = {
    "Engineering": {"autonomy", "exhaustion", "competence"},
    "Operations": {"exhaustion", "mental_distance"},
    "Support": {"exhaustion", "mental_distance"},
    "Sales": {"relatedness"},
    "Northwind": {"autonomy", "competence", "relatedness", "exhaustion", "mental_distance"},
}


def _planted(team: str, construct: str) -> str | None:
    """ "improved" or "declined" where a story (or a department holding one) would be flagged."""
    stories = {team: TEAM_STORIES[team]} if team in TEAM_STORIES else {}
    if construct in STORY_SEEN_ABOVE.get(team, ()):
        stories = {name: told for name, told in TEAM_STORIES.items() if construct in told}
    directions = set()
    for told in stories.values():
        if construct in told:
            start, end = told[construct]
            directions.add("improved" if (end > start) != (construct in HIGHER_IS_WORSE) else "declined")
    return directions.pop() if len(directions) == 1 else None


def test_every_planted_trend_is_flagged_on_its_team_and_on_the_heatmap_and_nothing_else_is(demo, client):
    northwind = Organization.objects.get(slug="northwind")
    with organization_scope(northwind):
        latest = Round.objects.filter(status=RoundStatus.PUBLISHED).order_by("-number").first()
        teams = {team.name: team for team in Team.objects.all()}
    client.login(username="hr@northwind.example", password=DEMO_PASSWORD)
    heatmap = client.get("/o/northwind/results/?expand=all").content.decode().split("Teams at a glance", 1)[1]
    labels = {label: construct for construct, label in Construct.choices}

    def heat_row(name: str) -> dict[str, str]:
        row = heatmap.split(f">{escape(name)}</a>", 1)[1].split("</tr>", 1)[0]
        cells = re.findall(r'<td class="heat [^"]*" data-label="([^"]+)">(.*?)</td>', row)
        return {labels[label]: cell for label, cell in cells}

    for team, stories in TEAM_STORIES.items():
        page = client.get(f"/o/northwind/teams/{teams[team].pk}/").content.decode()
        assert f"round {latest.number}" in page
        row = heat_row(team)
        for construct in stories:
            status = _planted(team, construct)
            card = re.search(rf'aria-labelledby="card-{construct}".*?</article>', page, re.S)[0]
            assert str(CHANGE_LABELS[status]) in card, (team, construct)
            assert f"heat-flag-{status} heat-flag-page" in row[construct], (team, construct)  # page-wide too
    # Nothing unplanted: every flag on the heatmap is a story, or a department holding one.
    for name in teams:
        for construct, cell in heat_row(name).items():
            found = re.search(r"heat-flag-(improved|declined)", cell)
            if found:
                assert found[1] == _planted(name, construct), (name, construct)


def test_the_demo_answers_like_a_real_organisation_and_shows_its_storied_teams(demo, client):
    northwind = Organization.objects.get(slug="northwind")
    with organization_scope(northwind):
        closed = list(Round.objects.filter(status=RoundStatus.PUBLISHED).order_by("number"))
        results = list(Result.objects.filter(round__in=closed).select_related("team", "round"))
        # Every team with figures, every closed round: 60–85% of its people answered.
        rates = {(r.team.name, r.round.number): r.n / r.invited for r in results}
        assert all(0.60 <= rate <= 0.85 for rate in rates.values()), rates
        assert len({round(rates["Payments", r.number], 2) for r in closed}) > 1  # it varies by round
        latest = closed[-1]
        shown = {r.team.name: r for r in results if r.round == latest}
        # Every storied team is shown in the latest round, with every item of its stories.
        for team, stories in TEAM_STORIES.items():
            figures = team_round_results(team=shown[team].team, round=latest)
            for construct in stories:
                assert not figures.construct(construct).suppressed, (team, construct)
        # Field Sales shows its four conditions and every question whenever it has figures.
        for result in (r for r in results if r.team.name == "Field Sales"):
            figures = team_round_results(team=result.team, round=result.round)
            assert all(not figures.construct(c).suppressed for c in PILLARS) and figures.items
            assert all(not item.suppressed for item in figures.items), result.round.number
    client.login(username="hr@northwind.example", password=DEMO_PASSWORD)
    page = client.get(f"/o/northwind/teams/{shown['Field Sales'].team.pk}/").content.decode()
    assert all(f'aria-labelledby="card-{construct}"' in page for construct in PILLARS)
    assert "Hidden here" not in page


def test_the_demo_prints_and_links_the_address_it_serves(demo, capsys, settings):
    settings.PULSE_BASE_URL = "http://127.0.0.1:8101"  # what `make demo PORT=8101` sets
    out = _demo(capsys)
    assert "open http://127.0.0.1:8101/ and sign in" in out
    assert re.search(r"http://127\.0\.0\.1:8101/answer/northwind/[\w-]+/", out), out


def test_demo_runs_twice_without_duplicating_and_resets_on_request(demo, capsys):
    first = demo
    second = _demo(capsys)
    assert "already there" in second
    # Each run issues a new link for the demo employee (only its hash is kept).
    assert re.search(r"/answer/northwind/\S+", first)[0] != re.search(r"/answer/northwind/\S+", second)[0]
    count = Membership.all_organizations.count(), Round.all_organizations.count()
    _demo(capsys, "--reset")
    assert (Membership.all_organizations.count(), Round.all_organizations.count()) == count


ROLES = ["hr@northwind.example", "manager@northwind.example", "employee@northwind.example", "director@globex.example"]


def test_every_link_each_role_is_shown_opens(demo, client):
    for email in ROLES:
        assert client.login(username=email, password=DEMO_PASSWORD), email
        pages = crawl(client, "/")
        broken = {url: status for url, status in pages.items() if status >= 400}
        assert not broken, (email, broken)
        assert len(pages) >= 3, email
        client.logout()
