"""Small factories for engine tests: explicit values, no demo data."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from collections_engine.types import ContactEvent, Customer, History, Portfolio, ReceivableItem

UTC = timezone.utc
TODAY = date(2026, 11, 24)  # a Tuesday
AS_OF = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def customer(id: str = "c1", **values: Any) -> Customer:
    base: dict[str, Any] = {"name": f"Customer {id}", "email": f"{id}@example.com", "phone": "+34600000000"}
    base.update(values)
    return Customer(id=id, **base)


def item(
    id: str,
    days_overdue: int,
    amount: str = "100.00",
    customer_id: str = "c1",
    residual: str | None = None,
    **values: Any,
) -> ReceivableItem:
    due = TODAY - timedelta(days=days_overdue)
    base: dict[str, Any] = {
        "invoice_ref": f"INV/{id}",
        "currency": "EUR",
        "amount": Decimal(amount),
        "residual": Decimal(residual if residual is not None else amount),
        "issue_date": due - timedelta(days=30),
        "due_date": due,
    }
    base.update(values)
    return ReceivableItem(id=id, customer_id=customer_id, **base)


def settled(id: str, days_late: int, customer_id: str = "c1", amount: str = "100.00", ago: int = 100) -> ReceivableItem:
    due = TODAY - timedelta(days=ago)
    return ReceivableItem(
        id=id,
        customer_id=customer_id,
        invoice_ref=f"INV/{id}",
        currency="EUR",
        amount=Decimal(amount),
        residual=Decimal(0),
        issue_date=due - timedelta(days=30),
        due_date=due,
        settled_on=due + timedelta(days=days_late),
    )


def event(
    customer_id: str, level: str, item_ids: tuple[str, ...], days_ago: float, channel: str = "email", **values: Any
) -> ContactEvent:
    at = AS_OF - timedelta(days=days_ago)
    return ContactEvent(
        id=f"{customer_id}-{level}-{days_ago}-{channel}",
        customer_id=customer_id,
        at=at,
        channel=channel,
        level=level,
        strategy="standard",
        item_ids=item_ids,
        **values,
    )


def portfolio(customers: list[Customer], items: list[ReceivableItem], **values: Any) -> Portfolio:
    return Portfolio(company_currency="EUR", customers=tuple(customers), items=tuple(items), **values)


def history(*events: ContactEvent) -> History:
    return History(events=tuple(events))
