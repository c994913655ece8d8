from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from redis.asyncio import Redis

from surveys.api.errors import not_found
from surveys.views.health import HealthView, liveness, metrics


def _health_checks() -> list:
    """The database, and the broker when there is one (the demo and the tests have none)."""
    checks: list = ["health_check.checks.Database"]
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")):
        checks.append(("health_check.contrib.redis.Redis", {"client_factory": lambda: Redis.from_url(broker)}))
    return checks


urlpatterns = [
    # For load balancers and compose health checks: 200 when the database (and broker) answer,
    # 503 naming the one that does not. `?format=json` for machines.
    path("healthz/", HealthView.as_view(checks=_health_checks()), name="health"),
    # For the orchestrator: the process is alive (no database, no broker), and its metrics.
    path("health", liveness, name="liveness"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("surveys.api.urls")),
    re_path(r"^api/", not_found),
    path("", include("surveys.urls")),
]
