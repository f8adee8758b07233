"""What is synced from Xero, and how far: every collection by ``If-Modified-Since``, oldest change first.

One stream per collection (contacts, invoices, credit notes, payments, overpayments,
prepayments). A stream asks for the records modified since its bookmark, ordered by
``UpdatedDateUTC``, a page at a time, and moves its bookmark to the newest change of each page
it stored: a sync killed at any point resumes after the last page committed, and records
changed while it runs are read by the next sync (re-reading is an upsert). When a full page
shares one second (a bulk import), the bookmark keeps that second and counts pages instead.
The first sync, or ``--full``, reads everything; deletions and voids come back as changes
(status DELETED or VOIDED) and leave the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..common.sync import Changes, Page, keyset_next, newest_change
from .client import XeroClient
from .mappers import apply_record, xero_time

COLLECTIONS = {
    "Contacts": ("contacts", None),
    "Invoices": ("invoices", 'Type=="ACCREC"'),
    "CreditNotes": ("credit_notes", 'Type=="ACCRECCREDIT"'),
    "Payments": ("payments", 'PaymentType=="ACCRECPAYMENT"'),
    "Overpayments": ("overpayments", 'Type=="RECEIVE-OVERPAYMENT"'),
    "Prepayments": ("prepayments", 'Type=="RECEIVE-PREPAYMENT"'),
}
# Changes are asked for from a little before the bookmark: Xero's clock and ours may differ.
CLOCK_MARGIN = timedelta(minutes=5)


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


@dataclass
class ModifiedSinceStream:
    """The records of one collection modified since the bookmark."""

    client: XeroClient
    collection: str

    @property
    def name(self) -> str:
        """Bookmark name."""
        return COLLECTIONS[self.collection][0]

    def pages(self, bookmark: dict[str, Any] | None, started_at: datetime) -> Iterator[Page]:
        """Pages from the bookmark on; the bookmark never passes the sync's start."""
        since_text = (bookmark or {}).get("since")
        since = datetime.fromisoformat(since_text) if since_text else None
        page = int((bookmark or {}).get("page", 1))
        if since is not None and page == 1:
            since -= CLOCK_MARGIN  # a sync starts a little further back; within a sync pages continue exactly
        where = COLLECTIONS[self.collection][1]
        while True:
            records, last = self.client.list_page(self.collection, page, since, where)
            newest = self._newest(records)
            if last or not records:
                ceiling = _second(started_at)
                done = min(newest, ceiling) if newest else min(since or ceiling, ceiling)
                yield Page(records, {"since": done.isoformat(), "page": 1})
                return
            since, page = keyset_next(since, page, newest)
            yield Page(records, {"since": since.isoformat() if since else None, "page": page})

    @staticmethod
    def _newest(records: list[dict[str, Any]]) -> datetime | None:
        return newest_change(records, lambda record: xero_time(record.get("UpdatedDateUTC")))

    def apply(self, record: dict[str, Any], changes: Changes) -> None:
        """Map one record."""
        apply_record(self.collection, record, changes, self.client.settings.home_currency)

    def record_ref(self, record: dict[str, Any]) -> str:
        """Collection and id."""
        if not isinstance(record, dict):
            return f"{self.collection} ?"
        for key in ("ContactID", "InvoiceID", "CreditNoteID", "PaymentID", "OverpaymentID", "PrepaymentID"):
            if record.get(key):
                return f"{self.collection[:-1]} {record[key]}"
        return f"{self.collection} ?"


def plan_streams(client: XeroClient) -> list[ModifiedSinceStream]:
    """Contacts first (invoices name them), then documents, then what settles them."""
    return [ModifiedSinceStream(client, collection) for collection in COLLECTIONS]
