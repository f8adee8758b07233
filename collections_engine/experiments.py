"""A/B experiments: stable assignment of customers to variants and results per variant."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from .balances import allocations_by_item, balance_on, settled_by
from .money import rate_for
from .stats import (
    always_valid_p_value,
    confidence_sequence,
    mean_and_variance,
    normal_ppf,
    student_t_ppf,
    wilson_interval,
)
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


MINIMUM_CUSTOMERS = 30
"""Customers each arm needs before it is tested: on fewer, the normal approximation the test rests on fails."""

BETTER, WORSE, UNDECIDED = "better", "worse", "undecided"


@dataclass(frozen=True, slots=True)
class VariantResult:
    """Outcome of one variant, with confidence intervals and, but for the control, its comparison with the control.

    The comparison is about the amount-weighted recovery rate (the headline): ``recovery_difference``
    is this variant's rate minus the control's, ``difference_interval`` its always-valid interval
    (a confidence sequence at the report's ``alpha_per_comparison``) and ``always_valid_p_value``
    the mixture SPRT's p-value; ``decision`` is ``better``, ``worse`` or ``undecided`` (None for
    the control). Looking at them as often as one likes keeps the false positives at alpha.
    """

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
    difference_standard_error: float | None = None
    difference_interval: tuple[float, float] | None = None
    always_valid_p_value: float | None = None
    paid_share_difference: float | None = None
    paid_share_always_valid_p_value: float | None = None
    decision: str | None = None
    significant: bool = False


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    """Results of every variant of one experiment against its control, and whether it may stop.

    ``alpha_per_comparison`` is 1 - confidence shared out over the comparisons with the control
    (Bonferroni); ``mde`` is the difference in recovery rate the sequential test is tuned to.
    ``stop`` says the experiment has an answer: ``winner`` is the variant that beats the control
    (the largest difference among those that do), or the control when every variant is worse.
    """

    control: str
    confidence: float
    variants: tuple[VariantResult, ...]
    alpha_per_comparison: float = 0.05
    mde: float = 0.05
    minimum_customers: int = MINIMUM_CUSTOMERS
    stop: bool = False
    winner: str | None = None


def _ratio_and_variance(observations: Sequence[VariantObservation]) -> tuple[float, float | None] | None:
    """Amount-weighted recovery rate and the jackknife variance of that ratio, customers as the units resampled.

    The jackknife (leave one customer out) rather than the linearised (delta method) variance:
    with amounts as skewed as receivables are, the linearised one reads too small on a few dozen
    customers, as one large customer weighs on the ratio more than it says, and a test built on
    it finds differences that are not there.
    """
    due = [float(o.amount_due) for o in observations]
    got = [float(o.collected) for o in observations]
    total_due, total_got = sum(due), sum(got)
    if not total_due:
        return None
    rate = total_got / total_due
    n = len(observations)
    if n < 2 or any(total_due - d <= 0 for d in due):
        return rate, None
    left_out = [(total_got - g) / (total_due - d) for g, d in zip(got, due)]
    centre = sum(left_out) / n
    return rate, (n - 1) / n * sum((value - centre) ** 2 for value in left_out)


def _recovery(
    observations: Sequence[VariantObservation], confidence: float
) -> tuple[float | None, tuple[float, float] | None]:
    """Amount-weighted recovery rate with a confidence interval (normal, jackknife variance)."""
    estimate = _ratio_and_variance(observations)
    if estimate is None:
        return None, None
    rate, variance = estimate
    if variance is None:
        return rate, None
    half = normal_ppf(1 - (1 - confidence) / 2) * math.sqrt(variance)
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


@dataclass(frozen=True, slots=True)
class _Arm:
    """What a comparison needs of one arm: its recovery rate and paid share with their variances."""

    customers: int
    rate: float | None
    rate_variance: float | None
    paid_share: float | None

    @property
    def paid_variance(self) -> float:
        share = self.paid_share or 0.0
        return share * (1 - share) / self.customers if self.customers else 0.0


def _arm(observations: Sequence[VariantObservation], summary: VariantResult) -> _Arm:
    estimate = _ratio_and_variance(observations)
    variance = estimate[1] if estimate is not None else None
    return _Arm(summary.customers, summary.recovery_rate, variance, summary.paid_share)


def _compare(result: VariantResult, mine: _Arm, control: _Arm, alpha: float, mde: float) -> VariantResult:
    """The variant against the control: difference in recovery rate, its confidence sequence and decision."""
    difference = None if mine.rate is None or control.rate is None else mine.rate - control.rate
    paid_difference = None
    if mine.paid_share is not None and control.paid_share is not None:
        paid_difference = mine.paid_share - control.paid_share
    testable = min(mine.customers, control.customers) >= MINIMUM_CUSTOMERS
    if not testable or difference is None or mine.rate_variance is None or control.rate_variance is None:
        return replace(
            result, recovery_difference=difference, paid_share_difference=paid_difference, decision=UNDECIDED
        )
    variance = mine.rate_variance + control.rate_variance
    interval = confidence_sequence(difference, variance, mde, alpha)
    decision = BETTER if interval[0] > 0 else WORSE if interval[1] < 0 else UNDECIDED
    paid_p = None
    if paid_difference is not None:
        paid_p = always_valid_p_value(paid_difference, mine.paid_variance + control.paid_variance, mde)
    return replace(
        result,
        recovery_difference=difference,
        difference_standard_error=math.sqrt(variance),
        difference_interval=interval,
        always_valid_p_value=always_valid_p_value(difference, variance, mde),
        paid_share_difference=paid_difference,
        paid_share_always_valid_p_value=paid_p,
        decision=decision,
        significant=decision != UNDECIDED,
    )


def _verdict(control: str, compared: Sequence[VariantResult]) -> tuple[bool, str | None]:
    """May the experiment stop, and who won: the best variant that beats the control, or the control beating all."""
    better = [v for v in compared if v.decision == BETTER]
    if better:
        return True, max(better, key=lambda v: v.recovery_difference or 0.0).variant
    if compared and all(v.decision == WORSE for v in compared):
        return True, control
    return False, None


def experiment_results(
    observations: Sequence[VariantObservation],
    control: str | None = None,
    confidence: float = 0.95,
    mde: float = 0.05,
) -> ExperimentReport:
    """Summarise each variant and test it against the control (default: first variant key in order).

    The test is a normal-mixture SPRT on the difference in amount-weighted recovery rate, tuned
    to ``mde``; its level, 1 - ``confidence``, is split evenly over the comparisons (Bonferroni),
    so the report can be read at any time, as often as wanted.
    """
    if not 0.0 < confidence < 1.0 or mde <= 0:
        raise ValueError("confidence must be in (0, 1) and mde more than 0")
    grouped: dict[str, list[VariantObservation]] = {}
    for observation in observations:
        grouped.setdefault(observation.variant, []).append(observation)
    if not grouped:
        return ExperimentReport(control=control or "", confidence=confidence, variants=(), mde=mde)
    control_key = control if control is not None else sorted(grouped)[0]
    if control_key not in grouped:
        raise ValueError(f"control: no observations for variant {control_key!r}")
    alpha = (1 - confidence) / max(1, len(grouped) - 1)
    summaries = {key: _summarise(key, group, confidence) for key, group in sorted(grouped.items())}
    arms = {key: _arm(grouped[key], summary) for key, summary in summaries.items()}
    results = [
        summary if key == control_key else _compare(summary, arms[key], arms[control_key], alpha, mde)
        for key, summary in summaries.items()
    ]
    stop, winner = _verdict(control_key, [r for r in results if r.variant != control_key])
    return ExperimentReport(
        control=control_key,
        confidence=confidence,
        variants=tuple(results),
        alpha_per_comparison=alpha,
        mde=mde,
        stop=stop,
        winner=winner,
    )


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
