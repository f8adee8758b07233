"""The QuickBooks pieces put together for one company: client, streams and actions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..common.runtime import Runtime
from .actions import QuickBooksActions
from .client import QuickBooksClient, refresher
from .settings import LIMITS, PLATFORM, QuickBooksSettings
from .streams import plan_streams


class QuickBooksPlatform:
    """One connected QuickBooks company."""

    name = PLATFORM
    limits = LIMITS

    def __init__(self, runtime: Runtime, settings: QuickBooksSettings, **client_options: Any) -> None:
        self.settings = settings
        tokens = runtime.token_manager(refresher(settings, runtime.clock))
        self.client = QuickBooksClient(settings, tokens, runtime.limiter, **client_options)
        self._store = runtime.store

    @classmethod
    def from_record(cls, runtime: Runtime, record: Mapping[str, Any]) -> QuickBooksPlatform:
        """Open a company from its stored settings (secrets from the environment)."""
        return cls(runtime, QuickBooksSettings.from_record(record))

    @property
    def api_calls(self) -> int:
        """API calls made so far (retries included)."""
        return self.client.calls

    def streams(
        self, bookmarks: dict[str, dict[str, Any]], now: datetime, full: bool
    ) -> tuple[list[Any], dict[str, Any]]:
        """Streams to run and bookmarks to reset."""
        return plan_streams(self.client, bookmarks, now, full)

    def actions(self) -> QuickBooksActions:
        """The deliverer of outbox entries, with the customers' emails."""
        return QuickBooksActions(self.client, self._store.customer_emails(self.settings.tenant))
