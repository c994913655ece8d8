"""Tenancy layer 3: PostgreSQL row-level security on every tenant table (docs/architecture.md).

Every table with an `organization_id` column gets a policy that shows (and lets the app write)
only the rows of the organisation the session is scoped to, `pulse.organization`, which
`surveys.core.tenancy` sets for every request and task; `pulse.all_organizations = 'on'` is the
escape hatch for the code that spans tenants on purpose (`core.tenancy.across_organizations`),
honoured only for the jobs' database role (`pulse_may_span()`). A session that set neither sees
no tenant row at all.

Policies bind the role the app connects as, which is neither the tables' owner nor a superuser
(docs/operations.md, "Database roles"): owners and superusers bypass row-level security, which
is how migrations (run as the owner) see every row. The question bank's shared questions
(`organization_id` empty) are visible to every organisation and writable by none.

On SQLite (the demo) there is nothing to do: layers 1 and 2 still apply.
"""

from django.db import migrations

# The escape hatch is honoured only for the roles `pulse_may_span()` names: the jobs' role
# (surveys.core.database_roles rewrites the function after every migrate), never the web's.
SCOPED = "organization_id = NULLIF(current_setting('pulse.organization', true), '')::bigint OR pulse_may_span()"
# Until the first migrate names the jobs' role, no role may span organisations.
MAY_SPAN = "CREATE OR REPLACE FUNCTION pulse_may_span() RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT false $$"


def tenant_tables(cursor) -> list[tuple[str, bool]]:
    """Every table of the schema with an organisation column, and whether it may be empty."""
    cursor.execute(
        """SELECT c.table_name, c.is_nullable = 'YES' FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
           WHERE c.table_schema = current_schema() AND c.column_name = 'organization_id'
             AND t.table_type = 'BASE TABLE'
           ORDER BY c.table_name"""
    )
    return list(cursor.fetchall())


def enable(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(MAY_SPAN)
        for table, shared_rows in tenant_tables(cursor):
            visible = f"organization_id IS NULL OR {SCOPED}" if shared_rows else SCOPED
            cursor.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            cursor.execute(f'DROP POLICY IF EXISTS pulse_tenant ON "{table}"')
            cursor.execute(f'CREATE POLICY pulse_tenant ON "{table}" USING ({visible}) WITH CHECK ({SCOPED})')


def disable(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, _ in tenant_tables(cursor):
            cursor.execute(f'DROP POLICY IF EXISTS pulse_tenant ON "{table}"')
            cursor.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')


class Migration(migrations.Migration):
    dependencies = [("surveys", "0009_question_bank_v2")]

    operations = [migrations.RunPython(enable, disable, elidable=False)]
