"""Resilience tests (`make test-resilience`, run by .ci/run through .ci/resilience): the
production stack (gunicorn, a real Celery worker and beat, PostgreSQL as the app's own roles,
and a Redis of the test's own, broker and cache) under the failures a real deployment meets.

1. Duplicates under load: every answering link submitted by two clients at once. Each person
   is counted once, every second submission is refused, nothing is lost.
2. A close during submissions: nothing is stored after the close commits.
3. The worker SIGKILLed while sealing, and again while aggregating: the round is published
   exactly once, each team lead gets one e-mail, within the bound set by the visibility timeout
   and the safety net (both shortened here, as an operator may).
4. Redis stopped and restarted empty: submissions are accepted while it is down; the close's
   lost hand-over is caught up by the safety net once it is back.

To stop the worker at a known point, the test holds a lock on the table the worker is about to
write (Comments while sealing, Results while publishing), waits until PostgreSQL shows the
worker waiting for it, kills the worker, then lets go. Prints its figures; exits non-zero on the
first thing that does not hold.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeing.settings")
django.setup()
sys.path.insert(0, str(Path(__file__).parent))

import psycopg  # noqa: E402
from stack import (  # noqa: E402
    BASE_URL,
    Processes,
    Submission,
    answer,
    fail,
    links,
    p95,
    published,
    pulse_open,
    results_mails,
    round_state,
    step,
    wait,
    was_accepted,
)

from surveys.core.tenancy import organization_scope  # noqa: E402
from surveys.models import Answer, Participation, Response, Result, Round, RoundStatus  # noqa: E402
from surveys.services.rounds import round_close  # noqa: E402

WORK = Path(os.environ["SMOKE_LOG_DIR"])
OWNER_URL = os.environ["DATABASE_OWNER_URL"].replace("postgres://", "postgresql://", 1)
REDIS_PORT = int(os.environ["RESILIENCE_REDIS_PORT"])
PORT = int(BASE_URL.rsplit(":", 1)[1])
BIN = Path(sys.executable).parent
CLIENTS = 16
TEAMS = [40, 40, 40]  # three teams of 40 (the first of each leads it)


class Stack(Processes):
    """The processes under test: the test's own Redis, gunicorn, the worker and beat."""

    def __init__(self) -> None:
        super().__init__(WORK)

    def redis(self) -> None:
        self.start(
            "redis",
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        )
        wait("the test's Redis answers", _redis_answers, timeout=20, every=0.1)

    def worker(self) -> None:
        self.start(
            "worker", str(BIN / "celery"), "-A", "wellbeing", "worker", "--loglevel", "info", "--concurrency", "2"
        )


def _redis_answers() -> bool:
    return subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True).stdout.strip() == b"PONG"


def _submit_all(targets: list[str], *, during=None) -> tuple[list[Submission], float]:
    """Submit every target link (in order, CLIENTS at a time); `during()` runs meanwhile."""
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(answer, link) for link in targets]
        if during:
            during()
        results = [future.result() for future in futures]
    return results, time.perf_counter() - started


def _counts(pulse) -> tuple[int, int, int]:
    with organization_scope(pulse.organization):
        scope = {"round_id": pulse.round_id}
        return (
            Participation.objects.filter(**scope).count(),
            Response.objects.filter(**scope).count(),
            Answer.objects.filter(**scope).count(),
        )


def _close(pulse) -> None:
    with organization_scope(pulse.organization):
        round_close(round_=Round.objects.get(pk=pulse.round_id))


