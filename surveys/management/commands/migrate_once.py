"""`manage.py migrate_once`: `migrate` that many replicas may start at once.

On PostgreSQL it first takes a session-level advisory lock: one process migrates, every other
waits for it, then finds nothing left to apply. Run it as the tables' owner on a direct
connection to PostgreSQL (DATABASE_URL=$DATABASE_OWNER_URL), never through a pooler in
transaction mode, where a session's lock may be another session's. The Helm chart runs it as a
Job before each install or upgrade, docker-compose.yml as a one-off service the others wait for."""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

#: The advisory lock's key (any bigint no other code of Pulse's takes): "pulse-migrate".
MIGRATION_LOCK = 0x70756C73656D6967


class Command(BaseCommand):
    help = (
        "Apply migrations once however many processes run this at the same time: the first takes a PostgreSQL "
        "advisory lock and migrates, the others wait for it and then find nothing to do."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database: str, verbosity: int, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            call_command("migrate", database=database, interactive=False, verbosity=verbosity)
            return
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK])
            if not cursor.fetchone()[0]:
                self.stdout.write("Another process is migrating; waiting for it to finish.")
                cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            waited = time.monotonic() - started
            if waited >= 0.1:
                self.stdout.write(f"Waited {waited:.1f} s for the other process's migrations.")
            call_command("migrate", database=database, interactive=False, verbosity=verbosity)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
