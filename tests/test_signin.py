"""Sign-in slows attackers and never locks people out (surveys/signin.py): guessing from one
address waits longer each time, a fresh address and a known browser always get checked, spraying
tightens every address's budget, and the client's address comes from the trusted proxy only."""

import re
import time

import pytest
from django.test import Client, RequestFactory

from surveys.signin import Tarpit, client_address, site_failures
from tests.support.factories import PASSWORD


def sign_in(client, email, password, path="/accounts/login/", **extra):
    return client.post(path, {"username": email, "password": password}, **extra)


def wrong(client, email, times, address, path="/accounts/login/"):
    for attempt in range(times):
        assert sign_in(client, email, f"wrong-{attempt}", path=path, REMOTE_ADDR=address).status_code in (200, 429)


def test_outsiders_guessing_never_lock_the_owner_out(tenant):
    email = tenant.hr.user.email
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        wrong(Client(), email, 12, address)
    # The right password from an address that has not failed on the account: in at once.
    assert sign_in(Client(), email, PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 302


def test_one_address_guessing_one_account_waits_longer_each_time_and_is_told_how_long(tenant, settings):
    email, guesser = tenant.manager.user.email, Client()
    wrong(guesser, email, settings.PULSE_SIGNIN_FREE_FAILURES, "10.1.1.1")
    refused = sign_in(guesser, email, PASSWORD, REMOTE_ADDR="10.1.1.1")
    assert refused.status_code == 429  # not checked: even the right password waits its turn
    page = refused.content.decode()
    assert "Try again in 1 second" in page and "set a new password" in page
    assert f'value="{email}"' in page  # what was typed stays
    time.sleep(1.1)
    assert sign_in(guesser, email, "wrong-again", REMOTE_ADDR="10.1.1.1").status_code == 200  # checked, wrong
    assert "Try again in 2 seconds" in sign_in(guesser, email, PASSWORD, REMOTE_ADDR="10.1.1.1").content.decode()


def test_the_owner_who_mistyped_once_is_not_held_back(tenant):
    email, owner = tenant.employee.user.email, Client()
    wrong(Client(), email, 20, "10.2.2.2")  # an outsider
    assert sign_in(owner, email, "typo", REMOTE_ADDR="10.2.2.9").status_code == 200
    assert sign_in(owner, email, PASSWORD, REMOTE_ADDR="10.2.2.9").status_code == 302


def test_a_browser_that_signed_in_before_is_always_checked(tenant, settings):
    email, browser = tenant.admin.user.email, Client()
    assert sign_in(browser, email, PASSWORD, REMOTE_ADDR="10.3.3.3").status_code == 302
    assert "pulse_known" in browser.cookies
    browser.post("/accounts/logout/")  # signed out, the browser still remembers the account
    settings.PULSE_SIGNIN_ADDRESS_FAILURES = 2
    wrong(Client(), email, 10, "10.3.3.3")  # someone else on the same network, over its budget
    assert sign_in(Client(), email, PASSWORD, REMOTE_ADDR="10.3.3.3").status_code == 429
    assert sign_in(browser, email, PASSWORD, REMOTE_ADDR="10.3.3.3").status_code == 302


def test_an_address_over_its_budget_is_refused_before_any_query(tenant, settings, django_assert_num_queries):
    settings.PULSE_SIGNIN_ADDRESS_FAILURES = 4
    people = [tenant.hr, tenant.manager, tenant.employee, tenant.admin]
    for person in people:
        wrong(Client(), person.user.email, 1, "10.4.4.4")
    with django_assert_num_queries(0):
        refused = sign_in(Client(), tenant.manager.user.email, PASSWORD, REMOTE_ADDR="10.4.4.4")
    assert refused.status_code == 429 and "Set a new password" in refused.content.decode()
    assert sign_in(Client(), tenant.manager.user.email, PASSWORD, REMOTE_ADDR="10.4.4.5").status_code == 302


def test_spraying_tightens_every_address_but_never_refuses_a_fresh_one(tenant, other_tenant, settings):
    settings.PULSE_SIGNIN_SITE_FAILURES = 6
    settings.PULSE_SIGNIN_SPRAYING_ADDRESS_FAILURES = 1
    victims = [tenant.hr, tenant.manager, tenant.employee, other_tenant.hr, other_tenant.manager, tenant.admin]
    for number, person in enumerate(victims):  # one guess per account, each from a new address
        assert sign_in(Client(), person.user.email, "Summer2026!", REMOTE_ADDR=f"10.5.0.{number}").status_code == 200
    assert site_failures() == 6
    # A sprayer's address that already failed once is now refused on any account...
    assert sign_in(Client(), tenant.admin.user.email, "Winter2026!", REMOTE_ADDR="10.5.0.0").status_code == 429
    # ...while the owner from an address of their own gets in.
    assert sign_in(Client(), tenant.admin.user.email, PASSWORD, REMOTE_ADDR="10.5.9.9").status_code == 302


def test_setting_a_password_from_an_e_mailed_link_forgives_every_address(tenant, client, mailoutbox, settings):
    settings.PULSE_BASE_URL = "http://testserver"
    email = tenant.hr.user.email
    wrong(Client(), email, 8, "10.6.6.6")
    assert sign_in(Client(), email, PASSWORD, REMOTE_ADDR="10.6.6.6").status_code == 429
    client.post("/accounts/password/reset/", {"email": email})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mailoutbox[-1].body)[1]
    form = client.get(link)["Location"]
    new = "A fresh start 2026"
    client.post(form, {"new_password1": new, "new_password2": new})
    assert sign_in(Client(), email, new, REMOTE_ADDR="10.6.6.6").status_code == 302


