"""Payment plans: schedules, allocation of payments to instalments, status, policy limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta

from .decisions import InstallmentState, PlanEvaluation
from .errors import PlanRuleError
from .money import quantum, round_money
from .pauses import Cover, add_cover
from .policy import PlanRule
from .types import FREQUENCIES, Installment, Payment, PaymentPlan

_ZERO = Decimal(0)
ACTIVE_STATUSES = frozenset({"good_standing", "late"})


def due_dates(first_due: date, count: int, frequency: str) -> list[date]:
    """Return ``count`` due dates from ``first_due``; monthly dates are computed from the first, never chained."""
    if frequency == "weekly":
        return [first_due + timedelta(weeks=n) for n in range(count)]
    if frequency == "biweekly":
        return [first_due + timedelta(weeks=2 * n) for n in range(count)]
    return [first_due + relativedelta(months=n) for n in range(count)]


def _check_arguments(total: Decimal, currency: str, installments: int, frequency: str, down_payment: Decimal) -> None:
    step = quantum(currency)
    if installments < 1:
        raise ValueError(f"installments: must be at least 1, got {installments}")
    if total <= 0:
        raise ValueError(f"total: must be positive, got {total}")
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency: {frequency!r} is not one of {', '.join(FREQUENCIES)}")
    if down_payment < 0 or down_payment >= total:
        raise ValueError(f"down_payment: must be at least 0 and less than the total ({total}), got {down_payment}")
    for name, amount in (("total", total), ("down_payment", down_payment)):
        if amount != amount.quantize(step):
            raise ValueError(f"{name}: {amount} has more decimals than {currency} allows ({step})")


def build_schedule(
    total: Decimal,
    currency: str,
    installments: int,
    frequency: str,
    first_due: date,
    down_payment: Decimal = _ZERO,
    down_payment_date: date | None = None,
) -> tuple[Installment, ...]:
    """Split a total into a down payment and equal instalments; the rounding remainder goes on the last."""
    _check_arguments(total, currency, installments, frequency, down_payment)
    schedule = []
    if down_payment > 0:
        schedule.append(Installment(0, down_payment_date or first_due, down_payment))
    rest = total - down_payment
    share = (rest / installments).quantize(quantum(currency), rounding=ROUND_DOWN)
    dates = due_dates(first_due, installments, frequency)
    for number, due in enumerate(dates, start=1):
        amount = share if number < installments else rest - share * (installments - 1)
        schedule.append(Installment(number, due, amount))
    return tuple(schedule)


def make_plan(
    id: str,
    customer_id: str,
    created_on: date,
    currency: str,
    total: Decimal,
    installments: int,
    frequency: str,
    first_due: date,
    down_payment: Decimal = _ZERO,
    grace_days: int = 0,
    item_ids: tuple[str, ...] = (),
) -> PaymentPlan:
    """Build a payment plan with its schedule."""
    schedule = build_schedule(total, currency, installments, frequency, first_due, down_payment, created_on)
    return PaymentPlan(
        id=id,
        customer_id=customer_id,
        created_on=created_on,
        currency=currency,
        total=total,
        installments=schedule,
        frequency=frequency,
        grace_days=grace_days,
        item_ids=item_ids,
    )


def validate_plan(plan: PaymentPlan, rule: PlanRule | None, risk_category: str) -> list[str]:
    """Return the ways a plan breaks the policy's rule for the risk category (empty when allowed)."""
    if rule is None:
        return [f"risk_category: no payment plans are allowed for {risk_category!r}"]
    problems = []
    regular = [i for i in plan.installments if i.sequence > 0]
    if len(regular) > rule.max_installments:
        problems.append(
            f"installments: {len(regular)} exceeds the maximum of {rule.max_installments} "
            f"for risk category {risk_category!r}"
        )
    down = sum((i.amount for i in plan.installments if i.sequence == 0), _ZERO)
    minimum = round_money(plan.total * rule.min_down_payment_pct / 100, plan.currency)
    if down < minimum:
        problems.append(
            f"down_payment: {down} is below the minimum of {rule.min_down_payment_pct}% ({minimum}) "
            f"for risk category {risk_category!r}"
        )
    if plan.frequency not in rule.frequencies:
        problems.append(
            f"frequency: {plan.frequency!r} is not allowed for risk category {risk_category!r} "
            f"(allowed: {', '.join(rule.frequencies)})"
        )
    if plan.grace_days > rule.grace_days:
        problems.append(f"grace_days: {plan.grace_days} exceeds the {rule.grace_days} allowed for {risk_category!r}")
    scheduled = sum((i.amount for i in plan.installments), _ZERO)
    if scheduled != plan.total:
        problems.append(f"installments: they add up to {scheduled}, not the plan total {plan.total}")
    return problems


def check_plan(plan: PaymentPlan, rule: PlanRule | None, risk_category: str) -> None:
    """Raise PlanRuleError naming each problem when a plan breaks the policy's rule."""
    problems = validate_plan(plan, rule, risk_category)
    if problems:
        raise PlanRuleError(problems)


