"""Headers and limits every response gets: a strict Content-Security-Policy (and templates that
need nothing more), Permissions-Policy, no caching of signed-in pages, oversized bodies refused
before they are read."""

import re
import threading
from pathlib import Path

from django.test import Client

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def test_pages_carry_a_strict_content_security_policy_and_permissions_policy(client, db):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_no_template_a_browser_renders_has_inline_script_or_style():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if path.relative_to(TEMPLATES).parts[0] == "emails" or "email" in path.name:
            continue  # e-mails are read in mail clients, which need inline styles and run no CSP
        text = path.read_text()
        if re.search(r"\sstyle=|<style|<script(?![^>]*\ssrc=)|\son[a-z]+=", text):
            offenders.append(str(path.relative_to(TEMPLATES)))
    assert offenders == []


def test_signed_in_pages_and_answering_links_are_not_cached(login, tenant):
    page = login(tenant.hr).get("/o/acme/people/")
    assert page.status_code == 200
    assert {"private", "no-store"} <= {part.strip() for part in page["Cache-Control"].split(",")}
    answer = Client().get("/answer/acme/not-a-token/")
    assert "no-store" in answer["Cache-Control"]


def test_a_body_larger_than_anything_pulse_takes_is_refused_before_it_is_read(client, db, settings):
    for path in ("/accounts/login/", "/api/v1/roster/imports/"):
        response = client.generic(
            "POST",
            path,
            "",
            CONTENT_LENGTH=str(300 * 1024 * 1024),
            CONTENT_TYPE="application/octet-stream",
        )
        assert response.status_code == 413
    assert (
        client.post("/api/v1/roster/imports/", content_type="text/csv", CONTENT_LENGTH=str(300 << 20)).json()["code"]
        == "too_large"
    )


def _off_the_event_loop(call):
    """The health view is async; run the test client in a thread with no event loop of its own
    (a browser test in the same process keeps one running in this thread)."""
    result = []
    worker = threading.Thread(target=lambda: result.append(call()))
    worker.start()
    worker.join()
    return result[0]


def test_the_health_endpoint_reports_the_database_and_is_503_when_it_is_down(client, db, monkeypatch):
    from health_check.checks import Database
    from health_check.exceptions import ServiceUnavailable

    healthy = _off_the_event_loop(lambda: client.get("/healthz/?format=json"))
    assert healthy.status_code == 200 and "OK" in next(iter(healthy.json().values()))

    async def down(self):
        raise ServiceUnavailable("no database")

    monkeypatch.setattr(Database, "run", down)
    assert _off_the_event_loop(lambda: client.get("/healthz/?format=json")).status_code == 503
