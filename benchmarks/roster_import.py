"""Roster import of a generated organisation, beside a plain-SQL import of the same file.

Every import runs in a transaction that is rolled back (after its deferred foreign-key checks
have run, so they are timed), so the database is left as it was found. Timed, interleaved,
best of `--repeat` with the median in brackets:

- the first import of `--rows` people into an empty organisation (check, plan and save, as HR's
  upload does them), against the baseline: the same file read by PostgreSQL's COPY into a
  temporary table, and its teams, people, memberships and team leads written with one
  INSERT … SELECT each (target: at most 1.5×);
- for information, once each: the same file imported again (nothing changes) and a file where
  10% of the people moved team.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
import time

from django.core.management.base import CommandError
from django.db import connection, transaction

from benchmarks.database import bench_database_check
from surveys.core.tenancy import organization_scope
from surveys.models import Organization, RosterImportMode
from surveys.services.roster import roster_apply, roster_plan
from surveys.services.roster_file import roster_validate

TEAM_SIZE = 50
TARGET = 1.5


def add_arguments(parser) -> None:
    parser.add_argument("--rows", type=int, default=50_000, help="People in the generated file.")
    parser.add_argument("--repeat", type=int, default=3)


def roster_sample_csv(*, rows: int, top: str = "Sample", domain: str = "sample.example", moved: int = 0) -> bytes:
    """A valid roster of `rows` people: `top`/Division/Department/Team, one lead per team and
    department. `moved` people (every tenth, from the start) change team, to measure updates."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "team", "role", "manages"])
    for number in range(rows):
        team_number = number // TEAM_SIZE
        if number % 10 == 0 and number // 10 < moved:
            team_number += 1
        division, department, team = team_number // 100, (team_number // 10) % 10, team_number % 10
        department_path = f"{top}/Division {division}/Department {department}"
        path = f"{department_path}/Team {team}"
        manages, role = "", "employee"
        if number % TEAM_SIZE == 0:
            role, manages = "manager", path + (f";{department_path}" if team == 0 else "")
        writer.writerow([f"person{number}@{domain}", f"Person {number}", path, role, manages])
    return out.getvalue().encode()


class _Rollback(Exception):
    pass


def run(*, stdout, rows: int, repeat: int, **options) -> None:
    bench_database_check("roster_import")
    first = roster_sample_csv(rows=rows)
    load_before = os.getloadavg()
    stdout.write(f"{rows:,} rows, {len(first) / 1e6:.1f} MB; first import into an empty organisation:")
    steps = {"import": lambda: _rolled_back(_import, first), "plain": lambda: _rolled_back(_plain, first)}
    timings: dict[str, list[float]] = {name: [] for name in steps}
    parts: list[dict[str, float]] = []
    for repetition in range(max(1, repeat)):
        order = list(steps) if repetition % 2 == 0 else list(reversed(steps))
        for name in order:
            started = time.perf_counter()
            outcome = steps[name]()
            timings[name].append(time.perf_counter() - started)
            if name == "import":
                parts.append(outcome)
    fastest = parts[timings["import"].index(min(timings["import"]))]
    for name, label in (
        ("import", "check, plan and save (the service)"),
        ("plain", "COPY and INSERT … SELECT (baseline)"),
    ):
        values = timings[name]
        stdout.write(f"  {label:38} {min(values):7.2f} s ({statistics.median(values):.2f})")
    stdout.write("    of which " + ", ".join(f"{step} {seconds:.2f} s" for step, seconds in fastest.items()))
    ratio = min(timings["import"]) / min(timings["plain"])
    stdout.write(f"  ratio {ratio:.2f}x (target at most {TARGET}x): {'met' if ratio <= TARGET else 'NOT met'}")
    _rolled_back(_later_imports, first, stdout=stdout, rows=rows)
    stdout.write(
        f"best of {repeat}, median in brackets; load average {load_before[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs)"
    )


