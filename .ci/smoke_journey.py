"""The journey .ci/smoke runs through the production stack it started (gunicorn, a Celery worker
and beat on Redis, PostgreSQL), from the runtime-only virtualenv:

1. an organisation with a team of five is set up and a round opened, as HR's "Open now" does;
2. the worker e-mails the invitations (to files), and each invitee answers over HTTP from the
   link in their e-mail, as a browser would (GET the page, POST the form with its CSRF token);
3. the round is closed, as HR's "Close now" does; the worker seals and publishes it;
4. the team lead gets the results-ready e-mail, and the worker formats the results CSV;
5. an API key pulls the results CSV over HTTP, and the API documentation loads its own files;
   /healthz/ sees the database and the broker, and responses carry no server banner;
6. no log of the stack holds a working answering link.

Prints what it did and exits non-zero on the first thing that does not happen in time.
"""

from __future__ import annotations

import email
import email.policy
import http.cookiejar
import os
import re
import secrets
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeing.settings")
django.setup()

from django.utils import timezone  # noqa: E402 (Django must be set up first)

from surveys.models import (  # noqa: E402
    ApiKey,
    Membership,
    Organization,
    Question,
    Result,
    ResultLines,
    Role,
    Round,
    RoundStatus,
    Team,
    TeamManagement,
    User,
)
from surveys.services.rounds import round_close, round_open  # noqa: E402
from surveys.services.surveys import SurveyFields, survey_create  # noqa: E402
from surveys.tenancy import organization_scope  # noqa: E402

BASE_URL = os.environ["PULSE_BASE_URL"]
MAIL_DIR = Path(os.environ["SMOKE_MAIL_DIR"])
LOG_DIR = Path(os.environ["SMOKE_LOG_DIR"])
TIMEOUT = float(os.environ.get("SMOKE_TIMEOUT", "90"))
TEAM_SIZE = 5


def main() -> None:
    started = time.monotonic()
    organization, round_id, lead_email = _set_up()
    links = _wait("the worker e-mails every invitation", lambda: _links(organization.slug, TEAM_SIZE))
    for link in links:
        _answer(link)
    step(f"{len(links)} people answered over HTTP through gunicorn")
    with organization_scope(organization):
        round_close(round_=Round.objects.get(pk=round_id))
    step("round closed; waiting for the worker to seal and publish it")
    published = _wait("the round is published", lambda: _published(round_id))
    with organization_scope(organization):
        root = Result.objects.get(round_id=round_id, team__path="Crew")
    if (root.n, root.invited) != (TEAM_SIZE, TEAM_SIZE) or not published.sealed_at:
        fail(f"published n={root.n} invited={root.invited} sealed_at={published.sealed_at}")
    step(f"published and sealed: {root.n} of {root.invited} answered, {len(root.items)} items")
    _wait("the team lead gets the results-ready e-mail", lambda: _results_mail(lead_email))
    _wait("the worker formats the round's results CSV", lambda: _lines_stored(organization, round_id))
    _api_download(organization)
    _health_and_headers()
    _no_token_in_logs(links)
    step(f"journey done in {time.monotonic() - started:.1f} s")


def _set_up() -> tuple[Organization, int, str]:
    slug = f"smoke-{secrets.token_hex(4)}"
    organization = Organization.objects.create(name="Smoke Test Ltd", slug=slug, k=3, k_comments=3)
    with organization_scope(organization):
        team = Team.objects.create(name="Crew", path="Crew")
        members = []
        for number in range(TEAM_SIZE):
            user = User.objects.create_user(f"person{number}@{slug}.example", name=f"Person {number}")
            role = Role.MANAGER if number == 0 else Role.EMPLOYEE
            members.append(Membership.objects.create(user=user, role=role, team=team))
        TeamManagement.objects.create(team=team, membership=members[0])
        survey = survey_create(
            organization=organization,
            created_by=members[0],
            fields=SurveyFields(
                name="Smoke pulse",
                questions=list(Question.objects.filter(organization=None, is_core=True)),
                cadence="biweekly",
                open_days=5,
                starts_on=timezone.localdate(),
            ),
        )
        round_ = round_open(round_=Round.objects.get(survey=survey, status=RoundStatus.SCHEDULED))
    step(f"organisation {slug}: a team of {TEAM_SIZE}, round {round_.pk} opened")
    return organization, round_.pk, members[0].user.email


