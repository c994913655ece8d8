"""Roster import: a CSV of people becomes the organisation's people, teams and team leads.

Three steps, each testable alone:
- `roster_read` turns the file's bytes into records (encoding, header, size limits);
- `roster_validate` checks every row, and every row against the others, without touching the
  database, and returns either clean rows or every problem with its line number;
- `roster_apply` writes clean rows in one transaction with bulk operations.
Nothing is written unless every row is valid. `roster_import_start` / `roster_import_process`
drive a `RosterImport` through these steps, in the request or in a Celery task for big files.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from surveys.enqueue import enqueue
from surveys.models import (
    HR_ROLES,
    ROSTER_COLUMNS,
    Membership,
    Organization,
    Role,
    RosterImport,
    RosterImportStatus,
    Team,
    TeamManagement,
    User,
)

logger = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
#: Files with more rows than this are imported by a Celery task, with a progress page.
BACKGROUND_ROWS = 2_000
PROGRESS_EVERY = 1_000
WRITE_BATCH = 2_000
READ_CHUNK = 5_000  # SQLite caps the parameters of one query

EMAIL_MAX = 254
NAME_MAX = cast(int, User._meta.get_field("name").max_length)
TEAM_NAME_MAX = cast(int, Team._meta.get_field("name").max_length)
TEAM_PATH_MAX = cast(int, Team._meta.get_field("path").max_length)
ROLE_LIST = ", ".join(Role.values[:-1]) + " or " + Role.values[-1]

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class RosterError:
    """One problem, on one physical line of the file (the header is line 1)."""

    line: int
    message: str
    column: str = ""

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class RosterRow:
    """One person, normalised: lower-case email, team paths with trimmed names."""

    line: int
    email: str
    name: str
    team: str
    role: str
    manages: tuple[str, ...] = ()


@dataclass
class RosterCheck:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

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


# Reading ---------------------------------------------------------------------------------


def roster_read(content: bytes) -> tuple[RosterSheet | None, list[RosterError]]:
    """Decode and tokenise the file. Either a sheet, or the errors that stop reading it."""
    if len(content) > MAX_BYTES:
        return None, [RosterError(1, f"The file is {_megabytes(len(content))}; Pulse accepts files up to 20 MB.")]
    try:
        text = content.decode("utf-8-sig")  # a byte order mark is fine
    except UnicodeDecodeError as exc:
        message = (
            "The file is not UTF-8 text; its first unreadable byte is on this line. Save it from your "
            "spreadsheet as “CSV UTF-8” (an Excel workbook must be saved as CSV) and upload it again."
        )
        return None, [RosterError(_line_at(content, exc.start), message)]
    if not text.strip():
        message = "The file is empty. Its first line must be the header: " + ",".join(ROSTER_COLUMNS)
        return None, [RosterError(1, message)]
    if "\0" in text:
        line = _line_at(text[: text.index("\0")].encode(), None)
        return None, [RosterError(line, "This line contains a NUL character: the file does not look like CSV text.")]
    header, records, errors = _tokenise(text)
    if errors:
        return None, errors
    columns, ignored, errors = _read_header(header)
    if errors:
        return None, errors
    if not records:
        return None, [RosterError(1, "The file has a header but no people. Add one row per person below it.")]
    return RosterSheet(columns=columns, width=len(header), ignored_columns=ignored, records=records), []


def _tokenise(text: str) -> tuple[list[str], list[tuple[int, list[str]]], list[RosterError]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    line = 1  # where the record being read starts
    try:
        for cells in reader:
            if header is None:
                header = cells
            elif any(cell.strip() for cell in cells):
                if len(records) == MAX_ROWS:
                    message = f"The file has more than {MAX_ROWS:,} people; Pulse imports up to {MAX_ROWS:,} at once."
                    return [], [], [RosterError(line, message)]
                records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            message = "A double quote opened on this line is never closed, so the rest of the file cannot be read."
        else:
            message = f"This line is not valid CSV ({exc}). Check the double quotes on it."
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
                errors.append(RosterError(1, f"The column “{name}” appears twice in the header.", name))
            columns[name] = position
        elif name:
            ignored.append(cell.strip())
    missing = [name for name in ROSTER_COLUMNS if name not in columns]
    if missing:
        message = f"The header is missing the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}."
        if len(missing) == len(ROSTER_COLUMNS):
            message = "Line 1 must be the header row, naming the columns."
        message += " The header needs: " + ",".join(ROSTER_COLUMNS) + " (in any order)."
        errors.append(RosterError(1, message))
    return columns, ignored, errors


def _line_at(content: bytes, offset: int | None) -> int:
    """The physical line holding byte `offset` (\\n, \\r\\n and a lone \\r each end a line)."""
    before = content if offset is None else content[:offset]
    return before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# Validating ------------------------------------------------------------------------------


def roster_validate(*, content: bytes, on_progress: ProgressCallback | None = None) -> RosterCheck:
    """Check every row of the file. Pure: reads no database, so it can be tested alone and run
    before anything is written. `on_progress(checked, total)` is called every PROGRESS_EVERY rows."""
    sheet, errors = roster_read(content)
    if sheet is None:
        return RosterCheck(errors=errors)
    check = RosterCheck(ignored_columns=sheet.ignored_columns)
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
        message = (
            f"This row has {len(cells)} values but the header has {sheet.width} columns. "
            "A value that contains a comma needs double quotes around it."
        )
        return RosterRow(line=line, email="", name="", team="", role=""), [RosterError(line, message)]
    errors: list[RosterError] = []
    fields = {}
    for column, check in _FIELD_CHECKS.items():
        fields[column], message = check(value(column))
        if message:
            errors.append(RosterError(line, message, column))
    role, manages = fields["role"], fields["manages"]
    if manages and role == Role.EMPLOYEE:
        message = "Only managers, HR and admins lead teams: make the role manager, or leave manages empty."
        errors.append(RosterError(line, message, "manages"))
    return RosterRow(line=line, **fields), errors


def _check_email(raw: str) -> tuple[str, str | None]:
    email = raw.lower()
    if not email:
        return "", "The email is missing."
    if len(email) > EMAIL_MAX:
        return "", f"The email is longer than {EMAIL_MAX} characters."
    try:
        validate_email(email)
    except ValidationError:
        return "", f"“{raw}” is not a valid email address."
    return email, None


def _check_name(raw: str) -> tuple[str, str | None]:
    if not raw:
        return "", "The name is missing."
    if len(raw) > NAME_MAX:
        return "", f"The name is longer than {NAME_MAX} characters."
    return raw, None


def _check_role(raw: str) -> tuple[str, str | None]:
    role = raw.lower()
    if not role:
        return "", f"The role is missing: use {ROLE_LIST}."
    if role not in Role.values:
        return "", f"“{raw}” is not a role: use {ROLE_LIST}."
    return role, None


def _check_team(raw: str) -> tuple[str, str | None]:
    if not raw:
        return "", "The team is missing: give its path from the top, like Company/Engineering/Platform."
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


def _team_path(raw: str) -> tuple[str, str | None]:
    """Normalise "A / B/C" to "A/B/C"; refuse empty names, a name inside itself, overlong names."""
    names = [name.strip() for name in raw.split("/")]
    if not all(names):
        return "", f"“{raw}” has an empty team name: look for “//”, or a “/” at the start or the end."
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            return "", f"“{raw}” names “{name}” twice: a team cannot be inside itself."
        seen.add(name.casefold())
    if any(len(name) > TEAM_NAME_MAX for name in names):
        return "", f"A team name in “{raw}” is longer than {TEAM_NAME_MAX} characters."
    path = "/".join(names)
    if len(path) > TEAM_PATH_MAX:
        return "", f"The team path “{raw}” is longer than {TEAM_PATH_MAX} characters."
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
    for row in rows:
        if row.email:
            if row.email in first_line:
                message = f"{row.email} is already on line {first_line[row.email]}: each person needs one row."
                errors.append(RosterError(row.line, message, "email"))
            else:
                first_line[row.email] = row.line
        if row.team:
            clash = _spelling_clash(row.team, row.line, spellings)
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
            return f"The team “{prefix}” is written “{known[0]}” on line {known[1]}: use one spelling."
    return None


def _is_team(path: str, spellings: dict[str, tuple[str, int]]) -> bool:
    known = spellings.get(path.casefold())
    return known is not None and known[0] == path


def _unknown_team(path: str, spellings: dict[str, tuple[str, int]]) -> str:
    known = spellings.get(path.casefold())
    hint = f" Did you mean “{known[0]}”?" if known else " A person can only lead a team named in the team column."
    return f"“{path}” in manages is not a team in this file.{hint}"


# Applying --------------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What the import changed, gathered by the apply steps to build the summary."""

    created: set[int] = field(default_factory=set)
    reactivated: set[int] = field(default_factory=set)
    changed: set[int] = field(default_factory=set)  # membership ids
    renamed: set[str] = field(default_factory=set)  # emails
    deactivated: int = 0
    teams_created: int = 0
    teams_not_in_file: int = 0
    leads_added: int = 0
    leads_removed: int = 0
    notes: list[str] = field(default_factory=list)


