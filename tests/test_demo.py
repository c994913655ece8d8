"""`manage.py demo`, seeded once per test run (the `demo` fixture; `make test` runs a module's
tests on one worker, so this module seeds it once), and a crawl of every link each demo role
is shown."""

import re

from django.core.management import call_command

from surveys.core.tenancy import organization_scope
from surveys.demo import DEMO_LOGINS, DEMO_PASSWORD
from surveys.models import Membership, Organization, Result, Role, Round, RoundStatus, Team
from surveys.privacy.audit import audit_round
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