def _messages() -> list[email.message.EmailMessage]:
    """Every e-mail the file backend wrote (one file per connection, messages separated by a
    line of dashes)."""
    found = []
    for path in sorted(MAIL_DIR.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk.strip(), policy=email.policy.default))
    return found


def _text(message: email.message.EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


def _links(slug: str, expected: int) -> list[str] | None:
    pattern = re.compile(re.escape(BASE_URL) + rf"/answer/{re.escape(slug)}/[\w-]+/")
    links = sorted({link for message in _messages() for link in pattern.findall(_text(message))})
    return links if len(links) == expected else None


def _answer(link: str) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(link, timeout=30) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    questions = sorted(set(re.findall(r'name="(q\d+)"', page)))
    if token is None or not questions:
        fail(f"the answering page at {link} has no form")
    form = {"csrfmiddlewaretoken": token[1], "comment": "Smoke test: all fine.", **dict.fromkeys(questions, "4")}
    request = urllib.request.Request(link, data=urllib.parse.urlencode(form).encode(), headers={"Referer": link})
    with opener.open(request, timeout=30) as response:
        thanks = response.read().decode()
    if "Thank you" not in thanks:
        fail(f"no thanks page after answering at {link}")


def _no_token_in_logs(links: list[str]) -> None:
    """gunicorn's access and error logs and the worker's log hold no working link."""
    logs = {path.name: path.read_text(errors="replace") for path in LOG_DIR.glob("*.log")}
    for link in links:
        token = link.rstrip("/").rsplit("/", 1)[1]
        for name, text in logs.items():
            if token in text:
                fail(f"a live answering token is in {name}")
    if "[redacted]" not in logs.get("gunicorn-access.log", ""):
        fail("gunicorn's access log has no redacted answering request: did the requests reach it?")
    step(f"no live token in {', '.join(sorted(logs))}")


def _lines_stored(organization: Organization, round_id: int) -> bool:
    with organization_scope(organization):
        return ResultLines.objects.filter(round_id=round_id).exists()


def _api_download(organization: Organization) -> None:
    _, secret = ApiKey.all_organizations.create_key(organization=organization, name="smoke")
    request = urllib.request.Request(f"{BASE_URL}/api/v1/results.csv", headers={"Authorization": f"Api-Key {secret}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        lines = response.read().decode().splitlines()
    if not lines or not lines[0].startswith("survey_id,") or not any(",Crew," in line for line in lines[1:]):
        fail(f"results.csv through the API: {lines[:3]}")
    step(f"an API key pulled results.csv: {len(lines) - 1} lines")
    with urllib.request.urlopen(f"{BASE_URL}/api/v1/docs/", timeout=30) as response:
        page = response.read().decode()
    scripts = re.findall(r'src="(/static/[^"]+\.js)"', page)
    if not scripts:
        fail("the API documentation names no script of its own")
    for script in scripts:
        with urllib.request.urlopen(BASE_URL + script, timeout=30) as response:
            if response.status != 200:
                fail(f"{script}: {response.status}")
    step(f"the API documentation loads {len(scripts)} scripts from Pulse itself")


def _health_and_headers() -> None:
    with urllib.request.urlopen(f"{BASE_URL}/healthz/?format=json", timeout=30) as response:
        health = response.read().decode()
    if "Database" not in health or "Redis" not in health or "Unavailable" in health:
        fail(f"/healthz/: {health}")
    with urllib.request.urlopen(f"{BASE_URL}/accounts/login/", timeout=30) as response:
        headers = response.headers
    if "gunicorn" in (headers.get("Server") or "").lower():
        fail(f"the server names itself: {headers.get('Server')}")
    if "script-src 'self'" not in (headers.get("Content-Security-Policy") or ""):
        fail("no Content-Security-Policy through gunicorn")
    step("health: database and broker answer; no server banner; the security headers are there")


def _published(round_id: int) -> Round | None:
    round_ = Round.all_organizations.get(pk=round_id)
    if round_.status == RoundStatus.FAILED:
        fail(f"round {round_id} failed: {round_.failure_reason}")
    return round_ if round_.status == RoundStatus.PUBLISHED else None


def _results_mail(address: str) -> bool:
    return any(address in str(m["To"]) and "Results are ready" in str(m["Subject"]) for m in _messages())


def _wait(what: str, check):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    fail(f"timed out after {TIMEOUT:.0f} s waiting until {what}")


def step(message: str) -> None:
    print(f"smoke: {message}", flush=True)


def fail(message: str) -> None:
    print(f"smoke: FAILED: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
