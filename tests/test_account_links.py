"""Set-up and password links: short-lived, spent by their first visit, and never in a log."""

import io
import re

import pytest
from django.core import mail
from django.test import Client

from surveys.core.log_redaction import redact_tokens
from surveys.core.mail import RedactingConsoleBackend
from surveys.models import User
from surveys.services.accounts import RESET_TOKENS, SETUP_TOKENS, account_setup_link
from tests.support.factories import PASSWORD

NEW_PASSWORD = "a long and unusual passphrase 42"


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.PULSE_BASE_URL = "http://testserver"


def reset_link(client, mailoutbox, email: str) -> str:
    client.post("/accounts/password/reset/", {"email": email})
    return re.search(r"http://testserver(/accounts/password/reset/\S+/)", mailoutbox[-1].body)[1]


def choose(client, page, password: str = NEW_PASSWORD):
    return client.post(page, {"new_password1": password, "new_password2": password})


def test_a_password_link_is_spent_by_its_first_visit_and_its_address_holds_no_token(tenant, client, mailoutbox):
    email = tenant.hr.user.email
    link = reset_link(client, mailoutbox, email)
    opened = client.get(link)
    assert opened.status_code == 302 and opened["Location"] == "/accounts/password/reset/new/"
    # Someone else with the same link (from a log, a proxy, a browser's history) gets nothing,
    # even before the owner has chosen a password.
    assert "This link has expired or was used" in Client().get(link, follow=True).content.decode()
    assert choose(client, opened["Location"]).status_code == 302
    assert Client().login(username=email, password=NEW_PASSWORD)
    # The stay ends with the password: the form's address opens nothing any more.
    assert "This link has expired or was used" in client.get("/accounts/password/reset/new/").content.decode()


def test_a_set_up_link_is_spent_by_its_first_visit_even_without_the_cache(tenant, client):
    with tenant.scope():
        lead = tenant.manager.user
    lead.set_unusable_password()
    lead.save()
    link = account_setup_link(lead).removeprefix("http://testserver")
    assert client.get(link)["Location"] == "/accounts/activate/new/"
    from django.core.cache import cache

    cache.clear()  # a restarted cache forgets spent links; the database does not
    assert "This link has expired or was used" in Client().get(link).content.decode()
    page = choose(client, "/accounts/activate/new/")
    assert page.status_code == 302 and page["Location"] == "/"  # signed in
    assert Client().login(username=lead.email, password=NEW_PASSWORD)


def test_a_password_link_lasts_an_hour_and_a_set_up_link_three_days(tenant, client, mailoutbox, settings):
    assert (RESET_TOKENS.lifetime(), SETUP_TOKENS.lifetime()) == (3600, 3 * 86400)
    link = reset_link(client, mailoutbox, tenant.hr.user.email)
    assert "the link works once, for 1 hour" in mailoutbox[-1].body
    settings.PULSE_RESET_LINK_MINUTES = -1  # every link made is already too old
    assert "This link has expired or was used" in client.get(link).content.decode()


def test_the_stay_a_link_opens_is_short(tenant, client, mailoutbox, settings):
    link = reset_link(client, mailoutbox, tenant.hr.user.email)
    settings.PULSE_ACCOUNT_LINK_MINUTES = -1  # the stay is over as soon as it begins
    page = client.get(link)["Location"]
    refused = choose(client, page)
    assert refused.status_code == 200 and "This link has expired or was used" in refused.content.decode()
    assert Client().login(username=tenant.hr.user.email, password=PASSWORD)


def test_one_kind_of_link_does_not_open_the_other(tenant, client):
    user = tenant.hr.user
    setup = account_setup_link(user).removeprefix("http://testserver")
    as_reset = setup.replace("/accounts/activate/", "/accounts/password/reset/")
    assert "This link has expired or was used" in client.get(as_reset).content.decode()
    assert client.get("/accounts/activate/new/").context["validlink"] is False  # opened nothing


def test_a_stay_for_a_password_link_does_not_open_the_set_up_form(tenant, client, mailoutbox):
    client.get(reset_link(client, mailoutbox, tenant.hr.user.email))
    assert "This link has expired or was used" in choose(client, "/accounts/activate/new/").content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password/reset/x/y/",
        "/accounts/password/reset/MTIzNDU2Nzg5MDEyMzQ1Njc4OTA/1-2/",
        "/accounts/activate/%C3%A9/abc-def/",
        "/accounts/activate/NQ/zzzzzzzzzzzzzzzzzzzzzzzzz-0/",
    ],
)
def test_a_malformed_link_is_a_clear_page_not_an_error(db, client, path):
    page = client.get(path)
    assert page.status_code == 200 and "This link has expired or was used" in page.content.decode()


def test_a_mistyped_password_keeps_the_stay_and_says_why(tenant, client, mailoutbox):
    page = client.get(reset_link(client, mailoutbox, tenant.hr.user.email))["Location"]
    refused = client.post(page, {"new_password1": NEW_PASSWORD, "new_password2": "something else"})
    assert refused.status_code == 200 and "didn’t match" in refused.content.decode()
    assert choose(client, page).status_code == 302


def test_account_links_are_redacted_from_request_lines_and_printed_mail(tenant, client, mailoutbox):
    link = reset_link(client, mailoutbox, tenant.hr.user.email)
    token = link.rstrip("/").rsplit("/", 1)[1]
    line = f'127.0.0.1 - - [07/Dec/2026] "GET {link} HTTP/1.1" 302 0 "-" "curl"'
    assert token not in redact_tokens(line) and "/accounts/password/reset/" in redact_tokens(line)
    stream = io.StringIO()
    RedactingConsoleBackend(stream=stream).send_messages([mailoutbox[-1]])
    assert "/accounts/password/reset/" in stream.getvalue() and token not in stream.getvalue()
    setup = account_setup_link(tenant.hr.user)
    assert setup.rsplit("/", 2)[1] not in redact_tokens(f"GET {setup} HTTP/1.1")


def test_credentials_of_every_kind_are_redacted():
    for text, secret in [
        ("GET /sso/acme/callback/?code=c0de-s3cret&state=st4te HTTP/1.1", "c0de-s3cret"),
        ("GET /sso/acme/callback/?code=c0de-s3cret&state=st4te HTTP/1.1", "st4te"),
        ("Authorization: Bearer scim-t0ken.abc", "scim-t0ken.abc"),
        ("{'Authorization': 'Api-Key k3y.s3cret'}", "k3y.s3cret"),
        ("Cookie: sessionid=s3ss10n; csrftoken=csrf", "s3ss10n"),
    ]:
        assert secret not in redact_tokens(text), text
    assert redact_tokens("GET /accounts/password/reset/done/ HTTP/1.1").endswith("done/ HTTP/1.1")


def test_no_mail_printed_by_a_deployment_carries_a_working_link(tenant, client, settings, capsys):
    settings.EMAIL_BACKEND = "surveys.core.mail.RedactingConsoleBackend"
    client.post("/accounts/password/reset/", {"email": tenant.hr.user.email})
    printed = capsys.readouterr().out
    assert "/accounts/password/reset/" in printed and "[redacted]" in printed
    assert not mail.outbox
    assert not re.search(r"/accounts/password/reset/[\w-]+/[\w-]{20,}/", printed)
    assert User.objects.get(pk=tenant.hr.user.pk).check_password(PASSWORD)
