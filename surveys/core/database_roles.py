"""The PostgreSQL roles and policies of row-level security (tenancy layer 3, docs/architecture.md).

- The **owner** owns the tables and runs the migrations. Owners (and superusers) are not
  subject to row-level security, which is how migrations see every row.
- The **web role** (`DATABASE_APP_ROLE`) is what gunicorn connects as: not the owner, not a
  superuser, without BYPASSRLS. It cannot lift its own scope: the policies honour the
  cross-organisation switch (`pulse.all_organizations`) only for the jobs' role, and the few
  lookups across organisations the web needs are functions that answer one narrow question
  each (`core.cross_lookups`).
- The **jobs' role** (`DATABASE_JOBS_ROLE`): worker, beat and management commands. Bound by
  the same policies, but its scheduled searches for due work may span organisations.

`migrate`, run as the owner, then brings the database to what this module says, after every
migrate, so new tables and partitions are covered (`app_role_grant`, post_migrate): each app
role's rights; `pulse_may_span()`, naming the jobs' role; the lookup functions; a policy on
every table that holds tenant or personal data (`tests/test_row_level_security.py` fails on a
table with neither a policy nor a reason in `WITHOUT_POLICY`). The `database` system check
warns when the app's own connection would not be bound by the policies.
"""

from __future__ import annotations

import hashlib
import importlib
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

# A table the policies bind, to ask who owns it.
PROBE_TABLE = "surveys_answer"

#: The organisation and the person in scope, as the policies read them (core.tenancy sets them).
SCOPE = "NULLIF(current_setting('pulse.organization', true), '')::bigint"
PERSON = "NULLIF(current_setting('pulse.user', true), '')::bigint"

#: Tables without a policy, and why nothing in them needs one. Every other table has one.
WITHOUT_POLICY = {
    "surveys_organization": "organisations' names, slugs, settings: read to resolve a URL before a scope; no person",
    "auth_group": "permission groups: no tenant, no person",
    "auth_group_permissions": "permission groups: no tenant, no person",
    "auth_permission": "Django's list of permissions",
    "django_content_type": "Django's list of models",
    "django_migrations": "which migrations ran",
}

#: People are shared by organisations. A session sees the members of the organisation in scope
#: (inactive ones too: the roster's history), the person in scope, and someone just added who
#: belongs nowhere yet, has never signed in and has no password (an import's or a page's new
#: person, between their row and their membership); the jobs' role, when it spans.
PERSON_VISIBLE = f"""id = {PERSON} OR pulse_may_span()
    OR EXISTS (SELECT 1 FROM surveys_membership m
               WHERE m.user_id = surveys_user.id AND m.organization_id = {SCOPE})
    OR (NOT is_staff AND NOT is_superuser AND last_login IS NULL AND password LIKE '!%'
        AND NOT pulse_person_placed(id))"""

#: Each table's policy beside the tenant tables' (migration 0010's, on every table with an
#: organisation): name, table, USING and WITH CHECK.
PERSONAL_POLICIES = [
    ("pulse_person", "surveys_user", PERSON_VISIBLE, PERSON_VISIBLE),
    ("pulse_own_memberships", "surveys_membership", f"user_id = {PERSON}", "false"),
    # Before a request has an organisation, the teams its person is placed in (to find it).
    (
        "pulse_own_teams",
        "surveys_team",
        f"{SCOPE} IS NULL AND id = ANY (CAST((SELECT pulse_person_teams()) AS bigint[]))",
        "false",
    ),
    ("pulse_person", "surveys_user_groups", f"user_id = {PERSON} OR pulse_may_span()", None),
    ("pulse_person", "surveys_user_user_permissions", f"user_id = {PERSON} OR pulse_may_span()", None),
    ("pulse_person", "django_admin_log", f"user_id = {PERSON} OR pulse_may_span()", None),
    # Only the session whose key the request holds (surveys.core.sessions).
    (
        "pulse_session",
        "django_session",
        "session_key = current_setting('pulse.session', true) OR pulse_may_span()",
        None,
    ),
    # The API-key library's own table stays empty: Pulse's keys are surveys_apikey.
    ("pulse_unused", "rest_framework_api_key_apikey", "pulse_may_span()", None),
    # django-pghistory's own context table stays empty: the audit log keeps each change's
    # context in its event row (surveys/models/audit.py), under the organisation's policy.
    ("pulse_unused", "pghistory_context", "pulse_may_span()", None),
    # allauth's own tables stay empty: each organisation's identity provider is its own row
    # (surveys_identityprovider, under the tenant policy), and a sign-in through it creates,
    # connects and keeps nothing (surveys/sso.py).
    ("pulse_unused", "account_emailaddress", "pulse_may_span()", None),
    ("pulse_unused", "account_emailconfirmation", "pulse_may_span()", None),
    ("pulse_unused", "socialaccount_socialapp", "pulse_may_span()", None),
    ("pulse_unused", "socialaccount_socialapp_sites", "pulse_may_span()", None),
    ("pulse_unused", "socialaccount_socialaccount", "pulse_may_span()", None),
    ("pulse_unused", "socialaccount_socialtoken", "pulse_may_span()", None),
    # A person's second factor: theirs alone (the person in scope), like their row.
    ("pulse_person", "otp_totp_totpdevice", f"user_id = {PERSON} OR pulse_may_span()", None),
    ("pulse_person", "otp_static_staticdevice", f"user_id = {PERSON} OR pulse_may_span()", None),
    (
        "pulse_person",
        "otp_static_statictoken",
        f"device_id IN (SELECT id FROM otp_static_staticdevice WHERE user_id = {PERSON}) OR pulse_may_span()",
        None,
    ),
]

