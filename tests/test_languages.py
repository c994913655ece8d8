"""Whose language a page and an e-mail are in: the person's saved language, else the one chosen
on this browser, else the browser's; Arabic right to left."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation

from surveys.core.exceptions import PulseError
from surveys.models import User, language_supported
from surveys.services.invitations import survey_messages_preview
from surveys.services.languages import person_language_set
from tests.support.factories import SurveyFactory


def _html_tag(page) -> str:
    return re.search(r"<html[^>]*>", page.content.decode()).group(0)


@pytest.mark.parametrize(
    ("accept", "lang", "direction"),
    [("fi-FI,fi;q=0.9", "fi", "ltr"), ("ar", "ar", "rtl"), ("de-AT", "de", "ltr"), ("ja", "en-gb", "ltr")],
)
def test_a_visitor_gets_their_browsers_language_and_its_direction(client, db, accept, lang, direction):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=accept)
    assert _html_tag(page) == f'<html lang="{lang}" dir="{direction}">'
    assert page["Content-Language"] == lang


def test_every_shipped_language_is_offered_in_the_chooser(client, db):
    html = client.get("/accounts/login/").content.decode()
    chooser = html[html.index('class="language-chooser"') :]
    for code, name in settings.LANGUAGES:
        assert f'<option value="{code}" lang="{code}"' in chooser and name in chooser
    assert "csrfmiddlewaretoken" not in chooser  # the page stays the same for everyone who sees it


def test_choosing_a_language_remembers_it_in_the_browser_and_goes_back(client, db):
    back = client.post("/language/", {"language": "fi"}, HTTP_REFERER="http://testserver/accounts/login/?next=/x")
    assert back.status_code == 302 and back["Location"] == "http://testserver/accounts/login/?next=/x"
    assert back.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fi"
    # The chosen language wins over the browser's.
    assert 'lang="fi"' in _html_tag(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de"))


def test_the_chooser_refuses_an_unknown_language_and_a_foreign_address(client, db):
    refused = client.post("/language/", {"language": "xx"})
    assert refused.status_code == 400 and settings.LANGUAGE_COOKIE_NAME not in refused.cookies
    assert client.get("/language/").status_code == 405
    elsewhere = client.post("/language/", {"language": "de"}, HTTP_REFERER="https://evil.example/")
    assert elsewhere.status_code == 302 and elsewhere["Location"] == "/"


def test_a_signed_in_persons_choice_is_saved_on_them_and_beats_the_browser(client, login, tenant, other_tenant):
    login(tenant.manager)
    client.post("/language/", {"language": "ar"})
    tenant.manager.user.refresh_from_db()
    assert tenant.manager.user.language == "ar"
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)  # another browser: only the saved language
    page = client.get("/o/acme/", HTTP_ACCEPT_LANGUAGE="fi")
    assert _html_tag(page) == '<html lang="ar" dir="rtl">'
    other_tenant.manager.user.refresh_from_db()
    assert other_tenant.manager.user.language == ""


def test_a_saved_language_is_read_from_any_spelling_and_refused_when_not_shipped(tenant):
    user = tenant.employee.user
    assert person_language_set(user=user, language="FI") == "fi"
    assert person_language_set(user=user, language="en") == "en-gb"
    assert person_language_set(user=user, language="de_DE") == "de"
    assert person_language_set(user=user, language=" ") == ""
    with pytest.raises(PulseError):
        person_language_set(user=user, language="klingon")
    assert User.objects.get(pk=user.pk).language == ""
    assert language_supported("pt") is None


def test_what_pulse_sends_someone_is_in_their_language(tenant):
    user = tenant.employee.user
    assert user.message_language == settings.LANGUAGE_CODE
    user.language = "ar"
    survey = SurveyFactory(organization=tenant.org)
    with tenant.scope(), translation.override("fi"):  # whatever the sender's page is in
        sent = survey_messages_preview(survey=survey, user=user, link="http://testserver/x")
    html = sent["invitation"].alternatives[0][0]
    assert '<html lang="ar" dir="rtl">' in html
    assert not mail.outbox
