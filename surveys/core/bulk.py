"""Set-based writes of many rows: staged in a temporary table, then written by one statement.

Django's `bulk_create` builds a model instance and prepares a parameter for every value, and
`bulk_update` writes a CASE per row and column: for the tens of thousands of rows of a roster
that costs several times the database's own work. Here the rows go into a temporary table (one
COPY on PostgreSQL, one `executemany` elsewhere) and one INSERT … SELECT or UPDATE … FROM
writes them. That statement meets row-level security like any other (PostgreSQL refuses COPY
straight into a table with policies), and the model's constraints and foreign keys as usual.

Values go to the database as they are: ids, strings and booleans, already checked by the
caller (no field's `get_db_prep_save` runs per value). A value shared by every row (a
timestamp, a flag) is a `constants` entry, prepared once by its field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models
from django.db.models import Lookup

STAGE = "pulse_stage"
#: Values of one query's IN list where there is no array parameter: SQLite caps a query's parameters.
IN_LIST = 5_000


class AnyOf(Lookup):
    """`field__any_of=values`: `__in` for many values. On PostgreSQL the values go as one
    array parameter (`= ANY(%s)`), which costs the client a fraction of an IN list of tens of
    thousands of placeholders; elsewhere it is the IN list (at most IN_LIST values: `chunks`).
    Registered on every field, foreign keys included (`SurveysConfig.ready`)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if not values:
            return "1 = 0", []
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*params, *values]


def chunks(values: Sequence) -> Iterator[Sequence]:
    """`values` in pieces one `__any_of` can take: all at once on PostgreSQL."""
    size = max(len(values), 1) if connection.vendor == "postgresql" else IN_LIST
    for start in range(0, len(values), size):
        yield values[start : start + size]


def bulk_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]] | str,
    *,
    constants: Mapping[str, Any] | None = None,
    returning: Sequence[str] = ("id",),
) -> list[tuple]:
    """Insert `rows` (values of `columns`, by attribute name: `team_id`) with `constants` in
    every row; returns the `returning` columns of each row inserted, in no particular order.
    On PostgreSQL `rows` may be COPY text already (tab-separated, a line a row), for a caller
    that renders many rows faster than row by row."""
    if not rows:
        return []
    fields = _fields(model)
    constants = dict(constants or {})
    names = ", ".join(_quote(fields[name].column) for name in (*columns, *constants))
    values = [_quote(fields[name].column) for name in columns]
    values += [_parameter(fields[name]) for name in constants]
    params = [fields[name].get_db_prep_save(value, connection) for name, value in constants.items()]
    back = f" RETURNING {', '.join(_quote(fields[name].column) for name in returning)}" if returning else ""
    with _staged(model, columns, rows) as cursor:
        cursor.execute(
            f"INSERT INTO {_quote(model._meta.db_table)} ({names}) SELECT {', '.join(values)} FROM {STAGE}{back}",
            params,
        )
        return [tuple(row) for row in cursor.fetchall()] if returning else []


def bulk_update(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Set `columns` (after the first, the primary key) of each row's record to the row's values."""
    if not rows:
        return
    fields = _fields(model)
    key, changed = columns[0], columns[1:]
    assignments = ", ".join(f"{_quote(fields[name].column)} = {STAGE}.{_quote(name)}" for name in changed)
    table = _quote(model._meta.db_table)
    with _staged(model, columns, rows) as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {STAGE} "
            f"WHERE {table}.{_quote(fields[key].column)} = {STAGE}.{_quote(key)}"
        )


@contextmanager
def _staged(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]] | str) -> Iterator[Any]:
    """A cursor, with `rows` in the temporary table STAGE (typed like the model's columns),
    dropped afterwards. Call inside a transaction: if anything fails, rolling it back removes
    the table."""
    fields = _fields(model)
    definition = ", ".join(f"{_quote(name)} {fields[name].db_type(connection)}" for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} ({definition})")
        if connection.vendor == "postgresql":
            # Django wraps execute() errors, not copy(): wrap them here too.
            statement = f"COPY {STAGE} ({', '.join(_quote(name) for name in columns)}) FROM STDIN"
            with connection.wrap_database_errors, cursor.copy(statement) as copy:
                if isinstance(rows, str):
                    copy.write(rows)
                else:
                    for row in rows:
                        copy.write_row(row)
        else:
            assert not isinstance(rows, str), "COPY text is for PostgreSQL"
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {STAGE} VALUES ({placeholders})", [list(row) for row in rows])
        yield cursor
        cursor.execute(f"DROP TABLE {STAGE}")


def _fields(model: type[models.Model]) -> dict[str, models.Field]:
    return {field.attname: field for field in model._meta.concrete_fields}


def _parameter(field: models.Field) -> str:
    """A placeholder for a constant: typed on PostgreSQL, where a bare parameter in a SELECT
    list is text."""
    return f"CAST(%s AS {field.db_type(connection)})" if connection.vendor == "postgresql" else "%s"


def _quote(name: str | None) -> str:
    assert name is not None  # a concrete field's column
    return connection.ops.quote_name(name)
