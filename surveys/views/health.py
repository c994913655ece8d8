"""What the orchestrator asks: `/health` (alive), `/healthz/` (ready), `/metrics`.

`/healthz/` is django-health-check's view, answering 503 (not 500) when a service is down, so
a load balancer or compose sees "unavailable", and an error log is not raised for it."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from health_check.views import HealthCheckView

from surveys.core.telemetry import metrics_text


class HealthView(HealthCheckView):
    async def dispatch(self, request, *args, **kwargs):
        response = await super().dispatch(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503
        return response


def liveness(request: HttpRequest) -> HttpResponse:
    """`/health`: the process answers (the orchestrator's liveness probe). It touches no database
    or broker, so an outage of either does not get every web process restarted; `/healthz/` is
    the readiness check that looks at them."""
    return HttpResponse("ok\n", content_type="text/plain")


def metrics(request: HttpRequest) -> HttpResponse:
    """`/metrics`: this process's metrics in Prometheus' text format (surveys/core/telemetry.py),
    for the orchestrator to scrape. With `PULSE_METRICS_TOKEN` set, only with
    `Authorization: Bearer <token>`."""
    token = settings.PULSE_METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and not constant_time_compare(given, token):
        return HttpResponse("Not allowed.\n", status=403, content_type="text/plain")
    reading = metrics_text()
    if reading is None:
        return HttpResponse("Metrics are off (OTEL_SDK_DISABLED).\n", status=404, content_type="text/plain")
    body, content_type = reading
    return HttpResponse(body, content_type=content_type)