class TableLock:
    """Hold `LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE` as the owner: readers pass, writers wait."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.connection = psycopg.connect(OWNER_URL)
        self.connection.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")

    def waiting_worker(self) -> bool:
        """Whether another session waits for a lock on the table (the worker, at the write)."""
        with psycopg.connect(OWNER_URL, autocommit=True) as probe:
            row = probe.execute(
                "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted", [self.table]
            ).fetchone()
        return bool(row and row[0])

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def _kill_and_recover(stack: Stack, pulse, lock: TableLock, what: str) -> float:
    """Kill the worker while it waits on `lock`, let go, start a new one; seconds to published."""
    wait(f"the worker is {what}, waiting on {lock.table}", lock.waiting_worker, timeout=60, every=0.1)
    stack.kill("worker")
    killed = time.monotonic()
    lock.release()
    # The killed worker's transaction ends with its connection: nothing of it may stay.
    wait("the killed worker's database session is gone", lambda: not _sessions_waiting_or_working(), timeout=30)
    round_ = round_state(pulse.round_id)
    if round_.sealed_at is not None if what == "sealing" else round_.status != RoundStatus.CLOSED:
        fail(f"the kill while {what} left the round {round_.status}, sealed at {round_.sealed_at}")
    stack.worker()
    wait(
        f"the round is published after the kill while {what}", lambda: published(pulse.round_id), timeout=120, every=0.2
    )
    recovery = time.monotonic() - killed
    _published_once(pulse)
    return recovery


def _sessions_waiting_or_working() -> int:
    """Sessions of the app's role running a statement (the stack is otherwise idle here)."""
    with psycopg.connect(OWNER_URL, autocommit=True) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND state = 'active'",
            [os.environ["DATABASE_APP_ROLE"]],
        ).fetchone()
    return row[0] if row else 0


def _published_once(pulse) -> None:
    participations, _, _ = _counts(pulse)
    with organization_scope(pulse.organization):
        rows = list(Result.objects.filter(round_id=pulse.round_id).values_list("team__path", "n"))
    paths = [path for path, _ in rows]  # which teams are shown is the privacy rules' call
    if len(paths) != len(set(paths)) or "Crew" not in paths:
        fail(f"round {pulse.round_id}: Results for {sorted(paths)}")
    if dict(rows)["Crew"] != participations:
        fail(f"round {pulse.round_id}: published n={dict(rows)['Crew']}, {participations} answered")
    wait("every lead has the results e-mail", lambda: all(results_mails(a) for a in pulse.lead_emails), timeout=60)
    time.sleep(3)  # a second e-mail, if any were coming, would be here by now
    counts = {address: results_mails(address) for address in pulse.lead_emails}
    if set(counts.values()) != {1}:
        fail(f"results e-mails per lead: {counts}")


def duplicates_under_load(stack: Stack) -> dict:
    pulse = pulse_open(team_sizes=TEAMS, name="Duplicates Ltd")
    sent = wait("the worker e-mails every invitation", lambda: links(pulse.organization.slug, pulse.people))
    targets = [link for link in sent for _ in (1, 2)]  # each link twice, side by side: at the same time
    results, seconds = _submit_all(targets)
    accepted = [r for r in results if was_accepted(r)]
    refused = [r for r in results if not was_accepted(r) and ("already answered" in r.page or r.status == 409)]
    counts = _counts(pulse)
    if len(accepted) != pulse.people or len(refused) != pulse.people:
        fail(
            f"duplicates: {len(accepted)} accepted, {len(refused)} refused of {len(targets)} "
            f"(statuses {sorted({r.status for r in results})})"
        )
    if counts != (pulse.people, pulse.people, pulse.people * pulse.items):
        fail(f"duplicates: stored participations, responses, answers = {counts}")
    latencies = [r.seconds for r in results if r.seconds]
    step(
        f"duplicates: {len(targets)} submissions of {pulse.people} links by {CLIENTS} clients in {seconds:.1f} s: "
        f"{pulse.people} accepted, {len(refused)} refused, none lost or doubled; "
        f"{len(targets) / seconds:.0f} submissions/s, p95 {p95(latencies) * 1000:.0f} ms"
    )
    return {"pulse": pulse, "rate": len(targets) / seconds, "p95": p95(latencies)}


def kill_while_sealing(stack: Stack, pulse) -> float:
    # Sealing rewrites the round's own partitions (migration 0020) and locks nothing else: hold
    # its comments' partition, which it empties last, so it waits there with the rest rewritten.
    lock = TableLock(f"surveys_comment_r{pulse.round_id}")
    _close(pulse)
    recovery = _kill_and_recover(stack, pulse, lock, "sealing")
    step(f"worker killed while sealing: published once, one e-mail per lead, {recovery:.1f} s after the kill")
    return recovery


