"""Integer query results as numpy arrays, fetched in one round trip.

Aggregation and its auditor read tens of thousands of small integer rows (a round's answer
histogram); building a Python tuple and integers for each costs more than the GROUP BY itself.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from django.db import connection


def fetch_int_tables(queries: dict[str, tuple[str, int]], params: dict) -> dict[str, np.ndarray]:
    """Run queries whose columns are all non-null integers; each result as an int64 array.

    On PostgreSQL they go as ONE statement returning ONE row: each query's rows packed
    server-side into a two-dimensional bigint array, fetched by a binary COPY, so numpy reads
    them without a Python tuple or integer per value (per-row transfer, not the GROUP BY, is
    what a Python client pays most for a big histogram). Elsewhere (SQLite) they run one by
    one through the cursor.
    """
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            tables = {}
            for name, (sql, width) in queries.items():
                cursor.execute(sql, params)
                tables[name] = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, width)
            return tables
        packed = ", ".join(
            f"(SELECT array_agg(ARRAY[{', '.join(f'CAST(c{i} AS bigint)' for i in range(width))}]) "
            f"FROM ({sql}) AS rows_({', '.join(f'c{i}' for i in range(width))}))"
            for sql, width in queries.values()
        )
        # COPY takes no server-side parameters: psycopg binds them (integers here) client-side.
        operations: Any = connection.ops  # PostgreSQL's: compose_sql binds the parameters
        statement = operations.compose_sql(f"COPY (SELECT {packed}) TO STDOUT (FORMAT binary)", params)
        # Django wraps execute() and fetch*() errors, not copy(): wrap them here, so a dropped
        # connection is the OperationalError the task retries on.
        with connection.wrap_database_errors, cursor.copy(statement) as copy:
            data = b"".join(copy)
    fields = _binary_copy_row(data, len(queries))
    return {name: _bigint_array(field, queries[name][1]) for name, field in zip(queries, fields, strict=True)}


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _binary_copy_row(data: bytes, count: int) -> list[memoryview | None]:
    """The fields of the one row of a binary COPY: a signature, flags and a header extension,
    then a 16-bit field count and each field as a 32-bit length (-1: null) and its bytes, then
    a 16-bit -1. All big-endian."""
    if not data.startswith(_COPY_SIGNATURE) or not data.endswith(b"\xff\xff"):
        raise ValueError("Not a binary COPY stream.")
    (extension,) = struct.unpack_from(">I", data, len(_COPY_SIGNATURE) + 4)
    at = len(_COPY_SIGNATURE) + 8 + extension
    (fields,) = struct.unpack_from(">h", data, at)
    if fields != count:
        raise ValueError("Expected one row of packed arrays.")
    at += 2
    values: list[memoryview | None] = []
    view = memoryview(data)
    for _ in range(count):
        (length,) = struct.unpack_from(">i", data, at)
        at += 4
        values.append(None if length < 0 else view[at : at + length])
        at += max(length, 0)
    if at != len(data) - 2:
        raise ValueError("Expected one row of packed arrays.")
    return values


def _bigint_array(data: memoryview | None, width: int) -> np.ndarray:
    """Read PostgreSQL's binary form of a bigint[][] without nulls (None: no rows): a header of
    big-endian int32s (dimensions, null flag, element type, then size and lower bound of each
    dimension), then each element as its int32 length (8) and its int64 value."""
    if data is None:
        return np.zeros((0, width), dtype=np.int64)
    dimensions, has_nulls, element_type = struct.unpack_from(">iiI", data, 0)
    if dimensions != 2 or has_nulls or element_type != _INT8_OID:
        raise ValueError("Expected a two-dimensional bigint array without nulls.")
    rows, _, columns, _ = struct.unpack_from(">iiii", data, 12)
    elements = np.frombuffer(data, dtype=[("length", ">i4"), ("value", ">i8")], offset=28)
    if columns != width or len(elements) != rows * width or (elements["length"] != 8).any():
        raise ValueError("Unexpected array layout.")
    return elements["value"].astype(np.int64).reshape(rows, width)


_INT8_OID = 20
