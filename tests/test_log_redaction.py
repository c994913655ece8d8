"""Answering links never reach a log: a journey through the product, with every configured log
handler, the console e-mail backend of deployments and gunicorn's logger captured, then every
live token looked for in what they wrote."""

import datetime as dt
import io
import logging
import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from gunicorn.config import Config

from surveys.core.log_redaction import REDACTED, RedactTokens, redact_tokens
from surveys.core.mail import RedactingConsoleBackend
from surveys.core.tokens import invitation_path
from surveys.services.invitations import round_invitations_send
from tests.support.pulses import form, open_pulse
from wellbeing.gunicorn_logging import RedactingLogger

LINK = re.compile(r"/answer/acme/([A-Za-z0-9_-]{20,})/")


@pytest.fixture
def captured_handlers():
    """Point every configured handler that redacts (the root's and runserver's) at a buffer."""
    handlers = [
        handler
        for logger in (logging.getLogger(), logging.getLogger("django.server"))
        for handler in logger.handlers
        if any(isinstance(f, RedactTokens) for f in handler.filters)
    ]
    assert len(handlers) == 2, "the root logger and runserver's both redact"
    buffer = io.StringIO()
    previous = [handler.setStream(buffer) for handler in handlers]
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    yield buffer
    logging.getLogger().setLevel(level)
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def _gunicorn_access_line(logger: RedactingLogger, path: str, referer: str) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_REFERER": referer,
    }
    response = SimpleNamespace(status="200 OK", sent=1234, headers=[])
    logger.access(response, SimpleNamespace(headers=[]), environ, dt.timedelta(milliseconds=12))


def test_a_journey_writes_no_live_token_to_any_log(tenant, captured_handlers, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    pulse = open_pulse(tenant)
    tokens = {pulse.token}
    with tenant.scope():
        round_invitations_send(round_=pulse.round)  # a fresh link for every invitee, by e-mail
    tokens |= {token for message in mail.outbox for token in LINK.findall(message.body)}
    assert len(tokens) >= 2

    # E-mails printed by a deployment's console backend.
    printed = io.StringIO()
    RedactingConsoleBackend(stream=printed).send_messages(mail.outbox)

    # Requests: a good link, one that no longer works (a warning naming the path), a refused
    # CSRF check (another), the answers, the thanks page; and runserver's request lines.
    client = Client()
    for token in tokens:
        client.get(invitation_path(org_slug="acme", token=token))
    Client(enforce_csrf_checks=True).post(pulse.url, form(pulse, [4] * 12))
    client.post(pulse.url, form(pulse, [4] * 12, comment="Fine."))
    client.get(pulse.thanks_url)
    for token in tokens:
        logging.getLogger("django.server").info(
            '"GET %s HTTP/1.1" 200 5120',
            invitation_path(org_slug="acme", token=token),
            extra={"status_code": 200, "server_time": "30/Nov/2026 09:00:00"},
        )
    logging.getLogger("surveys").warning("Could not load %s", pulse.url + "thanks/")

    # gunicorn's access log (request line and Referer) and error log.
    config = Config()
    config.set("accesslog", "-")
    gunicorn = RedactingLogger(config)
    gunicorn_out = io.StringIO()
    for log in (gunicorn.access_log, gunicorn.error_log):
        log.addHandler(logging.StreamHandler(gunicorn_out))
    for token in tokens:
        path = invitation_path(org_slug="acme", token=token)
        _gunicorn_access_line(gunicorn, path + "thanks/", referer=settings.PULSE_BASE_URL + path)
        gunicorn.error("Error handling request %s", path)

    written = "\n".join([captured_handlers.getvalue(), printed.getvalue(), gunicorn_out.getvalue()])
    for token in tokens:
        assert token not in written
    # The lines were there, redacted: the test looked at real output.
    assert written.count(f"/answer/acme/{REDACTED}") >= 4 * len(tokens)
    assert "Not Found" in written and "Forbidden" in written


def test_redaction_keeps_the_rest_of_the_line():
    line = 'GET /answer/northwind/Ab-9_x/thanks/ HTTP/1.1" 200 from https://pulse.example/answer/northwind/Zz/'
    assert redact_tokens(line) == (
        'GET /answer/northwind/[redacted]/thanks/ HTTP/1.1" 200 from https://pulse.example/answer/northwind/[redacted]/'
    )
    assert redact_tokens("/o/acme/teams/3/ and /answer/") == "/o/acme/teams/3/ and /answer/"


def test_deployments_that_print_mail_use_the_redacting_backend():
    """A console EMAIL_URL with DEBUG off (docker-compose.yml's default) prints redacted mail."""
    import subprocess
    import sys

    env = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50, "EMAIL_URL": "consolemail://", "PATH": "/usr/bin"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "wellbeing.settings", "PYTHONPATH": str(settings.BASE_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "surveys.core.mail.RedactingConsoleBackend", result.stderr
