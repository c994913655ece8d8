"""Monitoring that never sees an answer: OpenTelemetry traces and metrics, and Sentry's errors.

Threat: an observability vendor, or anyone who can read its store, learning what a person said,
whether they answered, or a working answering link. Traces carry URLs, query strings, client
addresses and exception messages; error reports carry request bodies and local variables. So:

- The answering routes (`/answer/…`, `/o/<slug>/pulses/…`) are not traced or measured at all
  (`EXCLUDED_URLS`): no span, no duration, no count says when anyone answered.
- Every span leaves the process through `ScrubbingSpanExporter`, which keeps only the attributes
  named in `KEPT_SPAN_ATTRIBUTES` (how a request went: method, route template, status; never a
  URL, a query string, an address or a header) and scrubs names, status descriptions and
  exception messages with `scrub_text` (tokens, e-mail addresses, query strings).
- Metrics keep only `KEPT_METRIC_ATTRIBUTES` (a view over every instrument).
- Sentry, when `SENTRY_DSN` is set, sends no personal data, no request body, no local variable,
  and every string of an event goes through `scrub_text` (`sentry_event_scrub`).

Traces and metrics leave the process only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; `/metrics`
(Prometheus text, `metrics_text`) reads the same metrics in process for the orchestrator.
docs/operations.md, "Monitoring".
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from surveys.core.log_redaction import redact_tokens

#: The answering routes, as paths: the e-mailed link and the signed-in answering page. Nothing
#: observes them: no trace, no metric, no audit context.
ANSWERING_PATHS = (r"/answer/", r"/o/[^/]+/pulses/")
#: Routes never traced nor measured, as regular expressions on the absolute URL (OpenTelemetry's
#: excluded-URL list: comma-separated, searched).
EXCLUDED_URLS = tuple(rf"^https?://[^/]+{path}" for path in ANSWERING_PATHS)


def is_answering_path(path: str) -> bool:
    return any(re.match(pattern, path) for pattern in ANSWERING_PATHS)


#: What a span may keep: the request's method, route template (never the path with its values),
#: status and protocol, the scheme and server port, and the type of an error.
KEPT_SPAN_ATTRIBUTES = frozenset(
    {
        "http.method",
        "http.request.method",
        "http.route",
        "http.status_code",
        "http.response.status_code",
        "http.scheme",
        "url.scheme",
        "http.flavor",
        "network.protocol.version",
        "server.port",
        "net.host.port",
        "error.type",
        "exception.type",
        "exception.escaped",
    }
)
#: Exception events keep these too, scrubbed (`scrub_text`): their message and stack trace.
SCRUBBED_EVENT_ATTRIBUTES = frozenset({"exception.message", "exception.stacktrace"})
#: What a metric's data points may be split by.
KEPT_METRIC_ATTRIBUTES = frozenset(
    {"http.method", "http.request.method", "http.route", "http.status_code", "http.response.status_code"}
)

_EMAIL = re.compile(r"[^\s@/<>\"'(),;:]+@[^\s@/<>\"'(),;:]+\.[A-Za-z]{2,}")
# The secret parts of the e-mailed account links (/accounts/activate/<uid>/<token>/ and
# /accounts/password/reset/<uid>/<token>/).
_ACCOUNT_LINK = re.compile(r"(/accounts/(?:activate|password/reset)/)[^/\s]+/[^/\s]+")
_QUERY = re.compile(r"\?[^\s\"'#]*")
_API_KEY = re.compile(r"(Api-Key\s+)\S+", re.IGNORECASE)
SCRUBBED = "[scrubbed]"


def scrub_text(text: str) -> str:
    """`text` without answering or account-link tokens, e-mail addresses, query strings or API
    keys: what may be said about a request in a trace or an error report."""
    text = redact_tokens(text)
    text = _ACCOUNT_LINK.sub(lambda match: match.group(1) + SCRUBBED, text)
    text = _EMAIL.sub(SCRUBBED, text)
    text = _API_KEY.sub(lambda match: match.group(1) + SCRUBBED, text)
    return _QUERY.sub("", text)


def kept_attributes(attributes: Mapping[str, Any] | None, kept: frozenset[str]) -> dict[str, Any]:
    """Only the attributes named in `kept`; text values scrubbed all the same."""
    return {
        key: scrub_text(value) if isinstance(value, str) else value
        for key, value in (attributes or {}).items()
        if key in kept
    }


def span_scrubbed(span: Any) -> Any:
    """A copy of a finished span keeping only what `KEPT_SPAN_ATTRIBUTES` allows."""
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Status

    events = [
        Event(
            scrub_text(event.name),
            {
                **kept_attributes(event.attributes, KEPT_SPAN_ATTRIBUTES),
                **kept_attributes(event.attributes, SCRUBBED_EVENT_ATTRIBUTES),
            },
            event.timestamp,
        )
        for event in span.events
    ]
    description = span.status.description
    return ReadableSpan(
        name=scrub_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=kept_attributes(span.attributes, KEPT_SPAN_ATTRIBUTES),
        events=events,
        links=(),
        kind=span.kind,
        status=Status(span.status.status_code, scrub_text(description) if description else None),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def scrubbing_exporter(exporter: Any) -> Any:
    """`exporter`, handed only scrubbed copies of the spans (`span_scrubbed`)."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class ScrubbingSpanExporter(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return exporter.export([span_scrubbed(span) for span in spans])

        def shutdown(self) -> None:
            exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return exporter.force_flush(timeout_millis)

    return ScrubbingSpanExporter()


