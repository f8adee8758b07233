"""Zoho Books records (JSON, as the API sends them) <-> engine types.

Store ids: a customer is its ``contact_id``; an invoice its ``invoice_id`` (one receivable item:
Zoho's payment terms give one due date); a credit note ``cn:<creditnote_id>``, a credit item of
its ``balance`` (the credit not yet applied or refunded); a customer payment ``pay:<payment_id>``,
allocated to the invoices it was applied to. Drafts are not receivable yet and void documents are
gone: each leaves the store. Zoho's ``exchange_rate`` is units of the base currency per unit of the
document's currency, which is the engine's rate as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from collections_engine.types import Allocation, Customer, Payment, ReceivableItem

from ..common.sync import Changes, MappingError
from ..common.values import iso_date, money, required_date

GONE = {"void"}
NOT_YET = {"draft", "pending_approval", "approved"}
CREDIT_PREFIX = "cn"
PAYMENT_PREFIX = "pay"
GONE_MARK = "_gone"  # a synthetic record of a full pass: an id the store has and Zoho no longer lists
InvoiceResolver = Callable[[str], "str | None"]


def zoho_time(value: Any) -> datetime | None:
    """A Zoho time stamp (``2026-11-24T10:15:00+0530``); UTC when it names no zone."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{text[:40]!r} is not a Zoho time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def as_zoho_time(moment: datetime) -> str:
    """The text Zoho's ``last_modified_time`` filter takes."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z")


def _date(record: Mapping[str, Any], name: str, what: str, *, required: bool = True) -> date | None:
    return required_date(record, name, what) if required else iso_date(record, name, what)


def _money(record: Mapping[str, Any], name: str, what: str, default: Any = None) -> Decimal:
    return money(record, name, what, default).quantize(Decimal("0.01"))


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value else None


def customer(record: Mapping[str, Any]) -> Customer:
    """A contact. Email and mobile are the contact's (its primary person's), else the first person's that has one."""
    contact_id = record.get("contact_id")
    if not contact_id:
        raise MappingError("Contact without contact_id")
    name = record.get("contact_name") or record.get("company_name")
    if not name:
        raise MappingError(f"Contact {contact_id}: contact_name is missing")
    persons = [p for p in record.get("contact_persons") or [] if isinstance(p, Mapping)]
    persons.sort(key=lambda p: not p.get("is_primary_contact"))

    def first(field: str) -> str | None:
        return _text(record.get(field)) or next((_text(p.get(field)) for p in persons if _text(p.get(field))), None)

    address = record.get("billing_address")
    has_address = isinstance(address, Mapping) and bool(address.get("address") or address.get("street"))
    country = str(record.get("country_code") or "").strip()
    return Customer(
        id=str(contact_id),
        name=str(name),
        country=country.upper() if len(country) == 2 else None,
        email=first("email"),
        phone=first("phone"),
        mobile=first("mobile"),
        has_postal_address=has_address if address is not None else True,
        language=_text(record.get("language_code")),
        do_not_dun=str(record.get("status") or "active").lower() != "active",
    )


def _settled_on(record: Mapping[str, Any], what: str, issued: date) -> date:
    """When a closed invoice was settled: its last payment's date; an invoice closed by a credit note or a
    write-off has none, and the day it last changed is the best the record tells (never before its issue)."""
    paid = _date(record, "last_payment_date", what, required=False)
    if paid is not None:
        return paid
    changed = zoho_time(record.get("last_modified_time"))
    return max(issued, changed.date()) if changed is not None else issued


def invoice(record: Mapping[str, Any], home_currency: str) -> ReceivableItem | None:
    """An invoice as one receivable item; None when it is not (or no longer) receivable."""
    invoice_id = str(record.get("invoice_id") or "")
    what = f"Invoice {invoice_id}"
    status = str(record.get("status") or "").lower()
    if status in GONE or status in NOT_YET:
        return None
    total = _money(record, "total", what)
    balance = _money(record, "balance", what)
    if balance < 0 or balance > total:
        raise MappingError(f"{what}: balance {balance} is outside 0..total {total}")
    issued = _date(record, "date", what)
    assert issued is not None
    settled = _settled_on(record, what, issued) if balance == 0 else None
    if not record.get("customer_id"):
        raise MappingError(f"{what}: customer_id is missing")
    return ReceivableItem(
        id=invoice_id,
        customer_id=str(record["customer_id"]),
        invoice_ref=str(record.get("invoice_number") or invoice_id),
        currency=str(record.get("currency_code") or home_currency).upper(),
        amount=total,
        residual=balance,
        issue_date=issued,
        due_date=_date(record, "due_date", what, required=False) or issued,
        settled_on=settled,
        # emailed from Zoho Books: electronic; otherwise unknown (marked as sent, it may have been posted
        # or shared as a link), an input of payment prediction
        delivery="electronic" if record.get("is_emailed") is True else "",
    )


