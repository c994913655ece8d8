"""Lists of names as one phrase of the reader's language ("A, B and C", "A, B or C")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils.functional import Promise
from django.utils.translation import gettext as _


def list_words(names: Sequence[str], *, alternatives: bool = False) -> str:
    """Names joined as a list is written in the active language: "A", "A and B", "A, B and C";
    with `alternatives`, "A, B or C"."""
    if len(names) < 2:
        return "".join(names)
    # Translators: joins the last two names of a list: "A, B and C" / "A, B or C".
    last_two = _("%(names)s or %(last)s") if alternatives else _("%(names)s and %(last)s")
    return last_two % {"names": _(", ").join(names[:-1]), "last": names[-1]}


#: Text shown to people: a string, or a lazy translation that becomes one in the reader's
#: language when it is shown (labels kept in constants and caches stay lazy until then).
if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Words
else:
    Words = str | Promise
