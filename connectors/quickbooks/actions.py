"""Engine actions -> QuickBooks: the invoice reminder sent by QuickBooks, and the collection status in the notes.

QuickBooks has no API for its reminder settings, tags or payment plans (see VENDOR_NOTES), so:
- an email action makes QuickBooks send the overdue invoices to the customer (``/invoice/{id}/send``)
  when ``send_reminders`` is on;
- every action writes one line into each invoice's private note (the internal memo, never shown
  to the customer): date, level, channel, stage, risk category and open promises, newest first;
- a configured custom field (``collections_custom_field``: its DefinitionId) gets a short status.

Calls, SMS, letters and WhatsApp are the collector's work: they appear in the worklist and the
note records them. Each write carries ``requestid`` = outbox key + invoice, so a retry or a second
delivery is a no-op at Intuit; a send is checked against the invoice's delivery time first when a
crashed worker's claim is taken over. Each invoice is read with its pay-online link (``InvoiceLink``,
given where QuickBooks Payments takes it online; QuickBooks' own reminder email carries it too), which
is kept for the worklist at no extra call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..common.contract import OutboxEntry
from ..common.errors import VendorError
from ..common.notes import note_line
from .client import QuickBooksClient
from .mappers import pay_link, qbo_invoice_id, store_id

NOTE_LIMIT = 4000  # QuickBooks' PrivateNote length
LINK_PARAMS = {"include": "invoiceLink"}


def merged_note(existing: str | None, line: str) -> str:
    """The new line first, the older text after it, cut to QuickBooks' limit."""
    text = f"{line}\n{existing}" if existing else line
    return text[:NOTE_LIMIT]


def status_text(entry: Mapping[str, Any]) -> str:
    """The short status for the custom field (QuickBooks keeps 31 characters)."""
    context = entry.get("context") or {}
    return f"{entry['level']} {context.get('risk_category') or ''} {context.get('stage') or ''}".strip()[:31]


class QuickBooksActions:
    """Delivers claimed outbox entries of one company."""

    def __init__(
        self,
        client: QuickBooksClient,
        emails: Mapping[str, str | None],
        keep_links: Callable[[Mapping[str, str]], None] | None = None,
    ) -> None:
        self.client = client
        self.emails = emails
        self._keep_links = keep_links

    def close(self) -> None:
        """Nothing to flush: every write went to QuickBooks as it was made."""

    def deliver(self, entry: OutboxEntry) -> str:
        """Push one action; return the platform reference (invoice ids touched)."""
        invoice_ids = [i for i in (qbo_invoice_id(item) for item in entry["item_ids"]) if i]
        settings = self.client.settings
        links = {}
        for invoice_id in invoice_ids:
            invoice = self.client.read("Invoice", invoice_id, LINK_PARAMS)
            link = pay_link(invoice)
            if link:
                links[store_id("Invoice", invoice_id)] = link
            if entry["channel"] == "email" and settings.send_reminders:
                self._send(entry, invoice)
            self._annotate(entry, invoice)
        if links and self._keep_links is not None:
            self._keep_links(links)  # the invoice's latest pay link, for the worklist (no extra call)
        return ",".join(invoice_ids)

    def _send(self, entry: Mapping[str, Any], invoice: Mapping[str, Any]) -> None:
        if entry.get("reclaimed") and _delivered_since(invoice, str(entry["not_before"])):
            return  # the worker that claimed it first sent it before dying
        email = self.emails.get(str(entry["customer_id"]))
        self.client.send_invoice(str(invoice["Id"]), email)

    def _annotate(self, entry: Mapping[str, Any], invoice: Mapping[str, Any]) -> None:
        line = note_line(entry)
        existing = invoice.get("PrivateNote") or ""
        if line in existing:
            return  # written by an earlier attempt
        body: dict[str, Any] = {
            "Id": invoice["Id"],
            "SyncToken": invoice["SyncToken"],
            "sparse": True,
            "PrivateNote": merged_note(existing, line),
        }
        field = self.client.settings.collections_custom_field
        if field:
            body["CustomField"] = [{"DefinitionId": field, "Type": "StringType", "StringValue": status_text(entry)}]
        request_id = hashlib.sha256(f"{entry['key']}-{invoice['Id']}".encode()).hexdigest()[:40]  # Intuit: <= 50
        try:
            self.client.save("Invoice", body, request_id=request_id)
        except VendorError as err:
            if err.code != "5010":  # stale SyncToken: somebody edited the invoice since we read it
                raise
            self._annotate(entry, self.client.read("Invoice", str(invoice["Id"])))


def _delivered_since(invoice: Mapping[str, Any], since: str) -> bool:
    delivered = (invoice.get("DeliveryInfo") or {}).get("DeliveryTime")
    if not delivered:
        return False
    return datetime.fromisoformat(str(delivered)) >= datetime.fromisoformat(since)
