"""The one retry policy of every platform: 429, 5xx and timeouts retried with capped, jittered backoff.

Platform clients translate their SDK's failures into the errors of :mod:`connectors.common.errors`
(see :func:`error_for_status`); :func:`call_with_retry` then decides: a :class:`RetryableError` is
retried after ``Retry-After`` or an exponential delay, an :class:`AuthExpiredError` refreshes the
token once and retries, anything else fails at once with the vendor's message.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import (
    AuthExpiredError,
    AuthorizationError,
    ConnectorError,
    QuotaExhaustedError,
    RateLimitedError,
    RetryableError,
    VendorError,
)

T = TypeVar("T")
_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait: ``base * 2**attempt`` with full jitter, capped."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 60.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return (rng or random).uniform(ceiling / 2, ceiling)


def call_with_retry(
    call: Callable[[], T],
    *,
    policy: RetryPolicy | None = None,
    refresh: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    describe: str = "request",
) -> T:
    """Run ``call`` under the retry policy; ``refresh`` renews the access token after a 401 (once)."""
    policy = policy or RetryPolicy()
    refreshed = False
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except AuthExpiredError as err:
            if refreshed or refresh is None:
                raise AuthorizationError(f"{describe}: the platform refused the token after a refresh") from err
            refreshed = True
            refresh()
        except QuotaExhaustedError:
            raise  # waiting hours belongs to the scheduler, not to this call
        except RetryableError as err:
            if attempt >= policy.max_attempts:
                raise
            wait = policy.delay(attempt, err.retry_after)
            kind = "throttled" if isinstance(err, RateLimitedError) else "failed"
            _logger.warning("%s %s (%s); retry %d in %.1f s", describe, kind, err, attempt, wait)
            sleep(wait)


def parse_retry_after(value: str | None) -> float | None:
    """Read a ``Retry-After`` header given in seconds (HTTP dates are rare on these APIs)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_for_status(
    status: int, message: str, *, retry_after: float | None = None, code: str | None = None
) -> ConnectorError:
    """Map an HTTP status to the error the retry policy understands (a platform maps its own codes to statuses
    first, and keeps only what no status says, such as a spent daily quota)."""
    if status == 429:
        return RateLimitedError(message, retry_after=retry_after, status=status)
    if status == 401:
        return AuthExpiredError(message)
    if status == 403:
        return AuthorizationError(f"{message}: this connection no longer reaches the company; connect again")
    if status >= 500 or status == 408:
        return RetryableError(message, retry_after=retry_after, status=status)
    return VendorError(message, status=status, code=code)
