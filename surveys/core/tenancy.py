"""Organisation scope: which tenant the current request or task may touch.

Pulse keeps every organisation in one schema, so a single forgotten `.filter(organization=…)`
would hand one customer another's data. Three layers stop that (docs/architecture.md, "Tenancy").
This module holds layers 2 and 3:

- Layer 2: the default manager of every tenant model refuses to run a query unless an
  organisation is in scope, and then filters by it. Forgetting the filter fails closed, loudly,
  instead of leaking silently.
- Layer 3: on PostgreSQL the scope is also handed to the database session
  (`pulse.organization`), where row-level security policies (migration 0010) show the app's
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

# The PostgreSQL settings the row-level security policies read (migration 0010,
# core.database_roles).
ORGANIZATION_SETTING = "pulse.organization"
ACROSS_SETTING = "pulse.all_organizations"
PERSON_SETTING = "pulse.user"


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
    token = _current.set(organization)
    database_scope_sync()
    return token


def scope_end(token: Token) -> None:
    _current.reset(token)
    database_scope_sync(quiet=True)


@contextmanager
def across_organizations() -> Iterator[None]:
    """Let the block's database queries reach every organisation's rows (layer 3's escape hatch).

    For the few places that span tenants on purpose: finding the membership or invitation that
    establishes a scope, the scheduled jobs that find due rounds in every organisation, the
    admin. It changes nothing in layer 2: the ORM still needs `all_organizations` there.
    """
    token = _across.set(True)
    database_scope_sync()
    try:
        yield
    finally:
        _across.reset(token)
        database_scope_sync(quiet=True)


def person_scope_begin(user_id: int | None) -> Token:
    """Put the person `user_id` in scope for the database (the people table's policy shows a
    session that person, and their own memberships) until `person_scope_end(token)`: for a
    request, from its session's user (`middleware.PersonScopeMiddleware`).

    Stops: a query that escaped the ORM's care reading people of other organisations; the web's
    role sees only the members of the organisation in scope and the person the request is about."""
    token = _person.set(user_id)
    database_scope_sync()
    return token


def person_scope_end(token: Token) -> None:
    _person.reset(token)
    database_scope_sync(quiet=True)


def person_scope_switch(user_id: int) -> None:
    """Make `user_id` the person in scope for the rest of the request (its middleware restores
    the previous one): a sign-in or an e-mailed link names the account it is about before anyone
    is signed in. Only for code that has that account's credential to check next."""
    _person.set(user_id)
    database_scope_sync()


def database_scope_sync(connection: Any = None, *, quiet: bool = False) -> None:
    """Hand the current scope to the open PostgreSQL session (the row-level security policies
    read it). A session not open yet gets it when it connects (`on_connection_created`).

    `quiet` is for leaving a scope: a session whose transaction has already failed, or whose
    server is gone, cannot be told, and raising there would hide the error that broke it. Such
    a session's setting is rolled back with its transaction or dies with the connection, and
    the next scope sets it afresh.
    """
    from django.db import DatabaseError
    from django.db import connection as default_connection
    from django.db.transaction import TransactionManagementError

    connection = connection or default_connection
    if connection.vendor != "postgresql" or connection.connection is None:
        return
    if quiet and connection.needs_rollback:
        return
    organization, person = _current.get(), _person.get()
    values = [
        str(organization.pk) if organization is not None else "",
        "on" if _across.get() else "",
        str(person) if person is not None else "",
    ]
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT set_config('{ORGANIZATION_SETTING}', %s, false), set_config('{ACROSS_SETTING}', %s, false), "
                f"set_config('{PERSON_SETTING}', %s, false)",
                values,
            )
    except (DatabaseError, TransactionManagementError):
        if not quiet:
            raise


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """A new database session starts with the scope the code is in (usually none)."""
    database_scope_sync(connection)


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
