"""Every request a platform client makes: counted, under the tenant's rate limits and the one retry policy.

Each platform's client owns the part that differs - how its SDK is called and how its failures
translate into :mod:`connectors.common.errors` - and hands both to :class:`ApiCalls`, so the
limits, retries, the single token refresh after a 401 and the call count are written once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from .ratelimit import Limit, RateLimiter, acquire
from .retry import RetryPolicy, call_with_retry

T = TypeVar("T")


class ApiCalls:
    """The requests of one tenant (and of its app, when the platform limits apps too)."""

    def __init__(
        self,
        limiter: RateLimiter,
        windows: Sequence[tuple[str, Sequence[Limit]]],
        *,
        translate: Callable[[Exception, str], Exception],
        refresh: Callable[[], None] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """``windows``: (key, limits) pairs every call is counted in, e.g. the tenant's and the app's."""
        self._limiter = limiter
        self._windows = [(key, tuple(limits)) for key, limits in windows if limits]
        self._translate = translate
        self._refresh = refresh
        self._policy = policy or RetryPolicy()
        self._sleep = sleep or time.sleep
        self.count = 0

    def call(self, describe: str, operation: Callable[[], T]) -> T:
        """Run ``operation`` once the limits allow it, translating and retrying its failures."""

        def attempt() -> T:
            for key, limits in self._windows:
                acquire(self._limiter, key, limits, sleep=self._sleep)
            self.count += 1
            try:
                return operation()
            except Exception as err:  # the SDK's, the HTTP library's and the OAuth library's exceptions
                translated = self._translate(err, describe)
                if translated is err:
                    raise
                raise translated from err

        return call_with_retry(attempt, policy=self._policy, refresh=self._refresh, sleep=self._sleep,
                               describe=describe)
