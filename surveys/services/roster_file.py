"""Reading a roster file: a CSV of people becomes checked rows, or every problem with its line.

- `roster_read` turns the file's bytes into records (encoding, header, size limits);
- `roster_validate` checks every row, and every row against the others, without touching the
  database, and returns either clean rows or every problem with its line number.
What the rows then change is `surveys.services.roster`'s business.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from surveys.core.csv_cells import read_cell
from surveys.core.exceptions import PulseError
from surveys.core.names import name_problem
from surveys.core.words import list_words
from surveys.models import ROSTER_COLUMNS, Role, Team, User

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
PROGRESS_EVERY = 1_000

EMAIL_MAX = 254
NAME_MAX = cast(int, User._meta.get_field("name").max_length)
TEAM_NAME_MAX = cast(int, Team._meta.get_field("name").max_length)
TEAM_PATH_MAX = cast(int, Team._meta.get_field("path").max_length)


def _role_list() -> str:
    """The role codes a file may use, as a list in the reader's language."""
    return list_words(Role.values, alternatives=True)


ProgressCallback = Callable[[int, int], None]

#: The separators a roster file may use between its columns, by how people name them. Commas
#: are the format; spreadsheets set to a language that writes decimal commas save semicolons,
#: and some exports use tabs. The header line says which one a file uses.
SEPARATORS = {
    ",": (gettext_lazy("commas"), gettext_lazy("comma")),
    ";": (gettext_lazy("semicolons"), gettext_lazy("semicolon")),
    "\t": (gettext_lazy("tabs"), gettext_lazy("tab")),
}


@dataclass(frozen=True)
class RosterError:
    """One problem, on one physical line of the file (the header is line 1)."""

    line: int
    message: str
    column: str = ""

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": str(self.message)}


@dataclass(frozen=True)
class RosterRow:
    """One person, normalised: lower-case email, team paths with trimmed names."""

    line: int
    email: str
    name: str
    team: str
    role: str
    manages: tuple[str, ...] = ()
    #: Whether the person is to be active (a file's rows always are; SCIM moves inactive people too).
    active: bool = True


@dataclass
class RosterCheck:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    separator: str = ","

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class RosterSheet:
    """The file as records: the header's column positions and each non-blank row's cells."""

    columns: dict[str, int]
    width: int
    ignored_columns: list[str]
    records: list[tuple[int, list[str]]]
    separator: str = ","


# Reading ---------------------------------------------------------------------------------


def roster_read(content: bytes) -> tuple[RosterSheet | None, list[RosterError]]:
    """Decode and tokenise the file. Either a sheet, or the errors that stop reading it."""
    if len(content) > MAX_BYTES:
        message = _("The file is %(size)s; Pulse accepts files up to 20 MB.") % {"size": _megabytes(len(content))}
        return None, [RosterError(1, message)]
    try:
        text = content.decode("utf-8-sig")  # a byte order mark is fine
    except UnicodeDecodeError as exc:
        message = _(
            "The file is not UTF-8 text; its first unreadable byte is on this line. Save it from your "
            "spreadsheet as “CSV UTF-8” (an Excel workbook must be saved as CSV) and upload it again."
        )
        return None, [RosterError(_line_at(content, exc.start), message)]
    if not text.strip():
        message = _("The file is empty. Its first line must be the header: %(columns)s") % {
            "columns": ",".join(ROSTER_COLUMNS)
        }
        return None, [RosterError(1, message)]
    if "\0" in text:
        line = _line_at(text[: text.index("\0")].encode(), None)
        message = _("This line contains a NUL character: the file does not look like CSV text.")
        return None, [RosterError(line, message)]
    separator = _separator(text)
    header, records, errors = _tokenise(text, separator)
    if errors:
        return None, errors
    columns, ignored, errors = _read_header(header)
    if errors:
        if separator != ",":
            said = " " + _("(Line 1 was read as columns separated by %(separator)s.)") % {
                "separator": SEPARATORS[separator][0]
            }
            errors = [RosterError(e.line, e.message + said, e.column) for e in errors]
        return None, errors
    if not records:
        return None, [RosterError(1, _("The file has a header but no people. Add one row per person below it."))]
    sheet = RosterSheet(
        columns=columns, width=len(header), ignored_columns=ignored, records=records, separator=separator
    )
    return sheet, []


