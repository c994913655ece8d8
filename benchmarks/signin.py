"""Password guessing beside answering: does a stream of wrong passwords slow the answering page?

Starts gunicorn (the production server, `gunicorn.conf.py`, `--workers`) on this database,
with an open round and one invitation of its own, then measures the answering page
(GET `/answer/<org>/<token>/`, one request at a time):

- **baseline**: for `--seconds` with nothing else going on;
- **under guessing**: for `--seconds` while `--guessers` clients post wrong passwords to the
  sign-in form as fast as they are answered (each with its own session and CSRF token, all
  from this machine's address, spread over a few accounts, as the review's attack did);
  measured twice: with the guessing processes at normal priority, and at nice 19. On one
  machine the clients themselves take CPU from the server (8 busy processes on this 2-CPU
  machine), which attackers on machines of their own would not; the second figure is the
  closer one to production, the first the worst case.

Each guess that reaches the password check costs a full password hash; the sign-in rules
(`surveys/signin.py`) refuse an address past its budget before hashing, and the refusal waits a second in a thread of
its own (`surveys.signin.Tarpit`), so a client that waits for each answer slows down. Prints
median and 95th percentile of both, their ratio (target: median at most 2× the baseline),
guesses per second and how many were refused before a password check. Then stops the server and deletes
its data.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from benchmarks.database import bench_database_check
from surveys.core.tenancy import organization_scope
from surveys.core.tokens import token_hash, token_new
from surveys.models import (
    Invitation,
    Membership,
    Organization,
    Question,
    Role,
    Round,
    RoundQuestion,
    RoundStatus,
    Survey,
    Team,
    User,
)

TARGET_RATIO = 2.0
ROOT = Path(settings.BASE_DIR)


def add_arguments(parser) -> None:
    parser.add_argument("--guessers", type=int, default=8, help="Concurrent wrong-password clients.")
    parser.add_argument("--seconds", type=float, default=30.0, help="Length of each measurement.")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers, as docker-compose.yml runs.")


def run(*, stdout, guessers, seconds, workers, **options) -> None:
    bench_database_check("signin")
    organization, path, emails = _build()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(port, workers)
    load_before = os.getloadavg()
    try:
        _wait_until_up(base, server)
        _get(base + path)  # warm
        baseline = _measure(base + path, seconds)
        # On one machine the guessing clients take CPU from the server, which attackers on
        # machines of their own would not: measured as they are, then with the clients at the
        # lowest CPU priority, closer to production.
        attacks = [
            (f"while {guessers} clients guess", *_attack(base, path, emails, guessers, seconds, niceness=0)),
            ("the same, guessers at nice 19", *_attack(base, path, emails, guessers, seconds, niceness=19)),
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
        _delete(organization, emails)
    _report(stdout, baseline, attacks, seconds=seconds, workers=workers)
    stdout.write(
        f"machine: {os.cpu_count()} CPUs; load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    )


def _attack(base: str, path: str, emails: list[str], guessers: int, seconds: float, *, niceness: int):
    """The answering page's timings while `guessers` processes guess, and what they did.
    Guessers are processes of their own, so they do not share the measurement's interpreter lock."""
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=_guess, args=(base, emails[i % len(emails)], stop, results, niceness), daemon=True)
        for i in range(guessers)
    ]
    for process in processes:
        process.start()
    time.sleep(2)  # let them get going
    attacked = _measure(base + path, seconds)
    stop.set()
    tally = {"guesses": 0, "locked": 0, "errors": 0}
    for _ in processes:
        for key, value in results.get(timeout=60).items():
            tally[key] += value
    for process in processes:
        process.join(timeout=30)
    return attacked, tally


