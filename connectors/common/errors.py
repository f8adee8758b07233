"""Errors of the connectors layer: retryable ones apart from fatal ones."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class of every connector error."""


class RetryableError(ConnectorError):
    """A failure that may succeed later (throttling, a server error, a timeout)."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class RateLimitedError(RetryableError):
    """The platform throttled us (HTTP 429 or its equivalent fault)."""


class QuotaExhaustedError(RetryableError):
    """The platform's quota for a long period (a day) is spent: retry after ``retry_after``, never in-process
    (the task is rescheduled, so one tenant's spent quota holds no worker and blocks no other tenant)."""


class AuthExpiredError(ConnectorError):
    """The access token was refused (HTTP 401): refresh it once, then retry."""


class FatalError(ConnectorError):
    """A failure that will not go away by retrying (bad credentials, a rejected request)."""


class VendorError(FatalError):
    """The platform rejected the request (4xx other than 401/429); carries the vendor's own message."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class AuthorizationError(FatalError):
    """The tenant must be connected again (refresh token refused, no token stored)."""


class LockedError(RetryableError):
    """Another worker holds the tenant's lock: try again later."""


class StoreError(FatalError):
    """The store refused an operation (unknown row, unsupported database)."""


class LedgerError(FatalError):
    """A ledger file or its column mapping cannot be used at all."""


class ConfigurationError(FatalError):
    """Settings are missing or invalid; the message names the setting."""