def _plan_money(plan: PaymentPlan, payment: Payment) -> Decimal:
    if not plan.item_ids or not payment.allocations or plan.payment_ids:
        return payment.amount
    wanted = set(plan.item_ids)
    return sum((a.amount for a in payment.allocations if a.item_id in wanted), _ZERO)


def plan_payments(plan: PaymentPlan, payments: Sequence[Payment]) -> list[Payment]:
    """Return the payments that count towards a plan: the ones it names, else the customer's since it began."""
    if plan.payment_ids:
        named = set(plan.payment_ids)
        return [p for p in payments if p.id in named]
    return [
        p
        for p in payments
        if p.customer_id == plan.customer_id and p.currency == plan.currency and p.date >= plan.created_on
    ]


def allocate(plan: PaymentPlan, payments: Sequence[Payment], as_of: date | None = None) -> tuple[InstallmentState, ...]:
    """Allocate payments (dated <= as_of) to instalments, oldest first; money beyond the total is ignored."""
    money = sum((_plan_money(plan, p) for p in payments if as_of is None or p.date <= as_of), _ZERO)
    states = []
    for installment in sorted(plan.installments, key=lambda i: (i.due_date, i.sequence)):
        paid = min(money, installment.amount)
        money -= paid
        states.append((installment, paid))
    return tuple(
        InstallmentState(i.sequence, i.due_date, i.amount, paid, _installment_status(i, paid, plan, as_of))
        for i, paid in states
    )


def _installment_status(installment: Installment, paid: Decimal, plan: PaymentPlan, as_of: date | None) -> str:
    if paid >= installment.amount:
        return "paid"
    if as_of is not None and as_of > installment.due_date + timedelta(days=plan.grace_days):
        return "overdue"
    if as_of is not None and as_of > installment.due_date:
        return "late"
    return "partial" if paid > 0 else "open"


def evaluate_plan(plan: PaymentPlan, payments: Sequence[Payment], as_of: date) -> PlanEvaluation:
    """Return a plan's status as of a date: good standing, late, broken, completed or cancelled."""
    states = allocate(plan, plan_payments(plan, payments), as_of)
    paid = sum((s.paid for s in states), _ZERO)
    statuses = {s.status for s in states}
    if plan.cancelled:
        status = "cancelled"
    elif paid >= plan.total:
        status = "completed"
    elif "overdue" in statuses:
        status = "broken"
    elif "late" in statuses:
        status = "late"
    else:
        status = "good_standing"
    next_due = next((s.due_date for s in states if s.paid < s.amount), None)
    return PlanEvaluation(plan.id, plan.customer_id, status, plan.total, paid, next_due, states)


def evaluate_plans(plans: Sequence[PaymentPlan], payments: Sequence[Payment], as_of: date) -> dict[str, PlanEvaluation]:
    """Evaluate every plan created on or before ``as_of``, keyed by plan id."""
    if not plans:
        return {}
    customers = {plan.customer_id for plan in plans}
    by_customer: dict[str, list[Payment]] = {}
    for payment in payments:
        if payment.customer_id in customers:
            by_customer.setdefault(payment.customer_id, []).append(payment)
    return {
        plan.id: evaluate_plan(plan, by_customer.get(plan.customer_id, []), as_of)
        for plan in plans
        if plan.created_on <= as_of
    }


def plan_covered_item_ids(
    evaluations: Mapping[str, PlanEvaluation], plans: Sequence[PaymentPlan]
) -> dict[str, frozenset[str] | None]:
    """Return, per customer with an active plan, the items it pauses (None: all of them)."""
    covered: Cover = {}
    for plan in plans:
        evaluation = evaluations.get(plan.id)
        if evaluation is None or evaluation.status not in ACTIVE_STATUSES:
            continue
        add_cover(covered, plan.customer_id, plan.item_ids)
    return covered


def broken_plan_count(evaluations: Mapping[str, PlanEvaluation], since: date) -> dict[str, int]:
    """Count broken plans per customer whose schedule ran on or after ``since``."""
    counts: dict[str, int] = {}
    for evaluation in evaluations.values():
        last_due = max((s.due_date for s in evaluation.installments), default=since)
        if evaluation.status == "broken" and last_due >= since:
            counts[evaluation.customer_id] = counts.get(evaluation.customer_id, 0) + 1
    return counts


def installment_reminders(
    evaluation: PlanEvaluation, today: date, days_before: int
) -> list[tuple[InstallmentState, str]]:
    """Return the instalments of an active plan that call for a reminder today, with ``pre_due`` or ``overdue``.

    ``pre_due``: unpaid and due within ``days_before`` days (today included); ``overdue``: past its due date
    and unpaid while the plan still stands (inside its grace days). A broken plan gets none: the dunning of
    its items resumes instead.
    """
    if evaluation.status not in ACTIVE_STATUSES:
        return []
    reminders = []
    for state in evaluation.installments:
        if state.paid >= state.amount:
            continue
        if state.status == "late":
            reminders.append((state, "overdue"))
        elif 0 <= (state.due_date - today).days <= days_before:
            reminders.append((state, "pre_due"))
    return reminders
