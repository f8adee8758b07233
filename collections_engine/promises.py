"""Promises to pay: kept, partially kept, broken or pending, from the payments received."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from .decisions import PromiseEvaluation
from .money import quantum
from .pauses import Cover, add_cover
from .policy import PromisePolicy
from .types import Payment, Promise

_ZERO = Decimal(0)


def promise_deadline(promise: Promise, rules: PromisePolicy) -> date:
    """Return the last day a payment counts towards the promise (promised date + grace)."""
    return promise.promised_date + timedelta(days=rules.grace_days)


def validate_promise(promise: Promise, rules: PromisePolicy, open_amount: Decimal) -> list[str]:
    """Return the ways a new promise breaks the policy's limits or the ledger (empty when it may be recorded).

    ``open_amount`` is what the customer owes on the promised items (all of them when it names none), in
    the promise's currency: a promise cannot be for more.
    """
    problems = []
    step = quantum(promise.currency)
    if promise.amount <= 0:
        problems.append(f"amount: must be positive, got {promise.amount}")
    elif promise.amount != promise.amount.quantize(step):
        problems.append(f"amount: {promise.amount} has more decimals than {promise.currency} allows ({step})")
    elif promise.amount > open_amount:
        problems.append(
            f"amount: {promise.amount} {promise.currency} is more than the {open_amount} {promise.currency} "
            "open on the promised items"
        )
    ahead = (promise.promised_date - promise.created_on).days
    if ahead < 0:
        problems.append(
            f"promised_date: {promise.promised_date} is before the day of the promise ({promise.created_on})"
        )
    elif ahead > rules.max_days_ahead:
        problems.append(
            f"promised_date: {promise.promised_date} is {ahead} days ahead; the policy allows at most "
            f"{rules.max_days_ahead} (promises.max_days_ahead)"
        )
    return problems


def _available(payment: Payment, item_ids: tuple[str, ...]) -> Decimal:
    """Money of a payment that can count towards a promise on ``item_ids`` (all items when empty)."""
    if not item_ids or not payment.allocations:
        return payment.amount
    wanted = set(item_ids)
    return sum((a.amount for a in payment.allocations if a.item_id in wanted), _ZERO)


def _status(promise: Promise, paid: Decimal, deadline: date, rules: PromisePolicy, as_of: date) -> str:
    if promise.cancelled:
        return "cancelled"
    if paid >= promise.amount * (1 - rules.tolerance_pct / 100):
        return "kept"
    if as_of <= deadline:
        return "pending"
    return "partially_kept" if paid > 0 else "broken"


def _evaluate_customer(
    promises: list[Promise], payments: list[Payment], rules: PromisePolicy, as_of: date
) -> list[PromiseEvaluation]:
    """Evaluate one customer's promises; a payment is consumed once, earliest promise first."""
    remaining = {payment.id: payment.amount for payment in payments}
    result = []
    for promise in sorted(promises, key=lambda p: (p.promised_date, p.created_on, p.id)):
        deadline = promise_deadline(promise, rules)
        paid = _ZERO
        if not promise.cancelled:
            last_day = min(deadline, as_of)
            for payment in payments:
                if payment.currency != promise.currency or not promise.created_on <= payment.date <= last_day:
                    continue
                wanted = promise.amount - paid
                if wanted <= 0:
                    break
                take = min(wanted, remaining[payment.id], _available(payment, promise.item_ids))
                if take > 0:
                    remaining[payment.id] -= take
                    paid += take
        status = _status(promise, paid, deadline, rules, as_of)
        result.append(PromiseEvaluation(promise.id, promise.customer_id, status, promise.amount, paid, deadline))
    return result


def evaluate_promises(
    promises: Sequence[Promise], payments: Sequence[Payment], rules: PromisePolicy, as_of: date
) -> dict[str, PromiseEvaluation]:
    """Evaluate every promise made on or before ``as_of``, keyed by promise id."""
    if not promises:
        return {}
    by_customer: dict[str, list[Promise]] = {}
    for promise in promises:
        if promise.created_on <= as_of:
            by_customer.setdefault(promise.customer_id, []).append(promise)
    paid_by: dict[str, list[Payment]] = {}
    for payment in payments:
        if payment.customer_id in by_customer and payment.date <= as_of:
            paid_by.setdefault(payment.customer_id, []).append(payment)
    result: dict[str, PromiseEvaluation] = {}
    for customer_id, customer_promises in by_customer.items():
        ordered = sorted(paid_by.get(customer_id, []), key=lambda p: (p.date, p.id))
        for evaluation in _evaluate_customer(customer_promises, ordered, rules, as_of):
            result[evaluation.promise_id] = evaluation
    return result


def active_promise_item_ids(
    evaluations: Mapping[str, PromiseEvaluation], promises: Sequence[Promise]
) -> dict[str, frozenset[str] | None]:
    """Return, per customer with a pending promise, the items it pauses (None: all of them)."""
    covered: Cover = {}
    for promise in promises:
        evaluation = evaluations.get(promise.id)
        if evaluation is None or evaluation.status != "pending":
            continue
        add_cover(covered, promise.customer_id, promise.item_ids)
    return covered


def broken_promise_count(evaluations: Mapping[str, PromiseEvaluation], since: date) -> dict[str, float]:
    """Count broken promises per customer since a date (a partially kept one counts half)."""
    weights = {"broken": 1.0, "partially_kept": 0.5}
    counts: dict[str, float] = {}
    for evaluation in evaluations.values():
        weight = weights.get(evaluation.status)
        if weight and evaluation.deadline >= since:
            counts[evaluation.customer_id] = counts.get(evaluation.customer_id, 0.0) + weight
    return counts
