"""Redis addresses from the environment, plain or behind Sentinel (read by settings.py).

A plain address is `redis://host:6379/0`. Behind Sentinel, the address lists the sentinels, as
Celery's broker URL does: `sentinel://host-a:26379;sentinel://host-b:26379/0` (a password for
Redis itself as `sentinel://:password@host-a:26379;…`), and REDIS_SENTINEL_MASTER names the
master the sentinels watch. The broker, the cache and the scheduler's lock then follow the master
wherever Sentinel moves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SENTINEL_PORT = 26379


@dataclass(frozen=True)
class Sentinels:
    hosts: list[tuple[str, int]]
    db: int
    password: str | None


def sentinels_parse(url: str) -> Sentinels | None:
    """The sentinels, database and password a `sentinel://` address names; None for any other."""
    if not url.startswith("sentinel://"):
        return None
    hosts: list[tuple[str, int]] = []
    db = 0
    password = None
    for part in url.split(";"):
        part = part.strip()
        if not part:
            continue
        if not part.startswith("sentinel://"):
            part = "sentinel://" + part
        parsed = urlsplit(part)
        if not parsed.hostname:
            raise ImproperlyConfigured(f"A sentinel address names no host: {part.split('@')[-1]!r}")
        hosts.append((parsed.hostname, parsed.port or SENTINEL_PORT))
        if parsed.path.strip("/"):
            try:
                db = int(parsed.path.strip("/"))
            except ValueError:
                raise ImproperlyConfigured(f"A sentinel address's database must be a number: {parsed.path!r}") from None
        if parsed.password:
            password = unquote(parsed.password)
    return Sentinels(hosts, db, password)


def cache_config(url: str, *, master: str, options: dict) -> dict:
    """Django's CACHES entry for a Redis address (django-redis), through Sentinel when it lists
    sentinels: the cache always talks to the current master."""
    sentinels = sentinels_parse(url)
    if sentinels is None:
        return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url, "OPTIONS": options}
    sentinel_options = {
        **options,
        "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
        "SENTINELS": sentinels.hosts,
    }
    if sentinels.password:
        sentinel_options["PASSWORD"] = sentinels.password
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://{master}/{sentinels.db}",
        "OPTIONS": sentinel_options,
    }


def redbeat_config(url: str, *, master: str) -> dict:
    """Celery's settings for RedBeat's schedule and lock on the broker's Redis."""
    sentinels = sentinels_parse(url)
    if sentinels is None:
        return {"redbeat_redis_url": url}
    # retry_period: while Sentinel promotes a new master, the scheduler retries for up to a
    # minute instead of exiting.
    options: dict = {
        "sentinels": sentinels.hosts,
        "service_name": master,
        "db": sentinels.db,
        "socket_timeout": 2,
        "retry_period": 60,
    }
    if sentinels.password:
        options["password"] = sentinels.password
    return {"redbeat_redis_url": "redis-sentinel://", "redbeat_redis_options": options}