def close_during_submissions() -> None:
    pulse = pulse_open(team_sizes=TEAMS, name="Close Ltd")
    sent = wait("the worker e-mails every invitation", lambda: links(pulse.organization.slug, pulse.people))
    at_close: dict[str, tuple[int, int, int]] = {}

    def close_midway():
        wait("a third have answered", lambda: _counts(pulse)[0] >= pulse.people // 3, timeout=60, every=0.05)
        _close(pulse)
        at_close["counts"] = _counts(pulse)

    results, _ = _submit_all(sent, during=close_midway)
    after = _counts(pulse)
    accepted = sum(was_accepted(r) for r in results)
    if after != at_close["counts"] or after[0] != accepted or after[2] != after[0] * pulse.items:
        fail(f"close during submissions: at close {at_close['counts']}, after {after}, {accepted} accepted")
    wait("the round closed mid-load is published", lambda: published(pulse.round_id), timeout=60, every=0.2)
    _published_once(pulse)
    step(
        f"close during submissions: {after[0]} of {pulse.people} answered before the close, "
        f"{pulse.people - after[0]} refused after it, nothing stored after the close; published once"
    )


def kill_while_aggregating(stack: Stack) -> float:
    pulse = pulse_open(team_sizes=[10, 10, 10], name="Aggregation Ltd")
    sent = wait("the worker e-mails every invitation", lambda: links(pulse.organization.slug, pulse.people))
    _submit_all(sent)
    lock = TableLock("surveys_result")
    _close(pulse)
    recovery = _kill_and_recover(stack, pulse, lock, "aggregating")
    step(f"worker killed while aggregating: published once, one e-mail per lead, {recovery:.1f} s after the kill")
    return recovery


def redis_restarted_empty(stack: Stack) -> float:
    pulse = pulse_open(team_sizes=[12], name="Broker Ltd")
    sent = wait("the worker e-mails every invitation", lambda: links(pulse.organization.slug, pulse.people))
    stack.kill("redis", signal.SIGTERM)
    results, _ = _submit_all(sent)
    accepted = sum(was_accepted(r) for r in results)
    if accepted != pulse.people:
        fail(f"Redis down: {accepted} of {pulse.people} submissions accepted")
    _close(pulse)  # its hand-over to the worker is lost: nothing to hand it to
    time.sleep(1)
    stack.redis()
    back = time.monotonic()
    wait("the safety net catches the round up", lambda: published(pulse.round_id), timeout=120, every=0.2)
    catch_up = time.monotonic() - back
    wait("the lead has the results e-mail", lambda: results_mails(pulse.lead_emails[0]), timeout=60)
    step(
        f"Redis stopped: {accepted} of {pulse.people} submissions accepted while it was down; "
        f"restarted empty, the closed round was published {catch_up:.1f} s after it came back"
    )
    return catch_up


def main() -> None:
    started = time.monotonic()
    stack = Stack()
    try:
        stack.redis()
        stack.start(
            "gunicorn", str(BIN / "gunicorn"), "wellbeing.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
            "--workers", "4", "--access-logfile", str(WORK / "gunicorn-access.log"),
            env={"DATABASE_URL": os.environ["DATABASE_WEB_URL"]},  # the web's role; the rest run as the jobs'
        )  # fmt: skip
        stack.worker()
        stack.start("beat", str(BIN / "celery"), "-A", "wellbeing", "beat", "--schedule", str(WORK / "beat-schedule"))
        wait(
            "gunicorn answers",
            lambda: subprocess.run(["curl", "-fs", "-o", "/dev/null", f"{BASE_URL}/healthz/"]).returncode == 0,
            timeout=60,
        )
        load = duplicates_under_load(stack)
        sealing = kill_while_sealing(stack, load["pulse"])
        close_during_submissions()
        aggregating = kill_while_aggregating(stack)
        catch_up = redis_restarted_empty(stack)
    finally:
        stack.stop_all()
    step(
        f"figures: {load['rate']:.0f} submissions/s, p95 {load['p95'] * 1000:.0f} ms under load with duplicates; "
        f"recovery after SIGKILL {sealing:.1f} s (sealing), {aggregating:.1f} s (aggregating); "
        f"catch-up after the broker returned {catch_up:.1f} s; "
        f"bounds: visibility timeout {os.environ['PULSE_VISIBILITY_TIMEOUT']} s, "
        f"safety net {os.environ['PULSE_SAFETY_NET_SECONDS']} s; "
        f"{time.monotonic() - started:.0f} s in all"
    )


if __name__ == "__main__":
    main()
