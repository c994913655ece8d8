"""Roster import of a generated organisation: first import, unchanged re-import, 10% changes.

Runs inside a transaction that is rolled back, so it leaves the database as it found it. The
baseline is reading the same file with the csv module alone, on the same machine, in the same run.
"""

from __future__ import annotations

import csv
import io
import time

from django.db import transaction

from surveys.models import Organization, RosterImportMode
from surveys.services.roster import roster_apply, roster_plan
from surveys.services.roster_file import roster_validate
from surveys.tenancy import organization_scope

TEAM_SIZE = 50


def add_arguments(parser) -> None:
    parser.add_argument("--rows", type=int, default=50_000, help="People in the generated file.")


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


def run(*, stdout, rows: int, **options) -> None:
    first = roster_sample_csv(rows=rows)
    changed = roster_sample_csv(rows=rows, moved=rows // 10)
    started = time.perf_counter()
    sum(1 for _ in csv.reader(io.StringIO(first.decode())))
    baseline = time.perf_counter() - started
    stdout.write(f"{rows:,} rows, {len(first) / 1e6:.1f} MB")
    stdout.write(f"  baseline: csv module reads the file      {baseline:6.2f} s")
    try:
        with transaction.atomic():
            organization = Organization.objects.create(name="Benchmark", slug="roster-benchmark")
            with organization_scope(organization):
                summary = _measure(stdout, "first import", organization, first)
                if summary["people_added"] != rows:
                    raise RuntimeError(f"The first import added {summary['people_added']:,} of {rows:,} people.")
                for label, content in (("same file again", first), ("10% moved", changed)):
                    _measure(stdout, label, organization, content)
            raise _Rollback
    except _Rollback:
        pass


def _measure(stdout, label: str, organization: Organization, content: bytes) -> dict:
    started = time.perf_counter()
    check = roster_validate(content=content)
    checked = time.perf_counter()
    assert check.ok, check.errors[:5]
    plan = roster_plan(organization=organization, rows=check.rows, mode=RosterImportMode.SYNC)
    planned = time.perf_counter()
    summary = roster_apply(organization=organization, plan=plan, actor=None)
    saved = time.perf_counter()
    stdout.write(
        f"  {label:<16} check {checked - started:6.2f} s, plan {planned - checked:6.2f} s, "
        f"save {saved - planned:6.2f} s, total {saved - started:6.2f} s  (added {summary['people_added']:,}, "
        f"moved {summary['people_moved']:,}, teams {summary['teams_created']:,})"
    )
    return summary
