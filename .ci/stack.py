"""Driving a running production stack from outside, as its users would: shared by the smoke
journey (.ci/smoke_journey.py) and the resilience tests (.ci/resilience.py).

Needs Django set up against the stack's database (as the app's own role) and the environment
the stack runs with: PULSE_BASE_URL, SMOKE_MAIL_DIR (the file e-mail backend's directory).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import http.cookiejar
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from django.utils import timezone

from surveys.core.tenancy import across_organizations, organization_scope
from surveys.models import (
    Membership,
    Organization,
    Question,
    Role,
    Round,
    RoundQuestion,
    RoundStatus,
    Team,
    TeamManagement,
    User,
)
from surveys.services.rounds import round_open
from surveys.services.surveys import SurveyFields, survey_create

BASE_URL = os.environ["PULSE_BASE_URL"]
MAIL_DIR = Path(os.environ["SMOKE_MAIL_DIR"])
TIMEOUT = float(os.environ.get("SMOKE_TIMEOUT", "90"))
PREFIX = os.environ.get("STACK_LOG_PREFIX", "smoke")

T = TypeVar("T")


class Processes:
    """Processes under test, each in its own process group so a kill takes all of it (gunicorn's
    workers with their master), each logging to `<work>/<name>.log`."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *command: str, env: dict[str, str] | None = None) -> None:
        log = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.processes[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})}
        )
        with open(self.work / "pids", "a") as pids:  # for the calling script's clean-up, should this one die
            pids.write(f"{self.processes[name].pid}\n")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a warm shutdown waiting on a task that cannot end
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)

    def stop_all(self) -> None:
        for name in list(self.processes):
            with contextlib.suppress(ProcessLookupError):  # it had already gone
                self.kill(name, signal.SIGTERM)


class Browser:
    """A client with its own cookies, following redirects, as a browser would."""

    def __init__(self, forwarded_for: str | None = None) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}

    def get(self, path: str) -> tuple[int, str, str]:
        """Status, final address and page."""
        url = path if path.startswith("http") else BASE_URL + path
        try:
            with self.opener.open(urllib.request.Request(url, headers=self.headers), timeout=30) as response:
                return response.status, response.url, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, url, error.read().decode(errors="replace")
        except urllib.error.URLError:  # not listening (yet)
            return 0, url, ""

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str, str]:
        """Fetch the form's page for its CSRF token, then post it."""
        status, url, page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token is None:
            return status, url, page
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token[1], **form}).encode()
        request = urllib.request.Request(url, data=body, headers={"Referer": url, **self.headers})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.url, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, url, error.read().decode(errors="replace")

    def cookies(self) -> list[str]:
        return [cookie.value for cookie in self.jar if cookie.value]


@dataclass
class Pulse:
    """An organisation with one team per entry of `team_sizes` (the first person of each team
    leads it) and an open round."""

    organization: Organization
    round_id: int
    lead_emails: list[str]
    people: int
    items: int  # questions the round asks: each full submission stores this many answers


def pulse_open(*, team_sizes: list[int], name: str = "Smoke Test Ltd", k: int = 3) -> Pulse:
    slug = f"{PREFIX}-{secrets.token_hex(4)}"
    organization = Organization.objects.create(name=name, slug=slug, k=k, k_comments=k)
    leads = []
    with organization_scope(organization):
        root = Team.objects.create(name="Crew", path="Crew")
        for index, size in enumerate(team_sizes):
            team = (
                root
                if len(team_sizes) == 1
                else Team.objects.create(name=f"T{index}", path=f"Crew/T{index}", parent=root)
            )
            members = []
            for number in range(size):
                user = User.objects.create_user(f"p{index}-{number}@{slug}.example", name=f"Person {index}-{number}")
                role = Role.MANAGER if number == 0 else Role.EMPLOYEE
                members.append(Membership.objects.create(user=user, role=role, team=team))
            TeamManagement.objects.create(team=team, membership=members[0])
            leads.append(members[0].user.email)
        survey = survey_create(
            organization=organization,
            created_by=None,
            launch=True,
            fields=SurveyFields(
                name="Smoke pulse",
                questions=list(Question.objects.filter(organization=None, is_core=True)),
                cadence="biweekly",
                open_days=5,
                starts_on=timezone.localdate(),
            ),
        )
        round_ = round_open(round_=Round.objects.get(survey=survey, status=RoundStatus.SCHEDULED))
        items = RoundQuestion.objects.filter(round=round_).count()
    return Pulse(organization, round_.pk, leads, sum(team_sizes), items)


def messages() -> list[email.message.EmailMessage]:
    """Every e-mail the file backend wrote (one file per connection, messages separated by a
    line of dashes)."""
    found = []
    for path in sorted(MAIL_DIR.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk.strip(), policy=email.policy.default))
    return found


def text(message: email.message.EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


def links(slug: str, expected: int) -> list[str] | None:
    """The answering links e-mailed for organisation `slug`, once all `expected` are there."""
    pattern = re.compile(re.escape(BASE_URL) + rf"/answer/{re.escape(slug)}/[\w-]+/")
    found = sorted({link for message in messages() for link in pattern.findall(text(message))})
    return found if len(found) == expected else None


@dataclass
class Submission:
    status: int  # of the POST: 200 with the thanks page after its redirect, 409 already answered or closed
    seconds: float  # the POST and its redirect
    page: str


def answer(link: str, *, comment: str = "Smoke test: all fine.") -> Submission:
    """Open the link, then submit the form with its CSRF token, as a browser would."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(link, timeout=30) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    questions = sorted(set(re.findall(r'name="(q\d+)"', page)))
    if token is None or not questions:
        return Submission(0, 0.0, page)
    form = {"csrfmiddlewaretoken": token[1], "comment": comment, **dict.fromkeys(questions, "4")}
    request = urllib.request.Request(link, data=urllib.parse.urlencode(form).encode(), headers={"Referer": link})
    started = time.perf_counter()
    try:
        with opener.open(request, timeout=60) as response:
            return Submission(response.status, time.perf_counter() - started, response.read().decode())
    except urllib.error.HTTPError as error:
        return Submission(error.code, time.perf_counter() - started, error.read().decode())


def was_accepted(submission: Submission) -> bool:
    return submission.status == 200 and "Thank you" in submission.page


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def round_state(round_id: int) -> Round:
    with across_organizations():
        return Round.all_organizations.get(pk=round_id)


def published(round_id: int) -> Round | None:
    round_ = round_state(round_id)
    if round_.status == RoundStatus.FAILED:
        fail(f"round {round_id} failed: {round_.failure_reason}")
    return round_ if round_.status == RoundStatus.PUBLISHED else None


def results_mails(address: str) -> int:
    return sum(address in str(m["To"]) and "Results are ready" in str(m["Subject"]) for m in messages())


def wait(what: str, check: Callable[[], T | None], *, timeout: float = TIMEOUT, every: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    fail(f"timed out after {timeout:.0f} s waiting until {what}")
    raise AssertionError  # not reached


def step(message: str) -> None:
    print(f"{PREFIX}: {message}", flush=True)


def fail(message: str) -> None:
    print(f"{PREFIX}: FAILED: {message}", file=sys.stderr, flush=True)
    sys.exit(1)