def _separator(text: str) -> str:
    """The separator of the header line: the one that splits it into the most of the roster's
    columns (commas when none does better)."""
    header = text.lstrip().splitlines()[0] if text.strip() else ""

    def columns_found(separator: str) -> int:
        cells = {cell.strip().strip('"').strip().lower() for cell in header.split(separator)}
        return len(cells & set(ROSTER_COLUMNS))

    return max(SEPARATORS, key=columns_found)  # the first of equals: commas


def _tokenise(text: str, separator: str) -> tuple[list[str], list[tuple[int, list[str]]], list[RosterError]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=separator)
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    line = 1  # where the record being read starts
    try:
        for raw_cells in reader:
            cells = [read_cell(cell) for cell in raw_cells]
            if header is None:
                header = cells
            elif any(cell.strip() for cell in cells):
                if len(records) == MAX_ROWS:
                    most = number_format(MAX_ROWS, force_grouping=True)
                    message = _("The file has more than %(most)s people; Pulse imports up to %(most)s at once.") % {
                        "most": most
                    }
                    return [], [], [RosterError(line, message)]
                records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            message = _("A double quote opened on this line is never closed, so the rest of the file cannot be read.")
        else:
            message = _("This line is not valid CSV (%(problem)s). Check the double quotes on it.") % {"problem": exc}
        return [], [], [RosterError(line, message)]
    return header or [], records, []


def _read_header(header: list[str]) -> tuple[dict[str, int], list[str], list[RosterError]]:
    columns: dict[str, int] = {}
    ignored: list[str] = []
    errors: list[RosterError] = []
    for position, cell in enumerate(header):
        name = cell.strip().lower()
        if name in ROSTER_COLUMNS:
            if name in columns:
                errors.append(
                    RosterError(1, _("The column “%(name)s” appears twice in the header.") % {"name": name}, name)
                )
            columns[name] = position
        elif name:
            ignored.append(cell.strip())
    missing = [name for name in ROSTER_COLUMNS if name not in columns]
    if missing:
        message = ngettext(
            "The header is missing the column %(columns)s.",
            "The header is missing the columns %(columns)s.",
            len(missing),
        ) % {"columns": ", ".join(missing)}
        if len(missing) == len(ROSTER_COLUMNS):
            message = _("Line 1 must be the header row, naming the columns.")
        message += " " + _("The header needs: %(columns)s (in any order).") % {"columns": ",".join(ROSTER_COLUMNS)}
        errors.append(RosterError(1, message))
    return columns, ignored, errors


def _line_at(content: bytes, offset: int | None) -> int:
    """The physical line holding byte `offset` (\\n, \\r\\n and a lone \\r each end a line)."""
    before = content if offset is None else content[:offset]
    return before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1


def _megabytes(size: int) -> str:
    return _("%(size)s MB") % {"size": number_format(size / (1024 * 1024), decimal_pos=1)}


# Validating ------------------------------------------------------------------------------


