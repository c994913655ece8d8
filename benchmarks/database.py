"""The database a benchmark writes to: one it created itself, never one it was pointed at.

Benchmarks build organisations of hundreds of thousands of rows, vacuum and drop tables. Run
against the database the settings name, that could be a deployment's. So `manage.py benchmark`
creates a database of its own on the same PostgreSQL server (named `pulse_bench_…` and marked
with a comment saying who made it), migrates it, runs the benchmark there and drops it; and
every benchmark that writes checks first (`bench_database_check`) that its connection is to
such a database, so calling one any other way is refused too.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection

PREFIX = "pulse_bench_"
MARKER = "created by manage.py benchmark for one run; safe to drop"


def bench_database_refusal(*, benchmark: str, vendor: str, name: str, comment: str | None) -> str | None:
    """Why `benchmark` may not write to this database, or None when `manage.py benchmark`
    created it: PostgreSQL, a name with PREFIX and the MARKER comment."""
    if vendor != "postgresql":
        return f"benchmark {benchmark} needs PostgreSQL: set DATABASE_URL=postgres://… (SQLite is not timed)."
    if not name.startswith(PREFIX) or comment != MARKER:
        return (
            f"benchmark {benchmark} writes to its database, so it runs only on one `manage.py benchmark` "
            f"created for it ({PREFIX}…), never on {name!r}."
        )
    return None


def bench_database_check(benchmark: str) -> None:
    """Refuse (CommandError) unless the connection is to a database made by `bench_database`."""
    comment = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
            )
            (comment,) = cursor.fetchone()
    refusal = bench_database_refusal(
        benchmark=benchmark, vendor=connection.vendor, name=connection.settings_dict["NAME"], comment=comment
    )
    if refusal:
        raise CommandError(refusal)


@contextmanager
def bench_database(benchmark: str, *, stdout, keep: bool = False) -> Iterator[str]:
    """A fresh, migrated database on the server of the `default` connection, in use for the
    block (and named in DATABASE_URL for any process the benchmark starts); dropped afterwards
    unless `keep`."""
    if connection.vendor != "postgresql":
        raise CommandError(
            bench_database_refusal(benchmark=benchmark, vendor=connection.vendor, name="", comment=None) or ""
        )
    name = f"{PREFIX}{benchmark}_{secrets.token_hex(4)}"
    quoted = connection.ops.quote_name(name)
    try:
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {quoted}")
            cursor.execute(f"COMMENT ON DATABASE {quoted} IS %s", [MARKER])
    except DatabaseError as error:
        raise CommandError(f"benchmark {benchmark} could not create its database ({error}).") from error
    previous_name, previous_url = connection.settings_dict["NAME"], os.environ.get("DATABASE_URL")
    _use(name, url=urlunsplit(urlsplit(previous_url)._replace(path="/" + name)) if previous_url else None)
    try:
        stdout.write(f"Database {name}, created for this run; migrating it.")
        call_command("migrate", verbosity=0, interactive=False)
        yield name
    finally:
        _use(previous_name, url=previous_url)
        if keep:
            stdout.write(f"Kept database {name}.")
        else:
            force = " WITH (FORCE)" if connection.pg_version >= 130000 else ""  # type: ignore[attr-defined]
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE {quoted}{force}")


def _use(name: str, *, url: str | None) -> None:
    """Point the `default` connection at database `name`, and DATABASE_URL (for processes the
    benchmark starts) at `url`, or leave DATABASE_URL unset."""
    connection.close()
    connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = name
    if url is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = url
