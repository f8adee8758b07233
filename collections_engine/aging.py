"""Aging of open receivable items by configurable day buckets."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .money import rate_for, round_money
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
    buckets = []
    for (label, low, high), totals, count in zip(labels, per_currency, counts):
        company = sum(
            (amount * rate_for(currency, company_currency, rates) for currency, amount in totals.items()),
            Decimal(0),
        )
        buckets.append(
            AgingBucket(label, low, high, dict(sorted(totals.items())), round_money(company, company_currency), count)
        )
    return AgingReport(as_of, company_currency, tuple(buckets))
