"""Errors of the connectors layer: retryable ones apart from fatal ones."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class of every connector error."""


class RetryableError(ConnectorError):
    """A failure that may succeed later (throttling, a server error, a timeout)."""


class FatalError(ConnectorError):
    """A failure that will not go away by retrying (bad credentials, a rejected request)."""


class StoreError(FatalError):
    """The store refused an operation (unknown row, unsupported database)."""


class LedgerError(FatalError):
    """A ledger file or its column mapping cannot be used at all."""
