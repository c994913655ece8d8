"""Lists of names as one phrase of the reader's language ("A, B and C")."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _


def list_words(names: Sequence[str]) -> str:
    """Names joined as a list is written in the active language: "A", "A and B", "A, B and C"."""
    if len(names) < 2:
        return "".join(names)
    # Translators: joins the last two names of a list: "A, B and C".
    return _("%(names)s and %(last)s") % {"names": _(", ").join(names[:-1]), "last": names[-1]}
