"""The scale test (`make test-scale`, started by .ci/scale once its PostgreSQL primary and
streaming replica are up and migrated): Pulse with more than one of everything on this machine.

Started here: PgBouncer in front of the primary; Redis, a replica of it and three Sentinels
watching them; two gunicorn replicas (the web's role, through PgBouncer) behind haproxy; two
Celery workers and two beats (the jobs' role, through PgBouncer); broker and cache reached
through the Sentinels. A journey of four organisations runs through haproxy while, in turn,

1. a worker is SIGKILLed holding a round's aggregation (the other, and then its restart, finish it),
2. the Redis master is SIGKILLed (Sentinel promotes the replica; broker, cache and beat follow),
3. a web replica is SIGKILLed while people submit (haproxy sends them to the other).

Then: every answer stored once (none lost, none doubled), every round published once, each
person one invitation and each lead one results e-mail, no row of one organisation tied to
another's, each organisation's API key sees its own teams and rounds only, one beat scheduling at
a time, the replica streaming. Prints its figures; exits non-zero on the first thing that does
not hold.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeing.settings")
django.setup()
sys.path.insert(0, str(Path(__file__).parent))

import psycopg  # noqa: E402
from stack import (  # noqa: E402
    BASE_URL,
    Browser,
    Processes,
    Pulse,
    Submission,
    answer,
    fail,
    links,
    messages,
    p95,
    published,
    pulse_open,
    results_mails,
    step,
    text,
    wait,
    was_accepted,
)

from surveys.core.tenancy import across_organizations, organization_scope  # noqa: E402
from surveys.models import (  # noqa: E402
    Answer,
    ApiKeyScope,
    Membership,
    Participation,
    Response,
    Result,
    Role,
    Round,
    Team,
    User,
)
from surveys.services.api_keys import api_key_create  # noqa: E402
from surveys.services.rounds import round_close  # noqa: E402

WORK = Path(os.environ["SCALE_WORK"])
BIN = Path(sys.executable).parent
OWNER_URL = os.environ["DATABASE_OWNER_URL"].replace("postgres://", "postgresql://", 1)
PG_PORT = int(os.environ["SCALE_PG_PORT"])
REPLICA_PORT = int(os.environ["SCALE_REPLICA_PORT"])
PGBOUNCER_PORT = int(os.environ["SCALE_PGBOUNCER_PORT"])
REDIS_PORT = int(os.environ["SCALE_REDIS_PORT"])
REDIS_REPLICA_PORT = int(os.environ["SCALE_REDIS_REPLICA_PORT"])
SENTINEL_PORTS = [int(os.environ["SCALE_SENTINEL_PORT"]) + i for i in range(3)]
WEB_PORTS = [int(os.environ["SCALE_WEB_PORT"]) + i for i in range(2)]
HAPROXY_PORT = int(os.environ["SCALE_HAPROXY_PORT"])
POOL_MODE = os.environ["SCALE_POOL_MODE"]
MASTER = os.environ["REDIS_SENTINEL_MASTER"]
REPLICA_LOG = Path(os.environ["SCALE_REPLICA_LOG"])
PASSWORD = "a long and unusual passphrase 42"
CLIENTS = 8
TEAMS = [8, 8, 8]  # three teams of eight in each organisation (the first of each leads it)


def pooled(role: str) -> str:
    return f"postgres://{role}@127.0.0.1:{PGBOUNCER_PORT}/pulse"


class Scale(Processes):
    def __init__(self) -> None:
        super().__init__(WORK)

    def pgbouncer(self) -> None:
        home = WORK / "pgbouncer"
        home.mkdir(exist_ok=True)
        (home / "users.txt").write_text('"pulse_app" ""\n"pulse_jobs" ""\n')
        (home / "pgbouncer.ini").write_text(
            f"[databases]\npulse = host=127.0.0.1 port={PG_PORT} dbname=pulse\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {PGBOUNCER_PORT}\n"
            f"auth_type = trust\nauth_file = {home}/users.txt\npool_mode = {POOL_MODE}\n"
            "default_pool_size = 40\nmax_client_conn = 400\nunix_socket_dir =\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        subprocess.run(["chown", "-R", "postgres", str(home)], check=True)
        self.start("pgbouncer", "pgbouncer", "-u", "postgres", str(home / "pgbouncer.ini"))
        wait("PgBouncer answers", lambda: _pg_answers(PGBOUNCER_PORT, "pulse_jobs"), timeout=30, every=0.2)

    def redis(self) -> None:
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(WORK)]
        self.start("redis-master", "redis-server", "--port", str(REDIS_PORT), *common)
        wait("the Redis master answers", lambda: _redis(REDIS_PORT, "ping") == "PONG", timeout=20, every=0.1)
        self.start(
            "redis-replica",
            "redis-server",
            "--port",
            str(REDIS_REPLICA_PORT),
            "--replicaof",
            "127.0.0.1",
            str(REDIS_PORT),
            *common,
        )
        wait("the Redis replica is in sync", lambda: "master_link_status:up" in _redis(REDIS_REPLICA_PORT, "info"))
        for number, port in enumerate(SENTINEL_PORTS, 1):
            config = WORK / f"sentinel-{number}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {REDIS_PORT} 2\n"
                f"sentinel down-after-milliseconds {MASTER} 1500\n"
                f"sentinel failover-timeout {MASTER} 10000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            )
            self.start(f"sentinel-{number}", "redis-sentinel", str(config))
        wait("the Sentinels see the replica", lambda: _sentinel_replicas() >= 1, timeout=30, every=0.2)

    def web(self, number: int) -> None:
        port = WEB_PORTS[number - 1]
        self.start(
            f"web-{number}", str(BIN / "gunicorn"), "wellbeing.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--access-logfile", str(WORK / f"web-{number}-access.log"),
            "--control-socket", str(WORK / f"web-{number}.ctl"),
            env={
                "DATABASE_URL": pooled("pulse_app"),
                "DATABASE_POOLER": POOL_MODE,
                "DATABASE_REPLICA_URL": f"postgres://pulse_app@127.0.0.1:{REPLICA_PORT}/pulse",
            },
        )  # fmt: skip

    def worker(self, number: int) -> None:
        self.start(
            f"worker-{number}", str(BIN / "celery"), "-A", "wellbeing", "worker", "--loglevel", "info",
            "--concurrency", "1", "--hostname", f"scale-{number}@%h",
            env={"DATABASE_URL": pooled("pulse_jobs"), "DATABASE_POOLER": POOL_MODE},
        )  # fmt: skip

    def beat(self, number: int) -> None:
        self.start(
            f"beat-{number}", str(BIN / "celery"), "-A", "wellbeing", "beat", "--loglevel", "info",
            env={"DATABASE_URL": pooled("pulse_jobs"), "DATABASE_POOLER": POOL_MODE},
        )  # fmt: skip

    def haproxy(self) -> None:
        servers = "\n".join(
            f"  server web-{n} 127.0.0.1:{port} check inter 500 fall 2 rise 2" for n, port in enumerate(WEB_PORTS, 1)
        )
        config = WORK / "haproxy.cfg"
        config.write_text(
            "global\n  maxconn 512\n"
            "defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n"
            "  retries 3\n  option redispatch\n  option http-buffer-request\n"
            "  retry-on conn-failure empty-response response-timeout\n"
            f"frontend pulse\n  bind 127.0.0.1:{HAPROXY_PORT}\n  default_backend replicas\n"
            "backend replicas\n  balance roundrobin\n  option httpchk\n"
            "  http-check send meth GET uri /health ver HTTP/1.1 hdr Host 127.0.0.1\n"
            f"  http-check expect status 200\n{servers}\n"
        )
        self.start("haproxy", "haproxy", "-db", "-f", str(config))


def _pg_answers(port: int, user: str) -> bool:
    try:
        with psycopg.connect(f"postgresql://{user}@127.0.0.1:{port}/pulse", connect_timeout=2) as connection:
            return connection.execute("SELECT 1").fetchone() == (1,)
    except psycopg.Error:
        return False


def _redis(port: int, *command: str) -> str:
    done = subprocess.run(["redis-cli", "-p", str(port), *command], capture_output=True, text=True, timeout=10)
    return done.stdout.strip()


def _sentinel_replicas() -> int:
    found = _redis(SENTINEL_PORTS[0], "sentinel", "replicas", MASTER)
    return found.count("ip")


def _sentinel_master_port() -> int:
    lines = _redis(SENTINEL_PORTS[0], "sentinel", "get-master-addr-by-name", MASTER).split()
    return int(lines[1]) if len(lines) == 2 else 0


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _owner(sql: str, params: list | None = None, *, port: int = PG_PORT) -> list[tuple]:
    url = OWNER_URL.replace(f":{PG_PORT}/", f":{port}/")
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def submit(link: str) -> Submission:
    """Answer as a person would when the page fails: send again (a second send is refused as
    already answered if the first was stored)."""
    last = Submission(0, 0.0, "")
    for _ in range(5):
        try:
            last = answer(link)
        except (urllib.error.URLError, OSError, ConnectionError) as error:
            last = Submission(0, 0.0, str(error))
        if was_accepted(last) or "already answered" in last.page or last.status == 409:
            return last
        time.sleep(0.5)
    return last


def submit_all(targets: list[str], *, during=None) -> tuple[list[Submission], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(submit, link) for link in targets]
        if during:
            during()
        results = [future.result() for future in futures]
    return results, time.perf_counter() - started


def counts(pulse: Pulse) -> tuple[int, int, int]:
    with organization_scope(pulse.organization):
        scope = {"round_id": pulse.round_id}
        return (
            Participation.objects.filter(**scope).count(),
            Response.objects.filter(**scope).count(),
            Answer.objects.filter(**scope).count(),
        )


def stored_once(pulse: Pulse, results: list[Submission], what: str) -> None:
    stored = counts(pulse)
    lost = [r for r in results if not (was_accepted(r) or "already answered" in r.page or r.status == 409)]
    if lost or stored != (pulse.people, pulse.people, pulse.people * pulse.items):
        statuses = sorted({r.status for r in lost})
        fail(f"{what}: {len(lost)} submissions not taken (statuses {statuses}); stored {stored} of {pulse.people}")


def close(pulse: Pulse) -> None:
    with organization_scope(pulse.organization):
        round_close(round_=Round.objects.get(pk=pulse.round_id))


def published_once(pulse: Pulse) -> None:
    participations = counts(pulse)[0]
    with organization_scope(pulse.organization):
        rows = list(Result.objects.filter(round_id=pulse.round_id).values_list("team__path", "n"))
    paths = [path for path, _ in rows]
    if len(paths) != len(set(paths)) or dict(rows).get("Crew") != participations:
        fail(f"round {pulse.round_id}: results {sorted(rows)} for {participations} answers")
    wait("every lead has the results e-mail", lambda: all(results_mails(a) for a in pulse.lead_emails), timeout=60)


def answering_links(pulse: Pulse) -> list[str]:
    return wait(
        f"{pulse.organization.name}'s invitations are all e-mailed",
        lambda: links(pulse.organization.slug, pulse.people),
        timeout=120,
    )


def worker_killed(stack: Scale, first: Pulse, second: Pulse) -> float:
    """Each worker takes one round's aggregation (concurrency 1, prefetch 1) and waits on the
    results table, held here; worker 1 is SIGKILLed there; its round is redelivered after the
    visibility timeout and published once."""
    holder = psycopg.connect(OWNER_URL)
    holder.execute("LOCK TABLE surveys_result IN SHARE ROW EXCLUSIVE MODE")
    close(first)
    close(second)

    def both_waiting() -> bool:
        # On the results table, or one behind the other on the round (a safety net's second send).
        return _owner("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")[0][0] >= 2

    wait("both workers wait to write results", both_waiting, timeout=90, every=0.1)
    stack.kill("worker-1")
    killed = time.monotonic()
    holder.rollback()
    holder.close()
    stack.worker(1)  # as a supervisor would
    for pulse in (first, second):
        wait(f"{pulse.organization.name}'s round is published", lambda p=pulse: published(p.round_id), timeout=120)
        published_once(pulse)
    return time.monotonic() - killed


def redis_master_killed(stack: Scale, pulse: Pulse, sent: list[str]) -> tuple[float, float, str]:
    """SIGKILL the Redis master while people answer; Sentinel promotes the replica; the round is
    closed during the failover and published through the promoted master."""
    results: list[Submission] = []
    before = _sentinel_master_port()
    timing: dict[str, float] = {}

    def kill_master() -> None:
        time.sleep(0.5)
        stack.kill("redis-master")
        timing["killed"] = time.monotonic()
        wait("Sentinel promotes the replica", lambda: _sentinel_master_port() == REDIS_REPLICA_PORT, timeout=60)
        timing["promoted"] = time.monotonic()
        timing["promoted_at"] = time.time()

    results, _ = submit_all(sent, during=kill_master)
    if before != REDIS_PORT:
        fail(f"the Sentinels named port {before} as the master before the kill")
    stored_once(pulse, results, "Redis master killed")
    close(pulse)
    closed = time.monotonic()
    wait(f"{pulse.organization.name}'s round is published", lambda: published(pulse.round_id), timeout=120)
    published_once(pulse)
    # The beats log local time to the millisecond ("2026-12-07 15:42:37,339").
    promoted_at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timing["promoted_at"]))
    return timing["promoted"] - timing["killed"], time.monotonic() - closed, promoted_at


def web_replica_killed(stack: Scale, pulse: Pulse, sent: list[str]) -> tuple[list[Submission], float]:
    def kill_midway() -> None:
        wait("a third have answered", lambda: counts(pulse)[0] >= pulse.people // 3, timeout=60, every=0.05)
        stack.kill("web-1")

    results, seconds = submit_all(sent, during=kill_midway)
    stored_once(pulse, results, "web replica killed")
    close(pulse)
    wait(f"{pulse.organization.name}'s round is published", lambda: published(pulse.round_id), timeout=120)
    published_once(pulse)
    return results, seconds


def one_email_per_person(pulses: list[Pulse]) -> int:
    invitations: dict[str, int] = {}
    answer_link = re.compile(re.escape(BASE_URL) + r"/answer/")
    for message in messages():
        if answer_link.search(text(message)):
            invitations[str(message["To"])] = invitations.get(str(message["To"]), 0) + 1
    for pulse in pulses:
        people = pulse.people
        domain = f"@{pulse.organization.slug}.example"
        mine = {address: n for address, n in invitations.items() if address.endswith(domain)}
        if len(mine) != people or set(mine.values()) != {1}:
            doubled = {a: n for a, n in mine.items() if n != 1}
            fail(f"{pulse.organization.name}: invitations to {len(mine)} of {people} people, doubled: {doubled}")
        leads = {address: results_mails(address) for address in pulse.lead_emails}
        if set(leads.values()) != {1}:
            fail(f"{pulse.organization.name}: results e-mails per lead {leads}")
    return sum(invitations.values())


def nothing_across_tenants(pulses: list[Pulse]) -> tuple[int, dict[str, str]]:
    """No row tied to two organisations, and each organisation's API key sees only its own."""
    crossing = _owner(
        """SELECT (SELECT count(*) FROM surveys_response r JOIN surveys_round o ON o.id = r.round_id
                   WHERE r.organization_id <> o.organization_id)
                + (SELECT count(*) FROM surveys_participation p JOIN surveys_round o ON o.id = p.round_id
                   WHERE p.organization_id <> o.organization_id)
                + (SELECT count(*) FROM surveys_result s JOIN surveys_round o ON o.id = s.round_id
                   WHERE s.organization_id <> o.organization_id)"""
    )[0][0]
    if crossing:
        fail(f"{crossing} rows tied to another organisation's round")
    checked = 0
    keys = {}
    for pulse in pulses:
        with organization_scope(pulse.organization):
            _, secret = api_key_create(
                organization=pulse.organization,
                created_by=None,
                name="Scale test",
                scope=ApiKeyScope.READ,
                expires_on=None,
            )
            teams = set(Team.objects.values_list("id", flat=True))
        keys[pulse.organization.slug] = secret
        for _ in range(4):  # over both replicas and many pooled connections
            headers = {"Authorization": f"Api-Key {secret}"}
            request = urllib.request.Request(f"{BASE_URL}/api/v1/teams/", headers=headers)
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read().decode()
            seen = {int(found) for found in re.findall(r'"id":\s*(\d+)', body)}
            if not seen or not seen <= teams:
                fail(f"{pulse.organization.name}'s key saw teams {sorted(seen - teams)} of another organisation")
            checked += 1
    return checked, keys


