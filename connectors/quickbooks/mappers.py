"""QuickBooks records <-> engine types.

Store ids carry the entity (``inv:123``, ``cm:45``, ``pay:9``) because QuickBooks numbers each
entity on its own. An invoice is one receivable item (QuickBooks has no instalments); a credit
memo with credit left is a credit item; a payment allocates its lines to the invoices they link.
A voided invoice (total and balance 0) leaves the store like a deleted one. An invoice's ``InvoiceLink`` (where
QuickBooks Payments takes it online) is kept as its pay link.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from collections_engine.types import Allocation, Customer, Payment, ReceivableItem

from ..common.sync import Changes, MappingError
from ..common.values import money, required_date

ENTITY_PREFIX = {"Invoice": "inv", "CreditMemo": "cm", "Payment": "pay", "Customer": ""}


def store_id(entity: str, qbo_id: str) -> str:
    """The store's id of a QuickBooks object."""
    prefix = ENTITY_PREFIX[entity]
    return f"{prefix}:{qbo_id}" if prefix else str(qbo_id)


def qbo_invoice_id(item_id: str) -> str | None:
    """The QuickBooks invoice id of a store item id, or None for other items."""
    return item_id[4:] if item_id.startswith("inv:") else None


def _ref(record: Mapping[str, Any], name: str, entity: str) -> str:
    value = (record.get(name) or {}).get("value")
    if not value:
        raise MappingError(f"{entity} {record.get('Id')}: {name} is missing")
    return str(value)


def _money(record: Mapping[str, Any], name: str, entity: str, default: Any = None) -> Decimal:
    return money(record, name, f"{entity} {record.get('Id')}", default)


def _date(record: Mapping[str, Any], name: str, entity: str, default: str | None = None) -> date:
    return required_date(record, name, f"{entity} {record.get('Id')}", default)


def _currency(record: Mapping[str, Any], home: str) -> str:
    return str((record.get("CurrencyRef") or {}).get("value") or home).upper()


def is_deleted(record: Mapping[str, Any]) -> bool:
    """CDC reports deleted objects with ``status: Deleted``."""
    return str(record.get("status", "")).lower() == "deleted"


def customer(record: Mapping[str, Any]) -> Customer:
    """A QuickBooks customer (sub-customers and jobs are customers of their own)."""
    if not record.get("Id"):
        raise MappingError("Customer without Id")
    name = record.get("DisplayName") or record.get("CompanyName") or record.get("FullyQualifiedName")
    if not name:
        raise MappingError(f"Customer {record['Id']}: DisplayName is missing")
    address = record.get("BillAddr") or {}
    country = str(address.get("Country") or "").strip()
    return Customer(
        id=str(record["Id"]),
        name=str(name),
        country=country.upper() if len(country) == 2 else None,
        email=((record.get("PrimaryEmailAddr") or {}).get("Address") or None),
        phone=((record.get("PrimaryPhone") or {}).get("FreeFormNumber") or None),
        mobile=((record.get("Mobile") or {}).get("FreeFormNumber") or None),
        has_postal_address=bool(address.get("Line1")),
        do_not_dun=not record.get("Active", True),
    )


def invoice(record: Mapping[str, Any], home_currency: str) -> ReceivableItem | None:
    """An invoice as one receivable item; None when it is voided."""
    total = _money(record, "TotalAmt", "Invoice")
    balance = _money(record, "Balance", "Invoice")
    if total == 0 and balance == 0:
        return None
    if balance < 0 or balance > total:
        raise MappingError(f"Invoice {record.get('Id')}: Balance {balance} is outside 0..TotalAmt {total}")
    issued = _date(record, "TxnDate", "Invoice")
    return ReceivableItem(
        id=store_id("Invoice", str(record["Id"])),
        customer_id=_ref(record, "CustomerRef", "Invoice"),
        invoice_ref=str(record.get("DocNumber") or record["Id"]),
        currency=_currency(record, home_currency),
        amount=total,
        residual=balance,
        issue_date=issued,
        due_date=_date(record, "DueDate", "Invoice", default=str(issued)),
        delivery=delivery(record),
    )


