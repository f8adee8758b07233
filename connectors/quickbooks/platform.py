"""The QuickBooks pieces put together for one company: client, streams, actions; and its registration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..common.contract import PlatformSpec, SyncOutcome, SyncRequest
from ..common.runtime import Runtime
from ..common.sync import SyncSession, run_sync
from .actions import QuickBooksActions
from .client import QuickBooksClient, refresher
from .connect import connect_quickbooks
from .settings import LIMITS, PLATFORM, QuickBooksSettings
from .streams import CHANGES, plan_streams
from .webhooks import QuickBooksWebhooks


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

    def sync(self, runtime: Runtime, request: SyncRequest) -> SyncOutcome:
        """Full streams page by page until each is done, then the changes since the last sync through CDC."""
        return run_sync(runtime, self.settings.tenant, lambda: self.api_calls, request, self._sync)

    def _sync(self, session: SyncSession) -> None:
        bookmarks = session.bookmarks()
        streams, resets = plan_streams(self.client, bookmarks, session.started_at, session.request.full)
        session.reset(resets)
        for name in resets:
            bookmarks.pop(name, None)
        full_streams = [stream for stream in streams if stream.name != CHANGES]
        for stream in full_streams:
            session.run(stream)
        if CHANGES not in bookmarks:
            saved = session.bookmarks()
            marks = [saved.get(stream.name) or {} for stream in full_streams]
            if not all(mark.get("done") for mark in marks):
                return
            # changes are read from the earliest full stream's start: nothing changed since then is missed
            session.set_bookmark(CHANGES, {"since": min(mark["since"] for mark in marks)})
        if session.pages_read:
            return  # a full sync ran: what changed meanwhile is read by the next sync, from its start
        session.run(next(stream for stream in streams if stream.name == CHANGES))

    def deliverer(self, runtime: Runtime) -> QuickBooksActions:
        """The deliverer of outbox entries, with the customers' emails; it keeps the pay links it reads."""
        tenant, ledger = self.settings.tenant, runtime.store.ledger
        return QuickBooksActions(self.client, ledger.customer_emails(tenant),
                                 lambda links: ledger.save_pay_links(tenant, links))


def _open(runtime: Runtime, tenant: str, record: Mapping[str, Any]) -> QuickBooksPlatform:
    return QuickBooksPlatform.from_record(runtime, record)


SPEC = PlatformSpec(name=PLATFORM, title="QuickBooks Online", open=_open, limits=LIMITS,
                    connect=connect_quickbooks, webhooks=QuickBooksWebhooks)