def roster_validate(*, content: bytes, on_progress: ProgressCallback | None = None) -> RosterCheck:
    """Check every row of the file. Pure: reads no database, so it can be tested alone and run
    before anything is written. `on_progress(checked, total)` is called every PROGRESS_EVERY rows."""
    _team_path.cache_clear()  # remembered per file
    sheet, errors = roster_read(content)
    if sheet is None:
        return RosterCheck(errors=errors)
    check = RosterCheck(ignored_columns=sheet.ignored_columns, separator=sheet.separator)
    total = len(sheet.records)
    if on_progress:
        on_progress(0, total)
    for checked, (line, cells) in enumerate(sheet.records, start=1):
        row, row_errors = _check_row(line, cells, sheet)
        check.rows.append(row)
        check.errors.extend(row_errors)
        if on_progress and checked % PROGRESS_EVERY == 0:
            on_progress(checked, total)
    check.errors.extend(_check_across(check.rows))
    check.errors.sort(key=lambda error: error.line)
    if on_progress:
        on_progress(total, total)
    return check


def _check_row(line: int, cells: list[str], sheet: RosterSheet) -> tuple[RosterRow, list[RosterError]]:
    """Check one row on its own. Invalid values come back empty, so cross-row checks skip them."""

    def value(column: str) -> str:
        position = sheet.columns[column]
        return cells[position].strip() if position < len(cells) else ""

    if len(cells) > sheet.width:
        # Usually a comma inside an unquoted name: every later value is in the wrong column, so
        # checking them would only mislead.
        many, one = SEPARATORS[sheet.separator]
        message = _(
            "This row has %(values)s values but the header has %(columns)s columns. The columns of this "
            "file are separated by %(many)s, so a value that contains a %(one)s needs double quotes around it."
        ) % {"values": len(cells), "columns": sheet.width, "many": many, "one": one}
        return RosterRow(line=line, email="", name="", team="", role=""), [RosterError(line, message)]
    errors: list[RosterError] = []
    fields = {}
    for column, check in _FIELD_CHECKS.items():
        fields[column], message = check(value(column))
        if message:
            errors.append(RosterError(line, message, column))
    role, manages = fields["role"], fields["manages"]
    if manages and role == Role.EMPLOYEE:
        message = _("Only managers, HR and admins lead teams: make the role manager, or leave manages empty.")
        errors.append(RosterError(line, message, "manages"))
    return RosterRow(line=line, **fields), errors


def _check_email(raw: str) -> tuple[str, str | None]:
    email = raw.lower()
    if not email:
        return "", _("The email is missing.")
    if len(email) > EMAIL_MAX:
        return "", _("The email is longer than %(limit)s characters.") % {"limit": EMAIL_MAX}
    try:
        validate_email(email)
    except ValidationError:
        return "", _("“%(email)s” is not a valid email address.") % {"email": raw}
    return email, None


def _check_name(raw: str) -> tuple[str, str | None]:
    if not raw:
        return "", _("The name is missing.")
    if len(raw) > NAME_MAX:
        return "", _("The name is longer than %(limit)s characters.") % {"limit": NAME_MAX}
    problem = name_problem(raw)
    if problem:
        return "", problem
    return raw, None


_ROLES = frozenset(Role.values)


def _check_role(raw: str) -> tuple[str, str | None]:
    role = raw.lower()
    if not role:
        return "", _("The role is missing: use %(roles)s.") % {"roles": _role_list()}
    if role not in _ROLES:
        return "", _("“%(raw)s” is not a role: use %(roles)s.") % {"raw": raw, "roles": _role_list()}
    return role, None


def _check_team(raw: str) -> tuple[str, str | None]:
    if not raw:
        return "", _("The team is missing: give its path from the top, like Company/Engineering/Platform.")
    return _team_path(raw)


def _check_manages(raw: str) -> tuple[tuple[str, ...], str | None]:
    paths: dict[str, None] = {}  # ordered, without repeats
    for item in raw.split(";"):
        if not item.strip():
            continue
        path, message = _team_path(item.strip())
        if message:
            return (), message
        paths[path] = None
    return tuple(paths), None