#: Left behind by django-axes, which the sign-in rules replaced (usernames and addresses).
DROPPED = ("axes_accessattempt", "axes_accessattemptexpiration", "axes_accessfailurelog", "axes_accesslog")


def _functions(jobs_roles: list[str]) -> list[str]:
    """`pulse_may_span()` and the lookups across organisations the web's role may make, each run
    as the owner (SECURITY DEFINER) and answering one narrow question (core.cross_lookups)."""
    roles = ", ".join("'" + role.replace("'", "''") + "'" for role in jobs_roles) or "NULL"
    definer = "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp"
    return [
        "CREATE OR REPLACE FUNCTION pulse_may_span() RETURNS boolean LANGUAGE sql STABLE AS "
        f"$$ SELECT coalesce(current_setting('pulse.all_organizations', true), '') = 'on' "
        f"AND current_user = ANY (ARRAY[{roles}]::name[]) $$",
        f"""CREATE OR REPLACE FUNCTION pulse_person_placed(p_user bigint) RETURNS boolean {definer} AS
        $$ SELECT EXISTS (SELECT 1 FROM surveys_membership WHERE user_id = p_user) $$""",
        f"""CREATE OR REPLACE FUNCTION pulse_person_teams() RETURNS bigint[] {definer} AS
        $$ SELECT coalesce(array_agg(team_id), '{{}}') FROM surveys_membership
           WHERE user_id = {PERSON} AND team_id IS NOT NULL $$""",
        f"""CREATE OR REPLACE FUNCTION pulse_people_by_email(p_emails text[])
        RETURNS TABLE (id bigint, email text, name text) {definer} AS
        $$ SELECT id, email::text, name::text FROM surveys_user
           WHERE lower(email) IN (SELECT lower(value) FROM unnest(p_emails) AS value) $$""",
        f"""CREATE OR REPLACE FUNCTION pulse_people_elsewhere(p_users bigint[]) RETURNS SETOF bigint {definer} AS
        $$ SELECT DISTINCT user_id FROM surveys_membership WHERE user_id = ANY (p_users)
           AND organization_id IS DISTINCT FROM {SCOPE} $$""",
        f"""CREATE OR REPLACE FUNCTION pulse_api_key_organization(p_prefix text) RETURNS bigint {definer} AS
        $$ SELECT organization_id FROM surveys_apikey WHERE prefix = p_prefix $$""",
        f"""CREATE OR REPLACE FUNCTION pulse_sso_domain_organization(p_domain text) RETURNS bigint {definer} AS
        $$ SELECT organization_id FROM surveys_identityprovider WHERE is_enabled
           AND position(' ' || p_domain || ' ' IN ' ' || email_domains || ' ') > 0
           ORDER BY organization_id LIMIT 1 $$""",
        f"""CREATE OR REPLACE FUNCTION pulse_scim_token_organization(p_prefix text) RETURNS bigint {definer} AS
        $$ SELECT organization_id FROM surveys_scimtoken WHERE prefix = p_prefix $$""",
    ]


LOOKUPS = (
    "pulse_person_placed(bigint)",
    "pulse_person_teams()",
    "pulse_people_by_email(text[])",
    "pulse_people_elsewhere(bigint[])",
    "pulse_api_key_organization(text)",
    "pulse_sso_domain_organization(text)",
    "pulse_scim_token_organization(text)",
)


