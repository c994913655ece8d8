"""Running more than one of anything (issue 24): Redis behind Sentinel from the environment, one
active scheduler (RedBeat's lock), migrations run once (`manage.py migrate_once`), and
`check --deploy` refusing a cache of each process's own."""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from surveys.management.commands.migrate_once import MIGRATION_LOCK
from wellbeing.redis_config import cache_config, redbeat_config, sentinels_parse

ROOT = Path(__file__).resolve().parent.parent


def _production_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "pulse.example.com",
        **extra,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def _run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_sentinel_addresses_list_every_sentinel_the_database_and_the_password():
    sentinels = sentinels_parse("sentinel://:s3cret@10.0.0.1:26379;sentinel://10.0.0.2/2")
    assert sentinels is not None
    assert sentinels.hosts == [("10.0.0.1", 26379), ("10.0.0.2", 26379)]
    assert sentinels.db == 2
    assert sentinels.password == "s3cret"
    assert sentinels_parse("redis://127.0.0.1:6379/0") is None


def test_a_sentinel_address_without_a_host_or_with_a_named_database_is_refused():
    with pytest.raises(ImproperlyConfigured, match="no host"):
        sentinels_parse("sentinel://:26379")
    with pytest.raises(ImproperlyConfigured, match="number"):
        sentinels_parse("sentinel://a:26379/cache")


def test_the_cache_talks_to_the_master_the_sentinels_name():
    plain = cache_config("redis://r:6379/1", master="pulse", options={"IGNORE_EXCEPTIONS": True})
    assert plain["LOCATION"] == "redis://r:6379/1"
    assert "SENTINELS" not in plain["OPTIONS"]
    behind = cache_config(
        "sentinel://a:26379;sentinel://b:26380/1", master="pulse", options={"IGNORE_EXCEPTIONS": True}
    )
    assert behind["LOCATION"] == "redis://pulse/1"  # the service name, resolved by the sentinels
    assert behind["OPTIONS"]["SENTINELS"] == [("a", 26379), ("b", 26380)]
    assert behind["OPTIONS"]["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert behind["OPTIONS"]["IGNORE_EXCEPTIONS"] is True  # a cache that is down is still a miss


def test_the_scheduler_lock_follows_the_master_too():
    assert redbeat_config("redis://r:6379/0", master="pulse") == {"redbeat_redis_url": "redis://r:6379/0"}
    behind = redbeat_config("sentinel://a:26379/0", master="pulse")
    assert behind["redbeat_redis_url"].startswith("redis-sentinel://")
    assert behind["redbeat_redis_options"]["service_name"] == "pulse"
    assert behind["redbeat_redis_options"]["sentinels"] == [("a", 26379)]


def test_with_a_broker_celery_beat_keeps_one_scheduler_through_a_redis_lock():
    probe = (
        "import django; django.setup(); from wellbeing.celery import app; c = app.conf; "
        "print(c.beat_scheduler, c.get('redbeat_lock_timeout'), c.beat_max_loop_interval, "
        "c.broker_transport_options.get('master_name'), c.get('redbeat_redis_options', {}).get('service_name'))"
    )
    env = _production_env(
        CELERY_BROKER_URL="sentinel://127.0.0.1:26379;sentinel://127.0.0.1:26380/0",
        REDIS_SENTINEL_MASTER="pulse-main",
        DJANGO_SETTINGS_MODULE="wellbeing.settings",
    )
    result = _run("-c", probe, env=env)
    assert result.returncode == 0, result.stderr
    # The lock outlives a few loops, so a beat that vanished is replaced within half a minute.
    assert result.stdout.split() == ["wellbeing.beat.PulseBeatScheduler", "30", "5", "pulse-main", "pulse-main"]


def test_check_deploy_refuses_a_cache_of_each_process_s_own():
    env = _production_env()
    env.pop("CACHE_URL", None)
    result = _run("manage.py", "check", "--deploy", env=env)
    assert result.returncode != 0
    assert "pulse.E010" in result.stderr and "CACHE_URL" in result.stderr
    shared = _run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=_production_env(CACHE_URL="redis://127.0.0.1:6379/1"),
    )
    assert shared.returncode == 0, shared.stdout + shared.stderr


def _owner_url() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    return f"postgres://{settings['USER'] or 'postgres'}{password}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"


@pytest.mark.usefixtures("postgres")
def test_migrate_once_waits_while_another_process_migrates_then_finds_nothing_to_do():
    url = _owner_url()
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])  # "another replica is migrating"
        waiting = subprocess.Popen(
            [sys.executable, "manage.py", "migrate_once"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                row = other.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
                    [MIGRATION_LOCK & 0xFFFFFFFF],
                ).fetchone()
                if row and row[0]:
                    break
                assert waiting.poll() is None, waiting.communicate()
                time.sleep(0.2)
            else:
                pytest.fail("migrate_once never waited for the lock")
            time.sleep(1)
            assert waiting.poll() is None  # still waiting: it does not migrate beside the other
        finally:
            other.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "waiting for it to finish" in out
    assert "No migrations to apply" in out


def _beat(log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "wellbeing", "beat", "--loglevel", "info"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting until {what}")


def test_of_two_beats_one_sends_the_schedule_and_the_other_takes_over_when_it_is_killed(tmp_path):
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("needs Redis: set CELERY_BROKER_URL=redis://... (CI does)")
    import redis

    # A database of the same Redis no other test uses: the jobs the beats send land in its queue,
    # where no worker of another test takes them, and are deleted after.
    broker = broker.rsplit("/", 1)[0] + "/15" if broker.count("/") > 2 else broker + "/15"
    prefix = f"pulse-beat-test-{secrets.token_hex(4)}"
    env = _production_env(
        CELERY_BROKER_URL=broker,
        CACHE_URL=broker,
        PULSE_BEAT_KEY_PREFIX=prefix,
        PULSE_BEAT_LOOP_SECONDS="1",
        PULSE_BEAT_LOCK_SECONDS="4",
        PULSE_SAFETY_NET_SECONDS="1",  # two of the schedule's jobs every second
    )
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    sent = lambda log: log.read_text(errors="replace").count("Sending due task")  # noqa: E731
    client = redis.Redis.from_url(broker)
    first = _beat(first_log, env)
    second = None
    try:
        _wait_for("the first beat holds the lock", lambda: "Acquired lock" in first_log.read_text(errors="replace"), 60)
        second = _beat(second_log, env)
        _wait_for("the second beat is up", lambda: "beat: Starting" in second_log.read_text(errors="replace"), 60)
        time.sleep(5)
        assert sent(first_log) >= 4  # the holder sends the safety nets every second
        assert sent(second_log) == 0 and "Acquired lock" not in second_log.read_text(errors="replace")
        first.kill()  # SIGKILL: the lock is not released, it runs out
        first.wait(10)
        killed_at = time.monotonic()
        _wait_for("the second beat takes over", lambda: sent(second_log) >= 2, 30)
        took = time.monotonic() - killed_at
        assert took <= 4 + 2 + 3  # the lock's timeout, the waiting beat's loop, and slack
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.delete("celery")  # the jobs sent, which no worker of this test takes
