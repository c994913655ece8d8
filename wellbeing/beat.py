"""The scheduler Celery beat runs (CELERY_BEAT_SCHEDULER): RedBeat, whose schedule and lock live
in the broker's Redis, so however many beats are started only the one holding the lock sends
the scheduled jobs; the others wait for it.

RedBeat alone exits when Redis goes away or its lock is lost (a Redis restarted empty, a
Sentinel failover that had not yet copied the lock). Pulse's beat instead stops sending, tries
again each loop, and once it holds the lock again puts the schedule back (the jobs' last runs
kept where Redis still has them), so a beat outlives an outage of the broker as the workers do."""

from __future__ import annotations

import logging
from typing import Any

from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, get_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)


class PulseBeatScheduler(RedBeatScheduler):
    def tick(self, min: Any = min, **kwargs: Any) -> float:
        try:
            if self.lock_key and self.lock is None:
                if not self._lock_take():
                    return self.max_interval  # another beat schedules; wait for its lock
                self.setup_schedule()  # Redis may have come back empty
            return super().tick(min=min, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, LockError) as error:
            logger.warning("beat: lost Redis or the scheduling lock (%s); sending nothing until held again", error)
            self.lock = None
            return self.max_interval

    def _lock_take(self) -> bool:
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)  # extend *to* the timeout, as RedBeat does
        if not lock.acquire(blocking=False):
            return False
        logger.info("beat: Acquired lock")
        self.lock = lock
        return True
