"""Reads from a streaming replica (DATABASE_REPLICA_URL), for what may be a moment behind.

Published results never change, so the results pages, the API's reads and its CSV exports may
read a replica: `replica_reads(request)` (or the `reads_replica` view decorator) sends the ORM's
reads inside it to the `replica` database alias (`ReplicaRouter`, DATABASE_ROUTERS). Everything
else reads the primary, and so does:

- any read inside a transaction (it may follow the transaction's own writes);
- any request other than GET or HEAD;
- a browser that has just written: after a successful POST (or PUT, PATCH, DELETE) in an
  organisation's pages the `ReadYourWritesMiddleware` sets a short cookie, and while it lasts
  (PULSE_REPLICA_PRIMARY_SECONDS) that browser's pages read the primary, so HR sees the plan
  they just saved even if the replica has not replayed it yet.

The replica is a physical copy: the same roles and row-level security policies apply there, and
its statements carry the request's scope as the primary's do (`core.tenancy.scoped_cursor`).
With no replica configured all of this does nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
#: Set after a write: while present, this browser reads the primary.
PRIMARY_COOKIE = "pulse_primary"
READING_METHODS = ("GET", "HEAD")

_replica_reads: ContextVar[bool] = ContextVar("pulse_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_reads_begin(request: HttpRequest) -> Token | None:
    """From here on, this request's reads go to the replica, if there is one and the request
    may read it; None when it may not (keep the token for `replica_reads_end`)."""
    if not replica_configured() or request.method not in READING_METHODS or request.COOKIES.get(PRIMARY_COOKIE):
        return None
    return _replica_reads.set(True)


def replica_reads_end(token: Token | None) -> None:
    if token is not None:
        _replica_reads.reset(token)


@contextmanager
def replica_reads(request: HttpRequest) -> Iterator[None]:
    token = replica_reads_begin(request)
    try:
        yield
    finally:
        replica_reads_end(token)


def reads_replica(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page of published figures: its reads (template rendering included) may go to the replica."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with replica_reads(request):
            return view(request, *args, **kwargs)

    return wrapped


class ReplicaRouter:
    """Reads inside `replica_reads` go to the replica, outside a transaction; writes and
    migrations to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _replica_reads.get() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return REPLICA
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, copied

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


def primary_cookie_set(request: HttpRequest, response: HttpResponse) -> None:
    """After a write in an organisation's pages that succeeded, this browser reads the primary
    for a while. (A sign-in writes only its session, which no page reads from the replica.)"""
    if not replica_configured() or request.method in READING_METHODS or request.method == "OPTIONS":
        return
    if getattr(request, "organization", None) is None:
        return
    if response.status_code >= 400:
        return
    response.set_cookie(
        PRIMARY_COOKIE,
        "1",
        max_age=settings.PULSE_REPLICA_PRIMARY_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
