"""The few lookups across organisations the web needs, each answering one narrow question.

The web's database role cannot lift its own scope (docs/architecture.md, "Tenancy"): with no
organisation in scope it sees no tenant row and no person but the one in scope. A handful of
questions still span organisations by nature: which organisation's single sign-on serves an e-mail domain, who an
e-mail address belongs to (signing in, the
password form, an import that finds someone already on Pulse), whether people belong to another
organisation too (their name is then theirs to change), and whose an API key or a SCIM token is. On PostgreSQL
each is a function run as the tables' owner (`core.database_roles`) that returns only that
answer; SQL the web's role runs for any other purpose still meets the policies. Elsewhere (the
demo's SQLite, which has no row-level security) the same question is asked in plain SQL.

Stops: a request that needs one of these answers getting, for it, the right to read every
organisation's rows, as the old escape hatch gave.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models.expressions import RawSQL


def _rows(function: str, fallback: str, parameters: list) -> list[tuple]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(function, parameters)
        else:
            cursor.execute(fallback, parameters[0] if isinstance(parameters[0], list) else parameters)
        return list(cursor.fetchall())


def people_by_email(emails: Sequence[str]) -> list[tuple[int, str, str]]:
    """(id, e-mail, name) of everyone on Pulse whose address is one of `emails`, ignoring case.
    Says whether an address is on Pulse, and its name: what an import or a sign-in needs."""
    if not emails:
        return []
    wanted = [email.lower() for email in emails]
    marks = ", ".join(["%s"] * len(wanted))
    return _rows(
        "SELECT id, email, name FROM pulse_people_by_email(%s)",
        f"SELECT id, email, name FROM surveys_user WHERE lower(email) IN ({marks})",
        [wanted],
    )


def people_elsewhere(user_ids: Sequence[int], *, organization_id: int) -> set[int]:
    """Which of `user_ids` also belong to an organisation other than `organization_id` (on
    PostgreSQL: other than the one in scope, which callers have set to it)."""
    if not user_ids:
        return set()
    ids = [int(user_id) for user_id in user_ids]
    marks = ", ".join(["%s"] * len(ids))
    if connection.vendor == "postgresql":
        rows = _rows("SELECT * FROM pulse_people_elsewhere(%s)", "", [ids])
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT user_id FROM surveys_membership WHERE user_id IN ({marks}) AND organization_id <> %s",
                [*ids, organization_id],
            )
            rows = list(cursor.fetchall())
    return {row[0] for row in rows}


def api_key_organization(prefix: str) -> RawSQL:
    """The id of the organisation whose API key has this prefix, as an expression to filter
    organisations by (one query); the key itself is checked afterwards, in that organisation's
    scope."""
    if connection.vendor == "postgresql":
        return RawSQL("pulse_api_key_organization(%s)", [prefix])
    return RawSQL("SELECT organization_id FROM surveys_apikey WHERE prefix = %s", [prefix])


def sso_domain_organization(domain: str) -> int | None:
    """The id of the organisation whose single sign-on (turned on) serves this e-mail domain:
    what the sign-in page needs to offer the right provider, and nothing of its settings."""
    rows = _rows(
        "SELECT pulse_sso_domain_organization(%s)",
        "SELECT organization_id FROM surveys_identityprovider WHERE is_enabled "
        "AND instr(' ' || email_domains || ' ', ' ' || %s || ' ') > 0 ORDER BY organization_id LIMIT 1",
        [domain],
    )
    return rows[0][0] if rows and rows[0][0] is not None else None


def scim_token_organization(prefix: str) -> RawSQL:
    """The id of the organisation whose SCIM token has this prefix, as an expression to filter
    organisations by; the token itself is checked afterwards, in that organisation's scope."""
    if connection.vendor == "postgresql":
        return RawSQL("pulse_scim_token_organization(%s)", [prefix])
    return RawSQL("SELECT organization_id FROM surveys_scimtoken WHERE prefix = %s", [prefix])
