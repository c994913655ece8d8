"""Who is acting, for the audit log (docs/operations.md, "Audit log").

The audit log records row changes of the tables HR and admins run the programme with
(`models/audit.py`); this module carries the "who" to it. A request, a command or a job opens
`audit_context(...)` with what is known (through which door: web, API, admin, job) and adds
the actor once known (`audit_context_add`). On PostgreSQL the same metadata goes to
django-pghistory's context, which prepends it to every write statement of the block, so the
triggers store it with each event, set-based writes included; elsewhere (SQLite, the demo) the
fallback that writes events in Python reads `audit_metadata()`.

What a context may hold is deliberately small: who (a membership id and the e-mail they had),
through which door and which route, never a request's body, query or path values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection

_metadata: ContextVar[dict[str, Any] | None] = ContextVar("pulse_audit_context", default=None)


def audit_metadata() -> dict[str, Any] | None:
    """The metadata of the audit context in force, or None outside one."""
    return _metadata.get()


@contextmanager
def audit_context(**metadata: Any) -> Iterator[dict[str, Any]]:
    """Attribute every audited change of the block to `metadata` (nested contexts add to the
    outermost, which is the one recorded)."""
    outer = _metadata.get()
    if outer is not None:
        audit_context_add(**metadata)
        yield outer
        return
    current = dict(metadata)
    token = _metadata.set(current)
    with ExitStack() as stack:
        if connection.vendor == "postgresql":
            import pghistory

            wrote: list[bool] = []
            stack.callback(_database_context_clear, wrote)
            stack.enter_context(connection.execute_wrapper(_writes_noted(wrote)))
            stack.enter_context(pghistory.context(**current))
        try:
            yield current
        finally:
            _metadata.reset(token)


def _writes_noted(wrote: list[bool]):
    """An execute wrapper noting that the block sent a statement pghistory hands the context
    with (anything but a read)."""

    def note(execute, sql, params, many, context):
        if not wrote and str(sql).lstrip()[:6].lower() != "select":
            wrote.append(True)
        return execute(sql, params, many, context)

    return note


def _database_context_clear(wrote: list[bool]) -> None:
    """pghistory hands the context to the transaction in force; one that goes on after the
    block (a test, a job inside a larger transaction) must not lend it to later writes."""
    if wrote and connection.in_atomic_block and not connection.needs_rollback:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('pghistory.context_id', '', true), "
                "set_config('pghistory.context_metadata', '', true)"
            )


def audit_context_add(**metadata: Any) -> None:
    """Add to the context in force (the actor, once a request has found who it is); nothing
    outside one."""
    current = _metadata.get()
    if current is None:
        return
    current.update(metadata)
    if connection.vendor == "postgresql":
        import pghistory

        pghistory.context(**metadata)  # called, not entered: adds to the context pghistory holds
