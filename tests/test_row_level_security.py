"""Tenancy layer 3: PostgreSQL row-level security (migration 0010, `core.database_roles`,
`core.tenancy.scoped_cursor`).

The tests run as the database's superuser, whom the policies do not bind, so each test that
means the app's view switches its session to a role like production's (not the owner, not a
superuser) with `SET ROLE`: the web's role, or the jobs' role, granted exactly what `migrate`
grants. The switch, the roles and the grants live in the test's transaction and roll back with it.
"""

import datetime as dt
import os
import re
from urllib.parse import urlsplit

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from surveys.core.database_roles import WITHOUT_POLICY, app_role_check, app_role_grant
from surveys.core.tenancy import across_organizations, organization_scope
from surveys.demo import DEMO_EMPLOYEE, DEMO_PASSWORD
from surveys.models import ApiKey, Invitation, Organization, Participation, Result, Round, RoundStatus, Team
from surveys.services.invitations import invitation_link_issue
from surveys.services.jobs import rounds_close_due
from tests.support.crawl import crawl
from tests.support.roster import ACME, leads, people, roster
from tests.support.roster import apply as roster_apply_file

pytestmark = pytest.mark.usefixtures("postgres")


def _tenant_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
               WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
                 AND a.attname = 'organization_id' AND NOT a.attisdropped ORDER BY 1"""
        )
        return [name for (name,) in cursor.fetchall()]


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        return cursor.fetchone()[0]


@pytest.fixture
def roles(db):
    """The web's and the jobs' roles, granted what `migrate` grants, bound by the policies."""
    web, jobs = f"pulse_app_test_{os.getpid()}", f"pulse_jobs_test_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {web} NOLOGIN")
        cursor.execute(f"CREATE ROLE {jobs} NOLOGIN")
        with override_settings(DATABASE_APP_ROLE=web, DATABASE_JOBS_ROLE=jobs):
            app_role_grant(using="default")
    yield web, jobs
    with connection.cursor() as cursor:
        if not connection.needs_rollback:
            cursor.execute("RESET ROLE")


def _as(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"SET ROLE {role}")


@pytest.fixture
def app_role(roles):
    """Switch this test's session to the web's role."""
    _as(roles[0])
    return roles[0]


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "AND c.relnamespace = current_schema()::regnamespace ORDER BY 1"
        )
        return [name for (name,) in cursor.fetchall()]


def test_every_table_has_a_policy_or_a_reason_not_to(db):
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_class c WHERE c.relrowsecurity
               AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)"""
        )
        protected = {name for (name,) in cursor.fetchall()}
    unprotected = set(_tables()) - protected
    assert unprotected == set(WITHOUT_POLICY), "a table with neither a policy nor a reason in WITHOUT_POLICY"
    assert {"surveys_user", "django_session", "django_admin_log", "surveys_user_groups"} <= protected


def test_the_web_role_cannot_lift_its_scope(demo, roles):
    web, jobs = roles
    _as(web)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pulse.all_organizations', 'on', false)")
        seen = {table: _count(table) for table in _tables() if table not in WITHOUT_POLICY}
        # Nothing but the shared question bank: no answer, no person, no session.
        assert {table: n for table, n in seen.items() if n} == {"surveys_question": seen["surveys_question"]}
        widen = "CREATE OR REPLACE FUNCTION pulse_may_span() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$"
        with pytest.raises(DatabaseError, match="must be owner|permission denied"), transaction.atomic():
            cursor.execute(widen)
        cursor.execute("SELECT count(*) FROM pulse_people_by_email(ARRAY['director@globex.example'])")
        assert cursor.fetchone()[0] == 1  # a lookup answers its one question, and gives no row to read
    _as(jobs)  # the jobs' role may span, when it says so
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pulse.all_organizations', 'on', false)")
        assert _count("surveys_answer") > 1000 and _count("surveys_user") > 70
        cursor.execute("SELECT set_config('pulse.all_organizations', '', false)")
        assert _count("surveys_answer") == 0 and _count("surveys_user") == 0