@functools.lru_cache(maxsize=4096)  # a file names each team on many rows: checked once
def _team_path(raw: str) -> tuple[str, str | None]:
    """Normalise "A / B/C" to "A/B/C"; refuse empty names, a name inside itself, overlong names."""
    names = [name.strip() for name in Team.path_names(raw)]
    if name_problem(raw):
        return "", _("A team name cannot contain a line break or another control character.")
    if not all(names):
        slash = Team.SEPARATOR
        return "", _(
            "“%(raw)s” has an empty team name: look for “%(two)s”, or a “%(one)s” at the start or the end."
        ) % {
            "raw": raw,
            "two": slash * 2,
            "one": slash,
        }
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            return "", _("“%(raw)s” names “%(name)s” twice: a team cannot be inside itself.") % {
                "raw": raw,
                "name": name,
            }
        seen.add(name.casefold())
    if any(len(name) > TEAM_NAME_MAX for name in names):
        return "", _("A team name in “%(raw)s” is longer than %(limit)s characters.") % {
            "raw": raw,
            "limit": TEAM_NAME_MAX,
        }
    path = Team.path_of(names)
    if len(path) > TEAM_PATH_MAX:
        return "", _("The team path “%(raw)s” is longer than %(limit)s characters.") % {
            "raw": raw,
            "limit": TEAM_PATH_MAX,
        }
    return path, None


_FIELD_CHECKS: dict[str, Callable[[str], tuple]] = {
    "email": _check_email,
    "name": _check_name,
    "team": _check_team,
    "role": _check_role,
    "manages": _check_manages,
}


def _check_across(rows: Sequence[RosterRow]) -> list[RosterError]:
    """Rules between rows: one row per email, one spelling per team, leads of teams in the file."""
    errors: list[RosterError] = []
    first_line: dict[str, int] = {}
    spellings: dict[str, tuple[str, int]] = {}
    clash_of: dict[str, str | None] = {}
    for row in rows:
        if row.email:
            if row.email in first_line:
                message = _("%(email)s is already on line %(line)s: each person needs one row.") % {
                    "email": row.email,
                    "line": first_line[row.email],
                }
                errors.append(RosterError(row.line, message, "email"))
            else:
                first_line[row.email] = row.line
        if row.team:
            if row.team not in clash_of:  # the same path again clashes (or not) as it did the first time
                clash_of[row.team] = _spelling_clash(row.team, row.line, spellings)
            clash = clash_of[row.team]
            if clash:
                errors.append(RosterError(row.line, clash, "team"))
    for row in rows:
        for path in row.manages:
            if not _is_team(path, spellings):
                errors.append(RosterError(row.line, _unknown_team(path, spellings), "manages"))
    return errors


def _spelling_clash(path: str, line: int, spellings: dict[str, tuple[str, int]]) -> str | None:
    """Record every team of `path` (each prefix) and report the first one spelled two ways."""
    for prefix in Team.path_prefixes(path):
        known = spellings.setdefault(prefix.casefold(), (prefix, line))
        if known[0] != prefix:
            return _("The team “%(team)s” is written “%(known)s” on line %(line)s: use one spelling.") % {
                "team": prefix,
                "known": known[0],
                "line": known[1],
            }
    return None


def _is_team(path: str, spellings: dict[str, tuple[str, int]]) -> bool:
    known = spellings.get(path.casefold())
    return known is not None and known[0] == path


def _unknown_team(path: str, spellings: dict[str, tuple[str, int]]) -> str:
    known = spellings.get(path.casefold())
    hint = (
        _("Did you mean “%(team)s”?") % {"team": known[0]}
        if known
        else _("A person can only lead a team named in the team column.")
    )
    return _("“%(team)s” in manages is not a team in this file.") % {"team": path} + " " + hint


def team_path_read(raw: str) -> str:
    """A team path as an import reads it ("A / B/C" is "A/B/C"), or PulseError(code="team")
    saying what is wrong with it: for paths that come from elsewhere than a file (SCIM)."""
    path, problem = _team_path(raw)
    if problem:
        raise PulseError(problem, code="team")
    return path
