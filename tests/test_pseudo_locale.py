"""Every page walked in a pseudo-locale, where every marked string (in a catalogue yet or not)
comes out wrapped in ⟦ ⟧. Any visible word outside the markers (text, or a label a screen
reader reads) was never marked for translation: this test names the page and the words.

What may stay unmarked is data (names, e-mails, the question bank, what people wrote), the
product's name, the language names of the chooser (each in its own language) and Django's own
month and day names (translated by Django in every shipped language)."""

import gettext as gettext_module
import html
import re

import polib
import pytest
from django.conf import settings
from django.test import override_settings
from django.utils.translation import trans_real
from django.utils.translation.trans_real import CONTEXT_SEPARATOR as CONTEXT

from surveys.demo import DEMO_LOGINS, DEMO_PASSWORD
from surveys.models import (
    ActionPlan,
    Comment,
    Organization,
    Question,
    RosterChange,
    RosterImport,
    ScimToken,
    Survey,
    Team,
    User,
)
from tests.support.crawl import crawl

PSEUDO = "xx"
OPEN, CLOSE = "⟦", "⟧"
#: Entries that are Django date formats, not words: kept as they are.
FORMATS = ("date format", "time format")
#: Never words to translate.
KEPT = {"Pulse", "CSV", "JSON", "API", "SCIM", "HR", "OK", "UTF", "Pseudo", "Slack", "UTC"} | {
    name for _code, name in settings.LANGUAGES
}
DJANGO_DATES = {
    *[
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Mon",
        "Tue",
        "Wed",
        "Thu",
        "Fri",
        "Sat",
        "Sun",
    ],
    *[
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    *["Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "a.m", "p.m"],
    *("Email", "Password"),  # the sign-in form's labels: Django's own, translated by Django
}
#: Pages left out, and why (each a known gap, not a page that passes).
LEFT_OUT = {
    "/settings/audit-log/": "the log names changed columns by their model field names",
}
#: Shown as it is, not words of the page: code and addresses; an e-mail previewed as its
#: recipient gets it (in their language); the roster history's record of a change, kept as written.
_VERBATIM = re.compile(
    r"<(code|pre)\b[^>]*>.*?</\1>|<ul class=\"recorded\">.*?</ul>|https?://[^\s⟦⟧<\"]+|[^\s⟦⟧<>\"]+@[^\s⟦⟧<>\"]+", re.S
)
_TAG = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<[^>]+>", re.S)
_LABEL = re.compile(r'(?:aria-label|title|placeholder|alt)="([^"]*)"')
_WORD = re.compile(r"[^\W\d_]{2,}")


def _pseudo(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}" if text else text


class PseudoTranslation(gettext_module.NullTranslations):
    """Every marked string, catalogued or not yet, wrapped in markers (a date format kept as it
    is): what Django's translation functions return while PSEUDO is active."""

    def gettext(self, message):
        context, separator, text = message.rpartition(CONTEXT)
        if separator and context in FORMATS:
            return message  # Django then returns the format itself
        return _pseudo(text)

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)

    def to_language(self):
        return PSEUDO


@pytest.fixture
def pseudo_locale(tmp_path):
    # An empty compiled catalogue, so that Django counts PSEUDO as a language it has.
    catalogue = polib.POFile()
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": PSEUDO}
    target = tmp_path / "locale" / PSEUDO / "LC_MESSAGES" / "django.mo"
    target.parent.mkdir(parents=True)
    catalogue.save_as_mofile(str(target))
    languages = [*settings.LANGUAGES, (PSEUDO, "Pseudo")]
    with override_settings(LANGUAGES=languages, LOCALE_PATHS=[tmp_path / "locale"]):
        trans_real._translations[PSEUDO] = PseudoTranslation()
        yield PSEUDO
    trans_real._translations.pop(PSEUDO, None)


def _data() -> list[str]:
    """What people and the demo wrote: shown as written, in no catalogue."""
    texts: set[str] = set()
    texts |= set(Organization.objects.values_list("name", flat=True))
    for model, fields in (
        (Team, ("name", "path")),
        (Survey, ("name", "support_text", "support_links", "invitation_text", "reminder_text")),
        (ActionPlan, ("title", "description")),
        (Comment, ("text",)),
        (RosterImport, ("filename",)),
        (RosterChange, ("summary",)),  # a history entry is kept as it was written
    ):
        for row in model.all_organizations.values_list(*fields):
            texts |= {value for value in row if isinstance(value, str)}
    texts |= set(Organization.objects.values_list("support_text", flat=True))
    texts |= set(Organization.objects.values_list("support_links", flat=True))
    for name, email in User.objects.values_list("name", "email"):
        texts |= {name, email}
    texts |= set(ScimToken.all_organizations.values_list("name", flat=True))
    texts |= set(Question.all_organizations.values_list("text", flat=True))  # the item bank: per language later
    pieces = {piece.strip() for text in texts if text for piece in re.split(r"[\n|]", text)}
    return sorted((piece for piece in pieces if piece), key=len, reverse=True)


def escaped_words(page: str, data: list[str]) -> set[str]:
    """The words of a page outside the markers, data and kept words aside."""
    page = _VERBATIM.sub(" ", page)
    shown = html.unescape(_TAG.sub(" ", page)) + " " + " ".join(html.unescape(v) for v in _LABEL.findall(page))
    previous = None
    while previous != shown:  # translations hold translations: innermost first
        previous, shown = shown, re.sub(rf"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}", " ", shown)
    for text in data:
        shown = shown.replace(text, " ")
    return set(_WORD.findall(shown)) - KEPT - DJANGO_DATES


def test_the_check_finds_a_string_that_escaped_translation():
    page = f'<p>{OPEN}Results for {OPEN}Engineering{CLOSE}{CLOSE}</p><p>Not marked</p><a aria-label="Lonely">x</a>'
    assert escaped_words(page, ["Acme"]) == {"Not", "marked", "Lonely"}
    assert escaped_words(f"<p>{OPEN}Hello, {CLOSE}Acme · Pulse</p>", ["Acme"]) == set()


def test_every_page_each_role_sees_is_translated(demo, client, pseudo_locale):
    data = _data()
    escaped: dict[str, set[str]] = {}

    def check(url: str, response) -> None:
        if any(part in url for part in LEFT_OUT):
            return
        words = escaped_words(response.content.decode(), data)
        if words:
            escaped[url] = words

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = pseudo_locale
    check("/accounts/login/", client.get("/accounts/login/"))
    for _role, email, _what in DEMO_LOGINS[:4]:
        assert client.login(username=email, password=DEMO_PASSWORD), email
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = pseudo_locale  # a sign-out empties the jar
        pages = crawl(client, "/", on_page=check)
        assert len(pages) >= 3
        client.logout()
    assert not escaped, "\n".join(f"{url}: {sorted(words)}" for url, words in sorted(escaped.items()))