def roster_apply(*, organization: Organization, rows: Sequence[RosterRow], importer: Membership | None = None) -> dict:
    """Make the organisation match valid `rows`, in one transaction, and return the summary.

    People are matched by email (users are global; the membership is this organisation's).
    People of the organisation absent from the file are deactivated, never deleted; teams absent
    from the file are kept (they carry results). `importer` is never deactivated nor loses an
    HR role through their own import: they could not undo it otherwise.
    """
    started = time.monotonic()
    outcome = _Outcome()
    with transaction.atomic():
        # One import at a time per organisation: a second waits here, then sees the first's result.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        team_ids = _teams_ensure(organization, rows, outcome)
        user_ids = _users_ensure(rows, outcome)
        membership_ids = _memberships_sync(organization, rows, user_ids, team_ids, importer, outcome)
        _leads_sync(organization, rows, membership_ids, team_ids, importer, outcome)
    return _summary(rows, membership_ids, outcome, seconds=time.monotonic() - started)


def _teams_ensure(organization: Organization, rows: Sequence[RosterRow], outcome: _Outcome) -> dict[str, int]:
    """Create every team the file names that does not exist yet, parents first. Path -> id."""
    wanted = {prefix for row in rows for prefix in Team.path_prefixes(row.team)}
    team_ids = dict(Team.objects.filter(organization=organization).values_list("path", "id"))
    outcome.teams_not_in_file = len(team_ids.keys() - wanted)
    missing_by_depth: dict[int, list[str]] = defaultdict(list)
    for path in wanted - team_ids.keys():
        missing_by_depth[path.count("/")].append(path)
    for depth in sorted(missing_by_depth):
        teams = [
            Team(
                organization=organization,
                name=Team.name_of(path),
                path=path,
                parent_id=team_ids[Team.parent_path(path)] if depth else None,
            )
            for path in sorted(missing_by_depth[depth])
        ]
        Team.objects.bulk_create(teams, batch_size=WRITE_BATCH)
        team_ids.update(_ids_by_path(organization, teams))
        outcome.teams_created += len(teams)
    return team_ids


