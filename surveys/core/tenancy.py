"""Organisation scope: which tenant the current request or task may touch.

Pulse keeps every organisation in one schema, so a single forgotten `.filter(organization=…)`
would hand one customer another's data. Three layers stop that (docs/architecture.md, "Tenancy").
This module holds layers 2 and 3:

- Layer 2: the default manager of every tenant model refuses to run a query unless an
  organisation is in scope, and then filters by it. Forgetting the filter fails closed, loudly,
  instead of leaking silently.
- Layer 3: on PostgreSQL the scope also goes to the database with every statement
  (`pulse.organization`, local to the statement's transaction, so safe behind a transaction
  pooler: `scoped_cursor`), where row-level security policies (migration 0010) show the app's
  role only that organisation's rows. SQL that bypasses the ORM entirely, or an ORM path that
  layer 2 does not see, still cannot read or write another tenant's rows; with no scope it sees
  none at all. Code that deliberately spans tenants says so twice: `all_organizations` for the
  ORM, `across_organizations()` for the database, where only the jobs' role is let through.
- The person in scope (`pulse.user`): people are shared by organisations, so the people table's
  policy shows a session the members of the organisation in scope, and the one person the
  request is about (the signed-in user, or the account a sign-in or an e-mailed link names);
  that person's own memberships are visible too, which is how a request finds its organisation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from surveys.models import Organization

_current: ContextVar[Organization | None] = ContextVar("pulse_organization", default=None)
_across: ContextVar[bool] = ContextVar("pulse_across_organizations", default=False)
_person: ContextVar[int | None] = ContextVar("pulse_person", default=None)
_session_key: ContextVar[str] = ContextVar("pulse_session_key", default="")

# The PostgreSQL settings the row-level security policies read (migration 0010,
# core.database_roles).
ORGANIZATION_SETTING = "pulse.organization"
ACROSS_SETTING = "pulse.all_organizations"
PERSON_SETTING = "pulse.user"
SESSION_SETTING = "pulse.session"


class OrganizationScopeError(RuntimeError):
    """A tenant model was queried or saved with no organisation (or the wrong one) in scope."""


def current_organization() -> Organization:
    """The organisation in scope.

    Raises instead of returning None so that no caller can mistake "no scope" for "all
    organisations".
    """
    organization = _current.get()
    if organization is None:
        raise OrganizationScopeError(
            "No organisation in scope. Wrap the code in organization_scope(org), or use the "
            "model's `all_organizations` manager if it truly spans tenants."
        )
    return organization


@contextmanager
def organization_scope(organization: Organization) -> Iterator[Organization]:
    """Run the block with `organization` in scope; restores the previous scope afterwards.

    Nesting a different organisation inside a scope is refused: code that already works for
    tenant A has no business switching to tenant B half-way (a classic confused-deputy bug).
    """
    token = scope_begin(organization)
    try:
        yield organization
    finally:
        scope_end(token)


def scope_begin(organization: Organization) -> Token:
    """Put `organization` in scope until `scope_end(token)`: for a lifecycle that cannot be one
    `with` block (a request, scoped in a middleware's process_view and released when the
    response is done). Everything else uses `organization_scope`."""
    outer = _current.get()
    if outer is not None and outer.pk != organization.pk:
        raise OrganizationScopeError(
            f"Already scoped to organisation {outer.pk}; refusing to switch to {organization.pk}."
        )
    return _current.set(organization)


def scope_end(token: Token) -> None:
    _current.reset(token)


@contextmanager
def across_organizations() -> Iterator[None]:
    """Let the block's database queries reach every organisation's rows (layer 3's escape hatch).

    For the few places that span tenants on purpose: finding the membership or invitation that
    establishes a scope, the scheduled jobs that find due rounds in every organisation, the
    admin. It changes nothing in layer 2: the ORM still needs `all_organizations` there.
    """
    token = _across.set(True)
    try:
        yield
    finally:
        _across.reset(token)


def person_scope_begin(user_id: int | None) -> Token:
    """Put the person `user_id` in scope for the database (the people table's policy shows a
    session that person, and their own memberships) until `person_scope_end(token)`: for a
    request, from its session's user (`middleware.PersonScopeMiddleware`).

    Stops: a query that escaped the ORM's care reading people of other organisations; the web's
    role sees only the members of the organisation in scope and the person the request is about."""
    return _person.set(user_id)


def person_scope_end(token: Token) -> None:
    _person.reset(token)


def person_scope_switch(user_id: int) -> None:
    """Make `user_id` the person in scope for the rest of the request (its middleware restores
    the previous one): a sign-in or an e-mailed link names the account it is about before anyone
    is signed in. Only for code that has that account's credential to check next."""
    _person.set(user_id)


def session_key_scope_begin(key: str | None) -> Token:
    """Let the database read and write the session row `key` (and no other) until
    `session_key_scope_end(token)` (`core.sessions`; the sessions table's policy reads it)."""
    return _session_key.set(key if key and _SESSION_KEY.fullmatch(key) else "")


def session_key_scope_end(token: Token) -> None:
    _session_key.reset(token)


# Scope handed to the database with each statement, never left in the session.
#
# The settings are set with `set_config(…, true)`: local to the statement's transaction. Behind
# a transaction pooler (PgBouncer in transaction mode) consecutive transactions of one Django
# connection may run on different server sessions, and a server session serves other clients'
# transactions in between; a session-wide setting would go with the session to whichever
# request's transaction runs there next. So a statement run in a scope carries the scope itself,
# as a prefix in the same round trip: `SELECT set_config(…, true), …; <statement>` (one implicit
# transaction when autocommitting, part of the open one otherwise). This happens in the cursor,
# below Django's execute wrappers (django-pghistory's among them), so it sees the statement as
# sent, and libpq's transaction status says what the server holds already.
_SCOPE_SETTINGS = (ORGANIZATION_SETTING, ACROSS_SETTING, PERSON_SETTING, SESSION_SETTING)
_NO_SCOPE = ("", "", "", "")
_UNKNOWN = ("?",)  # after a rollback to a savepoint: whatever the savepoint held
_SESSION_KEY = re.compile(r"[a-z0-9]{8,64}")  # Django's session keys: anything else matches no row


def _scope_values() -> tuple[str, ...]:
    organization, person = _current.get(), _person.get()
    return (
        str(organization.pk) if organization is not None else "",
        "on" if _across.get() else "",
        str(person) if person is not None else "",
        _session_key.get(),
    )


def _scope_statement(values: tuple[str, ...]) -> str:
    """The settings as one SELECT of literals: each value is digits, "on", a checked session key
    or empty, so it needs no parameter and a statement's own `%` signs keep their meaning."""
    return "SELECT " + ", ".join(
        f"set_config('{name}', '{value}', true)" for name, value in zip(_SCOPE_SETTINGS, values, strict=True)
    )


def _scope_due(connection: Any) -> tuple[str, ...] | None:
    """The scope a statement about to run on `connection` (psycopg's) must carry, or None when
    the server already holds it: a new transaction holds none, an open one what was sent in it."""
    from psycopg.pq import TransactionStatus

    status = connection.info.transaction_status
    if status == TransactionStatus.INERROR:
        return None  # only a rollback can follow
    held = getattr(connection, "pulse_scope_held", _NO_SCOPE) if status == TransactionStatus.INTRANS else _NO_SCOPE
    values = _scope_values()
    return None if values == held else values


@contextmanager
def _transaction(connection: Any) -> Iterator[None]:
    """A transaction for a statement and the scope sent ahead of it: the open one, or a new one
    when autocommitting (which holds no scope yet, whatever an earlier one held)."""
    if not connection.autocommit:
        yield
        return
    with connection.transaction():
        connection.pulse_scope_held = _NO_SCOPE
        yield


@functools.cache
def scoped_cursor(base: type) -> type:
    """A psycopg cursor class (Django's own, `base`) whose statements carry the scope the code
    is in. Installed on every PostgreSQL connection (`on_connection_created`).

    Stops: a pooled server session carrying one tenant's scope into another's transaction; a
    scope outliving its block inside a transaction."""

    class ScopedCursor(base):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            text = query.decode() if isinstance(query, bytes) else query
            head = text.lstrip()[:8].lower() if isinstance(text, str) else "composed"
            if head.startswith("rollback"):  # to a savepoint: back to what it held, unknown here
                self.connection.pulse_scope_held = _UNKNOWN
            bare = head.startswith(("rollback", "commit", "begin", "composed"))
            values = None if bare else _scope_due(self.connection)
            if values is None:
                return super().execute(query, params, **kwargs)
            self.connection.pulse_scope_held = values
            super().execute(f"{_scope_statement(values)}; {text}", params, **kwargs)
            while self.nextset():  # on to the statement's own result
                pass
            return self

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
            # One statement only (psycopg pipelines it): the scope goes ahead, in the same
            # transaction, which is opened here when autocommitting.
            with _transaction(self.connection):
                values = _scope_due(self.connection)
                if values is not None:
                    super().execute(_scope_statement(values))
                    self.connection.pulse_scope_held = values
                super().executemany(query, params_seq, **kwargs)

        @contextmanager
        def copy(self, statement: Any, params: Any = None, **kwargs: Any) -> Iterator[Any]:
            with _transaction(self.connection):
                values = _scope_due(self.connection)
                if values is not None:
                    super().execute(_scope_statement(values))
                    self.connection.pulse_scope_held = values
                with super().copy(statement, params, **kwargs) as copy:
                    yield copy

    return ScopedCursor


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Every PostgreSQL connection's statements carry the scope (`scoped_cursor`)."""
    if connection.vendor == "postgresql":
        raw = connection.connection
        raw.cursor_factory = scoped_cursor(raw.cursor_factory)


class TenantManager(models.Manager):
    """Default manager of tenant models: only the organisation in scope, or an error.

    Stops: a view, selector or task that forgets to filter by organisation and would read
    (or update, or delete) every tenant's rows.
    """

    def get_queryset(self) -> models.QuerySet:
        organization = current_organization()
        return super().get_queryset().filter(organization_id=organization.pk)

    def none(self) -> models.QuerySet:
        """Nothing, which needs no scope (the API schema is built without one)."""
        return super().get_queryset().none()


class TenantModel(models.Model):
    """Base of every tenant-owned model: the `organization` column and the two managers.

    `objects` fails closed; `all_organizations` is the loud escape hatch for the admin,
    migrations and jobs that deliberately span tenants (and must then scope themselves).
    """

    organization = models.ForeignKey("surveys.Organization", on_delete=models.CASCADE, related_name="+", editable=False)

    objects = TenantManager()
    all_organizations = models.Manager()  # noqa: DJ012 (ruff takes a manager for a field)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Fill the organisation from the scope, and refuse to write into another one.

        Stops: an object built for tenant A being saved while serving tenant B.
        """
        scoped = _current.get()
        if self.organization_id is None:
            self.organization = current_organization()
        elif scoped is not None and scoped.pk != self.organization_id:
            raise OrganizationScopeError(
                f"Refusing to save a {type(self).__name__} of organisation "
                f"{self.organization_id} while scoped to {scoped.pk}."
            )
        super().save(*args, **kwargs)


def tenant_task(model: type[TenantModel]) -> Callable:
    """Decorate a Celery task body whose first argument is the id of a `model` row.

    The row's organisation is looked up (through `all_organizations`: the task has no scope
    yet) and the body runs inside that organisation's scope, so everything it queries is
    confined to the tenant that owns the row. A missing row is a silent no-op: the row was
    deleted between enqueueing and running, and retrying cannot help.
    """

    def decorate(body: Callable) -> Callable:
        @functools.wraps(body)
        def run(object_id: Any, *args: Any, **kwargs: Any) -> Any:
            with across_organizations():
                row = model.all_organizations.select_related("organization").filter(pk=object_id).first()
            if row is None:
                return None
            with organization_scope(row.organization):
                return body(object_id, *args, **kwargs)

        return run

    return decorate
