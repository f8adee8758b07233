"""Xero records (raw JSON, as the API sends them) <-> engine types.

Store ids: a customer is its ContactID; an invoice its InvoiceID (one receivable item: Xero has
no instalments); a credit note ``cn:<id>``, an overpayment ``op:<id>`` and a prepayment
``pp:<id>`` are credit items whose residual is the credit not yet allocated; a payment is
``pay:<PaymentID>``, allocated to its invoice. Draft and submitted invoices are not receivable
yet and voided or deleted ones are gone: each leaves the store. ``CurrencyRate`` is Xero's
units of the foreign currency per unit of the base currency, so one unit of the invoice's
currency is ``1 / CurrencyRate`` in the company currency.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from collections_engine.types import Allocation, Customer, Payment, ReceivableItem

from ..common.sync import Changes, MappingError
from ..common.values import money

_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
CREDIT_PREFIX = {"CreditNotes": "cn", "Overpayments": "op", "Prepayments": "pp"}
CREDIT_ID_FIELD = {"CreditNotes": "CreditNoteID", "Overpayments": "OverpaymentID", "Prepayments": "PrepaymentID"}
CREDIT_TYPE = {"CreditNotes": "ACCRECCREDIT", "Overpayments": "RECEIVE-OVERPAYMENT",
               "Prepayments": "RECEIVE-PREPAYMENT"}
GONE = {"VOIDED", "DELETED"}
NOT_YET = {"DRAFT", "SUBMITTED"}


def xero_time(value: Any) -> datetime | None:
    """A Xero time: ``/Date(1518685950940+0000)/`` or ISO text (UTC when no zone is given)."""
    if value in (None, ""):
        return None
    text = str(value)
    match = _MS_DATE.fullmatch(text)
    if match:
        return _EPOCH + timedelta(milliseconds=int(match.group(1)))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{text[:40]!r} is not a Xero date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _date(record: Mapping[str, Any], name: str, what: str, *, required: bool = True) -> date | None:
    for key in (f"{name}String", name):  # DateString is the organisation's calendar date, when given
        raw = record.get(key)
        if raw:
            try:
                moment = xero_time(raw)
            except MappingError as err:
                raise MappingError(f"{what}: {name} {err}") from None
            return moment.date() if moment else None
    if required:
        raise MappingError(f"{what}: {name} is missing")
    return None


def _contact_id(record: Mapping[str, Any], what: str) -> str:
    contact = record.get("Contact")
    contact_id = contact.get("ContactID") if isinstance(contact, Mapping) else None
    if not contact_id:
        raise MappingError(f"{what}: Contact.ContactID is missing")
    return str(contact_id)


def _currency(record: Mapping[str, Any], home: str) -> str:
    return str(record.get("CurrencyCode") or home).upper()


def _phone(record: Mapping[str, Any], kind: str) -> str | None:
    for phone in record.get("Phones") or []:
        if isinstance(phone, Mapping) and phone.get("PhoneType") == kind and phone.get("PhoneNumber"):
            parts = [phone.get("PhoneCountryCode"), phone.get("PhoneAreaCode"), phone.get("PhoneNumber")]
            text = " ".join(str(p).strip() for p in parts if p)
            return f"+{text}" if phone.get("PhoneCountryCode") and not text.startswith("+") else text
    return None


def customer(record: Mapping[str, Any]) -> Customer:
    """A Xero contact. The email is the contact's, else the first contact person's included in emails."""
    contact_id = record.get("ContactID")
    if not contact_id:
        raise MappingError("Contact without ContactID")
    what = f"Contact {contact_id}"
    name = record.get("Name")
    if not name:
        raise MappingError(f"{what}: Name is missing")
    email = record.get("EmailAddress") or next(
        (p.get("EmailAddress") for p in record.get("ContactPersons") or []
         if isinstance(p, Mapping) and p.get("IncludeInEmails") and p.get("EmailAddress")),
        None,
    )
    addresses = [a for a in record.get("Addresses") or [] if isinstance(a, Mapping)]
    postal = next((a for a in addresses if a.get("AddressType") == "POBOX" and a.get("AddressLine1")), None) or next(
        (a for a in addresses if a.get("AddressLine1")), None
    )
    country = str((postal or {}).get("Country") or "").strip()
    return Customer(
        id=str(contact_id),
        name=str(name),
        country=country.upper() if len(country) == 2 else None,
        email=str(email) if email else None,
        phone=_phone(record, "DEFAULT"),
        mobile=_phone(record, "MOBILE"),
        has_postal_address=postal is not None,
        do_not_dun=str(record.get("ContactStatus") or "ACTIVE").upper() != "ACTIVE",
    )


def invoice(record: Mapping[str, Any], home_currency: str) -> ReceivableItem | None:
    """An ACCREC invoice as one receivable item; None when it is not (or no longer) receivable."""
    invoice_id = str(record.get("InvoiceID") or "")
    what = f"Invoice {invoice_id}"
    status = str(record.get("Status") or "").upper()
    if record.get("Type") != "ACCREC" or status in GONE or status in NOT_YET:
        return None
    total = money(record, "Total", what)
    due = money(record, "AmountDue", what)
    if due < 0 or due > total:
        raise MappingError(f"{what}: AmountDue {due} is outside 0..Total {total}")
    issued = _date(record, "Date", what)
    assert issued is not None
    settled = _date(record, "FullyPaidOnDate", what, required=False) if due == 0 else None
    return ReceivableItem(
        id=invoice_id,
        customer_id=_contact_id(record, what),
        invoice_ref=str(record.get("InvoiceNumber") or invoice_id),
        currency=_currency(record, home_currency),
        amount=total,
        residual=due,
        issue_date=issued,
        due_date=_date(record, "DueDate", what, required=False) or issued,
        settled_on=settled or (issued if due == 0 else None),
    )


def credit(collection: str, record: Mapping[str, Any], home_currency: str) -> ReceivableItem | None:
    """A credit note, overpayment or prepayment received: a credit item of the credit not yet allocated."""
    record_id = str(record.get(CREDIT_ID_FIELD[collection]) or "")
    what = f"{collection[:-1]} {record_id}"
    status = str(record.get("Status") or "").upper()
    if record.get("Type") != CREDIT_TYPE[collection] or status in GONE or status in NOT_YET:
        return None
    total = money(record, "Total", what)
    remaining = money(record, "RemainingCredit", what, default=total)
    if remaining < 0 or remaining > total:
        raise MappingError(f"{what}: RemainingCredit {remaining} is outside 0..Total {total}")
    issued = _date(record, "Date", what)
    assert issued is not None
    number = record.get("CreditNoteNumber") or record.get("Reference") or record_id
    return ReceivableItem(
        id=f"{CREDIT_PREFIX[collection]}:{record_id}",
        customer_id=_contact_id(record, what),
        invoice_ref=str(number),
        currency=_currency(record, home_currency),
        amount=total,
        residual=remaining,
        issue_date=issued,
        due_date=issued,
        settled_on=issued if remaining == 0 else None,
        is_credit=True,
    )


def payment(record: Mapping[str, Any], home_currency: str) -> Payment | None:
    """A customer's payment of an invoice; None for other payment types (bills, refunds)."""
    payment_id = str(record.get("PaymentID") or "")
    what = f"Payment {payment_id}"
    if record.get("PaymentType") != "ACCRECPAYMENT":
        return None
    target = record.get("Invoice")
    if not isinstance(target, Mapping) or not target.get("InvoiceID"):
        raise MappingError(f"{what}: Invoice.InvoiceID is missing")
    amount = money(record, "Amount", what)
    paid_on = _date(record, "Date", what)
    assert paid_on is not None
    return Payment(
        id=f"pay:{payment_id}",
        customer_id=_contact_id(target, what),
        date=paid_on,
        amount=amount,
        currency=_currency(target, home_currency),
        allocations=(Allocation(str(target["InvoiceID"]), amount),),
    )


