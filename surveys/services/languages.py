"""A person's language: the one their pages and the e-mails Pulse sends them are written in."""

from __future__ import annotations

from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.models import User, language_supported


def person_language_set(*, user: User, language: str) -> str:
    """Save the language `user` chose (a code of LANGUAGES; blank: their browser's) and return it."""
    chosen = language_supported(language) if language.strip() else ""
    if chosen is None:
        raise PulseError(_("Pulse is not available in that language."), code="language")
    if user.language != chosen:
        user.language = chosen
        user.save(update_fields=["language"])
    return chosen
