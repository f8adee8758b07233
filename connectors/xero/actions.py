"""Engine actions -> Xero: the invoice emailed by Xero, a history note, and the risk category as a contact group.

- an email action makes Xero email each overdue invoice to the contact (``POST /Invoices/{id}/Email``)
  when ``send_reminders`` is on; Xero's own invoice reminders should then be off for these
  customers, or they are reminded twice (docs/connectors.md);
- every action adds one line to each invoice's history and notes (never shown to the customer):
  date, level, channel, amount asked, stage, risk and open promises;
- with ``risk_groups`` the contact is put in the contact group of its risk category
  (``Collections risk: high`` ...) and taken out of the others;
- the online invoice of each invoice asked for (where the customer can pay when the organisation
  takes card payments) is fetched once and kept as its pay link, which the worklist shows.

Calls, SMS, letters and WhatsApp are the collector's work: they appear in the worklist and the
history records them. Every write carries an ``Idempotency-Key`` made of the outbox key and the
invoice, so a retry or a second delivery is a no-op at Xero.
"""

from __future__ import annotations

import hashlib

from ..common.contract import OutboxEntry
from ..common.notes import note_line
from ..common.store import Store
from .client import XeroClient

HISTORY_LIMIT = 2500  # Xero's limit of a history note's details
_GUID_LENGTH = 36


def idempotency_key(*parts: str) -> str:
    """A key Xero accepts (at most 128 characters) that is the same for the same write."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def xero_invoice_id(item_id: str) -> str | None:
    """The InvoiceID of a store item id (credit items carry a prefix), or None."""
    return item_id if len(item_id) == _GUID_LENGTH and ":" not in item_id else None


class XeroActions:
    """Delivers claimed outbox entries of one organisation."""

    def __init__(self, client: XeroClient, store: Store) -> None:
        self.client = client
        self._store = store
        self._groups: dict[str, tuple[str, set[str]]] | None = None

    def close(self) -> None:
        """Nothing to flush: every write went to Xero as it was made."""

    def deliver(self, entry: OutboxEntry) -> str:
        """Push one action; return the invoices touched."""
        settings = self.client.settings
        invoice_ids = [i for i in (xero_invoice_id(item) for item in entry.get("item_ids") or []) if i]
        line = note_line(entry)[:HISTORY_LIMIT]
        for invoice_id in invoice_ids:
            if entry.get("channel") == "email" and settings.send_reminders:
                self.client.email_invoice(invoice_id, idempotency_key(entry["key"], invoice_id, "email"))
            self.client.add_history(invoice_id, line, idempotency_key(entry["key"], invoice_id, "history"))
        category = (entry.get("context") or {}).get("risk_category")
        if settings.risk_groups and category:
            self._group(str(entry["customer_id"]), str(category), entry["key"])
        self._pay_links(invoice_ids)
        return ",".join(invoice_ids)

    def _pay_links(self, invoice_ids: list[str]) -> None:
        """Fetch once, and keep, the online invoice of each invoice asked for: the worklist shows it."""
        tenant = self.client.settings.tenant
        known = self._store.ledger.pay_links(tenant, invoice_ids)
        found = {}
        for invoice_id in invoice_ids:
            if invoice_id not in known:
                url = self.client.online_invoice_url(invoice_id)
                if url:
                    found[invoice_id] = url
        self._store.ledger.save_pay_links(tenant, found)

    def _group(self, contact_id: str, category: str, key: str) -> None:
        """Put the contact in its risk category's group only, touching Xero only where membership changes."""
        groups = self._risk_groups()
        wanted = f"{self.client.settings.group_prefix}{category}"
        if wanted not in groups:
            group_id = self.client.create_contact_group(wanted, idempotency_key(wanted, "group"))
            groups[wanted] = (group_id, set())
        for name, (group_id, members) in groups.items():
            if name == wanted and contact_id not in members:
                self.client.add_to_group(group_id, contact_id, idempotency_key(key, contact_id, wanted))
                members.add(contact_id)
            elif name != wanted and contact_id in members:
                self.client.remove_from_group(group_id, contact_id)
                members.discard(contact_id)

    def _risk_groups(self) -> dict[str, tuple[str, set[str]]]:
        """The risk groups (by name) with their members, read once per delivery run."""
        if self._groups is None:
            prefix = self.client.settings.group_prefix
            self._groups = {}
            for group in self.client.contact_groups():
                name, group_id = str(group.get("Name", "")), group.get("ContactGroupID")
                if name.startswith(prefix) and group.get("Status", "ACTIVE") == "ACTIVE" and group_id:
                    self._groups[name] = (str(group_id), set(self.client.group_members(str(group_id))))
        return self._groups