def apply_record(collection: str, record: Mapping[str, Any], changes: Changes, home_currency: str) -> None:
    """Add one Xero record (or its disappearance) to a page's changes."""
    if not isinstance(record, Mapping):
        raise MappingError(f"{collection}: a record that is not an object")
    if collection == "Contacts":
        changes.customers.append(customer(record))
    elif collection == "Invoices":
        if not record.get("InvoiceID"):
            raise MappingError("Invoice without InvoiceID")
        item = invoice(record, home_currency)
        if item is None:
            changes.deleted_items.append(str(record["InvoiceID"]))
            return
        changes.items.append(item)
        _see_rate(record, item, changes, home_currency)
    elif collection in CREDIT_PREFIX:
        record_id = record.get(CREDIT_ID_FIELD[collection])
        if not record_id:
            raise MappingError(f"{collection[:-1]} without {CREDIT_ID_FIELD[collection]}")
        item = credit(collection, record, home_currency)
        if item is None:
            changes.deleted_items.append(f"{CREDIT_PREFIX[collection]}:{record_id}")
            return
        changes.items.append(item)
    elif collection == "Payments":
        if not record.get("PaymentID"):
            raise MappingError("Payment without PaymentID")
        if str(record.get("Status") or "").upper() == "DELETED":
            changes.deleted_payments.append(f"pay:{record['PaymentID']}")
            return
        received = payment(record, home_currency)
        if received is not None:
            changes.payments.append(received)
    else:
        raise MappingError(f"{collection}: not synced")


def _see_rate(record: Mapping[str, Any], item: ReceivableItem, changes: Changes, home_currency: str) -> None:
    if item.currency == home_currency.upper() or not record.get("CurrencyRate"):
        return
    rate = money(record, "CurrencyRate", f"Invoice {item.id}")
    if rate > 0:
        changes.see_rate(item.currency, item.issue_date, (Decimal(1) / rate).quantize(Decimal("0.000001")))