def test_the_web_role_sees_the_people_of_its_organisation_and_the_person_in_scope(demo, roles):
    from surveys.core.tenancy import person_scope_begin, person_scope_end
    from surveys.models import Membership, User

    northwind, globex = Organization.objects.get(slug="northwind"), Organization.objects.get(slug="globex")
    director = User.objects.get(email="director@globex.example")
    with organization_scope(northwind):
        members = Membership.objects.count()
    _as(roles[0])
    assert _count("surveys_user") == 0 and _count("django_session") == 0
    with organization_scope(northwind):
        assert _count("surveys_user") == members  # and nobody of Globex
    token = person_scope_begin(director.pk)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT email FROM surveys_user")
            assert [row[0] for row in cursor.fetchall()] == [director.email]
            cursor.execute("SELECT DISTINCT organization_id FROM surveys_membership")
            assert [row[0] for row in cursor.fetchall()] == [globex.pk]  # their own place, to find it
    finally:
        person_scope_end(token)


def test_every_tenant_table_has_row_level_security_and_the_policy(db):
    tables = _tenant_tables()
    assert len(tables) >= 18, tables
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_class c
               WHERE c.relname = ANY(%s) AND c.relrowsecurity
                 AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'pulse_tenant')""",
            [tables],
        )
        protected = {name for (name,) in cursor.fetchall()}
    assert set(tables) - protected == set()


def test_raw_sql_as_the_app_role_with_no_organization_set_returns_no_tenant_rows(demo, app_role):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('pulse.organization', true)")
        assert cursor.fetchone() == (app_role, "")
    seen = {table: _count(table) for table in _tenant_tables()}
    # Only the shared question bank (no organisation) is anyone's to read.
    assert {table: n for table, n in seen.items() if n} == {"surveys_question": seen["surveys_question"]}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM surveys_question WHERE organization_id IS NOT NULL")
        assert cursor.fetchone()[0] == 0
        cursor.execute("RESET ROLE")
    # The rows are there: the owner sees them.
    assert _count("surveys_answer") > 1000 and _count("surveys_membership") > 70


def test_with_an_organization_set_the_app_role_sees_that_organization_and_writes_nowhere_else(demo, app_role):
    northwind, globex = Organization.objects.get(slug="northwind"), Organization.objects.get(slug="globex")
    with organization_scope(northwind), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT organization_id FROM surveys_membership")
        assert [row[0] for row in cursor.fetchall()] == [northwind.pk]
        cursor.execute("SELECT count(*) FROM surveys_answer WHERE organization_id = %s", [globex.pk])
        assert cursor.fetchone()[0] == 0
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            cursor.execute(
                "INSERT INTO surveys_team (organization_id, name, path, parent_id) VALUES (%s, 'Mole', 'Mole', NULL)",
                [globex.pk],
            )
        cursor.execute("UPDATE surveys_team SET name = 'Renamed' WHERE organization_id = %s", [globex.pk])
        assert cursor.rowcount == 0
    # Leaving the scope takes the organisation off the session too.
    assert _count("surveys_membership") == 0
    with across_organizations():  # the web's role cannot span organisations
        assert _count("surveys_membership") == 0


def test_every_page_each_role_is_shown_works_as_the_app_role(demo, client, app_role):
    for email in ["hr@northwind.example", "manager@northwind.example", "employee@northwind.example"]:
        assert client.login(username=email, password=DEMO_PASSWORD), email
        pages = crawl(client, "/")
        assert len(pages) >= 3, email
        assert {url: status for url, status in pages.items() if status >= 400} == {}, email
        client.logout()
    assert client.login(username="staff@pulse.example", password=DEMO_PASSWORD)
    for page in ["/admin/", "/admin/surveys/round/", "/admin/surveys/membership/", "/admin/surveys/team/"]:
        response = client.get(page)
        assert response.status_code == 200, page
    # The admin's lists across organisations are the jobs' role's: the web's shows none.
    assert re.search(r"\b0 rounds\b", client.get("/admin/surveys/round/").content.decode())


def test_the_api_with_a_key_works_as_the_app_role(demo, client, app_role):
    northwind = Organization.objects.get(slug="northwind")
    with organization_scope(northwind):
        _, secret = ApiKey.objects.create_key(organization=northwind, name="RLS")
    response = client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert response.status_code == 200
    assert response.json()["results"]
    assert client.get("/api/v1/results.csv", HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 200


def test_answering_closing_and_publishing_a_round_work_as_the_app_role(
    demo, client, roles, app_role, django_capture_on_commit_callbacks
):
    northwind = Organization.objects.get(slug="northwind")
    with across_organizations(), organization_scope(northwind):
        round_ = Round.objects.get(status=RoundStatus.OPEN)
        answered_already = Participation.objects.filter(round=round_, membership=OuterRef("membership"))
        invitations = list(
            Invitation.objects.filter(round=round_).exclude(Exists(answered_already)).select_related("membership__user")
        )
        links = [urlsplit(invitation_link_issue(invitation=i)).path for i in invitations]
        questions = list(round_.questions.values_list("pk", flat=True))
    answered = 0
    for link, invitation in zip(links, invitations, strict=True):
        if invitation.membership.user.email == DEMO_EMPLOYEE:
            continue
        assert client.get(link).status_code == 200
        data = {f"q{qid}": str(1 + (qid + answered) % 5) for qid in questions} | {"comment": ""}
        response = client.post(link, data)
        assert response.status_code == 302
        answered += 1
    assert answered >= 10
    _as(roles[1])  # the jobs close, seal and publish
    with django_capture_on_commit_callbacks(execute=True):
        closed = rounds_close_due(now=round_.closes_at + dt.timedelta(minutes=1))
    assert closed.closed == 2  # both demo organisations had a round open
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    with organization_scope(northwind):
        round_.refresh_from_db()
        assert round_.status == RoundStatus.PUBLISHED and round_.sealed_at is not None
        assert Result.objects.filter(round=round_).exists()
    assert round_.published_at <= timezone.now()


def test_the_system_check_warns_when_the_app_would_bypass_row_level_security(db, settings):
    settings.DATABASE_APP_ROLE = ""
    warnings = app_role_check(databases=["default"])  # the tests connect as a superuser
    assert [w.id for w in warnings] == ["pulse.W001"] and "superuser" in warnings[0].msg
    settings.DATABASE_APP_ROLE = "pulse_app"  # the owner, migrating on the app role's behalf
    assert app_role_check(databases=["default"]) == []


def test_the_system_check_is_quiet_for_a_proper_app_role(db, app_role):
    assert app_role_check(databases=["default"]) == []


def test_a_page_hands_its_scope_to_its_transactions_and_the_session_keeps_none(login, tenant):
    """The scope goes with the statements, local to their transaction (safe behind a transaction
    pooler, tests/test_pooler.py), each time it changes within one: nothing is set session-wide,
    and a statement after the page (here in the test's one transaction) runs with no scope."""
    client = login(tenant.hr)
    with CaptureQueriesContext(connection) as context:
        assert client.get("/o/acme/").status_code == 200
    statements = [q["sql"] for q in context.captured_queries]
    assert "set_config('pulse.session', '" in statements[0]  # the session is read by its key alone
    assert any(f"set_config('pulse.user', '{tenant.hr.user_id}', true)" in sql for sql in statements)
    assert any(f"set_config('pulse.organization', '{tenant.org.pk}', true)" in sql for sql in statements)
    assert not any(re.search(r"set_config\('pulse\.[a-z_]+', '[^']*', false\)", sql) for sql in statements)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('pulse.organization'), current_setting('pulse.all_organizations'), "
            "current_setting('pulse.user'), current_setting('pulse.session')"
        )
        assert cursor.fetchone() == ("", "", "", "")


