"""The Zoho Books pieces put together for one organisation: client, streams, actions; and its registration."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ..common.contract import PlatformSpec, SyncOutcome, SyncRequest
from ..common.runtime import Runtime
from ..common.sync import SyncSession, run_sync
from .actions import ZohoActions
from .client import ZohoClient, refresher
from .connect import connect_zoho
from .mappers import CREDIT_PREFIX, PAYMENT_PREFIX
from .settings import LIMITS, PLATFORM, ZohoSettings
from .streams import COLLECTIONS, CurrencyStream, ZohoListStream
from .webhooks import ZohoWebhooks


class StoreIds:
    """What the store holds of a tenant, read once per sync and only when needed (a full pass, an unknown
    invoice number)."""

    def __init__(self, runtime: Runtime, settings: ZohoSettings, numbers: dict[str, str]) -> None:
        self._runtime, self._settings, self._numbers = runtime, settings, numbers
        self._portfolio: Any = None

    def _load(self) -> Any:
        if self._portfolio is None:
            settings = self._settings
            self._portfolio = self._runtime.store.ledger.load_portfolio(settings.tenant, settings.home_currency, {})
        return self._portfolio

    def known(self, collection: str) -> set[str]:
        """The store's ids of one list's records."""
        portfolio = self._load()
        if collection == "contacts":
            return {c.id for c in portfolio.customers}
        if collection == "customerpayments":
            return {p.id for p in portfolio.payments if p.id.startswith(f"{PAYMENT_PREFIX}:")}
        if collection == "creditnotes":
            return {i.id for i in portfolio.items if i.id.startswith(f"{CREDIT_PREFIX}:")}
        return {i.id for i in portfolio.items if ":" not in i.id}

    def resolve(self, number: str) -> str | None:
        """The invoice_id of an invoice number: read by this sync, else as stored."""
        if number not in self._numbers:
            for item in self._load().items:
                if not item.is_credit:
                    self._numbers.setdefault(item.invoice_ref, item.id)
        return self._numbers.get(number)


class ZohoPlatform:
    """One connected Zoho Books organisation."""

    name = PLATFORM
    limits = LIMITS

    def __init__(self, runtime: Runtime, settings: ZohoSettings, **client_options: Any) -> None:
        self.settings = settings
        self.runtime = runtime
        tokens = runtime.token_manager(refresher(settings, runtime.clock, client_options.get("transport")))
        self.client = ZohoClient(settings, tokens, runtime.limiter, **client_options)

    @classmethod
    def from_record(cls, runtime: Runtime, record: Mapping[str, Any]) -> ZohoPlatform:
        """Open an organisation from its stored settings (secrets from the environment)."""
        return cls(runtime, ZohoSettings.from_record(record))

    @property
    def api_calls(self) -> int:
        """API calls made so far (retries included)."""
        return self.client.calls

    def sync(self, runtime: Runtime, request: SyncRequest) -> SyncOutcome:
        """Every list from its bookmark; a full pass (deletions found) on the first sync, with ``full``, and
        every ``full_pass_days``."""
        return run_sync(runtime, self.settings.tenant, lambda: self.api_calls, request, self._sync)

    def _sync(self, session: SyncSession) -> None:
        saved = session.bookmarks()
        numbers: dict[str, str] = {}
        ids = StoreIds(self.runtime, self.settings, numbers)
        for collection in COLLECTIONS:
            bookmark = saved.get(collection)
            resuming = bookmark is not None and bookmark.get("mode") == "full"
            full = session.request.full or (not resuming and self._full_pass_due(bookmark, session.request.today))
            if full:
                session.reset([collection])
            session.run(ZohoListStream(self.client, collection, resolve=ids.resolve, known=ids.known, full=full,
                                       numbers=numbers if collection == "invoices" else None))
        session.run(CurrencyStream(self.client))

    def _full_pass_due(self, bookmark: dict[str, Any] | None, today: date) -> bool:
        if bookmark is None or not bookmark.get("full_at"):
            return True
        last = datetime.fromisoformat(str(bookmark["full_at"])).date()
        return (today - last).days >= self.settings.full_pass_days

    def deliverer(self, runtime: Runtime) -> ZohoActions:
        """The deliverer of outbox entries."""
        return ZohoActions(self.client)


def _open(runtime: Runtime, tenant: str, record: Mapping[str, Any]) -> ZohoPlatform:
    return ZohoPlatform.from_record(runtime, record)


SPEC = PlatformSpec(name=PLATFORM, title="Zoho Books", open=_open, limits=LIMITS, connect=connect_zoho,
                    webhooks=ZohoWebhooks)
