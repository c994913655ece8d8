from django.core.management import call_command

from surveys.demo import DEMO_LOGINS, DEMO_PASSWORD
from surveys.models import Membership, Organization, Role, Team


def test_demo_seeds_two_organizations_whose_printed_logins_work(db, client, capsys):
    call_command("demo")
    out = capsys.readouterr().out
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


def test_demo_runs_twice_without_duplicating_and_resets_on_request(db, capsys):
    call_command("demo")
    call_command("demo")
    assert "already there" in capsys.readouterr().out
    count = Membership.all_organizations.count()
    call_command("demo", "--reset")
    assert Membership.all_organizations.count() == count
