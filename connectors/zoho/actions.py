"""Engine actions -> Zoho Books: Zoho's payment reminder, an internal comment, and the status in a custom field.

- an email action has Zoho send its payment reminder for each overdue invoice
  (``POST /invoices/{id}/paymentreminder``) when ``send_reminders`` is on; otherwise the action is
  only recorded on the invoice. It goes to the customer's contact persons who take email (their
  ``communication_preference``; the primary person first), read once per customer per delivery
  (``GET /contacts/{id}/contactpersons``: the contacts list carries the primary person's email only);
  a customer whose persons all refuse email is not emailed (the comment says so), and a contact
  with no person at all is left to Zoho's own choice of recipients. Zoho's automated reminders should
  then be off for these customers, or they are reminded twice (docs/connectors.md);
- every action adds one internal comment to each invoice (never shown to the customer): date,
  level, channel, amount asked, stage, risk and open promises, tagged with the action's reference;
- ``status_field`` (a text custom field of invoices, by its ``api_name``) gets a short status.

Zoho takes no idempotency key. The comment is written last and carries the action's reference, so
an entry that may have been delivered before (reclaimed from a dead worker, or retried after a
failure) first reads the invoice's comments: a tagged comment means done; a reminder already in
the invoice's history since the action's date is not sent again. The custom field is a PUT of the
same value: repeating it changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ..common.contract import OutboxEntry
from ..common.notes import note_line
from .client import ZohoClient
from .mappers import CREDIT_PREFIX, PAYMENT_PREFIX

COMMENT_LIMIT = 2000
STATUS_LIMIT = 100


def action_tag(key: str, invoice_id: str) -> str:
    """The reference a comment carries for one action on one invoice."""
    return "ref " + hashlib.sha256(f"{key}|{invoice_id}".encode()).hexdigest()[:16]


def zoho_invoice_id(item_id: str) -> str | None:
    """The invoice_id of a store item id (credit notes and payments carry a prefix), or None."""
    return None if item_id.startswith((f"{CREDIT_PREFIX}:", f"{PAYMENT_PREFIX}:")) or ":" in item_id else item_id


def email_recipients(persons: list[dict[str, Any]]) -> list[str]:
    """Emails of the persons who take email (no stated preference counts as yes), primary first, once each."""
    ordered = sorted(persons, key=lambda p: not p.get("is_primary_contact"))
    found: list[str] = []
    for person in ordered:
        preference = person.get("communication_preference")
        enabled = preference.get("is_email_enabled", True) if isinstance(preference, Mapping) else True
        email = str(person.get("email") or "").strip()
        if enabled is not False and email and email.lower() not in {f.lower() for f in found}:
            found.append(email)
    return found


def status_text(entry: Mapping[str, Any]) -> str:
    """The short status kept in the custom field."""
    context = entry.get("context") or {}
    parts = [str(entry.get("not_before") or "")[:10], f"level {entry.get('level')}"]
    if context.get("stage"):
        parts.append(f"stage {context['stage']}")
    if context.get("risk_category"):
        parts.append(f"risk {context['risk_category']}")
    promises = context.get("promises") or []
    if promises:
        parts.append(f"{len(promises)} promise(s)")
    return "; ".join(parts)[:STATUS_LIMIT]


class ZohoActions:
    """Delivers claimed outbox entries of one organisation."""

    def __init__(self, client: ZohoClient) -> None:
        self.client = client
        self._recipients: dict[str, list[str] | None] = {}

    def close(self) -> None:
        """Nothing to flush: every write went to Zoho as it was made."""

    def deliver(self, entry: OutboxEntry) -> str:
        """Push one action to each of its invoices; return the invoices touched."""
        invoice_ids = [i for i in (zoho_invoice_id(item) for item in entry.get("item_ids") or []) if i]
        maybe_done = bool(entry.get("reclaimed")) or int(entry.get("attempts") or 0) > 0
        for invoice_id in invoice_ids:
            self._deliver_one(entry, invoice_id, maybe_done)
        return ",".join(invoice_ids)

    def _deliver_one(self, entry: OutboxEntry, invoice_id: str, maybe_done: bool) -> None:
        settings = self.client.settings
        tag = action_tag(entry["key"], invoice_id)
        history = self.client.comments(invoice_id) if maybe_done else []
        if any(tag in str(c.get("description") or "") for c in history):
            return
        remark = ""
        if entry.get("channel") == "email" and settings.send_reminders and not self._reminded(history, entry):
            to = self.recipients(str(entry.get("customer_id") or ""))
            if to == []:
                remark = " (not emailed: no contact person takes email)"
            else:
                self.client.send_reminder(invoice_id, to)
        if settings.status_field:
            self.client.set_custom_field(invoice_id, settings.status_field, status_text(entry))
        self.client.add_comment(invoice_id, f"{note_line(entry)}{remark} [{tag}]"[:COMMENT_LIMIT])

    def recipients(self, customer_id: str) -> list[str] | None:
        """The emails of a customer's contact persons who take email, primary first (read once per delivery);
        None when the contact has no person at all (Zoho then picks)."""
        if not customer_id:
            return None
        if customer_id not in self._recipients:
            persons = self.client.contact_persons(customer_id)
            self._recipients[customer_id] = email_recipients(persons) if persons else None
        return self._recipients[customer_id]

    @staticmethod
    def _reminded(history: list[dict[str, Any]], entry: OutboxEntry) -> bool:
        """A payment reminder already in the invoice's history since the action's date."""
        since = str(entry.get("not_before") or "")[:10]
        return any("reminder" in str(c.get("description") or "").lower() and str(c.get("date") or "") >= since
                   and c.get("comment_type") == "system" for c in history)
