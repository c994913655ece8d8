"""The two PostgreSQL roles row-level security needs (tenancy layer 3, docs/architecture.md).

- The **owner** owns the tables and runs the migrations. Owners (and superusers) are not
  subject to row-level security, which is how migrations see every row.
- The **app role** is what web, worker and beat connect as: not the owner, not a superuser,
  without BYPASSRLS, so every query it runs goes through the policies of migration 0010.

`migrate`, run as the owner with `DATABASE_APP_ROLE` set, grants the app role what it needs
on every table (after each migrate, so new tables are covered). The `database` system check
warns when the app's own connection would not be bound by the policies.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

# A table the policies bind, to ask who owns it.
PROBE_TABLE = "surveys_answer"


def app_role_grant(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: let DATABASE_APP_ROLE read and write every table (its rows filtered by
    the policies) and use every sequence; nothing more (it cannot alter or drop anything)."""
    role = settings.DATABASE_APP_ROLE
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_schema(), EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", [role]
        )
        owner, schema, exists = cursor.fetchone()
        if not exists:
            raise ImproperlyConfigured(
                f"DATABASE_APP_ROLE is {role!r}, but PostgreSQL has no such role: create it first "
                f"(CREATE ROLE {role} LOGIN PASSWORD '…'), see docs/architecture.md."
            )
        if role == owner:
            raise ImproperlyConfigured(
                "DATABASE_APP_ROLE names the role running the migrations, the tables' owner, which "
                "row-level security does not bind: give the app a role of its own."
            )
        quoted_role, quoted_schema = connection.ops.quote_name(role), connection.ops.quote_name(schema)
        cursor.execute(f"GRANT USAGE ON SCHEMA {quoted_schema} TO {quoted_role}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {quoted_schema} TO {quoted_role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quoted_schema} TO {quoted_role}")


@checks.register(checks.Tags.database)
def app_role_check(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check --database default`: is the app's connection bound by row-level security?

    Quiet for the owner when DATABASE_APP_ROLE names another role: that is `migrate` run as
    the owner on the app's behalf, as it should be."""
    if not databases or "default" not in databases:
        return []
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT current_user, r.rolsuper, r.rolbypassrls, t.tableowner = current_user
               FROM pg_roles r LEFT JOIN pg_tables t ON t.tablename = %s AND t.schemaname = current_schema()
               WHERE r.rolname = current_user""",
            [PROBE_TABLE],
        )
        user, superuser, bypasses, owns = cursor.fetchone()
    migrating_for_the_app = settings.DATABASE_APP_ROLE not in ("", user)
    if (superuser or bypasses or owns) and not migrating_for_the_app:
        why = "a superuser" if superuser else "a role that bypasses row-level security" if bypasses else "the owner"
        return [
            checks.Warning(
                f"The app connects to PostgreSQL as {why}, so row-level security does not apply to it.",
                hint="Connect as a role of its own (DATABASE_URL) and run migrations as the owner with "
                "DATABASE_APP_ROLE set; see docs/architecture.md, 'Tenancy'.",
                id="pulse.W001",
            )
        ]
    return []