def test_the_admin_sign_in_follows_the_same_rules(client, django_user_model, settings):
    staff = django_user_model.objects.create_user("staff@pulse.test", password=PASSWORD, is_staff=True)
    wrong(client, staff.email, settings.PULSE_SIGNIN_FREE_FAILURES, "10.7.7.7", path="/admin/login/")
    refused = sign_in(client, staff.email, PASSWORD, path="/admin/login/", REMOTE_ADDR="10.7.7.7")
    assert "Try again in 1 second" in refused.content.decode()
    assert sign_in(Client(), staff.email, PASSWORD, path="/admin/login/", REMOTE_ADDR="10.7.7.8").status_code == 302


def test_the_client_address_comes_from_the_trusted_proxy_only(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_address(request) == "10.0.0.1"  # no proxy trusted: the header is the client's word
    settings.PULSE_TRUSTED_PROXY_HOPS = 1
    assert client_address(request) == "203.0.113.9"  # what the TLS proxy saw, not what was forged before it
    settings.PULSE_TRUSTED_PROXY_HOPS = 2
    assert client_address(request) == "6.6.6.6"
    ipv6 = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:3:4:5:6")
    assert client_address(ipv6) == "2001:db8:1:2::/64"


def test_behind_a_proxy_guessers_do_not_stop_everyone_else(tenant, settings):
    settings.PULSE_TRUSTED_PROXY_HOPS = 1
    settings.PULSE_SIGNIN_ADDRESS_FAILURES = 3
    for _ in range(6):
        sign_in(Client(), tenant.hr.user.email, "guess", REMOTE_ADDR="10.8.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    via_proxy = {"REMOTE_ADDR": "10.8.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.8"}
    assert sign_in(Client(), tenant.manager.user.email, PASSWORD, **via_proxy).status_code == 302


@pytest.mark.parametrize("username", ["", "x" * 5000, "nul\x00byte", "ünïcödé@ÉXAMPLE.test"])
def test_any_username_is_a_clear_answer_not_an_error(db, client, username):
    assert sign_in(client, username, "whatever").status_code in (200, 429)


def test_a_refused_attempt_waits_for_its_answer_under_a_threaded_server(tenant, settings):
    settings.PULSE_SIGNIN_TARPIT_SECONDS, settings.PULSE_SIGNIN_TARPIT_SLOTS = 0.2, 1
    settings.PULSE_SIGNIN_ADDRESS_FAILURES = 2
    wrong(Client(), tenant.hr.user.email, 2, "10.9.3.3")
    held = Client()  # its middleware is built now, with these settings

    def refused_after(**extra) -> float:
        started = time.perf_counter()
        assert sign_in(held, tenant.manager.user.email, PASSWORD, REMOTE_ADDR="10.9.3.3", **extra).status_code == 429
        return time.perf_counter() - started

    assert refused_after(**{"wsgi.multithread": True}) >= 0.2  # gunicorn's gthread workers
    assert refused_after() < 0.2  # one request per process: holding it would hold the process
    assert sign_in(held, tenant.manager.user.email, PASSWORD, REMOTE_ADDR="10.9.3.4").status_code == 302


def test_the_tarpit_holds_no_more_requests_at_once_than_it_has_slots():
    tarpit = Tarpit(slots=1, seconds=0.2)
    assert tarpit.slots.acquire(blocking=False)  # one request already held
    started = time.perf_counter()
    assert tarpit.hold(threaded=True) is False and time.perf_counter() - started < 0.1
    tarpit.slots.release()
    started = time.perf_counter()
    assert tarpit.hold(threaded=True) is True and time.perf_counter() - started >= 0.2
    assert Tarpit(slots=0, seconds=1).hold(threaded=True) is False  # switched off