def _ids_by_path(organization: Organization, teams: list[Team]) -> dict[str, int]:
    if all(team.pk for team in teams):  # the database returned the new ids
        return {team.path: team.pk for team in teams}
    paths = [team.path for team in teams]
    found: dict[str, int] = {}
    for chunk in _chunks(paths):
        found.update(Team.objects.filter(organization=organization, path__in=chunk).values_list("path", "id"))
    return found


def _users_ensure(rows: Sequence[RosterRow], outcome: _Outcome) -> dict[str, int]:
    """Find or create the global user of every row, and bring names up to date. Email -> id."""
    users: dict[str, User] = {}
    for chunk in _chunks([row.email for row in rows]):
        users.update((user.email, user) for user in User.objects.filter(email__in=chunk).only("id", "email", "name"))
    renamed = []
    for row in rows:
        user = users.get(row.email)
        if user is not None and user.name != row.name:
            user.name = row.name
            renamed.append(user)
    User.objects.bulk_update(renamed, ["name"], batch_size=WRITE_BATCH)
    outcome.renamed = {user.email for user in renamed}
    new = [
        User(email=row.email, name=row.name, password=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30))
        for row in rows
        if row.email not in users
    ]
    User.objects.bulk_create(new, batch_size=WRITE_BATCH)
    users.update((user.email, user) for user in new)
    if new and not all(user.pk for user in new):
        for chunk in _chunks([user.email for user in new]):
            users.update((user.email, user) for user in User.objects.filter(email__in=chunk).only("id", "email"))
    return {email: user.pk for email, user in users.items()}