def _report(stdout, baseline, attacks, *, seconds, workers) -> None:
    def figures(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return f"median {statistics.median(values) * 1000:7.1f} ms, p95 {p95 * 1000:7.1f} ms  ({len(values)} requests)"

    stdout.write(f"gunicorn, {workers} workers; the answering page, one request at a time, {seconds:.0f} s each:")
    stdout.write(f"  {'baseline':34} {figures(baseline)}")
    for label, attacked, _ in attacks:
        ratio = statistics.median(attacked) / statistics.median(baseline)
        stdout.write(f"  {label:34} {figures(attacked)}  ratio of medians {ratio:.2f} x (target {TARGET_RATIO} x)")
    for label, _, tally in attacks:
        stdout.write(
            f"{label}: {tally['guesses']:,} guesses ({tally['guesses'] / seconds:,.0f}/s), {tally['locked']:,} refused "
            f"before any password check, {tally['errors']} failed to connect"
        )


def _build() -> tuple[Organization, str, list[str]]:
    tag = f"{os.getpid()}-{int(time.time())}"
    with transaction.atomic():
        organization = Organization.objects.create(name=f"Sign-in benchmark {tag}", slug=f"signin-{tag}")
        with organization_scope(organization):
            team = Team.objects.create(name="Crew", path="Crew")
            emails = [f"bench-signin-{tag}-{n}@example.test" for n in range(4)]
            members = [
                Membership.objects.create(
                    user=User.objects.create_user(email, password="the-right-one-2026"), role=Role.MANAGER, team=team
                )
                for email in emails
            ]
            survey = Survey.objects.create(name="Pulse")
            now = timezone.now()
            round_ = Round.objects.create(
                survey=survey,
                number=1,
                status=RoundStatus.OPEN,
                opens_at=now - dt.timedelta(days=1),
                closes_at=now + dt.timedelta(days=4),
                opened_at=now,
                k=organization.k,
                k_comments=organization.k_comments,
            )
            core = Question.objects.filter(organization__isnull=True, is_core=True).order_by("position")
            RoundQuestion.objects.bulk_create(
                RoundQuestion(organization=organization, round=round_, question=q, position=i)
                for i, q in enumerate(core)
            )
            token = token_new()
            Invitation.objects.create(round=round_, membership=members[0], team=team, token_hash=token_hash(token))
    return organization, f"/answer/{organization.slug}/{token}/", emails


def _delete(organization: Organization, emails: list[str]) -> None:
    from benchmarks.aggregate import _delete as delete_organization

    delete_organization(organization)
    User.objects.filter(email__in=emails).delete()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wellbeing.settings"}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "wellbeing.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError("gunicorn stopped at start (is gunicorn installed in this environment?)")
        try:
            _get(base + "/healthz/?format=json")
            return
        except OSError:
            time.sleep(0.3)
    raise CommandError("gunicorn did not answer within a minute")


def _get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise CommandError(f"{url}: {response.status}")
    return time.perf_counter() - started


def _measure(url: str, seconds: float) -> list[float]:
    timings = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        timings.append(_get(url))
    return timings


def _guess(base: str, email: str, stop, results, niceness: int) -> None:
    """One guessing client: fetch the form once, then post wrong passwords until stopped."""
    os.nice(niceness)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    tally = {"guesses": 0, "locked": 0, "errors": 0}
    number = 0
    csrf = None
    while not stop.is_set():
        try:
            if csrf is None:  # one form, then its token again and again, as a guessing script would
                with opener.open(base + "/accounts/login/", timeout=60) as page:
                    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
                    csrf = found[1] if found else ""
            number += 1
            body = urllib.parse.urlencode(
                {"csrfmiddlewaretoken": csrf, "username": email, "password": f"guess-{number}"}
            ).encode()
            request = urllib.request.Request(base + "/accounts/login/", data=body, headers={"Referer": base + "/"})
            try:
                with opener.open(request, timeout=60) as response:
                    response.read()
                    locked = False
            except urllib.error.HTTPError as refused:
                locked = refused.code == 429
            tally["guesses"] += 1
            tally["locked"] += locked
        except (OSError, TypeError):
            tally["errors"] += 1
            time.sleep(0.1)
    results.put(tally)