def one_beat_at_a_time(failover_at: str) -> tuple[int, int, int]:
    """Sends per beat, and how often the sender changed (a lock handed over); never both at once,
    and one still sending after the Redis failover (`failover_at`, as the logs write time)."""
    events = []
    for number in (1, 2):
        log = (WORK / f"beat-{number}.log").read_text(errors="replace")
        for line in log.splitlines():
            stamp = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", line)
            if "Sending due task" in line and stamp:
                events.append((stamp[0], number))
    events.sort()
    changes = sum(1 for a, b in zip(events, events[1:], strict=False) if a[1] != b[1])
    sends = [sum(1 for _, n in events if n == number) for number in (1, 2)]
    if not events:
        fail("no beat sent the schedule")
    if events[-1][0] <= failover_at:
        fail(f"no beat sent anything after the Redis failover at {failover_at}")
    if changes > 3:  # at most a hand-over at the Redis failover and back
        fail(f"the beats took turns {changes} times: both were scheduling")
    return sends[0], sends[1], changes


def replica_streaming() -> int:
    rows = _owner("SELECT state, pg_wal_lsn_diff(sent_lsn, replay_lsn) FROM pg_stat_replication")
    if not rows or rows[0][0] != "streaming":
        fail(f"the replica is not streaming: {rows}")
    return int(rows[0][1] or 0)


