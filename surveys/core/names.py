"""Names people type that Pulse puts in e-mails: the organisation's, a survey's, a team's, a
person's. The first two reach a Subject header, where a line break would make every e-mail of
a round fail (Django refuses header injection); none of them has any use for control
characters. One rule, used by every form, import and service that takes such a name."""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError

#: Line and paragraph separators are not control characters to Unicode, but mail clients break lines on them.
_BREAKS = {"\u2028", "\u2029", "\u0085"}


def name_problem(value: str) -> str | None:
    """Why `value` cannot be a name (a line break or another control character), or None."""
    if value.isprintable():  # no control character, line or paragraph separator: the common case, at C speed
        return None
    for character in value:
        if character in _BREAKS or unicodedata.category(character) == "Cc":
            if character in "\r\n" or character in _BREAKS:
                return _("A name must fit on one line: remove the line break.")
            return _("A name cannot contain the control character %(character)s.") % {
                "character": f"U+{ord(character):04X}"
            }
    return None


def name_check(value: str, *, code: str = "name") -> str:
    """`value` trimmed, or PulseError(code) when it cannot be a name."""
    problem = name_problem(value)
    if problem:
        raise PulseError(problem, code=code)
    return value.strip()


def one_line(value: str) -> str:
    """`value` with every run of whitespace (line breaks included) made one space: for a mail
    header built from a name stored before names were checked."""
    return " ".join(value.split())