def app_role_grant(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: bring the database's security to what this module says: the span function,
    the lookups, every policy, and (with DATABASE_APP_ROLE and DATABASE_JOBS_ROLE set) each
    app role's rights on every table (rows filtered by the policies) and sequence; nothing more
    (they cannot alter or drop anything)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    roles = [role for role in (settings.DATABASE_APP_ROLE, settings.DATABASE_JOBS_ROLE) if role]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_schema()")
        owner, schema = cursor.fetchone()
        for role in roles:
            _role_check(cursor, role, owner)
        quoted_schema = connection.ops.quote_name(schema)
        for statement in _functions([settings.DATABASE_JOBS_ROLE] if settings.DATABASE_JOBS_ROLE else []):
            cursor.execute(statement.replace("{schema}", quoted_schema))
        for function in LOOKUPS:
            cursor.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        _policies_apply(cursor)
        for role in roles:
            quoted_role = connection.ops.quote_name(role)
            cursor.execute(f"GRANT USAGE ON SCHEMA {quoted_schema} TO {quoted_role}")
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {quoted_schema} TO {quoted_role}"
            )
            cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quoted_schema} TO {quoted_role}")
            for function in LOOKUPS:
                cursor.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {quoted_role}")


def _role_check(cursor: Any, role: str, owner: str) -> None:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", [role])
    if not cursor.fetchone()[0]:
        raise ImproperlyConfigured(
            f"{role!r} (DATABASE_APP_ROLE or DATABASE_JOBS_ROLE) is not a PostgreSQL role: create it first "
            f"(CREATE ROLE {role} LOGIN PASSWORD '…'), see docs/architecture.md."
        )
    if role == owner:
        raise ImproperlyConfigured(
            "DATABASE_APP_ROLE or DATABASE_JOBS_ROLE names the role running the migrations, the tables' owner, "
            "which row-level security does not bind: give the app roles of their own."
        )


def _policies_apply(cursor: Any) -> None:
    """Every tenant table (and partition) with migration 0010's policy as it reads now; every
    personal table with its own; django-axes's tables gone. Policies already as they should be
    are left alone (replacing one takes a brief lock on its table)."""
    rls = importlib.import_module("surveys.migrations.0010_row_level_security")
    said = importlib.import_module("surveys.migrations.0011_said_tables_partitioned_by_round")
    cursor.execute("SELECT current_schema()")
    (schema,) = cursor.fetchone()
    for table in DROPPED:
        cursor.execute(f'DROP TABLE IF EXISTS "{table}"')
    cursor.execute("SELECT tablename, policyname, qual FROM pg_policies WHERE schemaname = current_schema()")
    current = {(table, name): qual or "" for table, name, qual in cursor.fetchall()}
    for table, shared_rows in rls.tenant_tables(cursor):
        if "pulse_may_span" in current.get((table, "pulse_tenant"), ""):
            continue
        visible = f"organization_id IS NULL OR {rls.SCOPED}" if shared_rows else rls.SCOPED
        _policy_replace(cursor, table, "pulse_tenant", f"USING ({visible}) WITH CHECK ({rls.SCOPED})")
    # New partitions get the policy as it reads now: 0011's securing function, rewritten. (Its
    # partition and sealing functions are 0020's since, and stay as that migration left them.)
    for statement in said.functions_sql(schema):
        if "FUNCTION pulse_said_partition_secure(" in statement:
            cursor.execute(statement)
    cursor.execute(
        """SELECT c.relname, p.polname, obj_description(p.oid, 'pg_policy') FROM pg_class c
           LEFT JOIN pg_policy p ON p.polrelid = c.oid WHERE c.relnamespace = current_schema()::regnamespace"""
    )
    tables: dict[str, dict[str, str]] = {}
    for table, name, comment in cursor.fetchall():
        tables.setdefault(table, {})[name] = comment or ""
    for name, table, using, check in PERSONAL_POLICIES:
        scope = "FOR SELECT " if check == "false" else ""
        with_check = f" WITH CHECK ({check})" if check and check != "false" else ""
        body = f"{scope}USING ({using}){with_check}"
        if table in tables and tables[table].get(name) != _version(body):
            _policy_replace(cursor, table, name, body)


def _version(body: str) -> str:
    return "pulse " + hashlib.sha256(body.encode()).hexdigest()[:16]


def _policy_replace(cursor: Any, table: str, name: str, body: str) -> None:
    """(Re)create one policy, noting which text it was made from (a policy as it should be is
    left alone: replacing one takes a lock on its table, refused while a transaction has
    deferred checks pending on it)."""
    cursor.execute("SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", [f'"{table}"'])
    if not cursor.fetchone()[0]:
        cursor.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    cursor.execute(f'DROP POLICY IF EXISTS {name} ON "{table}"')
    cursor.execute(f'CREATE POLICY {name} ON "{table}" {body}')
    cursor.execute(f'COMMENT ON POLICY {name} ON "{table}" IS %s', [_version(body)])


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