def delivery(record: Mapping[str, Any]) -> str:
    """How the invoice reached the customer, an input of payment prediction: emailed (or queued to be) is
    electronic, printed is paper. ``PrintStatus: NeedToPrint`` is what QuickBooks gives any invoice made
    through the API, so it says nothing; otherwise unknown ('')."""
    if record.get("EmailStatus") in ("EmailSent", "NeedToSend"):
        return "electronic"
    if record.get("PrintStatus") == "PrintComplete":
        return "paper"
    return ""


def pay_link(record: Mapping[str, Any]) -> str | None:
    """The customer's pay-online page of an invoice (``InvoiceLink``, given when the invoice was read with
    ``include=invoiceLink`` and takes online payment through QuickBooks Payments), or None."""
    link = str(record.get("InvoiceLink") or "")
    return link if link.startswith("https://") else None


def credit_memo(record: Mapping[str, Any], home_currency: str) -> ReceivableItem:
    """A credit memo as a credit item whose residual is the credit still to apply."""
    total = _money(record, "TotalAmt", "CreditMemo")
    remaining = _money(record, "RemainingCredit", "CreditMemo", default=total)
    if remaining < 0 or remaining > total:
        raise MappingError(f"CreditMemo {record.get('Id')}: RemainingCredit {remaining} is outside 0..{total}")
    issued = _date(record, "TxnDate", "CreditMemo")
    return ReceivableItem(
        id=store_id("CreditMemo", str(record["Id"])),
        customer_id=_ref(record, "CustomerRef", "CreditMemo"),
        invoice_ref=str(record.get("DocNumber") or record["Id"]),
        currency=_currency(record, home_currency),
        amount=total,
        residual=remaining,
        issue_date=issued,
        due_date=issued,
        is_credit=True,
    )


def payment(record: Mapping[str, Any], home_currency: str) -> Payment:
    """A received payment with its allocation to invoices (credit-memo lines only offset them)."""
    allocations = []
    for line in record.get("Line") or []:
        amount = _money(line, "Amount", "Payment line", default=0)
        for linked in line.get("LinkedTxn") or []:
            if linked.get("TxnType") == "Invoice" and amount:
                allocations.append(Allocation(store_id("Invoice", str(linked["TxnId"])), amount))
    return Payment(
        id=store_id("Payment", str(record["Id"])),
        customer_id=_ref(record, "CustomerRef", "Payment"),
        date=_date(record, "TxnDate", "Payment"),
        amount=_money(record, "TotalAmt", "Payment"),
        currency=_currency(record, home_currency),
        allocations=tuple(allocations),
    )


def apply_record(entity: str, record: Mapping[str, Any], changes: Changes, home_currency: str) -> None:
    """Add one QuickBooks object (or its deletion) to a page's changes."""
    if not isinstance(record, Mapping) or not record.get("Id"):
        raise MappingError(f"{entity}: a record without Id")
    qbo_id = str(record["Id"])
    if entity == "Customer":
        if is_deleted(record):
            changes.deleted_customers.append(qbo_id)
        else:
            changes.customers.append(customer(record))
    elif entity in ("Invoice", "CreditMemo"):
        item = None if is_deleted(record) else (invoice if entity == "Invoice" else credit_memo)(record, home_currency)
        if item is None:
            changes.deleted_items.append(store_id(entity, qbo_id))
        else:
            changes.items.append(item)
            link = pay_link(record) if entity == "Invoice" else None
            if link:
                changes.pay_links[item.id] = link
            if item.currency != home_currency.upper() and record.get("ExchangeRate"):
                changes.see_rate(item.currency, item.issue_date, _money(record, "ExchangeRate", entity))
    elif entity == "Payment":
        if is_deleted(record):
            changes.deleted_payments.append(store_id("Payment", qbo_id))
        else:
            changes.payments.append(payment(record, home_currency))
    else:
        raise MappingError(f"{entity} {qbo_id}: entity not synced")