def _replica_reads() -> int:
    """Statements the web's role has run on the replica so far (its log has every statement)."""
    log = REPLICA_LOG.read_text(errors="replace")
    return sum(1 for line in log.splitlines() if "pulse_app@pulse" in line and "statement:" in line)


def reads_from_the_replica(pulse: Pulse, key: str) -> dict[str, int]:
    """The API's reads and HR's results page are served by the replica; the page after HR's
    write by the primary, showing the write."""
    counted = {}
    before = _replica_reads()
    headers = {"Authorization": f"Api-Key {key}"}
    with urllib.request.urlopen(urllib.request.Request(f"{BASE_URL}/api/v1/results/", headers=headers)) as response:
        if response.status != 200 or '"results"' not in response.read().decode():
            fail("the API's results did not answer from the replica")
    counted["api"] = _replica_reads() - before
    with organization_scope(pulse.organization):
        team = Team.objects.get(path="Crew/T0")
        with across_organizations():
            hr = User.objects.create_user(f"hr@{pulse.organization.slug}.example", PASSWORD, name="Hana HR")
        Membership.objects.create(user=hr, role=Role.HR, team=Team.objects.get(path="Crew"))
    browser = Browser()
    status, url, _ = browser.post("/accounts/login/", {"username": hr.email, "password": PASSWORD})
    if status != 200 or "/accounts/login/" in url:
        fail(f"HR could not sign in ({status}, {url})")
    before = _replica_reads()
    status, _, page = browser.get(f"/o/{pulse.organization.slug}/results/")
    if status != 200 or pulse.organization.name not in page:
        fail(f"HR's results page answered {status}")
    counted["page"] = _replica_reads() - before
    form = {"title": "Fewer meetings on Fridays", "status": "planned"}
    status, url, page = browser.post(f"/o/{pulse.organization.slug}/teams/{team.pk}/plans/new/", form)
    if status != 200 or "Fewer meetings on Fridays" not in page:
        fail(f"the plan saved by HR is missing from the page after it ({status}, {url})")
    after_write = _replica_reads() - before - counted["page"]
    if not counted["api"] or not counted["page"] or after_write:
        fail(f"replica statements: API {counted['api']}, results page {counted['page']}, after a write {after_write}")
    return counted