def credit_note(record: Mapping[str, Any], home_currency: str) -> ReceivableItem | None:
    """A credit note: a credit item of what is not yet applied or refunded; None when draft or void."""
    record_id = str(record.get("creditnote_id") or "")
    what = f"Credit note {record_id}"
    status = str(record.get("status") or "").lower()
    if status in GONE or status in NOT_YET:
        return None
    total = _money(record, "total", what)
    balance = _money(record, "balance", what, default=total)
    if balance < 0 or balance > total:
        raise MappingError(f"{what}: balance {balance} is outside 0..total {total}")
    issued = _date(record, "date", what)
    assert issued is not None
    if not record.get("customer_id"):
        raise MappingError(f"{what}: customer_id is missing")
    return ReceivableItem(
        id=f"{CREDIT_PREFIX}:{record_id}",
        customer_id=str(record["customer_id"]),
        invoice_ref=str(record.get("creditnote_number") or record_id),
        currency=str(record.get("currency_code") or home_currency).upper(),
        amount=total,
        residual=balance,
        issue_date=issued,
        due_date=issued,
        settled_on=issued if balance == 0 else None,
        is_credit=True,
        kind="credit_note",
    )


def payment(record: Mapping[str, Any], home_currency: str, resolve: InvoiceResolver) -> Payment:
    """A customer payment, allocated to the invoices it was applied to (from its ``invoices`` when the record
    has them, else from ``invoice_numbers`` when it names one invoice: the amount less what is unused)."""
    payment_id = str(record.get("payment_id") or "")
    what = f"Payment {payment_id}"
    if not record.get("customer_id"):
        raise MappingError(f"{what}: customer_id is missing")
    amount = _money(record, "amount", what)
    paid_on = _date(record, "date", what)
    assert paid_on is not None
    allocations: list[Allocation] = []
    if isinstance(record.get("invoices"), list):
        for line in record["invoices"]:
            if isinstance(line, Mapping) and line.get("invoice_id"):
                allocations.append(Allocation(str(line["invoice_id"]), _money(line, "amount_applied", what)))
    else:
        numbers = [n.strip() for n in str(record.get("invoice_numbers") or "").split(",") if n.strip()]
        if len(numbers) > 1:
            raise MappingError(f"{what}: applied to several invoices without their amounts")
        target = resolve(numbers[0]) if numbers else None
        if target is not None:
            unused = _money(record, "unused_amount", what, default=0)
            allocations.append(Allocation(target, amount - unused))
    return Payment(
        id=f"{PAYMENT_PREFIX}:{payment_id}",
        customer_id=str(record["customer_id"]),
        date=paid_on,
        amount=amount,
        currency=str(record.get("currency_code") or home_currency).upper(),
        allocations=tuple(allocations),
    )


def apply_record(collection: str, record: Mapping[str, Any], changes: Changes, home_currency: str,
                 resolve: InvoiceResolver) -> None:
    """Add one Zoho record (or its disappearance) to a page's changes."""
    if not isinstance(record, Mapping):
        raise MappingError(f"{collection}: a record that is not an object")
    if GONE_MARK in record:
        _gone(collection, str(record[GONE_MARK]), changes)
    elif collection == "contacts":
        changes.customers.append(customer(record))
    elif collection == "invoices":
        if not record.get("invoice_id"):
            raise MappingError("Invoice without invoice_id")
        item = invoice(record, home_currency)
        if item is None:
            changes.deleted_items.append(str(record["invoice_id"]))
            return
        changes.items.append(item)
        if record.get("invoice_url"):
            changes.pay_links[item.id] = str(record["invoice_url"])
        _see_rate(record, item, changes, home_currency)
    elif collection == "creditnotes":
        if not record.get("creditnote_id"):
            raise MappingError("Credit note without creditnote_id")
        item = credit_note(record, home_currency)
        if item is None:
            changes.deleted_items.append(f"{CREDIT_PREFIX}:{record['creditnote_id']}")
            return
        changes.items.append(item)
    elif collection == "customerpayments":
        if not record.get("payment_id"):
            raise MappingError("Payment without payment_id")
        changes.payments.append(payment(record, home_currency, resolve))
    else:
        raise MappingError(f"{collection}: not synced")


def _gone(collection: str, store_id: str, changes: Changes) -> None:
    if collection == "contacts":
        changes.deleted_customers.append(store_id)
    elif collection == "customerpayments":
        changes.deleted_payments.append(store_id)
    else:
        changes.deleted_items.append(store_id)


def _see_rate(record: Mapping[str, Any], item: ReceivableItem, changes: Changes, home_currency: str) -> None:
    if item.currency == home_currency.upper() or not record.get("exchange_rate"):
        return
    rate = Decimal(str(record["exchange_rate"]))
    if rate.is_finite() and rate > 0:
        changes.see_rate(item.currency, item.issue_date, rate.quantize(Decimal("0.000001")))


def store_id(collection: str, record: Mapping[str, Any]) -> str | None:
    """The store's id of a listed record (what a full pass has seen)."""
    field, prefix = {"contacts": ("contact_id", ""), "invoices": ("invoice_id", ""),
                     "creditnotes": ("creditnote_id", CREDIT_PREFIX),
                     "customerpayments": ("payment_id", PAYMENT_PREFIX)}[collection]
    value = record.get(field) if isinstance(record, Mapping) else None
    if not value:
        return None
    return f"{prefix}:{value}" if prefix else str(value)
