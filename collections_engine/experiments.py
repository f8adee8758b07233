"""A/B experiments: stable assignment of customers to variants and results per variant."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .balances import allocations_by_item, balance_on, settled_by
from .money import rate_for
from .stats import mean_and_variance, normal_ppf, student_t_ppf, two_proportion_z_test, welch_t_test, wilson_interval
from .types import ContactEvent, History, Portfolio, ReceivableItem


def assign_variant(experiment_key: str, customer_id: str, variants: Sequence[tuple[str, int]]) -> str:
    """Pick a variant by weight from a stable hash of (experiment, customer): same answer in every process."""
    digest = hashlib.sha256(f"{experiment_key}:{customer_id}".encode()).digest()
    total = sum(weight for _, weight in variants)
    if total <= 0:
        raise ValueError("variants: weights must add up to more than 0")
    bucket = int.from_bytes(digest[:8], "big") % total
    for key, weight in variants:
        if bucket < weight:
            return key
        bucket -= weight
    raise AssertionError("unreachable: bucket below the total weight")


@dataclass(frozen=True, slots=True)
class VariantObservation:
    """What happened to one customer under one variant."""

    customer_id: str
    variant: str
    amount_due: Decimal
    collected: Decimal
    days_to_pay: int | None
    cost: Decimal


@dataclass(frozen=True, slots=True)
class VariantResult:
    """Outcome of one variant, with confidence intervals and the comparison to the control."""

    variant: str
    customers: int
    amount_due: Decimal
    collected: Decimal
    recovery_rate: float | None
    recovery_interval: tuple[float, float] | None
    paid_share: float | None
    paid_interval: tuple[float, float]
    mean_days_to_pay: float | None
    days_interval: tuple[float, float] | None
    cost: Decimal
    cost_per_unit_collected: float | None
    recovery_difference: float | None = None
    t_statistic: float | None = None
    degrees_of_freedom: float | None = None
    p_value: float | None = None
    paid_share_z: float | None = None
    paid_share_p_value: float | None = None
    significant: bool = False


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    """Results of every variant of one experiment against its control."""

    control: str
    confidence: float
    variants: tuple[VariantResult, ...]


def _recovery(
    observations: Sequence[VariantObservation], confidence: float
) -> tuple[float | None, tuple[float, float] | None]:
    """Amount-weighted recovery rate with a linearised (ratio estimator) confidence interval."""
    due = [float(o.amount_due) for o in observations]
    got = [float(o.collected) for o in observations]
    total_due = sum(due)
    if not total_due:
        return None, None
    rate = sum(got) / total_due
    n = len(observations)
    if n < 2:
        return rate, None
    mean_due = total_due / n
    residual = sum((g - rate * d) ** 2 for g, d in zip(got, due)) / (n * (n - 1))
    half = normal_ppf(1 - (1 - confidence) / 2) * math.sqrt(residual) / mean_due
    return rate, (rate - half, rate + half)


def _days(
    observations: Sequence[VariantObservation], confidence: float
) -> tuple[float | None, tuple[float, float] | None]:
    days = [float(o.days_to_pay) for o in observations if o.days_to_pay is not None]
    if not days:
        return None, None
    mean, variance = mean_and_variance(days)
    if len(days) < 2:
        return mean, None
    half = student_t_ppf(1 - (1 - confidence) / 2, len(days) - 1) * math.sqrt(variance / len(days))
    return mean, (mean - half, mean + half)


def _summarise(variant: str, observations: Sequence[VariantObservation], confidence: float) -> VariantResult:
    amount_due = sum((o.amount_due for o in observations), Decimal(0))
    collected = sum((o.collected for o in observations), Decimal(0))
    cost = sum((o.cost for o in observations), Decimal(0))
    payers = sum(1 for o in observations if o.collected >= o.amount_due)
    rate, rate_interval = _recovery(observations, confidence)
    days, days_interval = _days(observations, confidence)
    n = len(observations)
    return VariantResult(
        variant=variant,
        customers=n,
        amount_due=amount_due,
        collected=collected,
        recovery_rate=rate,
        recovery_interval=rate_interval,
        paid_share=payers / n if n else None,
        paid_interval=wilson_interval(payers, n, confidence),
        mean_days_to_pay=days,
        days_interval=days_interval,
        cost=cost,
        cost_per_unit_collected=float(cost / collected) if collected else None,
    )


def _compare(
    result: VariantResult, control: VariantResult, mine: list[float], theirs: list[float], confidence: float
) -> VariantResult:
    welch = welch_t_test(mine, theirs)
    paid = sum(1 for value in mine if value >= 1), sum(1 for value in theirs if value >= 1)
    z_test = two_proportion_z_test(paid[0], len(mine), paid[1], len(theirs))
    difference = None
    if result.recovery_rate is not None and control.recovery_rate is not None:
        difference = result.recovery_rate - control.recovery_rate
    p_value = welch[2] if welch else None
    return VariantResult(
        **{name: getattr(result, name) for name in result.__dataclass_fields__ if name not in _COMPARISON_FIELDS},
        recovery_difference=difference,
        t_statistic=welch[0] if welch else None,
        degrees_of_freedom=welch[1] if welch else None,
        p_value=p_value,
        paid_share_z=z_test[0] if z_test else None,
        paid_share_p_value=z_test[1] if z_test else None,
        significant=p_value is not None and p_value < 1 - confidence,
    )


_COMPARISON_FIELDS = frozenset(
    {
        "recovery_difference",
        "t_statistic",
        "degrees_of_freedom",
        "p_value",
        "paid_share_z",
        "paid_share_p_value",
        "significant",
    }
)


def experiment_results(
    observations: Sequence[VariantObservation], control: str | None = None, confidence: float = 0.95
) -> ExperimentReport:
    """Summarise each variant and test it against the control (default: first variant key in order)."""
    grouped: dict[str, list[VariantObservation]] = {}
    for observation in observations:
        grouped.setdefault(observation.variant, []).append(observation)
    if not grouped:
        return ExperimentReport(control=control or "", confidence=confidence, variants=())
    control_key = control if control is not None else sorted(grouped)[0]
    if control_key not in grouped:
        raise ValueError(f"control: no observations for variant {control_key!r}")
    ratios = {
        key: [float(o.collected / o.amount_due) if o.amount_due else 0.0 for o in group]
        for key, group in grouped.items()
    }
    summaries = {key: _summarise(key, group, confidence) for key, group in sorted(grouped.items())}
    results = [
        summary
        if key == control_key
        else _compare(summary, summaries[control_key], ratios[key], ratios[control_key], confidence)
        for key, summary in summaries.items()
    ]
    return ExperimentReport(control=control_key, confidence=confidence, variants=tuple(results))


def observe_experiment(
    portfolio: Portfolio, history: History, as_of: datetime, strategy: str, since: datetime | None = None
) -> list[VariantObservation]:
    """One observation per customer contacted under a variant of ``strategy`` (company currency).

    Amount due: what was open, on the day of the first contact, on the items the variant's
    contacts covered; collected: how much of it was paid by ``as_of``; days to pay: from the
    first contact to the last settlement, when everything was paid; cost: of those contacts.
    """
    items = {item.id: item for item in portfolio.items}
    paid = allocations_by_item(portfolio.payments)
    contacted: dict[str, list[ContactEvent]] = {}
    for event in history.events:
        if event.strategy != strategy or not event.variant or event.at > as_of:
            continue
        if since is None or event.at >= since:
            contacted.setdefault(event.customer_id, []).append(event)
    day = as_of.date()
    observations = []
    for customer_id, events in sorted(contacted.items()):
        events.sort(key=lambda event: (event.at, event.id))
        observation = _observe(customer_id, events, items, paid, day, portfolio)
        if observation is not None:
            observations.append(observation)
    return observations


def _observe(
    customer_id: str,
    events: list[ContactEvent],
    items: dict[str, ReceivableItem],
    paid: dict[str, list[tuple[date, Decimal]]],
    day: date,
    portfolio: Portfolio,
) -> VariantObservation | None:
    first_day = events[0].at.date()
    covered = sorted({item_id for event in events for item_id in event.item_ids if item_id in items})
    due = left = Decimal(0)
    last_paid: date | None = first_day
    for item_id in covered:
        item = items[item_id]
        rate = rate_for(item.currency, portfolio.company_currency, portfolio.rates)
        due += balance_on(item, first_day, paid.get(item_id)) * rate
        left += balance_on(item, day, paid.get(item_id)) * rate
        settled = settled_by(item, day, paid.get(item_id))
        last_paid = max(last_paid, settled) if last_paid is not None and settled is not None else None
    if due <= 0:
        return None
    days = (last_paid - first_day).days if last_paid is not None and left <= 0 else None
    return VariantObservation(
        customer_id=customer_id,
        variant=events[0].variant or "",
        amount_due=due,
        collected=max(Decimal(0), due - left),
        days_to_pay=days,
        cost=sum((event.cost for event in events), Decimal(0)),
    )