def main() -> None:
    started = time.monotonic()
    stack = Scale()
    try:
        stack.pgbouncer()
        stack.redis()
        for number in (1, 2):
            stack.web(number)
            stack.worker(number)
            stack.beat(number)
        stack.haproxy()
        wait("haproxy serves both replicas", lambda: all(_up(f"http://127.0.0.1:{p}/health") for p in WEB_PORTS))
        wait("the stack is ready", lambda: _up(f"{BASE_URL}/healthz/?format=json"), timeout=60)
        for number in (1, 2):
            log = WORK / f"worker-{number}.log"
            wait(f"worker {number} is ready", lambda log=log: "ready." in log.read_text(errors="replace"), timeout=60)
        step(f"up: PgBouncer ({POOL_MODE} pooling), Redis with a replica and 3 Sentinels, 2 web replicas behind "
             f"haproxy, 2 workers, 2 beats, a streaming replica; {time.monotonic() - started:.0f} s")  # fmt: skip

        pulses = [pulse_open(team_sizes=TEAMS, name=f"Scale Org {letter}") for letter in "ABCD"]
        opened = time.monotonic()
        sent = {pulse.organization.slug: answering_links(pulse) for pulse in pulses}
        people = sum(p.people for p in pulses)
        took = time.monotonic() - opened
        step(f"4 organisations, {people} people: every invitation e-mailed {took:.1f} s after opening")

        # Interleaved: A's and B's people answer side by side, through both replicas and the pooler.
        mixed = [link for pair in zip(sent[pulses[0].organization.slug], sent[pulses[1].organization.slug], strict=True)
                 for link in pair]  # fmt: skip
        results, seconds = submit_all(mixed)
        for pulse in pulses[:2]:
            stored_once(pulse, results, "interleaved")
        latencies = [r.seconds for r in results if r.seconds]
        step(f"{len(mixed)} submissions of two organisations interleaved in {seconds:.1f} s "
             f"({len(mixed) / seconds:.0f}/s, p95 {p95(latencies) * 1000:.0f} ms): each stored once")  # fmt: skip

        worker_recovery = worker_killed(stack, pulses[0], pulses[1])
        step(f"worker SIGKILLed holding an aggregation: both rounds published once, one e-mail per lead, "
             f"{worker_recovery:.1f} s after the kill")  # fmt: skip

        failover, publish_after, promoted_at = redis_master_killed(stack, pulses[2], sent[pulses[2].organization.slug])
        step(f"Redis master SIGKILLed during submissions: Sentinel promoted the replica in {failover:.1f} s; "
             f"every answer stored once; the round closed then published once in {publish_after:.1f} s")  # fmt: skip

        results, seconds = web_replica_killed(stack, pulses[3], sent[pulses[3].organization.slug])
        retried = sum(1 for r in results if "already answered" in r.page or r.status == 409)
        step(f"web replica SIGKILLed during submissions: {pulses[3].people} answers stored once in {seconds:.1f} s "
             f"({retried} sent again after an error and refused as already answered); published once")  # fmt: skip

        e_mails = one_email_per_person(pulses)
        reads, keys = nothing_across_tenants(pulses)
        served = reads_from_the_replica(pulses[0], keys[pulses[0].organization.slug])
        time.sleep(2 * int(os.environ["PULSE_BEAT_LOOP_SECONDS"]))  # a beat's loop after the last step
        beat_1, beat_2, changes = one_beat_at_a_time(promoted_at)
        lag = replica_streaming()
        step(f"{e_mails} invitations, one per person; one results e-mail per lead; no row across organisations; "
             f"{reads} API reads saw their own organisation only")  # fmt: skip
        step(f"the streaming replica served {served['api']} statements of an API read and {served['page']} of "
             f"HR's results page; after HR saved a plan, the next page read the primary (0 on the replica) "
             f"and showed it")  # fmt: skip
        step(f"beats: {beat_1} and {beat_2} sends (the last after the failover), the sender changed {changes} "
             f"times; replica streaming, "
             f"{lag} bytes behind")  # fmt: skip
    finally:
        stack.stop_all()
    step(
        f"figures: invitations, answers and publication of 4 organisations through 2 replicas; recovery after a "
        f"worker's SIGKILL {worker_recovery:.1f} s (visibility timeout {os.environ['PULSE_VISIBILITY_TIMEOUT']} s), "
        f"Redis failover {failover:.1f} s, publication after it {publish_after:.1f} s; "
        f"{time.monotonic() - started:.0f} s in all"
    )


if __name__ == "__main__":
    main()
