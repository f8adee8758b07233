"""Collection KPIs: DSO (standard and countback), CEI, ADD, delinquency, recovery, promises, cost.

All amounts are in the company currency. Balances at the start of the period are rebuilt
from payment allocations and settlement dates, so KPIs can be computed as of any date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from .balances import allocations_by_item, balance_on
from .decisions import Decisions
from .engine import local_today
from .money import rate_for, round_money
from .policy import Policy
from .promises import evaluate_promises
from .types import CollectionCost, History, Portfolio, ReceivableItem

GROUPINGS: tuple[str, ...] = ("collector", "risk_category", "variant")
_ZERO = Decimal(0)
_COUNTBACK_MONTHS = 36


@dataclass(slots=True)
class _Totals:
    """Running sums of one group (customers pooled)."""

    ar_start: Decimal = _ZERO
    ar_end: Decimal = _ZERO
    current_end: Decimal = _ZERO
    overdue_end: Decimal = _ZERO
    overdue_start: Decimal = _ZERO
    recovered: Decimal = _ZERO
    collected: Decimal = _ZERO
    collected_dunned: Decimal = _ZERO
    sales: Decimal = _ZERO
    monthly_sales: list[Decimal] = field(default_factory=lambda: [_ZERO] * _COUNTBACK_MONTHS)
    customers_open: set[str] = field(default_factory=set)
    customers_overdue: set[str] = field(default_factory=set)
    days_late_weighted: Decimal = _ZERO
    actions: int = 0
    cost: Decimal = _ZERO
    promises_due: int = 0
    promises_kept: int = 0


@dataclass(frozen=True, slots=True)
class KpiSet:
    """KPIs of one group over one period."""

    period_start: date
    period_end: date
    currency: str
    receivables: Decimal
    overdue: Decimal
    credit_sales: Decimal
    dso: float | None
    dso_countback: float | None
    best_possible_dso: float | None
    average_days_delinquent: float | None
    cei: float | None
    customers_with_balance: int
    customers_delinquent: int
    pct_customers_delinquent: float | None
    pct_amount_delinquent: float | None
    recovery_rate: float | None
    promises_due: int
    promise_kept_rate: float | None
    actions: int
    collection_cost: Decimal
    collected: Decimal
    cost_per_collection: float | None


@dataclass(frozen=True, slots=True)
class KpiReport:
    """Overall KPIs and, when asked, the same KPIs per group."""

    overall: KpiSet
    grouping: str | None
    groups: Mapping[str, KpiSet]


def _ratio(numerator: Decimal | float, denominator: Decimal | float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def compute_kpis(
    portfolio: Portfolio,
    policy: Policy,
    history: History,
    as_of: datetime,
    decisions: Decisions | None = None,
    grouping: str | None = None,
    groups: Mapping[str, str] | None = None,
    other_costs: Sequence[CollectionCost] = (),
) -> KpiReport:
    """Compute the KPIs over the policy's period ending at ``as_of``, overall and per group.

    ``grouping`` is one of GROUPINGS, computed from the portfolio or the decisions; or, with
    ``groups`` (each customer's group, e.g. a team kept outside the engine), any name for
    that grouping (customers missing from ``groups`` fall in "unassigned"). ``other_costs`` (an
    agency's commission...) add to the cost of the period they fall in and of their customer's
    group, but are no contacts.
    """
    if groups is not None:
        if not grouping:
            raise ValueError("grouping: name the grouping that groups gives")
    elif grouping is not None and grouping not in GROUPINGS:
        raise ValueError(f"grouping: {grouping!r} is not one of {', '.join(GROUPINGS)}")
    elif grouping in ("risk_category", "variant") and decisions is None:
        raise ValueError(f"grouping: {grouping!r} needs the decisions of a planning run")
    end = local_today(policy, as_of)
    start = end - timedelta(days=policy.kpi.period_days)
    group_of = _given_groups(groups) if groups is not None else _group_function(portfolio, decisions, grouping)
    totals: dict[str, _Totals] = {}
    overall = _Totals()
    dunned = {item_id for event in history.events if event.at <= as_of for item_id in event.item_ids}
    allocations = allocations_by_item(portfolio.payments)
    month_starts = [end - relativedelta(months=months + 1) for months in range(_COUNTBACK_MONTHS)]
    for item in portfolio.items:
        group = totals.setdefault(group_of(item.customer_id), _Totals()) if grouping else None
        facts = _item_facts(item, start, end, allocations.get(item.id), portfolio, item.id in dunned, month_starts)
        for target in (overall, group):
            if target is not None:
                _add(target, item.customer_id, facts)
    _add_events(history, start, as_of, overall, totals, group_of if grouping else None)
    _add_promises(portfolio, policy, start, end, overall, totals, group_of if grouping else None)
    _add_other_costs(other_costs, start, end, overall, totals, group_of if grouping else None)
    currency = portfolio.company_currency
    return KpiReport(
        overall=_finish(overall, start, end, currency, month_starts),
        grouping=grouping,
        groups={key: _finish(value, start, end, currency, month_starts) for key, value in sorted(totals.items())},
    )


def _given_groups(groups: Mapping[str, str]) -> Callable[[str], str]:
    given = dict(groups)
    return lambda customer_id: given.get(customer_id, "unassigned")


def _group_function(portfolio: Portfolio, decisions: Decisions | None, grouping: str | None) -> Callable[[str], str]:
    if grouping == "collector":
        collectors = {customer.id: customer.collector or "unassigned" for customer in portfolio.customers}
        return lambda customer_id: collectors.get(customer_id, "unassigned")
    if decisions is not None and grouping == "risk_category":
        categories = {decision.customer_id: decision.risk.category for decision in decisions.customers}
        return lambda customer_id: categories.get(customer_id, "unknown")
    if decisions is not None and grouping == "variant":
        variants = {d.customer_id: f"{d.strategy}/{d.variant}" for d in decisions.customers}
        return lambda customer_id: variants.get(customer_id, "unknown")
    return lambda customer_id: "all"


@dataclass(slots=True)
class _ItemFacts:  # not frozen: a frozen dataclass is set field by field through object.__setattr__
    sign: int
    balance_start: Decimal
    balance_end: Decimal
    overdue_start: bool
    overdue_end: bool
    sale: Decimal
    sale_month: int | None
    month_sale: Decimal
    dunned: bool


def _item_facts(
    item: ReceivableItem,
    start: date,
    end: date,
    paid_after: Sequence[tuple[date, Decimal]] | None,
    portfolio: Portfolio,
    dunned: bool,
    month_starts: Sequence[date],
) -> _ItemFacts:
    rate = rate_for(item.currency, portfolio.company_currency, portfolio.rates)
    sign = -1 if item.is_credit else 1
    signed_amount = item.amount * rate * sign
    # credit sales are invoices less credit notes: money received on account is not a sale
    is_sale = item.kind != "payment"
    sale = signed_amount if is_sale and start < item.issue_date <= end else _ZERO
    month = None
    if is_sale and month_starts[-1] < item.issue_date <= end:
        month = next(index for index, first in enumerate(month_starts) if item.issue_date > first)
    return _ItemFacts(
        sign=sign,
        balance_start=balance_on(item, start, paid_after) * rate,
        balance_end=balance_on(item, end, paid_after) * rate,
        overdue_start=item.due_date < start,
        overdue_end=item.due_date < end,
        sale=sale,
        sale_month=month,
        month_sale=signed_amount if month is not None else _ZERO,
        dunned=dunned,
    )


def _add(target: _Totals, customer_id: str, facts: _ItemFacts) -> None:
    signed_start = facts.balance_start * facts.sign
    signed_end = facts.balance_end * facts.sign
    target.ar_start += signed_start
    target.ar_end += signed_end
    target.sales += facts.sale
    if facts.sale_month is not None:
        target.monthly_sales[facts.sale_month] += facts.month_sale
    if facts.sign < 0:
        return
    if facts.balance_end > 0:
        target.customers_open.add(customer_id)
        if facts.overdue_end:
            target.overdue_end += facts.balance_end
            target.customers_overdue.add(customer_id)
        else:
            target.current_end += facts.balance_end
    if facts.overdue_start and facts.balance_start > 0:
        target.overdue_start += facts.balance_start
        target.recovered += max(_ZERO, facts.balance_start - facts.balance_end)
    paid = max(_ZERO, facts.balance_start - facts.balance_end) + (
        (facts.sale - facts.balance_end) if facts.sale > 0 else _ZERO
    )
    target.collected += paid
    if facts.dunned:
        target.collected_dunned += paid


def _targets(
    customer_id: str, overall: _Totals, totals: dict[str, _Totals], group_of: Callable[[str], str] | None
) -> list[_Totals]:
    """The totals a customer's figure adds to: the overall ones, and its group's when grouping."""
    if group_of is None:
        return [overall]
    return [overall, totals.setdefault(group_of(customer_id), _Totals())]


def _add_events(
    history: History,
    start: date,
    as_of: datetime,
    overall: _Totals,
    totals: dict[str, _Totals],
    group_of: Callable[[str], str] | None,
) -> None:
    for event in history.events:
        if not (start < event.at.date() and event.at <= as_of):
            continue
        for target in _targets(event.customer_id, overall, totals, group_of):
            target.actions += 1
            target.cost += event.cost


def _add_other_costs(
    costs: Sequence[CollectionCost],
    start: date,
    end: date,
    overall: _Totals,
    totals: dict[str, _Totals],
    group_of: Callable[[str], str] | None,
) -> None:
    for cost in costs:
        if not start < cost.on <= end:
            continue
        for target in _targets(cost.customer_id, overall, totals, group_of):
            target.cost += cost.amount


def _add_promises(
    portfolio: Portfolio,
    policy: Policy,
    start: date,
    end: date,
    overall: _Totals,
    totals: dict[str, _Totals],
    group_of: Callable[[str], str] | None,
) -> None:
    evaluations = evaluate_promises(portfolio.promises, portfolio.payments, policy.promises, end)
    for evaluation in evaluations.values():
        if evaluation.status not in ("kept", "partially_kept", "broken"):
            continue
        kept_early = evaluation.status == "kept" and evaluation.deadline > end
        if not (start < evaluation.deadline <= end or kept_early):
            continue
        targets = [overall]
        if group_of is not None:
            targets.append(totals.setdefault(group_of(evaluation.customer_id), _Totals()))
        for target in targets:
            target.promises_due += 1
            target.promises_kept += evaluation.status == "kept"


def _countback(
    ar_end: Decimal, monthly_sales: Sequence[Decimal], end: date, month_starts: Sequence[date]
) -> float | None:
    """Days of the most recent sales that the open balance represents (countback DSO)."""
    if ar_end <= 0:
        return 0.0
    remaining = ar_end
    days = 0.0
    previous = end
    for sales, first in zip(monthly_sales, month_starts):
        month_days = (previous - first).days
        previous = first
        if sales <= 0:
            days += month_days
            continue
        if remaining <= sales:
            return days + month_days * float(remaining / sales)
        remaining -= sales
        days += month_days
    return None


def _finish(t: _Totals, start: date, end: date, currency: str, month_starts: Sequence[date]) -> KpiSet:
    period = (end - start).days
    dso = _ratio(t.ar_end * period, t.sales) if t.sales > 0 else None
    best = _ratio(t.current_end * period, t.sales) if t.sales > 0 else None
    cei_denominator = t.ar_start + t.sales - t.current_end
    return KpiSet(
        period_start=start,
        period_end=end,
        currency=currency,
        receivables=round_money(t.ar_end, currency),  # to the cent, as the aging's total
        overdue=round_money(t.overdue_end, currency),
        credit_sales=round_money(t.sales, currency),
        dso=dso,
        dso_countback=_countback(t.ar_end, t.monthly_sales, end, month_starts),
        best_possible_dso=best,
        average_days_delinquent=(dso - best) if dso is not None and best is not None else None,
        cei=_ratio((t.ar_start + t.sales - t.ar_end) * 100, cei_denominator) if cei_denominator > 0 else None,
        customers_with_balance=len(t.customers_open),
        customers_delinquent=len(t.customers_overdue),
        pct_customers_delinquent=_ratio(len(t.customers_overdue) * 100, len(t.customers_open)),
        pct_amount_delinquent=_ratio(t.overdue_end * 100, t.ar_end) if t.ar_end > 0 else None,
        recovery_rate=_ratio(t.recovered * 100, t.overdue_start),
        promises_due=t.promises_due,
        promise_kept_rate=_ratio(t.promises_kept * 100, t.promises_due),
        actions=t.actions,
        collection_cost=t.cost,
        collected=t.collected_dunned,
        cost_per_collection=_ratio(t.cost, t.collected_dunned),
    )
