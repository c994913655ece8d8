"""Shared fixtures. Every fixture set has two organisations, so every test can check that
nothing crosses from one to the other."""

import importlib
import io
import os
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from surveys.core.tenancy import organization_scope, person_scope_begin, person_scope_end
from surveys.models import Membership, Organization, Question, Role, Team
from tests.support.factories import PASSWORD, MembershipFactory, OrganizationFactory, TeamFactory, make_manager

#: The statement `core.audit` clears django-pghistory's context with after a block that wrote.
AUDIT_CONTEXT_CLEARED = (
    "SELECT set_config('pghistory.context_id', '', true), set_config('pghistory.context_metadata', '', true)"
)


@pytest.fixture
def django_assert_num_queries():
    """pytest-django's fixture of the same name, listing the statements when the count is off.
    On PostgreSQL each statement carries its scope in the same round trip (`core.tenancy`), and
    the audit context a request's writes carried is cleared after them (`core.audit`, not
    counted), so budgets are the same on SQLite and PostgreSQL."""

    @contextmanager
    def assert_num_queries(expected: int):
        with CaptureQueriesContext(connection) as context:
            yield context
        own = [query["sql"] for query in context.captured_queries if query["sql"] != AUDIT_CONTEXT_CLEARED]
        assert len(own) == expected, f"{len(own)} queries, expected {expected}:\n" + "\n".join(own)

    return assert_num_queries


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks run in process during tests, even when CI points CELERY_BROKER_URL at Redis.
    Tests that need the real broker and a worker switch this off themselves."""
    from wellbeing.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous


#: Full-strength PBKDF2 costs ~0.3 s a password; tests need the behaviour, not the strength.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _no_person_in_scope():
    """Each test starts with no person in scope: a test client's sign-in outside a request (no
    middleware to restore it) must not carry its person into the next test."""
    from surveys.core import tenancy

    token = tenancy._person.set(None)
    yield
    tenancy._person.reset(token)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (a sign-in lockout remembered there, above all)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="module")
def _demo_seeded(django_db_setup, django_db_blocker):
    """`manage.py demo`, run once for the module that uses it and committed; yields what it
    printed, and removes the demo again afterwards so no other test sees its rows."""
    from surveys.demo import demo_remove

    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        _question_bank_restore()  # a transactional test may have emptied every table before
        out = io.StringIO()
        call_command("demo", stdout=out)
    yield out.getvalue()
    with django_db_blocker.unblock():
        demo_remove()


@pytest.fixture
def demo(_demo_seeded, db) -> str:
    """The demo organisations (seeded once for the module) and what `manage.py demo` printed. A
    test's own changes roll back with it. If a transactional test has emptied the database
    since, the demo is seeded again inside this test's transaction."""
    from surveys.demo import demo_exists

    if demo_exists():
        return _demo_seeded
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[str, tuple]]:
    """Record what services queue (task name, arguments) instead of running or sending it."""
    sent: list[tuple[str, tuple]] = []
    monkeypatch.setattr("surveys.core.enqueue._send", lambda task_name, args: sent.append((task_name, args)))
    return sent


class Broker:
    """Celery's broker, switchable: while down, every task sent fails as with Redis stopped
    (`calls` records which); once up, tasks run in process as usual."""

    def __init__(self) -> None:
        self.is_up = False
        self.calls: list[str] = []

    def up(self) -> None:
        self.is_up = True

    def down(self) -> None:
        self.is_up = False


@pytest.fixture
def broker_down(monkeypatch) -> Broker:
    from celery import Task
    from kombu.exceptions import OperationalError

    broker = Broker()
    send = Task.apply_async

    def apply_async(task, *args, **kwargs):
        if broker.is_up:
            return send(task, *args, **kwargs)
        broker.calls.append(task.name)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return broker


@pytest.fixture
def postgres(db):
    """Skip unless the tests run on the real PostgreSQL server (CI sets DATABASE_URL)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")


@pytest.fixture
def question_bank(db):
    """The product's question bank (a data migration), put back if an earlier test emptied it.

    Transactional tests (live server, threads) flush every table afterwards, the bank too, and
    Django's serialized rollback cannot be relied on to restore it: once Playwright has started,
    the tests see a fresh connection object without the serialized copy.
    """
    _question_bank_restore()


def _question_bank_restore() -> None:
    """The bank as the migrations leave it: version 1 written, then versions 2 and 3 applied."""
    if not Question.all_organizations.filter(organization=None).exists():
        importlib.import_module("surveys.migrations.0002_question_bank").add_bank(apps, None)
        importlib.import_module("surveys.migrations.0009_question_bank_v2").bank_v2(apps, None)
        importlib.import_module("surveys.migrations.0014_question_bank_v3").bank_v3(apps, None)


@pytest.fixture(autouse=True)
def _question_bank_for_database_tests(request):
    """Every test that touches the database starts with the bank, whatever ran before it."""
    if {"db", "transactional_db", "live_server"} & set(request.fixturenames):
        request.getfixturevalue("question_bank")


@pytest.fixture
def redis_broker():
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis"):
        pytest.skip("needs Redis: set CELERY_BROKER_URL=redis://... (CI does)")
    return url


@dataclass
class Tenant:
    """One organisation with a small tree: Company / Engineering / {Platform, Product}."""

    org: Organization
    root: Team
    engineering: Team
    platform: Team
    product: Team
    employee: Membership
    manager: Membership
    hr: Membership
    admin: Membership

    def scope(self):
        return organization_scope(self.org)


def build_tenant(slug: str, name: str) -> Tenant:
    org = OrganizationFactory(slug=slug, name=name)
    root = TeamFactory(organization=org, name=name)
    engineering = TeamFactory(parent=root, name="Engineering")
    platform = TeamFactory(parent=engineering, name="Platform")
    product = TeamFactory(parent=engineering, name="Product")
    employee = MembershipFactory(
        organization=org, role=Role.EMPLOYEE, team=platform, user__email=f"employee@{slug}.test"
    )
    manager = MembershipFactory(
        organization=org, role=Role.MANAGER, team=engineering, user__email=f"manager@{slug}.test"
    )
    make_manager(manager, engineering)
    hr = MembershipFactory(organization=org, role=Role.HR, team=root, user__email=f"hr@{slug}.test")
    admin = MembershipFactory(organization=org, role=Role.ADMIN, team=root, user__email=f"admin@{slug}.test")
    return Tenant(org, root, engineering, platform, product, employee, manager, hr, admin)


@pytest.fixture
def tenant(db) -> Tenant:
    return build_tenant("acme", "Acme")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return build_tenant("globex", "Globex")


@pytest.fixture
def login(client):
    """Sign a membership's user in with the test client and return the client."""

    def sign_in(membership: Membership):
        # Outside a request nothing restores the person a sign-in puts in scope: do it here, so
        # the test goes on as it was (a request's own middleware does this for the site).
        token = person_scope_begin(None)
        try:
            assert client.login(username=membership.user.email, password=PASSWORD)
        finally:
            person_scope_end(token)
        return client

    return sign_in
