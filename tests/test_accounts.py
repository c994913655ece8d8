"""Accounts for people a roster brings in: the set-up e-mail, the one-time link (expiry, reuse,
another organisation), and the password form that also opens accounts."""

import re

import pytest

from surveys.models import Membership, User
from surveys.services.accounts import account_setup_link
from tests.support.factories import PASSWORD
from tests.support.roster import ACME, roster

NEW_PASSWORD = "a long and unusual passphrase 42"


@pytest.fixture
def run_hooks(django_capture_on_commit_callbacks):
    """Run what services queue after commit (the e-mails), as a real request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def import_acme(tenant, run_hooks, lines=ACME):
    from surveys.services.roster import roster_import_confirm, roster_import_start

    with tenant.scope(), run_hooks():
        started = roster_import_start(
            organization=tenant.org, uploaded_by=tenant.hr, filename="roster.csv", content=roster(*lines)
        )
        roster_import_confirm(roster_import=started, confirmed_by=tenant.hr, large_deactivation_ok=True)


def link_in(message) -> str:
    found = re.search(r"http://testserver(/accounts/activate/\S+/)", message.body)
    assert found, message.body
    return found.group(1)


def activate(client, path: str, password: str = NEW_PASSWORD):
    """Follow a set-up link as a browser does: the token moves to the session, then the form."""
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    if not form_page.context["validlink"]:
        return form_page
    return client.post(
        form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}, follow=True
    )


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.PULSE_BASE_URL = "http://testserver"


def test_imported_managers_hr_and_admins_get_a_set_up_link_and_employees_do_not(tenant, mailoutbox, run_hooks):
    import_acme(tenant, run_hooks)
    # lead is a new manager; dev and new are employees; hr and admin already have passwords.
    assert [message.to for message in mailoutbox] == [["lead@acme.test"]]
    message = mailoutbox[0]
    assert message.subject == "Acme: set up your Pulse account"
    assert "as manager" in message.body and "works once, for 3 days" in message.body
    assert "http://testserver/accounts/login/" in message.body
    html = message.alternatives[0][0]
    assert link_in(message) in html and "Set your password" in html
    with tenant.scope():
        assert Membership.objects.get(user__email="lead@acme.test").account_invited_at is not None


def test_an_imported_manager_sets_a_password_and_opens_the_team_dashboard(tenant, client, mailoutbox, run_hooks):
    import_acme(tenant, run_hooks)
    page = activate(client, link_in(mailoutbox[0]))
    assert page.redirect_chain[-1][0] == "/o/acme/"  # signed in, at home
    assert "Lee Lead" in page.content.decode() or "Lee" in page.content.decode()
    with tenant.scope():
        engineering = tenant.engineering
    assert client.get(f"/o/acme/teams/{engineering.pk}/").status_code == 200
    client.logout()
    assert client.login(username="lead@acme.test", password=NEW_PASSWORD)


def test_a_set_up_link_works_once(tenant, client, mailoutbox, run_hooks):
    import_acme(tenant, run_hooks)
    path = link_in(mailoutbox[0])
    activate(client, path)
    client.logout()
    again = activate(client, path, password="another passphrase entirely 77")
    assert "This link has expired or was used" in again.content.decode()
    assert client.login(username="lead@acme.test", password=NEW_PASSWORD)


def test_a_set_up_link_expires(tenant, client, mailoutbox, run_hooks, settings):
    import_acme(tenant, run_hooks)
    settings.PULSE_SETUP_LINK_HOURS = -1  # every link made is already too old
    page = activate(client, link_in(mailoutbox[0]))
    assert "This link has expired or was used" in page.content.decode()
    assert not User.objects.get(email="lead@acme.test").has_usable_password()


def test_a_link_opens_only_the_account_it_was_made_for(tenant, other_tenant, client):
    lead = User.objects.create_user("lead@acme.test", name="Lee")
    other = User.objects.create_user("other@globex.test", name="Olga")
    token = account_setup_link(lead).rstrip("/").rsplit("/", 1)[1]
    other_uid = account_setup_link(other).rstrip("/").rsplit("/", 2)[1]
    page = activate(client, f"/accounts/activate/{other_uid}/{token}/")
    assert "This link has expired or was used" in page.content.decode()


def test_someone_already_on_pulse_elsewhere_is_not_asked_to_set_up_again(tenant, other_tenant, mailoutbox, run_hooks):
    import_acme(tenant, run_hooks, lines=(*ACME, "manager@globex.test,Gus,Acme/Engineering,manager,Acme/Engineering"))
    assert ["manager@globex.test"] not in [message.to for message in mailoutbox]
    with tenant.scope():
        assert Membership.objects.get(user__email="manager@globex.test").role == "manager"


def test_an_imported_person_of_two_organisations_reaches_both_after_one_set_up(
    tenant, other_tenant, client, mailoutbox, run_hooks
):
    from surveys.services.roster import roster_import_confirm, roster_import_start

    import_acme(tenant, run_hooks)
    with other_tenant.scope(), run_hooks():
        started = roster_import_start(
            organization=other_tenant.org,
            uploaded_by=other_tenant.hr,
            filename="globex.csv",
            content=roster("lead@acme.test,Lee Lead,Globex,manager,Globex"),
            mode="add",
        )
        roster_import_confirm(roster_import=started, confirmed_by=other_tenant.hr, large_deactivation_ok=False)
    invitations = [message for message in mailoutbox if message.to == ["lead@acme.test"]]
    assert [message.subject for message in invitations] == [
        "Acme: set up your Pulse account",
        "Globex: set up your Pulse account",
    ]
    page = activate(client, link_in(invitations[1]))
    assert page.redirect_chain[-1][0] == "/"  # a chooser: two organisations
    assert client.get("/o/acme/").status_code == client.get("/o/globex/").status_code == 200
    assert "This link has expired or was used" in activate(client, link_in(invitations[0])).content.decode()


# The password form opens accounts too ------------------------------------------------------------


def test_the_password_form_sends_a_link_to_an_imported_employee_without_a_password(
    tenant, client, mailoutbox, run_hooks
):
    import_acme(tenant, run_hooks)
    mailoutbox.clear()
    page = client.post("/accounts/password/reset/", {"email": "New@Acme.test"}, follow=True)
    assert "Check your e-mail" in page.content.decode()
    (message,) = mailoutbox
    assert message.to == ["new@acme.test"] and message.subject == "Pulse: choose a new password"
    found = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body)
    assert found, message.body
    page = client.get(found.group(1), follow=True)
    client.post(page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert client.login(username="new@acme.test", password=NEW_PASSWORD)


def test_the_password_form_sends_nothing_for_unknown_or_deactivated_people_and_says_the_same(
    tenant, client, mailoutbox
):
    Membership.all_organizations.filter(pk=tenant.employee.pk).update(is_active=False)
    user = tenant.employee.user
    user.set_unusable_password()
    user.save()
    for email in ("nobody@acme.test", "employee@acme.test"):
        page = client.post("/accounts/password/reset/", {"email": email}, follow=True)
        assert "If an account exists for that address" in page.content.decode()
    assert mailoutbox == []


def test_the_password_form_still_works_for_people_with_a_password(tenant, client, mailoutbox):
    client.post("/accounts/password/reset/", {"email": "hr@acme.test"})
    assert [message.to for message in mailoutbox] == [["hr@acme.test"]]
    assert "http://testserver/accounts/password/reset/" in mailoutbox[0].body
    assert "Pulse" in mailoutbox[0].alternatives[0][0]
    assert client.login(username="hr@acme.test", password=PASSWORD)  # unchanged until the link is used
