"""Cells of CSV files Pulse writes and reads.

A spreadsheet runs a cell that starts with =, +, - or @ (or a tab or carriage return before
one) as a formula: a team called "=HYPERLINK(...)" typed into a roster would become a link in
HR's spreadsheet the day they open an export. Every CSV the product writes puts an apostrophe
before such a cell, which spreadsheets show as plain text; the roster reader takes that
apostrophe off again, so an export edited and imported again changes nothing.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def read_cell(text: str) -> str:
    """A cell as it was before `safe_cell`."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text
