"""Reading a whole number someone typed or a browser sent (an id in a URL, a form value).

Only ASCII digits count: "³", "٣" and "①" are digits to `str.isdigit` but not to `int`, and a
value longer than a 64-bit id is no id at all. Every place that turns request text into a number
goes through here, so none of them can answer a 500 to such input.
"""

from __future__ import annotations

#: A 64-bit signed integer has at most 19 digits.
_MAX_DIGITS = 18


def whole_number(raw: object) -> int | None:
    """`raw` as a non-negative integer, or None when it is not one (ints pass through)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw >= 0 else None
    if isinstance(raw, str):
        text = raw.strip()
        if text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS:
            return int(text)
    return None
