"""`manage.py check --deploy`: what running Pulse on more than one process needs.

The cache must be shared by every process: the API's rate limits, the sign-in rules' counts of
wrong passwords and the single use of account links live there, so a cache of each process's own
multiplies every limit by the number of processes."""

from typing import Any

from django.conf import settings
from django.core import checks

#: Backends whose entries one process (or one machine) alone sees.
LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)


@checks.register(checks.Tags.caches, deploy=True)
def shared_cache_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in LOCAL_CACHES:
        return [
            checks.Error(
                f"The cache ({backend.rsplit('.', 1)[-1]}) is not shared between processes: rate limits and "
                "sign-in limits would count per process.",
                hint="Set CACHE_URL to a Redis every web process reaches (redis://host:6379/1, or "
                "sentinel://host-a:26379;sentinel://host-b:26379/1 with REDIS_SENTINEL_MASTER).",
                id="pulse.E010",
            )
        ]
    return []