def _rolled_back(step, content: bytes, **arguments):
    """Run `step` in a new organisation inside a transaction, check the deferred foreign keys,
    then roll everything back."""
    outcome = None
    try:
        with transaction.atomic():
            organization = Organization.objects.create(name="Benchmark", slug="roster-benchmark")
            with organization_scope(organization):
                outcome = step(organization, content, **arguments)
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def _import(organization: Organization, content: bytes) -> dict[str, float]:
    started = time.perf_counter()
    check = roster_validate(content=content)
    if not check.ok:
        raise CommandError(f"The generated file does not check: {check.errors[:3]}")
    checked = time.perf_counter()
    plan = roster_plan(organization=organization, rows=check.rows, mode=RosterImportMode.SYNC)
    planned = time.perf_counter()
    summary = roster_apply(organization=organization, plan=plan, actor=None)
    if summary["people_added"] != len(check.rows):
        raise CommandError(f"The first import added {summary['people_added']:,} of {len(check.rows):,} people.")
    return {"check": checked - started, "plan": planned - checked, "save": time.perf_counter() - planned}


#: The baseline: the file as it is, into tables, with nothing checked, planned or recorded.
PLAIN_IMPORT = [
    "CREATE TEMPORARY TABLE plain_roster (email text, name text, team text, role text, manages text)",
    "COPY plain_roster FROM STDIN (FORMAT csv, HEADER true)",
    # Every team and every team above one, with its depth; then their parents by path.
    """INSERT INTO surveys_team (organization_id, name, path, parent_id)
       SELECT DISTINCT %(organization)s, parts[depth],
              array_to_string(parts[1:depth], '/'), NULL::bigint
       FROM (SELECT DISTINCT string_to_array(team, '/') AS parts FROM plain_roster) AS teams,
            generate_series(1, cardinality(parts)) AS depth""",
    """UPDATE surveys_team AS child SET parent_id = parent.id FROM surveys_team AS parent
       WHERE child.organization_id = %(organization)s AND parent.organization_id = %(organization)s
         AND parent.path = regexp_replace(child.path, '/[^/]*$', '') AND child.path LIKE '%%/%%'""",
    """INSERT INTO surveys_user (password, is_superuser, email, name, is_active, is_staff, date_joined)
       SELECT '!', false, email, name, true, false, now() FROM plain_roster""",
    """INSERT INTO surveys_membership (organization_id, user_id, role, team_id, is_active, created_at)
       SELECT %(organization)s, u.id, r.role, t.id, true, now() FROM plain_roster AS r
       JOIN surveys_user AS u ON u.email = r.email
       JOIN surveys_team AS t ON t.organization_id = %(organization)s AND t.path = r.team""",
    """INSERT INTO surveys_teammanagement (organization_id, team_id, membership_id)
       SELECT %(organization)s, t.id, m.id FROM plain_roster AS r
       CROSS JOIN unnest(string_to_array(r.manages, ';')) AS led(path)
       JOIN surveys_user AS u ON u.email = r.email
       JOIN surveys_membership AS m ON m.organization_id = %(organization)s AND m.user_id = u.id
       JOIN surveys_team AS t ON t.organization_id = %(organization)s AND t.path = led.path
       WHERE r.manages <> ''""",
    "DROP TABLE plain_roster",
]


def _plain(organization: Organization, content: bytes) -> None:
    with connection.cursor() as cursor:
        for statement in PLAIN_IMPORT:
            if statement.startswith("COPY"):
                with cursor.copy(statement) as copy:
                    copy.write(content)
            else:
                cursor.execute(statement, {"organization": organization.pk})


def _later_imports(organization: Organization, content: bytes, *, stdout, rows: int) -> None:
    roster_apply(
        organization=organization,
        plan=roster_plan(organization=organization, rows=roster_validate(content=content).rows, mode="sync"),
        actor=None,
    )
    changed = roster_sample_csv(rows=rows, moved=rows // 10)
    for label, file in (("same file again", content), ("10% moved", changed)):
        started = time.perf_counter()
        check = roster_validate(content=file)
        checked = time.perf_counter()
        plan = roster_plan(organization=organization, rows=check.rows, mode=RosterImportMode.SYNC)
        planned = time.perf_counter()
        summary = roster_apply(organization=organization, plan=plan, actor=None)
        saved = time.perf_counter()
        stdout.write(
            f"  then {label:<16} check {checked - started:5.2f} s, plan {planned - checked:5.2f} s, "
            f"save {saved - planned:5.2f} s  (moved {summary['people_moved']:,}, teams {summary['teams_created']:,})"
        )
