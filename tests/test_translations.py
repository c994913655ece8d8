"""The translation catalogues: each readable, with its language's plural forms, each translation
keeping its source's placeholders, and every shipped language complete.

SHIPPED_COMPLETE is the one place that says which languages must be complete: a language joins
it once its translators have filled its catalogue, and from then on CI fails on any entry left
untranslated or fuzzy (`make messages` after new strings are marked adds them untranslated).
"""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
#: The languages whose catalogues must have no untranslated or fuzzy entry. English is the source.
SHIPPED_COMPLETE: tuple[str, ...] = ("fi", "de", "fr", "es", "ar")
TRANSLATED = tuple(code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE)
#: How many plural forms each language has (CLDR, as Django's own catalogues say).
PLURAL_FORMS = {"fi": 2, "de": 2, "fr": 2, "es": 3, "ar": 6}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]|\{(\w*)\}")


def _catalogue(code: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / code / "LC_MESSAGES" / "django.po"))


def _placeholders(text: str) -> set[str]:
    return {match.group(0) for match in _PLACEHOLDER.finditer(text)}


def incomplete(catalogue: polib.POFile) -> list[str]:
    """Why a catalogue is not complete: each untranslated or fuzzy entry (obsolete ones aside)."""
    return [f"untranslated: {entry.msgid[:70]!r}" for entry in catalogue.untranslated_entries()] + [
        f"fuzzy: {entry.msgid[:70]!r}" for entry in catalogue.fuzzy_entries()
    ]


def placeholder_mismatches(catalogue: polib.POFile) -> list[str]:
    """Translations whose placeholders differ from their source's (a crash or a lost value)."""
    problems = []
    for entry in catalogue.translated_entries():
        if entry.msgid_plural:
            wanted = _placeholders(entry.msgid_plural) | _placeholders(entry.msgid)
            for form, text in entry.msgstr_plural.items():
                # A form for exactly one may leave the count out ("one team"); nothing else may go.
                if not _placeholders(text) <= wanted or not (wanted - {"%(count)s", "%(count)d"}) <= (
                    _placeholders(text) | {"%(count)s", "%(count)d"}
                ):
                    problems.append(f"{entry.msgid[:60]!r} (form {form})")
        elif entry.msgctxt not in ("date format", "time format") and _placeholders(entry.msgstr) != _placeholders(
            entry.msgid
        ):
            problems.append(repr(entry.msgid[:60]))
    return problems


def test_every_translated_language_has_a_catalogue_with_its_plural_forms():
    assert set(TRANSLATED) == set(PLURAL_FORMS)
    for code in TRANSLATED:
        catalogue = _catalogue(code)
        assert catalogue.metadata["Language"] == code
        assert f"nplurals={PLURAL_FORMS[code]};" in catalogue.metadata["Plural-Forms"].replace(" ", "")
        assert len(catalogue) > 1000, "the catalogue holds Pulse's strings (make messages)"


@pytest.mark.parametrize("code", TRANSLATED)
def test_translations_keep_their_sources_placeholders(code):
    assert placeholder_mismatches(_catalogue(code)) == []


def test_every_shipped_language_is_complete():
    problems = {code: incomplete(_catalogue(code)) for code in SHIPPED_COMPLETE}
    assert not any(problems.values()), {code: found[:10] for code, found in problems.items() if found}


def test_the_checks_catch_what_they_guard(tmp_path):
    """Break each rule in a small catalogue and watch the checks see it."""
    catalogue = polib.POFile()
    catalogue.append(polib.POEntry(msgid="Hello, %(name)s", msgstr="Hei, %(nimi)s"))
    catalogue.append(polib.POEntry(msgid="Results", msgstr=""))
    catalogue.append(polib.POEntry(msgid="Teams", msgstr="Tiimit", flags=["fuzzy"]))
    catalogue.append(polib.POEntry(msgid="j F Y", msgctxt="date format", msgstr="j.n.Y"))
    catalogue.append(
        polib.POEntry(
            msgid="%(count)s team",
            msgid_plural="%(count)s teams",
            msgstr_plural={0: "yksi tiimi", 1: "%(count)s tiimiä"},
        )
    )
    assert incomplete(catalogue) == ["untranslated: 'Results'", "fuzzy: 'Teams'"]
    assert placeholder_mismatches(catalogue) == ["'Hello, %(name)s'"]


def test_the_catalogues_hold_every_string_the_code_marks(tmp_path, settings, monkeypatch):
    """`make messages` run now would add nothing: a string marked without it would stay English
    in every language, and the completeness check above could not see it. Run on a copy of the
    sources, so the catalogues here are not touched."""
    import shutil

    from django.core.management import call_command

    ignored = [".venv", "node_modules", "staticfiles", "tests", "benchmarks", "deploy", "artifacts", ".git"]
    shutil.copytree(
        settings.BASE_DIR,
        tmp_path / "src",
        ignore=lambda folder, names: [name for name in names if name in ignored or name.endswith((".mo", ".pyc"))],
    )
    settings.LOCALE_PATHS = []
    monkeypatch.chdir(tmp_path / "src")
    call_command("makemessages", locale=["fi"], ignore_patterns=ignored, no_obsolete=True, verbosity=0)
    copy = polib.pofile(str(tmp_path / "src/locale/fi/LC_MESSAGES/django.po"))
    wanted = {(entry.msgctxt, entry.msgid) for entry in copy}
    held = {(entry.msgctxt, entry.msgid) for entry in _catalogue("fi")}
    missing = sorted(wanted - held, key=str)
    assert not missing, f"marked but not in the catalogues (run make messages): {missing[:10]}"
