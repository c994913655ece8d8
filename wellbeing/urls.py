from typing import Any

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from surveys.api.errors import not_found
from surveys.scim.errors import scim_not_found
from surveys.views.health import HealthView, liveness, metrics
from wellbeing.redis_config import sentinels_parse


def _health_checks() -> list:
    """The database, and the broker when there is one (the demo and the tests have none)."""
    checks: list = ["health_check.checks.Database"]
    broker = settings.CELERY_BROKER_URL
    sentinels = sentinels_parse(broker)
    if broker.startswith(("redis://", "rediss://")):
        checks.append(("health_check.contrib.redis.Redis", {"client_factory": lambda: Redis.from_url(broker)}))
    elif sentinels is not None:  # the master the sentinels name now
        checks.append(("health_check.contrib.redis.Redis", {"client_factory": lambda: _sentinel_master(sentinels)}))
    return checks


def _sentinel_master(sentinels: Any) -> Redis:
    kwargs = {"password": sentinels.password} if sentinels.password else {}
    sentinel = Sentinel(sentinels.hosts, socket_timeout=2, **kwargs)
    return sentinel.master_for(settings.REDIS_SENTINEL_MASTER, db=sentinels.db, socket_timeout=2, **kwargs)


urlpatterns = [
    # For load balancers and compose health checks: 200 when the database (and broker) answer,
    # 503 naming the one that does not. `?format=json` for machines.
    path("healthz/", HealthView.as_view(checks=_health_checks()), name="health"),
    # For the orchestrator: the process is alive (no database, no broker), and its metrics.
    path("health", liveness, name="liveness"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # Single sign-on's protocol routes (allauth), one provider per organisation, its slug the id:
    # /sso/oidc/<org_slug>/login/ and …/login/callback/ (surveys/sso.py).
    path("sso/", include("allauth.socialaccount.providers.openid_connect.urls")),
    path("api/v1/", include("surveys.api.urls")),
    re_path(r"^api/", not_found),
    path("scim/v2/", include("surveys.scim.urls")),
    re_path(r"^scim/", scim_not_found),
    path("", include("delivery.urls")),
    path("", include("surveys.urls")),
]
