"""Real identity providers for the single sign-on tests, each a process of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RunningProvider:
    url: str
    client_id: str
    client_secret: str


@contextmanager
def oidc_provider(*, redirect_uri: str, emails: list[str]) -> Iterator[RunningProvider]:
    """django-oauth-toolkit's OpenID Connect provider (tests/support/oidc_idp.py), serving the
    people `emails` (password `idp-password`) to a client that returns to `redirect_uri`."""
    client_id, client_secret = "pulse-test-client", "pulse-test-client-secret-0123456789"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.oidc_idp", redirect_uri, client_id, client_secret, ",".join(emails)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"the test identity provider did not start: {line}{process.stdout.read()}")
        yield RunningProvider(f"http://127.0.0.1:{int(line.split()[1])}/o", client_id, client_secret)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _form_fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)}


def oidc_sign_in(client, provider: RunningProvider, *, slug: str, email: str, password: str):
    """Sign in through the provider as a browser would, with Django's test client on Pulse's side
    and a plain HTTP session on the provider's: Pulse's start, the provider's sign-in page, its
    redirect back with a code, and Pulse's callback (which exchanges the code with the provider
    over HTTP). Returns Pulse's answer to the callback."""
    start = client.post(f"/sso/oidc/{slug}/login/")
    assert start.status_code == 302, start.status_code
    browser = requests.Session()
    login_page = browser.get(start["Location"], timeout=10)
    fields = _form_fields(login_page.text)
    fields.update(username=email, password=password)
    signed_in = browser.post(login_page.url, data=fields, allow_redirects=False, timeout=10)
    assert signed_in.status_code == 302, signed_in.text[:500]
    authorized = browser.get(urljoin(login_page.url, signed_in.headers["Location"]), allow_redirects=False, timeout=10)
    back = urlsplit(authorized.headers["Location"])
    assert back.path == f"/sso/oidc/{slug}/login/callback/", authorized.headers["Location"]
    return client.get(f"{back.path}?{back.query}")