def tracer_provider(exporter: Any, *, batch: bool = True) -> Any:
    """A tracer provider whose spans reach `exporter` scrubbed (`batch=False`: at once, for tests)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "pulse"}))
    processor = BatchSpanProcessor if batch else SimpleSpanProcessor
    provider.add_span_processor(processor(scrubbing_exporter(exporter)))
    return provider


_metrics_registry: Any = None


def telemetry_start(*, otlp_endpoint: str) -> None:
    """Instrument Django once per process: metrics always (read by `/metrics`), traces and
    metrics sent over OTLP when `otlp_endpoint` is set. `OTEL_SDK_DISABLED=true` turns it all off."""
    global _metrics_registry
    if _metrics_registry is not None or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return
    from opentelemetry import metrics, trace
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.view import View
    from opentelemetry.sdk.resources import Resource
    from prometheus_client import CollectorRegistry, ProcessCollector

    _metrics_registry = CollectorRegistry()
    ProcessCollector(registry=_metrics_registry)
    readers: list[Any] = [PrometheusMetricReader(registry=_metrics_registry)]
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        trace.set_tracer_provider(tracer_provider(OTLPSpanExporter()))
    view = View(instrument_name="*", attribute_keys=set(KEPT_METRIC_ATTRIBUTES))
    resource = Resource.create({"service.name": "pulse"})
    metrics.set_meter_provider(MeterProvider(metric_readers=readers, views=[view], resource=resource))
    DjangoInstrumentor().instrument(excluded_urls=",".join(EXCLUDED_URLS))


def metrics_text() -> tuple[bytes, str] | None:
    """The process's metrics in Prometheus' text format, and its content type (None when off)."""
    if _metrics_registry is None:
        return None
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(_metrics_registry), CONTENT_TYPE_LATEST


def _scrubbed_deep(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {key: _scrubbed_deep(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed_deep(item) for item in value]
    return value


#: What an error report may keep of the request: where (the URL scrubbed, no query) and how.
SENTRY_REQUEST_KEYS = frozenset({"url", "method"})


def sentry_event_scrub(event: dict[str, Any], hint: Any = None) -> dict[str, Any]:
    """An error report without the request's query, body, cookies, headers or user, and with
    every string scrubbed (`scrub_text`): the answering link's token, e-mail addresses."""
    request = event.get("request")
    if isinstance(request, dict):
        event["request"] = {key: value for key, value in request.items() if key in SENTRY_REQUEST_KEYS}
    event.pop("user", None)
    return _scrubbed_deep(event)


def sentry_breadcrumb_scrub(crumb: dict[str, Any], hint: Any = None) -> dict[str, Any]:
    return _scrubbed_deep(crumb)


def error_reporting_start(*, dsn: str, environment: str, transport: Callable | None = None) -> None:
    """Send errors to Sentry when a DSN is set: no personal data, bodies or local variables,
    every event and breadcrumb scrubbed. Sentry's own tracing stays off (traces are OpenTelemetry's)."""
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Nothing about the person or the request beyond its URL: no user, cookies, headers,
        # query, body, SQL parameters or local variables.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "off"}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "stack_frame_variables": False,
        },
        max_request_body_size="never",
        traces_sample_rate=None,
        before_send=sentry_event_scrub,  # type: ignore[arg-type]  # an event is a dict
        before_breadcrumb=sentry_breadcrumb_scrub,
        transport=transport,
    )
