"""Per-tenant rate limiting with token buckets, in-process or shared through Redis.

Celery's ``rate_limit`` counts per worker and per task type; a vendor counts per company
(realm, tenant, organisation). Every API call of a tenant therefore takes a token from that
tenant's buckets first: one bucket per vendor limit (QuickBooks: 500 a minute and 10 a
second). With a Redis URL the buckets are shared by every worker of the cluster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Limit:
    """At most ``calls`` calls in any ``per_seconds`` window (refilled continuously)."""

    calls: int
    per_seconds: float

    @property
    def rate(self) -> float:
        """Tokens added per second."""
        return self.calls / self.per_seconds

    def name(self) -> str:
        """A short label such as ``500/60s``."""
        return f"{self.calls}/{self.per_seconds:g}s"


class RateLimiter(Protocol):
    """Hands out permission to call a platform for a tenant."""

    def try_acquire(self, key: str, limits: Sequence[Limit]) -> float:
        """Take one token from every bucket and return 0, or take none and return the seconds to wait."""

    def state(self, key: str, limits: Sequence[Limit]) -> dict[str, float]:
        """Tokens left in each bucket, by limit name."""


def acquire(
    limiter: RateLimiter,
    key: str,
    limits: Sequence[Limit],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Block until a call is allowed; return the seconds waited."""
    waited = 0.0
    while (wait := limiter.try_acquire(key, limits)) > 0:
        sleep(wait)
        waited += wait
    return waited


_EPSILON = 1e-9  # float rounding must not leave a caller waiting for a billionth of a token


class LocalRateLimiter:
    """Token buckets in this process (the embedded default, one machine)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def try_acquire(self, key: str, limits: Sequence[Limit]) -> float:
        """Take one token from every bucket of ``key`` or report the wait."""
        with self._lock:
            now = self._clock()
            levels = [self._level(key, limit, now) for limit in limits]
            wait = max(
                ((1 - level) / limit.rate for level, limit in zip(levels, limits) if level < 1 - _EPSILON), default=0.0
            )
            if wait > 0:
                return wait
            for level, limit in zip(levels, limits):
                self._buckets[(key, limit.name())] = (max(0.0, level - 1), now)
            return 0.0

    def state(self, key: str, limits: Sequence[Limit]) -> dict[str, float]:
        """Tokens left per limit."""
        with self._lock:
            now = self._clock()
            return {limit.name(): round(self._level(key, limit, now), 2) for limit in limits}

    def _level(self, key: str, limit: Limit, now: float) -> float:
        tokens, stamp = self._buckets.get((key, limit.name()), (float(limit.calls), now))
        return min(float(limit.calls), tokens + (now - stamp) * limit.rate)


# All buckets of a key are checked and taken atomically; time comes from the Redis server so
# that workers with skewed clocks agree.
_ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = #KEYS
local levels = {}
local wait = 0
for i = 1, n do
  local calls = tonumber(ARGV[2 * i - 1])
  local rate = calls / tonumber(ARGV[2 * i])
  local bucket = redis.call('HMGET', KEYS[i], 'tokens', 'stamp')
  local tokens = tonumber(bucket[1]) or calls
  local stamp = tonumber(bucket[2]) or now
  local level = math.min(calls, tokens + math.max(0, now - stamp) * rate)
  levels[i] = level
  if level < 1 - 1e-9 then
    wait = math.max(wait, (1 - level) / rate)
  end
end
if ARGV[2 * n + 1] == 'peek' then
  return cjson.encode(levels)
end
if wait > 0 then
  return tostring(wait)
end
for i = 1, n do
  redis.call('HSET', KEYS[i], 'tokens', math.max(0, levels[i] - 1), 'stamp', now)
  redis.call('EXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 * i])) * 2 + 1)
end
return '0'
"""


class RedisRateLimiter:
    """Token buckets shared by every worker through Redis (one hash per tenant and limit)."""

    def __init__(self, redis: Any, prefix: str = "odoo-collections:ratelimit") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_ACQUIRE_SCRIPT)

    def _call(self, key: str, limits: Sequence[Limit], mode: str) -> Any:
        keys = [f"{self._prefix}:{key}:{limit.name()}" for limit in limits]
        args: list[Any] = [value for limit in limits for value in (limit.calls, limit.per_seconds)]
        return self._script(keys=keys, args=[*args, mode])

    def try_acquire(self, key: str, limits: Sequence[Limit]) -> float:
        """Take one token from every bucket of ``key`` or report the wait."""
        return float(self._call(key, limits, "take"))

    def state(self, key: str, limits: Sequence[Limit]) -> dict[str, float]:
        """Tokens left per limit."""
        import json

        levels = json.loads(self._call(key, limits, "peek"))
        return {limit.name(): round(float(level), 2) for limit, level in zip(limits, levels)}


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    """Redis-backed buckets when a Redis URL is configured, in-process ones otherwise."""
    if not redis_url:
        return LocalRateLimiter()
    import redis

    return RedisRateLimiter(redis.Redis.from_url(redis_url))
