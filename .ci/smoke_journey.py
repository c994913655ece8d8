"""The journey .ci/smoke runs through the production stack it started (gunicorn, a Celery worker
and beat on Redis, PostgreSQL), from the runtime-only virtualenv:

1. an organisation with a team of five is set up and a round opened, as HR's "Open now" does;
2. the worker e-mails the invitations (to files), and each invitee answers over HTTP from the
   link in their e-mail, as a browser would (GET the page, POST the form with its CSRF token);
3. the round is closed, as HR's "Close now" does; the worker seals and publishes it;
4. the team lead gets the results-ready e-mail, and the worker formats the results CSV;
5. an API key pulls the results CSV over HTTP, and the API documentation loads its own files;
   /healthz/ sees the database and the broker, and responses carry no server banner;
6. no log of the stack holds a working answering link;
7. everything above ran as the app's own PostgreSQL role, bound by row-level security: as that
   role, with no organisation set, raw SQL sees none of the rows the journey wrote.

Prints what it did and exits non-zero on the first thing that does not happen in time.
"""

from __future__ import annotations

import os
import re
import sys
import time
import urllib.request
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeing.settings")
django.setup()
sys.path.insert(0, str(Path(__file__).parent))

from stack import BASE_URL, answer, fail, links, published, pulse_open, results_mails, step, wait  # noqa: E402

from surveys.core.tenancy import organization_scope  # noqa: E402
from surveys.models import ApiKey, Organization, Result, ResultLines, Round  # noqa: E402
from surveys.services.rounds import round_close  # noqa: E402

LOG_DIR = Path(os.environ["SMOKE_LOG_DIR"])
TEAM_SIZE = 5


def main() -> None:
    started = time.monotonic()
    pulse = pulse_open(team_sizes=[TEAM_SIZE])
    organization, round_id, lead_email = pulse.organization, pulse.round_id, pulse.lead_emails[0]
    step(f"organisation {organization.slug}: a team of {TEAM_SIZE}, round {round_id} opened")
    sent = wait("the worker e-mails every invitation", lambda: links(organization.slug, TEAM_SIZE))
    for link in sent:
        if "Thank you" not in answer(link).page:
            fail(f"no thanks page after answering at {link}")
    step(f"{len(sent)} people answered over HTTP through gunicorn")
    with organization_scope(organization):
        round_close(round_=Round.objects.get(pk=round_id))
    step("round closed; waiting for the worker to seal and publish it")
    done = wait("the round is published", lambda: published(round_id))
    with organization_scope(organization):
        root = Result.objects.get(round_id=round_id, team__path="Crew")
    if (root.n, root.invited) != (TEAM_SIZE, TEAM_SIZE) or not done.sealed_at:
        fail(f"published n={root.n} invited={root.invited} sealed_at={done.sealed_at}")
    step(f"published and sealed: {root.n} of {root.invited} answered, {len(root.items)} items")
    wait("the team lead gets the results-ready e-mail", lambda: results_mails(lead_email))
    wait("the worker formats the round's results CSV", lambda: _lines_stored(organization, round_id))
    _api_download(organization)
    _health_and_headers()
    _no_token_in_logs(sent)
    _row_level_security(organization)
    step(f"journey done in {time.monotonic() - started:.1f} s")


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
    with organization_scope(organization):
        _, secret = ApiKey.objects.create_key(organization=organization, name="smoke")
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


def _row_level_security(organization: Organization) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('pulse.organization', true)")
        role, scoped = cursor.fetchone()
        cursor.execute("SELECT (SELECT count(*) FROM surveys_membership), (SELECT count(*) FROM surveys_result)")
        unscoped = cursor.fetchone()
        with organization_scope(organization):
            cursor.execute("SELECT (SELECT count(*) FROM surveys_membership), (SELECT count(*) FROM surveys_result)")
            scoped_counts = cursor.fetchone()
    if scoped or unscoped != (0, 0) or scoped_counts[0] != TEAM_SIZE or not scoped_counts[1]:
        fail(f"row-level security as {role}: no organisation set sees {unscoped}, in scope {scoped_counts}")
    step(f"as {role}, raw SQL with no organisation set sees no tenant row; in scope, {scoped_counts[0]} people")


if __name__ == "__main__":
    main()
