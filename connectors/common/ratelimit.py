"""Per-tenant rate limiting with sliding windows, in-process or shared through Redis.

Celery's ``rate_limit`` counts per worker and per task type; a vendor counts per company
(realm, tenant, organisation). Every API call of a tenant therefore asks that tenant's limits
first: one window per vendor limit (QuickBooks: 500 a minute and 10 a second; Xero: 60 a
minute and 5,000 a day, and 10,000 a minute for the app). A window remembers the times of the
calls it let through, so that at most ``calls`` happen in ANY ``per_seconds`` - the way the
vendors count - where a token bucket would let twice as many through a window that straddles
a burst. With a Redis URL the windows are shared by every worker of the cluster.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Limit:
    """At most ``calls`` calls in any ``per_seconds`` window."""

    calls: int
    per_seconds: float

    @property
    def window(self) -> float:
        """How long a call counts here: a little longer than the vendor's window, because the vendor counts a
        call when it arrives, a moment after it left (2 % of the window, at most a second)."""
        return self.per_seconds + min(1.0, self.per_seconds * 0.02)

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
        """Count one call in every window and return 0, or count none and return the seconds to wait."""

    def state(self, key: str, limits: Sequence[Limit]) -> dict[str, float]:
        """Calls left in each window now, by limit name."""


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



class LocalRateLimiter:
    """Sliding windows in this process (the embedded default, one machine)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], deque[float]] = {}

    def try_acquire(self, key: str, limits: Sequence[Limit]) -> float:
        """Count the call in every window of ``key`` or report the wait."""
        with self._lock:
            now = self._clock()
            windows = [self._window(key, limit, now) for limit in limits]
            wait = max(
                (window[len(window) - limit.calls] + limit.window - now
                 for window, limit in zip(windows, limits) if len(window) >= limit.calls),
                default=0.0,
            )
            if wait > 0:
                return wait
            for window in windows:
                window.append(now)
            return 0.0

    def state(self, key: str, limits: Sequence[Limit]) -> dict[str, float]:
        """Calls left per limit."""
        with self._lock:
            now = self._clock()
            return {limit.name(): float(max(0, limit.calls - len(self._window(key, limit, now)))) for limit in limits}

    def _window(self, key: str, limit: Limit, now: float) -> deque[float]:
        window = self._windows.setdefault((key, limit.name()), deque())
        while window and window[0] <= now - limit.window:
            window.popleft()
        return window


# All windows of a key are checked and counted atomically (one sorted set of call times per key and
# limit); time comes from the Redis server so that workers with skewed clocks agree.
_ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = #KEYS
local left = {}
local wait = 0
for i = 1, n do
  local calls = tonumber(ARGV[2 * i - 1])
  local per = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - per)
  local count = redis.call('ZCARD', KEYS[i])
  left[i] = math.max(0, calls - count)
  if count >= calls then
    local oldest = redis.call('ZRANGE', KEYS[i], count - calls, count - calls, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + per - now)
  end
end
if ARGV[2 * n + 1] == 'peek' then
  return cjson.encode(left)
end
if wait > 0 then
  return tostring(wait)
end
for i = 1, n do
  redis.call('ZADD', KEYS[i], now, tostring(now) .. ':' .. ARGV[2 * n + 2])
  redis.call('EXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 * i])) + 1)
end
return '0'
"""


class RedisRateLimiter:
    """Sliding windows shared by every worker through Redis (one sorted set per tenant and limit)."""

    def __init__(self, redis: Any, prefix: str = "odoo-collections:ratelimit") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_ACQUIRE_SCRIPT)

    def _call(self, key: str, limits: Sequence[Limit], mode: str) -> Any:
        keys = [f"{self._prefix}:{key}:{limit.name()}" for limit in limits]
        args: list[Any] = [value for limit in limits for value in (limit.calls, limit.window)]
        return self._script(keys=keys, args=[*args, mode, uuid.uuid4().hex])

    def try_acquire(self, key: str, limits: Sequence[Limit]) -> float:
        """Count the call in every window of ``key`` or report the wait."""
        return float(self._call(key, limits, "take"))

    def state(self, key: str, limits: Sequence[Limit]) -> dict[str, float]:
        """Calls left per limit."""
        import json

        levels = json.loads(self._call(key, limits, "peek"))
        return {limit.name(): round(float(level), 2) for limit, level in zip(limits, levels)}


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    """Redis-backed windows when a Redis URL is configured, in-process ones otherwise."""
    if not redis_url:
        return LocalRateLimiter()
    import redis

    return RedisRateLimiter(redis.Redis.from_url(redis_url))
