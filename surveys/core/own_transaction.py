"""Statements that must commit on their own, whatever transaction the caller is in.

A round's partitions (models.rounds.said_partitions_create) are attached in a short transaction
of their own: inside the caller's (a round opened with 125,000 invitations, say) the lock on
the tables would be held until that commits, and another organisation's round would wait on it
(docs/decisions/2026-12-07-no-tenant-waits-on-another.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def execute_committed(sql: str, params: Sequence[Any] = ()) -> None:
    """Run `sql` in a transaction of its own, committed when this returns: on the connection
    itself outside a transaction (autocommit), else on a short-lived second connection with the
    same settings. A caller that then rolls back does not take it back."""
    if not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    side = connection.get_new_connection(connection.get_connection_params())
    try:
        side.autocommit = True
        with side.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        side.close()