def test_a_roster_import_writes_through_the_policies_as_the_app_role(tenant, other_tenant, app_role):
    """The import's set-based writes (staged in a temporary table, then INSERT … SELECT and
    UPDATE … FROM) work under the policies, and land in the importing organisation only."""
    moved = ACME + ("employee@acme.test,Em Ployee,Acme/Sales/North,employee,",)
    summary = roster_apply_file(tenant, roster(*moved), importer=tenant.hr)
    assert (summary["people_added"], summary["teams_created"], summary["people_moved"]) == (3, 2, 1)
    assert people(tenant)["new@acme.test"] == ("New Person", "employee", "Acme/Sales/North", True)
    assert people(tenant)["employee@acme.test"][2] == "Acme/Sales/North"
    assert leads(tenant) >= {("lead@acme.test", "Acme/Engineering/Platform")}
    with organization_scope(other_tenant.org):
        assert not Team.objects.filter(path__startswith="Acme").exists()


def test_the_web_role_can_create_an_organisation_whose_creation_only_it_then_reads(db, tenant, app_role):
    # The creation's audit event is written before anyone can have the new organisation in scope.
    created = Organization.objects.create(name="Initech", slug="initech")
    with connection.cursor() as cursor:
        count = "SELECT count(*) FROM surveys_organizationevent WHERE pgh_obj_id = %s"
        cursor.execute(count, [created.pk])
        assert cursor.fetchone()[0] == 0  # no organisation in scope: its events are not readable
        with organization_scope(created):
            cursor.execute(count, [created.pk])
            assert cursor.fetchone()[0] == 1
        with organization_scope(tenant.org):  # another organisation reads none of them
            cursor.execute(count, [created.pk])
            assert cursor.fetchone()[0] == 0
            with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
                cursor.execute(  # and forges no other kind of event for it
                    "INSERT INTO surveys_organizationevent (pgh_obj_id, pgh_label, pgh_created_at, name, slug, k, "
                    "k_comments, support_text, support_links, answers_kept_days, is_active) "
                    "VALUES (%s, 'changed', now(), 'x', 'x', 5, 5, '', '', 365, true)",
                    [created.pk],
                )


