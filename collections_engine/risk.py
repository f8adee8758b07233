"""Explainable 0-100 risk score per customer, from payment behaviour."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .decisions import RiskAssessment
from .policy import RISK_FACTORS, Policy
from .types import ReceivableItem


@dataclass(slots=True)
class BehaviourFacts:
    """What is known of a customer's payment behaviour as of a date (the score's inputs)."""

    settled_items: int
    late_items: int
    settled_weight: float
    late_weight: float
    weighted_days_late: float
    weight: float
    disputed_items: int
    seen_items: int
    open_amount: float
    overdue_amount: float
    broken_promises: float
    broken_plans: int
    credit_limit: float | None
    timing_days: float = 0.0
    """Recency-weighted sum of days from due date to payment (early: negative; each within +-saturation)."""
    timing_weight: float = 0.0


def behaviour_facts(
    items: Sequence[ReceivableItem],
    as_of: date,
    policy: Policy,
    broken_promises: float = 0.0,
    broken_plans: int = 0,
    credit_limit: Decimal | None = None,
    rates: Mapping[str, Decimal] | None = None,
) -> BehaviourFacts:
    """Summarise a customer's items into the facts the score reads (one pass, no allocation)."""
    today = as_of.toordinal()
    since = today - policy.risk.lookback_days
    tolerance = policy.risk.late_tolerance_days
    settled = late = disputed = seen = 0
    weighted = weight = open_amount = overdue = settled_weight = late_weight = timing = timing_weight = 0.0
    half_life = policy.risk.half_life_days
    long_overdue = policy.risk.days_late_saturation
    early = -long_overdue
    for item in items:
        issued = item.issue_date.toordinal()
        if issued > today or item.is_credit:
            continue
        due = item.due_date.toordinal()
        rate = float(rates.get(item.currency, 1)) if rates else 1.0
        settled_on = item.settled_on
        settled_day = settled_on.toordinal() if settled_on is not None else None
        if settled_day is not None and settled_day <= today:
            if settled_day < since:
                continue
            days_late = settled_day - due
            recency = 0.5 ** ((today - settled_day) / half_life) if half_life else 1.0
            amount = float(item.amount) * rate * recency
            settled += 1
            settled_weight += recency
            timing_weight += recency
            capped = early if days_late < early else long_overdue if days_late > long_overdue else days_late
            timing += recency * capped
            if days_late > tolerance:
                late += 1
                late_weight += recency
                weighted += days_late * amount
            weight += amount
        else:
            open_decimal = item.residual
            if settled_day is not None and not open_decimal:
                open_decimal = item.amount  # settled after as_of: still open on that day
            if open_decimal <= 0:
                continue
            residual = float(open_decimal) * rate if rates else float(open_decimal)
            open_amount += residual
            days_overdue = today - due
            if days_overdue > 0:
                overdue += residual
                if days_overdue > tolerance:
                    weighted += days_overdue * residual
                    timing += days_overdue if days_overdue < long_overdue else long_overdue
                    timing_weight += 1.0
                if days_overdue > long_overdue:  # so late already that it counts as paid late
                    late_weight += 1.0
                    settled_weight += 1.0
                weight += residual
        seen += 1
        if item.disputed:
            disputed += 1
    limit = float(credit_limit) if credit_limit else None
    return BehaviourFacts(
        settled,
        late,
        settled_weight,
        late_weight,
        weighted,
        weight,
        disputed,
        seen,
        open_amount,
        overdue,
        broken_promises,
        broken_plans,
        limit,
        timing,
        timing_weight,
    )


@dataclass(frozen=True, slots=True)
class RiskModel:
    """The policy's risk settings prepared once per run: per-factor offsets, scales and weights as tuples (a
    factor's share of its points is (value + offset) / scale, kept within 0-1)."""

    offsets: tuple[float, ...]
    scales: tuple[float, ...]
    weights: tuple[float, ...]
    points_per_unit: tuple[float, ...]
    prior_late: float
    prior_items: float
    thresholds: tuple[int, ...]
    category_keys: tuple[str, ...]

    @classmethod
    def from_policy(cls, policy: Policy) -> RiskModel:
        """Prepare the model of a policy."""
        risk = policy.risk
        weights = tuple(float(risk.weights[factor]) for factor in RISK_FACTORS)
        total = sum(weights) or 1.0
        early = risk.early_payment_days
        scales = (
            risk.days_late_saturation,
            1,
            risk.broken_promises_saturation,
            risk.broken_plans_saturation,
            1,
            1,
            1,
            risk.days_late_saturation + early or 1,
        )
        return cls(
            offsets=(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, float(early)),
            scales=tuple(float(scale) for scale in scales),
            weights=weights,
            points_per_unit=tuple(100.0 * weight / total for weight in weights),
            prior_late=risk.prior_late_share * risk.prior_items,
            prior_items=risk.prior_items,
            thresholds=tuple(category.min_score for category in risk.categories),
            category_keys=tuple(category.key for category in risk.categories),
        )


def score_facts(
    customer_id: str, facts: BehaviourFacts, policy: Policy, model: RiskModel | None = None
) -> RiskAssessment:
    """Turn behaviour facts into a score, its category and each factor's contribution."""
    model = model or RiskModel.from_policy(policy)
    settled = facts.settled_weight + model.prior_items
    values = (
        facts.weighted_days_late / facts.weight if facts.weight else 0.0,
        (facts.late_weight + model.prior_late) / settled if settled else 0.0,
        facts.broken_promises,
        float(facts.broken_plans),
        facts.overdue_amount / facts.open_amount if facts.open_amount else 0.0,
        facts.open_amount / facts.credit_limit if facts.credit_limit else 0.0,
        facts.disputed_items / facts.seen_items if facts.seen_items else 0.0,
        facts.timing_days / (facts.timing_weight + model.prior_items) if facts.timing_weight else 0.0,
    )
    normalized = [(value + offset) / scale for value, offset, scale in zip(values, model.offsets, model.scales)]
    normalized = [0.0 if n < 0.0 else 1.0 if n > 1.0 else n for n in normalized]
    points = [n * unit for n, unit in zip(normalized, model.points_per_unit)]
    score = round(min(100.0, sum(points)), 2)
    return RiskAssessment(
        customer_id=customer_id,
        score=score,
        category=model.category_keys[bisect_right(model.thresholds, score) - 1],
        breakdown=tuple(zip(RISK_FACTORS, values, normalized, model.weights, points)),
        settled_items=facts.settled_items,
        has_history=facts.seen_items > 0,
    )


def assess_customer(
    customer_id: str,
    items: Sequence[ReceivableItem],
    as_of: date,
    policy: Policy,
    broken_promises: float = 0.0,
    broken_plans: int = 0,
    credit_limit: Decimal | None = None,
    rates: Mapping[str, Decimal] | None = None,
) -> RiskAssessment:
    """Score one customer as of a date from the items issued before it."""
    facts = behaviour_facts(items, as_of, policy, broken_promises, broken_plans, credit_limit, rates)
    return score_facts(customer_id, facts, policy)
