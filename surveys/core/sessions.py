"""Sessions in the database, each readable only by the request that holds its key.

A session's key is a credential: whoever has it is signed in. The sessions table's row-level
security policy (core.database_roles) shows the web's role only the row whose key the session
is set to (`pulse.session`, handed over with the statements by `core.tenancy`), so SQL run
for any other purpose, or by anyone holding the web role's password, cannot list the table and
take over every signed-in person. Every read and write of a session here says which key it is
about first. The jobs' role may span (Django's
`clearsessions` deletes expired sessions of everyone).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from surveys.core.tenancy import session_key_scope_begin, session_key_scope_end


@contextmanager
def session_key_scope(key: str | None) -> Iterator[None]:
    """Let the block read and write the session `key` (and no other) on PostgreSQL."""
    token = session_key_scope_begin(key)
    try:
        yield
    finally:
        session_key_scope_end(token)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        with session_key_scope(self.session_key):
            return super()._get_session_from_db()  # type: ignore[misc]

    def exists(self, session_key: str) -> bool:
        with session_key_scope(session_key):
            return super().exists(session_key)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
            return
        with session_key_scope(self.session_key):
            super().save(must_create=must_create)

    def delete(self, session_key: str | None = None) -> None:
        with session_key_scope(session_key or self.session_key):
            super().delete(session_key)
