"""Monitoring never sees an answer (surveys/core/telemetry.py): a traced journey through the
pages, the answering link, the signed-in answering page, the API and an account link exports no
token, e-mail address, answer or comment, and no span for the answering routes at all; the
metrics endpoint neither; error reports are scrubbed the same way. `/health` and `/healthz/`."""

import json
import re

import pytest
import sentry_sdk
from django.core import mail
from django.test import Client
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from surveys.core import telemetry
from surveys.core.telemetry import error_reporting_start, metrics_text, scrub_text, sentry_event_scrub
from surveys.models import ApiKey
from surveys.services.accounts import account_setup_link
from tests.support.factories import PASSWORD
from tests.support.pulses import form, open_pulse

COMMENT = "Nobody listens to the night shift"


@pytest.fixture(scope="module")
def _provider():
    """The process's tracer provider, set once (OpenTelemetry allows one): spans reach an
    in-memory exporter through the scrubbing exporter, as they would reach OTLP."""
    current = trace.get_tracer_provider()
    exporter = InMemorySpanExporter()
    if isinstance(current, TracerProvider):
        pytest.skip("another tracer provider is set in this process")
    trace.set_tracer_provider(telemetry.tracer_provider(exporter, batch=False))
    return exporter


@pytest.fixture
def exported(_provider):
    _provider.clear()
    return _provider


def _everything(exporter) -> str:
    return "\n".join(span.to_json() for span in exporter.get_finished_spans())


