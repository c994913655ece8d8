"""Coverage floors, file by file, for the code that keeps organisations and people apart: the
privacy engine, the tenancy scope, the gatekeepers and every service. `make test` runs this after
the suite, on the coverage data the suite wrote (.coverage); a file that falls below its floor,
or a file of these folders without a floor, fails the run.

Floors sit a few points under the figures of the day they were set (the lower of SQLite's and
PostgreSQL's), so they catch tests going missing, not a line moving. Raise one when its file's
coverage rises; a new file gets its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parent.parent

#: Files under these paths must each have a floor below.
GUARDED = ("surveys/privacy/", "surveys/core/tenancy.py", "surveys/access.py", "surveys/services/")

#: Per cent of statements covered, at least.
FLOORS: dict[str, int] = {
    # Set 2026-12-07 from `make test` on SQLite and on PostgreSQL (the lower of the two), less 3.
    "surveys/privacy/audit.py": 90,
    "surveys/privacy/comments.py": 97,
    "surveys/privacy/rules.py": 92,
    "surveys/privacy/publication.py": 97,
    "surveys/privacy/units.py": 97,
    "surveys/privacy/live.py": 94,
    "surveys/privacy/tables.py": 97,
    "surveys/core/tenancy.py": 86,  # 89% on SQLite; the row-level security paths run on PostgreSQL
    "surveys/access.py": 91,
    "surveys/services/access_changes.py": 95,
    "surveys/services/accounts.py": 92,  # 94.7% on PostgreSQL since single-use account links
    "surveys/services/action_plans.py": 90,
    "surveys/services/api_keys.py": 80,
    "surveys/services/audit.py": 90,
    "surveys/services/history.py": 97,
    # Set 2026-12-07 evening from `make test` on PostgreSQL less 6 (SQLite not measured yet).
    "surveys/services/identity.py": 86,
    "surveys/services/languages.py": 94,
    "surveys/services/mfa.py": 90,
    "surveys/services/roster/provisioning.py": 91,
    "surveys/services/scim_tokens.py": 82,
    "surveys/services/invitations.py": 94,
    "surveys/services/jobs.py": 97,
    "surveys/services/notices.py": 94,
    "surveys/services/organization.py": 91,
    "surveys/services/participation.py": 92,
    "surveys/services/people.py": 83,
    "surveys/services/person_data.py": 90,
    "surveys/services/responses.py": 72,  # 79.8% on PostgreSQL: its writes are one statement there
    "surveys/services/retention.py": 88,
    "surveys/services/results.py": 97,
    "surveys/services/roster/__init__.py": 97,
    "surveys/services/roster/apply.py": 97,
    "surveys/services/roster/imports.py": 88,
    "surveys/services/roster/plan.py": 97,
    "surveys/services/roster/preview.py": 97,
    "surveys/services/roster/undo.py": 94,
    "surveys/services/roster_file.py": 94,
    "surveys/services/rounds.py": 84,
    "surveys/services/sealing.py": 44,  # 95% on SQLite; PostgreSQL seals by swapping partitions in SQL
    "surveys/services/surveys.py": 94,
    "surveys/services/teams.py": 77,
}


def guarded_files() -> list[Path]:
    files = []
    for guarded in GUARDED:
        path = ROOT / guarded
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [path for path in files if "migrations" not in path.parts]


def shortfalls(data_file: Path) -> list[str]:
    covered = coverage.Coverage(data_file=str(data_file))
    covered.load()
    problems, checked = [], set()
    for file in guarded_files():
        path = file.relative_to(ROOT).as_posix()
        _, statements, _, missing, _ = covered.analysis2(str(file))
        if not statements:
            continue
        checked.add(path)
        percent = 100 * (len(statements) - len(missing)) / len(statements)
        floor = FLOORS.get(path)
        if floor is None:
            problems.append(f"{path}: {percent:.1f}% covered and no floor: add one to tests/coverage_floors.py")
        elif percent < floor:
            problems.append(f"{path}: {percent:.1f}% covered, below its floor of {floor}%")
    problems += [f"{path}: has a floor but no such file (moved or renamed?)" for path in sorted(set(FLOORS) - checked)]
    return problems


def main() -> int:
    data_file = ROOT / ".coverage"
    if not data_file.exists():
        print("coverage floors: no .coverage to read (run the suite with --cov first)", file=sys.stderr)
        return 2
    problems = shortfalls(data_file)
    for problem in problems:
        print(f"coverage floor: {problem}", file=sys.stderr)
    if not problems:
        print(f"coverage floors: {len(FLOORS)} files at or above their floors")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