def _settings() -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('pulse.organization', true), current_setting('pulse.all_organizations', true), "
            "current_setting('pulse.user', true)"
        )
        return cursor.fetchone()


def test_the_scope_follows_the_code_within_one_transaction_and_back_from_a_savepoint(tenant):
    from surveys.core.tenancy import person_scope_begin, person_scope_end

    org = str(tenant.org.pk)
    with organization_scope(tenant.org):
        assert _settings() == (org, "", "")
        with across_organizations():
            assert _settings() == (org, "on", "")
        assert _settings() == (org, "", "")
        with pytest.raises(RuntimeError), transaction.atomic():
            token = person_scope_begin(tenant.hr.user_id)  # a person named inside a savepoint...
            assert _settings() == (org, "", str(tenant.hr.user_id))
            raise RuntimeError
        assert _settings() == (org, "", str(tenant.hr.user_id))  # ...still named after its rollback
        person_scope_end(token)
        assert _settings() == (org, "", "")
    assert _settings() in ((None, None, None), ("", "", ""))


@pytest.mark.django_db(transaction=True)
def test_copy_and_executemany_carry_the_scope_when_autocommitting(postgres):
    from surveys.models import Organization as Org

    org = Org.objects.create(name="Solo", slug="solo")
    with organization_scope(org), connection.cursor() as cursor:
        assert connection.get_autocommit()
        with cursor.copy("COPY (SELECT current_setting('pulse.organization', true)) TO STDOUT") as copy:
            assert b"".join(copy).strip() == str(org.pk).encode()
        cursor.execute("CREATE TEMPORARY TABLE seen (organization text, n int)")
        cursor.executemany("INSERT INTO seen VALUES (current_setting('pulse.organization', true), %s)", [(1,), (2,)])
        cursor.execute("SELECT organization, n FROM seen ORDER BY n")
        assert cursor.fetchall() == [(str(org.pk), 1), (str(org.pk), 2)]
        cursor.execute("DROP TABLE seen")