def test_a_traced_journey_exports_no_token_address_or_answer(tenant, other_tenant, exported, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    pulse = open_pulse(tenant)
    own = open_pulse(tenant, membership=tenant.hr)
    _, key = ApiKey.all_organizations.create_key(organization=tenant.org, name="BI", created_by=tenant.hr)
    account_link = account_setup_link(tenant.manager.user)

    # The employee answers from the e-mailed link, HR from the home page: never traced.
    answering = Client()
    answering.get(pulse.url)
    answering.post(pulse.url, form(pulse, [5, 1, 4] * 4, comment=COMMENT))
    answering.get(pulse.thanks_url)
    hr = Client()
    assert hr.login(username=tenant.hr.user.email, password=PASSWORD)
    signed_in_pulse = f"/o/acme/pulses/{own.round.pk}/"
    hr.get(signed_in_pulse)
    hr.post(signed_in_pulse, form(own, [2] * 12, comment=COMMENT))

    # HR's pages with an address in the query string and in a person's page; the API with a
    # key; an account link; a page that is not there.
    assert hr.get("/o/acme/people/", {"q": tenant.employee.user.email}).status_code == 200
    assert hr.get(f"/o/acme/people/{tenant.employee.pk}/").status_code == 200
    api = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get("/api/v1/people/", {"email": tenant.employee.user.email}).status_code in (200, 400)
    Client().get(account_link.removeprefix("http://127.0.0.1:8000"))
    Client().get(f"/nowhere/{tenant.employee.user.email}/?token={pulse.token}")

    spans = exported.get_finished_spans()
    names = {span.name for span in spans}
    assert "GET o/<slug:org_slug>/people/" in names and "GET api/v1/people/" in names  # the test saw spans
    assert not any("answer" in name or "pulses" in name for name in names)
    written = _everything(exported)
    secrets = {pulse.token, own.token, key, account_link.rstrip("/").rsplit("/", 1)[-1], COMMENT, "q=", "?"}
    secrets |= {membership.user.email for membership in (tenant.employee, tenant.hr, tenant.manager)}
    secrets |= {message.to[0] for message in mail.outbox}
    found = sorted(secret for secret in secrets if secret in written)
    assert found == []
    assert "@" not in written and "127.0.0.1" not in written


def test_a_span_that_carries_secrets_is_scrubbed_before_it_leaves(exported):
    tracer = trace.get_tracer("tests")
    with tracer.start_as_current_span("GET /answer/acme/Tok3n-s3cret/?email=ann@acme.test") as span:
        span.set_attribute("http.url", "https://pulse.example/answer/acme/Tok3n-s3cret/")
        span.set_attribute("http.route", "o/<slug:org_slug>/people/")
        span.set_attribute("client.address", "10.1.2.3")
        span.set_attribute("http.request.header.authorization", "Api-Key abc.def")
        span.record_exception(ValueError("ann@acme.test opened /answer/acme/Tok3n-s3cret/thanks/"))
    (finished,) = exported.get_finished_spans()
    assert set(finished.attributes) == {"http.route"}
    written = finished.to_json()
    for secret in ("Tok3n-s3cret", "ann@acme.test", "10.1.2.3", "abc.def", "email="):
        assert secret not in written
    assert "ValueError" in written and "[scrubbed] opened /answer/acme/[redacted]/thanks/" in written


def test_the_metrics_endpoint_counts_requests_by_route_and_never_the_answering_ones(tenant, client, settings):
    pulse = open_pulse(tenant)
    client.get(pulse.url)
    client.get(f"/o/acme/people/?q={tenant.employee.user.email}")
    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "http_server_duration" in text and "process_" in text
    assert pulse.token not in text and "@" not in text and "answer" not in text

    settings.PULSE_METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
    assert metrics_text() is not None


def test_health_answers_without_the_database_and_healthz_still_checks_it(client, django_assert_num_queries, db):
    with django_assert_num_queries(0):
        response = client.get("/health")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert client.get("/healthz/", {"format": "json"}).status_code == 200


class _Captured(sentry_sdk.transport.Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes: list = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


def test_error_reports_keep_no_token_address_body_or_user():
    event = {
        "message": "Failed for ann@acme.test",
        "request": {
            "url": "https://pulse.example/answer/acme/Tok3n-s3cret/",
            "method": "POST",
            "query_string": "email=ann@acme.test",
            "data": {"comment": COMMENT},
            "cookies": {"sessionid": "abc"},
            "headers": {"Authorization": "Api-Key abc.def"},
        },
        "user": {"email": "ann@acme.test", "ip_address": "10.1.2.3"},
        "exception": {"values": [{"type": "ValueError", "value": "bad link /answer/acme/Tok3n-s3cret/"}]},
        "breadcrumbs": {"values": [{"message": "GET /accounts/activate/MQ/abc-123/?next=/"}]},
    }
    scrubbed = json.dumps(sentry_event_scrub(event))
    for secret in ("Tok3n-s3cret", "ann@acme.test", COMMENT, "abc.def", "sessionid", "10.1.2.3", "abc-123"):
        assert secret not in scrubbed
    assert "ValueError" in scrubbed and "/answer/acme/[redacted]/" in scrubbed


def test_sentry_is_started_with_the_scrubbing_hooks_and_sends_a_scrubbed_event():
    transport = _Captured()
    error_reporting_start(dsn="https://public@sentry.invalid/1", environment="test", transport=transport)
    try:
        try:
            raise ValueError("ann@acme.test could not open /answer/acme/Tok3n-s3cret/")
        except ValueError:
            sentry_sdk.capture_exception()
        sentry_sdk.flush()
        client = sentry_sdk.get_client()
        collection = client.options["data_collection"]
        assert collection["user_info"] is False and collection["stack_frame_variables"] is False
        assert collection["http_bodies"] == [] and collection["url_query_params"]["mode"] == "off"
    finally:
        sentry_sdk.init()  # no DSN: sends nothing from here on
    sent = "".join(item.payload.get_bytes().decode() for envelope in transport.envelopes for item in envelope.items)
    assert "ValueError" in sent
    assert "Tok3n-s3cret" not in sent and not re.search(r"ann@acme\.test", sent)


def test_scrub_text_keeps_the_rest_of_the_line():
    assert scrub_text("GET /o/acme/teams/3/?page=2 by ann@acme.test") == "GET /o/acme/teams/3/ by [scrubbed]"
    assert scrub_text("/accounts/password/reset/MQ/abc-123/") == "/accounts/password/reset/[scrubbed]/"