def _memberships_sync(
    organization: Organization,
    rows: Sequence[RosterRow],
    user_ids: dict[str, int],
    team_ids: dict[str, int],
    importer: Membership | None,
    outcome: _Outcome,
) -> dict[str, int]:
    """Create, update, reactivate and deactivate memberships. Email -> membership id."""
    existing = {m.user_id: m for m in Membership.objects.filter(organization=organization).only(*_MEMBERSHIP_FIELDS)}
    new, changed = [], []
    for row in rows:
        membership = existing.get(user_ids[row.email])
        role = _role_kept_for_importer(row, membership, importer, outcome)
        wanted = (role, team_ids[row.team], True)
        if membership is None:
            new.append(Membership(organization=organization, user_id=user_ids[row.email], role=role, team_id=wanted[1]))
        elif (membership.role, membership.team_id, membership.is_active) != wanted:
            (outcome.changed if membership.is_active else outcome.reactivated).add(membership.pk)
            membership.role, membership.team_id, membership.is_active = wanted
            changed.append(membership)
    Membership.objects.bulk_create(new, batch_size=WRITE_BATCH)
    Membership.objects.bulk_update(changed, ["role", "team", "is_active"], batch_size=WRITE_BATCH)
    by_user = {m.user_id: m.pk for m in existing.values()}
    by_user.update(_new_membership_ids(organization, new))
    outcome.created = {by_user[m.user_id] for m in new}
    _deactivate_absent(existing, {user_ids[row.email] for row in rows}, importer, outcome)
    return {row.email: by_user[user_ids[row.email]] for row in rows}


_MEMBERSHIP_FIELDS = ("id", "user_id", "role", "team_id", "is_active")


def _role_kept_for_importer(
    row: RosterRow, membership: Membership | None, importer: Membership | None, outcome: _Outcome
) -> str:
    if importer is None or membership is None or membership.pk != importer.pk:
        return row.role
    if membership.role in HR_ROLES and row.role not in HR_ROLES:
        outcome.notes.append(
            f"The file gives you (line {row.line}) the role {row.role}. You kept the role "
            f"{membership.get_role_display()}: an import never takes HR rights from the person running it."
        )
        return membership.role
    return row.role


def _new_membership_ids(organization: Organization, new: list[Membership]) -> dict[int, int]:
    if all(m.pk for m in new):
        return {m.user_id: m.pk for m in new}
    found: dict[int, int] = {}
    for chunk in _chunks([m.user_id for m in new]):
        members = Membership.objects.filter(organization=organization, user_id__in=chunk)
        found.update(members.values_list("user_id", "id"))
    return found


def _deactivate_absent(
    existing: dict[int, Membership], in_file: set[int], importer: Membership | None, outcome: _Outcome
) -> None:
    absent = [m.pk for user_id, m in existing.items() if m.is_active and user_id not in in_file]
    if importer is not None and importer.pk in absent:
        absent.remove(importer.pk)
        outcome.notes.append(
            "You are not in the file. You stay active, with your role, team and leads as they were: "
            "an import never deactivates the person running it."
        )
    for chunk in _chunks(absent):
        Membership.objects.filter(pk__in=chunk).update(is_active=False)
    outcome.deactivated = len(absent)


def _leads_sync(
    organization: Organization,
    rows: Sequence[RosterRow],
    membership_ids: dict[str, int],
    team_ids: dict[str, int],
    importer: Membership | None,
    outcome: _Outcome,
) -> None:
    """Make the team leads exactly those of the file (the importer's own, if absent, are kept)."""
    wanted = {(team_ids[path], membership_ids[row.email]) for row in rows for path in row.manages}
    existing = {
        (team_id, membership_id): pk
        for pk, team_id, membership_id in TeamManagement.objects.filter(organization=organization).values_list(
            "id", "team_id", "membership_id"
        )
    }
    kept = importer.pk if importer is not None and importer.pk not in membership_ids.values() else None
    removed = [key for key in existing.keys() - wanted if key[1] != kept]
    added = wanted - existing.keys()
    for chunk in _chunks([existing[key] for key in removed]):
        TeamManagement.objects.filter(pk__in=chunk).delete()
    TeamManagement.objects.bulk_create(
        [TeamManagement(organization=organization, team_id=t, membership_id=m) for t, m in added],
        batch_size=WRITE_BATCH,
    )
    outcome.changed.update(m for _, m in removed)
    outcome.changed.update(m for _, m in added)
    outcome.leads_added, outcome.leads_removed = len(added), len(removed)


