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


def csv_text(row: Iterable[object]) -> str:
    """One row's cells as CSV text with no line end, every cell safe: rows and parts of rows
    formatted once and joined later with "," (and the line end) are valid CSV."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def csv_lines(rows: Iterable[Iterable[object]], *, chunk: int = 64 * 1024) -> Iterator[str]:
    """`rows` as CSV text, every cell safe, in pieces of whole lines of about `chunk` characters
    (for a streamed download: few enough pieces to be cheap, small enough to stay flat)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        if buffer.tell() >= chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
