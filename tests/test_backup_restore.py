"""Backups (docs/operations.md, "Backups and restore"): a dump of PostgreSQL taken as the
operations page says, restored into a fresh database, serves the same results, with its
schema, partitions, policies and migrations whole. Redis is not backed up: nothing in it is
needed (the same page says why)."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from surveys.models import ApiKey
from tests.support.factories import SurveyFactory
from tests.support.results_data import published_round, spread

ROOT = Path(__file__).resolve().parent.parent
#: Run in the restored database: the results CSV and the heatmap, read through the API as a BI
#: tool would, with the key made before the dump.
READ = """
import os, sys
from django.test import Client
key, round_id = os.environ["PULSE_TEST_KEY"], os.environ["PULSE_TEST_ROUND"]
client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
csv = b"".join(client.get("/api/v1/results.csv").streaming_content).decode()
heatmap = client.get(f"/api/v1/heatmap/?round={round_id}").content.decode()
sys.stdout.write(csv + "\\n----\\n" + heatmap)
"""


def _served(key: str, round_id: int) -> str:
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    csv = b"".join(client.get("/api/v1/results.csv").streaming_content).decode()
    heatmap = client.get(f"/api/v1/heatmap/?round={round_id}").content.decode()
    return csv + "\n----\n" + heatmap


def _libpq_env(database: str) -> dict[str, str]:
    settings = connection.settings_dict
    env = {**os.environ, "PGHOST": settings["HOST"] or "127.0.0.1", "PGPORT": str(settings["PORT"] or 5432)}
    env["PGUSER"] = settings["USER"] or "postgres"
    if settings["PASSWORD"]:
        env["PGPASSWORD"] = settings["PASSWORD"]
    env["PGDATABASE"] = database
    return env


@pytest.mark.usefixtures("postgres")
def test_a_dump_restored_into_a_fresh_database_serves_the_same_results(transactional_db, tenant, tmp_path):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("needs pg_dump and pg_restore (postgresql-client)")
    with tenant.scope():
        round_ = published_round(
            SurveyFactory(organization=tenant.org, name="Team pulse"),
            {tenant.platform: spread(6, 4), tenant.product: spread(7, 3)},
            number=1,
            comments={tenant.platform: ["Quieter Mondays, please."]},
        )
    _, key = ApiKey.all_organizations.create_key(organization=tenant.org, name="BI", created_by=tenant.hr)
    before = _served(key, round_.pk)
    assert "Engineering" in before

    source = connection.settings_dict["NAME"]
    fresh = f"pulse_restore_{uuid.uuid4().hex[:10]}"
    dump = tmp_path / "pulse.dump"
    env = _libpq_env(source)
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", source], env=env, check=True, timeout=300)
    subprocess.run(["createdb", fresh], env=env, check=True, timeout=60)
    try:
        subprocess.run(
            ["pg_restore", "--exit-on-error", f"--dbname={fresh}", str(dump)], env=env, check=True, timeout=300
        )
        url = f"postgres://{env['PGUSER']}@{env['PGHOST']}:{env['PGPORT']}/{fresh}"
        served = {**env, "DATABASE_URL": url, "CELERY_BROKER_URL": "", "CACHE_URL": ""}
        served |= {"PULSE_TEST_KEY": key, "PULSE_TEST_ROUND": str(round_.pk)}
        migrations = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--check"], cwd=ROOT, env=served, capture_output=True, timeout=300
        )
        assert migrations.returncode == 0, migrations.stdout + migrations.stderr  # nothing left to apply
        read = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", READ],
            cwd=ROOT,
            env=served,
            capture_output=True,  # bytes: the CSV's line ends (CRLF) are compared as they are
            timeout=300,
        )
        assert read.returncode == 0, read.stderr.decode()
        assert read.stdout.decode() == before
        # The round's own partitions came back, under row-level security.
        query = f"SELECT count(*) FROM pg_class WHERE relname LIKE 'surveys_%_r{round_.pk}' AND relrowsecurity"
        partitions = subprocess.run(
            ["psql", "-tAc", query], env={**env, "PGDATABASE": fresh}, capture_output=True, text=True, timeout=60
        )
        assert partitions.stdout.strip() == "3", partitions.stderr
    finally:
        subprocess.run(["dropdb", "--if-exists", fresh], env=env, check=False, timeout=60)