def _summary(rows: Sequence[RosterRow], membership_ids: dict[str, int], outcome: _Outcome, *, seconds: float) -> dict:
    counts = {"created": 0, "reactivated": 0, "updated": 0, "unchanged": 0}
    for row in rows:
        membership_id = membership_ids[row.email]
        if membership_id in outcome.created:
            counts["created"] += 1
        elif membership_id in outcome.reactivated:
            counts["reactivated"] += 1
        elif membership_id in outcome.changed or row.email in outcome.renamed:
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return {
        "rows": len(rows),
        **{f"people_{name}": count for name, count in counts.items()},
        "people_deactivated": outcome.deactivated,
        "teams_created": outcome.teams_created,
        "teams_not_in_file": outcome.teams_not_in_file,
        "leads_added": outcome.leads_added,
        "leads_removed": outcome.leads_removed,
        "notes": outcome.notes,
        "seconds": round(seconds, 2),
    }


def _chunks(items: Sequence, size: int = READ_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Running an import -----------------------------------------------------------------------


def roster_import_start(
    *,
    organization: Organization,
    uploaded_by: Membership | None,
    filename: str,
    content: bytes,
    background: bool | None = None,
) -> RosterImport:
    """Record an upload and import it: now for small files, in a Celery task for big ones
    (`background=None` decides by BACKGROUND_ROWS). The task is queued only once the row is
    committed, so the worker always finds it."""
    roster_import = RosterImport.objects.create(
        organization=organization, uploaded_by=uploaded_by, filename=filename[:255], content=content
    )
    if background is None:
        background = max(content.count(b"\n"), content.count(b"\r")) > BACKGROUND_ROWS
    if not background:
        return roster_import_process(roster_import=roster_import)
    enqueue("surveys.tasks.roster_import_run", roster_import.pk)
    return roster_import


def roster_import_process(*, roster_import: RosterImport) -> RosterImport:
    """Check the whole file, then write it, recording progress and the report on the row.

    Safe to run again (a redelivered task): a finished import is left alone, and an
    interrupted one starts over, since its writes were rolled back with their transaction.
    """
    if roster_import.status in (RosterImportStatus.DONE, RosterImportStatus.FAILED):
        return roster_import
    _progress(roster_import, status=RosterImportStatus.VALIDATING, processed_rows=0)
    try:
        check = roster_validate(content=bytes(roster_import.content), on_progress=_progress_recorder(roster_import))
        if not check.ok:
            return _finish(roster_import, RosterImportStatus.FAILED, errors=[e.as_dict() for e in check.errors])
        _progress(roster_import, status=RosterImportStatus.IMPORTING)
        summary = roster_apply(
            organization=roster_import.organization, rows=check.rows, importer=roster_import.uploaded_by
        )
    except Exception:
        logger.exception("Roster import %s failed", roster_import.pk)
        message = "Something went wrong while saving, and nothing was imported. Please try again."
        _finish(roster_import, RosterImportStatus.FAILED, errors=[RosterError(1, message).as_dict()])
        raise
    summary["ignored_columns"] = check.ignored_columns
    return _finish(roster_import, RosterImportStatus.DONE, summary=summary)


def _progress_recorder(roster_import: RosterImport) -> ProgressCallback:
    def record(checked: int, total: int) -> None:
        _progress(roster_import, processed_rows=checked, total_rows=total)

    return record


def _progress(roster_import: RosterImport, **fields) -> None:
    """Write progress outside any transaction of the import, so the page sees it as it goes."""
    for name, value in fields.items():
        setattr(roster_import, name, value)
    RosterImport.objects.filter(pk=roster_import.pk).update(**fields)


def _finish(roster_import: RosterImport, status: str, *, errors: list | None = None, summary: dict | None = None):
    # The file itself is personal data that has served its purpose: keep the report, drop the file.
    _progress(
        roster_import,
        status=status,
        errors=errors or [],
        summary=summary or {},
        content=b"",
        finished_at=timezone.now(),
    )
    return roster_import
