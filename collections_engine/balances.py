"""What was open on an item on a given day, rebuilt from allocations and settlement dates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from .types import Payment, ReceivableItem

_ZERO = Decimal(0)
PaidAfter = Sequence[tuple[date, Decimal]]


def allocations_by_item(payments: Iterable[Payment]) -> dict[str, list[tuple[date, Decimal]]]:
    """Return, per item, the (payment date, amount) of every allocation to it."""
    result: dict[str, list[tuple[date, Decimal]]] = {}
    for payment in payments:
        for allocation in payment.allocations:
            result.setdefault(allocation.item_id, []).append((payment.date, allocation.amount))
    return result


def balance_on(item: ReceivableItem, day: date, paid: PaidAfter | None) -> Decimal:
    """Return what was open on an item at the end of ``day`` (0 before it was issued).

    With allocations, the open amount is today's residual plus what was paid after ``day``;
    without them, a settled item was open in full until its settlement date.
    """
    if item.issue_date > day:
        return _ZERO
    if paid is not None:
        later = sum((amount for paid_on, amount in paid if paid_on > day), _ZERO)
        return min(item.amount, item.residual + later)
    if item.settled_on is not None:
        return item.amount if item.settled_on > day else _ZERO
    return item.residual


def settled_by(item: ReceivableItem, day: date, paid: PaidAfter | None) -> date | None:
    """Return the date the item was fully paid, if that happened on or before ``day``."""
    if balance_on(item, day, paid) > 0:
        return None
    if item.settled_on is not None:
        return item.settled_on
    dates = [paid_on for paid_on, _ in paid or () if paid_on <= day]
    return max(dates) if dates else None
