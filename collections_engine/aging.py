"""Aging of open receivable items by configurable day buckets."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .money import quantum, rate_for, round_money
from .types import ReceivableItem


@dataclass(frozen=True, slots=True)
class AgingBucket:
    """Totals of one bucket: in each item currency and in the company currency."""

    label: str
    low: int | None
    high: int | None
    by_currency: Mapping[str, Decimal]
    company_amount: Decimal
    items: int


@dataclass(frozen=True, slots=True)
class AgingReport:
    """Open amounts by bucket of days overdue, as of a date."""

    as_of: date
    company_currency: str
    buckets: tuple[AgingBucket, ...]

    @property
    def total(self) -> Decimal:
        """Total open amount in the company currency."""
        return sum((bucket.company_amount for bucket in self.buckets), Decimal(0))

    @property
    def overdue(self) -> Decimal:
        """Open amount past its due date, in the company currency."""
        return sum((bucket.company_amount for bucket in self.buckets[1:]), Decimal(0))


def bucket_labels(bounds: Sequence[int]) -> list[tuple[str, int | None, int | None]]:
    """Return (label, low, high) per bucket: 'not_due', '1-30', ..., '121+'."""
    labels: list[tuple[str, int | None, int | None]] = [("not_due", None, 0)]
    low = 1
    for high in bounds:
        labels.append((f"{low}-{high}", low, high))
        low = high + 1
    labels.append((f"{low}+", low, None))
    return labels


def bucket_index(days_overdue: int, bounds: Sequence[int]) -> int:
    """Return the index of the bucket a number of days overdue falls in (0 = not due)."""
    if days_overdue <= 0:
        return 0
    return bisect_left(bounds, days_overdue) + 1


def age_items(
    items: Iterable[ReceivableItem],
    bounds: Sequence[int],
    as_of: date,
    company_currency: str,
    rates: Mapping[str, Decimal],
) -> AgingReport:
    """Age open items (residual != 0) as of a date; credits reduce the bucket they fall in."""
    labels = bucket_labels(bounds)
    per_currency: list[dict[str, Decimal]] = [{} for _ in labels]
    counts = [0] * len(labels)
    today = as_of.toordinal()
    for item in items:
        residual = item.residual
        if not residual or item.issue_date > as_of:
            continue
        if item.is_credit and residual > 0:
            residual = -residual
        index = bucket_index(today - item.due_date.toordinal(), bounds)
        totals = per_currency[index]
        totals[item.currency] = totals.get(item.currency, Decimal(0)) + residual
        counts[index] += 1
    exact = [
        sum((amount * rate_for(currency, company_currency, rates) for currency, amount in totals.items()), Decimal(0))
        for totals in per_currency
    ]
    rounded = _rounded_to_total(exact, company_currency)
    buckets = [
        AgingBucket(label, low, high, dict(sorted(totals.items())), amount, count)
        for (label, low, high), totals, amount, count in zip(labels, per_currency, rounded, counts)
    ]
    return AgingReport(as_of, company_currency, tuple(buckets))


def _rounded_to_total(exact: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Round each bucket to the currency's precision so that the buckets add up to the rounded total (the cents
    lost or gained by rounding each bucket go to the buckets rounded furthest, largest remainders first)."""
    rounded = [round_money(amount, currency) for amount in exact]
    total = round_money(sum(exact, Decimal(0)), currency)
    step = quantum(currency)
    gap = total - sum(rounded, Decimal(0))
    order = sorted(range(len(exact)), key=lambda i: (exact[i] - rounded[i]) * (1 if gap > 0 else -1), reverse=True)
    for index in order:
        if not gap:
            break
        nudge = step if gap > 0 else -step
        rounded[index] += nudge
        gap -= nudge
    return rounded
