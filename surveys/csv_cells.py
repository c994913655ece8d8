"""Cells of CSV files Pulse writes and reads.

A spreadsheet runs a cell that starts with =, +, - or @ (or a tab or carriage return before
one) as a formula: a team called "=HYPERLINK(...)" typed into a roster would become a link in
HR's spreadsheet the day they open an export. Every CSV the product writes puts an apostrophe
before such a cell, which spreadsheets show as plain text; the roster reader takes that
apostrophe off again, so an export edited and imported again changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def read_cell(text: str) -> str:
    """A cell as it was before `safe_cell`."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """`rows` as CSV text, one line at a time (for a streamed download), every cell safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
