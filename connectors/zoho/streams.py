"""What is synced from Zoho Books, and how far: every list by ``last_modified_time``, oldest change first,
and a periodic full pass that finds deletions.

One stream per list (contacts, invoices, credit notes, customer payments), 200 records a page. A
stream asks for the records changed since its bookmark (``last_modified_time``, sorted by it) and
moves its bookmark to the newest change of each page it stored: a sync killed at any point resumes
after the last page committed; a full page changed within one second is paged through inside that
second. Zoho keeps no trace of a deleted record, so changes alone never show a deletion: a *full
pass* (the first sync, ``--full``, and every ``full_pass_days``) reads the whole list and, on its
last page, removes from the store what the list no longer holds - in the same transaction as that
page. A full pass resumed after a crash deletes nothing (it has not seen every page); the next one
will. Currencies are one short list, read whole on every sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..common.sync import Changes, MappingError, Page, keyset_next, newest_change
from .client import ZohoClient
from .mappers import GONE_MARK, InvoiceResolver, apply_record, as_zoho_time, store_id, zoho_time

COLLECTIONS = ("contacts", "invoices", "creditnotes", "customerpayments")
# Changes are asked for from a little before the bookmark: Zoho's clock and ours may differ.
CLOCK_MARGIN = timedelta(minutes=5)
KnownIds = Callable[[str], set[str]]


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


@dataclass
class ZohoListStream:
    """One Zoho list: changes since the bookmark, or a full pass that finds what was deleted."""

    client: ZohoClient
    collection: str
    resolve: InvoiceResolver = lambda number: None
    known: KnownIds | None = None
    full: bool = False
    """Start a full pass from the first page (a pass already under way in the bookmark is resumed anyway)."""
    numbers: dict[str, str] | None = None
    """Filled with invoice numbers -> ids as invoices are read (payments name their invoices by number)."""
    seen: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        """Bookmark name."""
        return self.collection

    def pages(self, bookmark: dict[str, Any] | None, started_at: datetime) -> Iterator[Page]:
        """Pages from the bookmark on; the bookmark never passes the sync's start."""
        state = {} if self.full or bookmark is None else dict(bookmark)
        if self.full or bookmark is None or state.get("mode") == "full":
            yield from self._full_pass(state, started_at)
        else:
            yield from self._changes(state, started_at)

    def _full_pass(self, state: dict[str, Any], started_at: datetime) -> Iterator[Page]:
        resumed = state.get("mode") == "full"
        began = state.get("began") or _second(started_at).isoformat()
        page = int(state.get("page", 1)) if resumed else 1
        while True:
            records, more = self.client.list_page(self.collection, page, None)
            records = self._complete(records)
            self.seen.update(i for i in (store_id(self.collection, r) for r in records) if i)
            if more:
                page += 1
                yield Page(records, {"mode": "full", "page": page, "began": began})
                continue
            if not resumed and self.known is not None:
                records = records + [{GONE_MARK: i} for i in sorted(self.known(self.collection) - self.seen)]
            yield Page(records, {"since": began, "page": 1, "full_at": began})
            return

    def _changes(self, state: dict[str, Any], started_at: datetime) -> Iterator[Page]:
        since = datetime.fromisoformat(state["since"]) if state.get("since") else None
        page = int(state.get("page", 1))
        full_at = state.get("full_at")
        if since is not None and page == 1:
            since -= CLOCK_MARGIN  # a sync starts a little further back; within a sync pages continue exactly
        while True:
            records, more = self.client.list_page(self.collection, page, as_zoho_time(since) if since else None)
            records = self._complete(records)
            newest = self._newest(records)
            if not more or not records:
                ceiling = _second(started_at)
                done = min(newest, ceiling) if newest else min(since or ceiling, ceiling)
                yield Page(records, {"since": done.isoformat(), "page": 1, "full_at": full_at})
                return
            since, page = keyset_next(since, page, newest)
            yield Page(records, {"since": since.isoformat() if since else None, "page": page, "full_at": full_at})

    def _complete(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A payment applied to several invoices lists only their numbers: its detail has the amounts."""
        if self.collection != "customerpayments":
            return records
        return [self.client.get(self.collection, str(r["payment_id"]))
                if isinstance(r, dict) and r.get("payment_id") and "invoices" not in r
                and "," in str(r.get("invoice_numbers") or "") else r for r in records]

    @staticmethod
    def _newest(records: list[dict[str, Any]]) -> datetime | None:
        return newest_change(records, lambda record: zoho_time(record.get("last_modified_time")))

    def apply(self, record: dict[str, Any], changes: Changes) -> None:
        """Map one record."""
        if self.numbers is not None and isinstance(record, dict) and record.get("invoice_number"):
            self.numbers[str(record["invoice_number"])] = str(record.get("invoice_id"))
        apply_record(self.collection, record, changes, self.client.settings.home_currency, self.resolve)

    def record_ref(self, record: dict[str, Any]) -> str:
        """List and id."""
        found = store_id(self.collection, record) if isinstance(record, dict) else None
        return f"{self.collection} {found or '?'}"


@dataclass
class CurrencyStream:
    """The organisation's exchange rates (one short list, read whole every sync)."""

    client: ZohoClient
    name: str = "currencies"

    def pages(self, bookmark: dict[str, Any] | None, started_at: datetime) -> Iterator[Page]:
        """One page."""
        yield Page(self.client.currencies(), {"read": _second(started_at).isoformat()})

    def apply(self, record: dict[str, Any], changes: Changes) -> None:
        """A foreign currency's rate on its effective date."""
        code = str(record.get("currency_code") or "").upper()
        if not code or record.get("is_base_currency") or code == self.client.settings.home_currency.upper():
            return
        try:
            rate = Decimal(str(record.get("exchange_rate")))
        except InvalidOperation:
            raise MappingError(f"Currency {code}: exchange_rate is not a number") from None
        effective = str(record.get("effective_date") or "")[:10]
        if rate.is_finite() and rate > 0 and effective:
            changes.see_rate(code, datetime.fromisoformat(effective).date(), rate.quantize(Decimal("0.000001")))

    def record_ref(self, record: dict[str, Any]) -> str:
        """Currency code."""
        return f"currency {record.get('currency_code') if isinstance(record, dict) else '?'}"
