"""Tenancy behind a transaction pooler: two organisations' requests, interleaved in threads,
through a real PgBouncer in transaction mode with ONE server connection for everyone, as a web
role the row-level security policies bind (core.tenancy, `scoped_cursor`).

With the scope set session-wide, the server session one request left would carry its tenant
into the next client's transaction; the first test shows this pooler really does hand one
client's session settings to another, so the second, which sees no crossing, is not vacuous.
Without PgBouncer installed (Debian's `pgbouncer`) the tests skip locally; CI installs it and
sets PULSE_REQUIRE_POOLER=1, so there a missing pooler fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client, override_settings

from surveys.core.database_roles import app_role_grant
from surveys.core.tenancy import person_scope_begin, person_scope_end
from surveys.models import Membership
from tests.conftest import build_tenant

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
ROLE = f"pulse_pooled_{os.getpid()}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def pooler(transactional_db):
    """PgBouncer in transaction mode in front of the test database, one server connection in
    its pool, and a web role (LOGIN, not the owner) granted what `migrate` grants."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")
    if not Path(PGBOUNCER).exists():
        if os.environ.get("PULSE_REQUIRE_POOLER"):
            pytest.fail("pgbouncer not found (apt-get install pgbouncer)")
        pytest.skip("pgbouncer not found (apt-get install pgbouncer)")
    database = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {ROLE} LOGIN")
    with override_settings(DATABASE_APP_ROLE=ROLE):
        app_role_grant(using="default")
    port = _free_port()
    # PgBouncer will not run as root: as root, it runs as the server's user, in a folder it owns.
    tmp_path = Path(tempfile.mkdtemp(prefix="pulse-pooler-"))
    command = [PGBOUNCER, str(tmp_path / "pgbouncer.ini")]
    (tmp_path / "users.txt").write_text(f'"{ROLE}" ""\n"{database["USER"]}" ""\n')
    (tmp_path / "pgbouncer.ini").write_text(
        f"""[databases]
pooled = host={database["HOST"] or "127.0.0.1"} port={database["PORT"] or 5432} dbname={database["NAME"]}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {tmp_path / "users.txt"}
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
ignore_startup_parameters = extra_float_digits,options
logfile = {tmp_path / "pgbouncer.log"}
"""
    )
    if os.geteuid() == 0:
        shutil.chown(tmp_path, "postgres")
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command)
    try:
        for _ in range(100):
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} dbname=pooled user={ROLE}", connect_timeout=1).close()
                break
            except psycopg.OperationalError:
                time.sleep(0.05)
        yield {"HOST": "127.0.0.1", "PORT": port, "NAME": "pooled", "USER": ROLE}
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(tmp_path, ignore_errors=True)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {ROLE}")
            cursor.execute(f"DROP ROLE {ROLE}")


def test_this_pooler_hands_one_client_s_session_settings_to_the_next(pooler):
    """What the scope must never rely on: a session-wide setting outlives its transaction and
    reaches another client of the pool."""
    dsn = f"host={pooler['HOST']} port={pooler['PORT']} dbname={pooler['NAME']} user={pooler['USER']}"
    with psycopg.connect(dsn, autocommit=True) as first, psycopg.connect(dsn, autocommit=True) as second:
        first.execute("SELECT set_config('pulse.organization', '42', false)")
        assert second.execute("SELECT current_setting('pulse.organization', true)").fetchone() == ("42",)
        first.execute("SELECT set_config('pulse.organization', '', false)")


def _browse(membership: Membership, own: str, other: str, seen: list, rounds: int) -> None:
    """One web process's thread: its own connection through the pooler, HR of one
    organisation loading pages that list its people."""
    try:
        client = Client()
        token = person_scope_begin(membership.user_id)
        try:
            client.force_login(membership.user)
        finally:
            person_scope_end(token)
        for _ in range(rounds):
            for url in (f"/o/{own}/people/", f"/o/{own}/"):
                response = client.get(url)
                body = response.content.decode()
                shows_own = f"@{own}.test" in body or url.endswith(f"/{own}/")
                seen.append((response.status_code, shows_own, f"@{other}" in body))
    except Exception as error:  # the main thread's assertion shows it
        seen.append((repr(error), False, False))
    finally:
        connections["default"].close()


def test_two_tenants_requests_interleaved_through_a_transaction_pooler_never_cross(pooler):
    acme, globex = build_tenant("acme", "Acme"), build_tenant("globex", "Globex")
    direct = connections.settings["default"]
    connections.settings["default"] = {**direct, **pooler}  # the threads' own connections, not this one
    seen: dict[str, list] = {"acme": [], "globex": []}
    threads = [
        threading.Thread(target=_browse, args=(acme.hr, "acme", "globex", seen["acme"], 8)),
        threading.Thread(target=_browse, args=(globex.hr, "globex", "acme", seen["globex"], 8)),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        connections.settings["default"] = direct
    for pages in seen.values():
        assert len(pages) == 16
        assert all(status == 200 and own and not crossed for status, own, crossed in pages), pages
