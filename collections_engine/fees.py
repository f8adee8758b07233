"""Late fees and interest: what a customer is charged for paying late, per period and exact to the cent.

:func:`late_fees` reads the policy's ``late_fees`` section (``docs/policy.md``, Late fees) and returns, for
every customer the section covers, the lines to charge as of a day, per currency:

- fixed fees: once per invoice (or instalment) overdue past the grace days, once per reminder level that
  covered it, or once every period it stays overdue;
- a percentage of the overdue amount, once or every period, between a minimum and a maximum;
- interest, simple or compound, for each day of every *completed* period (the current one is charged when
  it is over), on the balance of that day (payments lower it from the day after), at the rate of that day,
  never above the maximum rate in force that day.

It is pure and idempotent: given what was charged before (:class:`~.types.ChargedFee`), a second call in the
same period proposes nothing new, and no line takes an item or a period above its cap. Nothing is charged on
a disputed item nor on an item under a payment plan in good standing (or late within its grace, as the
planner pauses it); interest does not accrue from a plan's start until the day it broke.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_DOWN, Decimal
from itertools import pairwise

from dateutil.relativedelta import relativedelta

from .contact import zone
from .contact_presets import AUDIENCES
from .decisions import CustomerFees, FeeLine, PlanEvaluation
from .engine import group_items
from .errors import InputError
from .money import quantum, round_money
from .phrases import Phrase
from .plans import evaluate_plans, plan_covered_item_ids
from .policy import FeeRules, FixedFee, InterestRule, LateFeePolicy, PercentageFee, Policy, dated_rate
from .types import FAILED_OUTCOMES, FEE_KINDS, ChargedFee, Customer, History, PaymentPlan, Portfolio, ReceivableItem

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_ONE_DAY = timedelta(days=1)
_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
_KIND_ORDER: dict[str, int] = {kind: index for index, kind in enumerate(FEE_KINDS)}


def period_start(day: date, period: str) -> date:
    """The first day of the calendar month, quarter or year (``period``) that holds ``day``."""
    months = _MONTHS[period]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def next_period(start: date, period: str) -> date:
    """The first day of the period after the one starting on ``start``."""
    following: date = start + relativedelta(months=_MONTHS[period])
    return following


def fee_key(*parts: str) -> str:
    """The stable key of a fee line: the same customer, item (or invoice), kind and occasion give the same key."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass(slots=True)
class _Draft:
    """A line being priced: the caps may still lower its amount and say so."""

    item: ReceivableItem
    kind: str
    key: str
    base: Decimal
    rate_pct: Decimal | None
    rate_unit: str | None
    days: int
    period: date
    amount: Decimal
    accrued_from: date | None = None
    accrued_to: date | None = None
    level: str | None = None
    why: list[Phrase] = field(default_factory=list)

    def line(self, customer_id: str) -> FeeLine:
        return FeeLine(
            key=self.key,
            customer_id=customer_id,
            item_id=self.item.id,
            invoice_ref=self.item.invoice_ref,
            currency=self.item.currency,
            kind=self.kind,
            base=self.base,
            rate_pct=self.rate_pct,
            rate_unit=self.rate_unit,
            days=self.days,
            period=self.period,
            amount=round_money(self.amount, self.item.currency),  # a minimum or a cap may be written "5": "5.00"
            accrued_from=self.accrued_from,
            accrued_to=self.accrued_to,
            level=self.level,
            reason_parts=tuple(self.why),
        )


@dataclass(slots=True)
class _Books:
    """What was charged before: its keys, the periods of interest charged per item, and the totals the caps count."""

    keys: set[str]
    interest_periods: set[tuple[str, date]]
    by_item: dict[str, Decimal]
    by_period: dict[tuple[str, str, date], Decimal]

    @classmethod
    def of(cls, charged: Sequence[ChargedFee]) -> _Books:
        books = cls(set(), set(), {}, {})
        for fee in charged:
            books.keys.add(fee.key)
            if fee.kind == "interest":
                books.interest_periods.add((fee.item_id, fee.period))
            books.by_item[fee.item_id] = books.by_item.get(fee.item_id, _ZERO) + fee.amount
            slot = (fee.customer_id, fee.currency, fee.period)
            books.by_period[slot] = books.by_period.get(slot, _ZERO) + fee.amount
        return books


_Pause = tuple[frozenset[str] | None, date, date | None]


@dataclass(slots=True)
class _FeeRun:
    """What every customer of one call shares."""

    fees: LateFeePolicy
    today: date
    period: date
    previous_period: date
    books: _Books
    levels_sent: dict[str, dict[str, date]]
    paid: dict[str, list[tuple[date, Decimal]]]
    plan_cover: Mapping[str, frozenset[str] | None]
    plan_pauses: dict[str, list[_Pause]]


def late_fees(
    portfolio: Portfolio,
    policy: Policy,
    as_of: datetime,
    charged: Sequence[ChargedFee] = (),
    history: History | None = None,
    risk_categories: Mapping[str, str] | None = None,
) -> tuple[CustomerFees, ...]:
    """Return the late fees and interest to charge as of ``as_of``, per customer and currency.

    ``charged`` are the lines charged before (``FeeLine.as_charged``); ``history`` tells which reminder levels
    covered each item (for fees per level); ``risk_categories`` (customer id -> category, as ``plan`` assesses
    them) is needed only when the policy exempts categories. Empty when the policy has no ``late_fees``.
    """
    fees = policy.late_fees
    if fees is None:
        return ()
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise InputError("as_of must be a timezone-aware datetime")
    tz = zone(policy.contact.timezone)
    today = as_of.astimezone(tz).date()
    if fees.effective_from is not None and today < fees.effective_from:
        return ()
    run = _prepare(portfolio, fees, today, charged)
    run.levels_sent = _levels_sent(history, as_of, tz)
    items_by_customer = group_items(portfolio, today)
    result: list[CustomerFees] = []
    for customer in portfolio.customers:
        rules = fees.rules_for(customer.country)
        if _covers(rules, customer, policy.contact.audience, risk_categories):
            drafts = _customer_drafts(run, rules, customer.id, items_by_customer.get(customer.id, ()))
            result.extend(_grouped(customer.id, _capped(run, rules, customer.id, drafts)))
    return tuple(result)


def _prepare(portfolio: Portfolio, fees: LateFeePolicy, today: date, charged: Sequence[ChargedFee]) -> _FeeRun:
    paid: dict[str, list[tuple[date, Decimal]]] = {}
    for payment in portfolio.payments:
        if payment.date <= today:
            for allocation in payment.allocations:
                paid.setdefault(allocation.item_id, []).append((payment.date, allocation.amount))
    evaluations = evaluate_plans(portfolio.plans, portfolio.payments, today)
    pauses: dict[str, list[_Pause]] = {}
    for plan in portfolio.plans:
        evaluation = evaluations.get(plan.id)
        if evaluation is not None and evaluation.status != "cancelled":
            covered = frozenset(plan.item_ids) or None
            pauses.setdefault(plan.customer_id, []).append((covered, plan.created_on, _broke_on(plan, evaluation)))
    period = period_start(today, fees.period)
    return _FeeRun(
        fees=fees,
        today=today,
        period=period,
        previous_period=period_start(period - _ONE_DAY, fees.period),
        books=_Books.of(charged),
        levels_sent={},
        paid=paid,
        plan_cover=plan_covered_item_ids(evaluations, portfolio.plans),
        plan_pauses=pauses,
    )


def _broke_on(plan: PaymentPlan, evaluation: PlanEvaluation) -> date | None:
    """The day a broken plan broke: its first overdue instalment's grace ran out the day before (None: not broken)."""
    if evaluation.status != "broken":
        return None
    overdue = [state.due_date for state in evaluation.installments if state.status == "overdue"]
    return min(overdue) + timedelta(days=plan.grace_days + 1) if overdue else None


def _levels_sent(history: History | None, as_of: datetime, tz: tzinfo) -> dict[str, dict[str, date]]:
    """Per item, the reminder levels that covered it (sent or planned by ``as_of``, not failed) and the first day."""
    sent: dict[str, dict[str, date]] = {}
    for event in history.events if history is not None else ():
        if event.level and event.known_at <= as_of and event.outcome not in FAILED_OUTCOMES:
            day = event.at.astimezone(tz).date()
            for item_id in event.item_ids:
                levels = sent.setdefault(item_id, {})
                if event.level not in levels or day < levels[event.level]:
                    levels[event.level] = day
    return sent


def _covers(rules: FeeRules, customer: Customer, default_audience: str, categories: Mapping[str, str] | None) -> bool:
    """Tell whether the rule set charges anything to this customer (audience, risk category)."""
    if not (rules.fixed or rules.percentage or rules.interest):
        return False
    audience = customer.audience or default_audience
    if (audience if audience in AUDIENCES else "b2c") not in rules.audiences:
        return False
    if rules.exempt_risk_categories:
        if categories is None:
            raise InputError("the policy's late fees exempt risk categories: pass risk_categories (plan() does)")
        return categories.get(customer.id) not in rules.exempt_risk_categories
    return True


def _paused(run: _FeeRun, customer_id: str, item: ReceivableItem) -> bool:
    """Tell whether a payment plan in good standing (or late within its grace) covers the item."""
    if customer_id not in run.plan_cover:
        return False
    cover = run.plan_cover[customer_id]
    return cover is None or item.id in cover


def _customer_drafts(
    run: _FeeRun, rules: FeeRules, customer_id: str, items: Sequence[ReceivableItem]
) -> list[_Draft]:
    overdue = [
        item
        for item in items
        if not item.is_credit
        and item.residual > 0
        and not item.disputed
        and (run.today - item.due_date).days > rules.grace_days
        and not _paused(run, customer_id, item)
    ]
    drafts: list[_Draft] = []
    for fee in rules.fixed:
        drafts.extend(_fixed_drafts(run, rules, fee, customer_id, overdue))
    if rules.percentage is not None:
        for item in overdue:
            draft = _percentage_draft(run, rules, rules.percentage, customer_id, item)
            if draft is not None:
                drafts.append(draft)
    if rules.interest is not None:
        for item in items:
            if _accrues(run, rules, customer_id, item):
                drafts.extend(_interest_drafts(run, rules.interest, customer_id, item))
    return drafts


def _grace_ended(item: ReceivableItem, rules: FeeRules, fees: LateFeePolicy) -> bool:
    """Tell whether the item's grace ended on or after the day fees took effect (always, without one)."""
    start = fees.effective_from
    return start is None or item.due_date + timedelta(days=rules.grace_days + 1) >= start


def _fixed_drafts(
    run: _FeeRun, rules: FeeRules, fee: FixedFee, customer_id: str, overdue: Sequence[ReceivableItem]
) -> Iterator[_Draft]:
    groups: dict[str, list[ReceivableItem]] = {}
    for item in overdue:
        if item.currency in fee.amounts:
            scope = (item.invoice_ref or item.id) if fee.per == "invoice" else item.id
            groups.setdefault(scope, []).append(item)
    for scope, group in groups.items():
        carrier = min(group, key=lambda item: (item.due_date, item.id))
        days = (run.today - carrier.due_date).days
        if fee.recurring:
            key = fee_key("fixed", customer_id, fee.per, scope, "period", run.period.isoformat())
            why = Phrase.of("fee_fixed_period", invoice=carrier.invoice_ref, period=run.period.isoformat())
        elif fee.level:
            sent = [run.levels_sent.get(item.id, {}).get(fee.level) for item in group]
            first = min((day for day in sent if day is not None), default=None)
            start = run.fees.effective_from
            if first is None or (start is not None and first < start):
                continue
            key = fee_key("fixed", customer_id, fee.per, scope, "level", fee.level)
            why = Phrase.of("fee_fixed_level", invoice=carrier.invoice_ref, level=fee.level)
        else:
            if not _grace_ended(carrier, rules, run.fees):
                continue
            key = fee_key("fixed", customer_id, fee.per, scope, "overdue")
            why = Phrase.of("fee_fixed", invoice=carrier.invoice_ref, days=days)
        if key in run.books.keys:
            continue
        currency = carrier.currency
        yield _Draft(
            item=carrier,
            kind="fixed",
            key=key,
            base=sum((item.residual for item in group), _ZERO),
            rate_pct=None,
            rate_unit=None,
            days=days,
            period=run.period,
            amount=round_money(fee.amounts[currency], currency),
            level=fee.level,
            why=[why],
        )


def _percentage_draft(
    run: _FeeRun, rules: FeeRules, fee: PercentageFee, customer_id: str, item: ReceivableItem
) -> _Draft | None:
    period = run.period.isoformat()
    if fee.recurring:
        key = fee_key("percentage", customer_id, item.id, period)
    elif _grace_ended(item, rules, run.fees):
        key = fee_key("percentage", customer_id, item.id)
    else:
        return None
    if key in run.books.keys:
        return None
    currency = item.currency
    amount = round_money(item.residual * fee.rate_pct / _HUNDRED, currency)
    said: dict[str, str | float] = {"invoice": item.invoice_ref, "rate": float(fee.rate_pct), "currency": currency}
    said["base"] = float(item.residual)
    if fee.recurring:
        why = [Phrase.of("fee_percentage_period", **said, period=period)]
    else:
        why = [Phrase.of("fee_percentage", **said)]
    low, high = fee.minimum.get(currency), fee.maximum.get(currency)
    if low is not None and amount < low:
        amount = low
        why.append(Phrase.of("fee_minimum", amount=float(low), currency=currency))
    if high is not None and amount > high:
        amount = high
        why.append(Phrase.of("fee_maximum", amount=float(high), currency=currency))
    return _Draft(
        item=item,
        kind="percentage",
        key=key,
        base=item.residual,
        rate_pct=fee.rate_pct,
        rate_unit=None,
        days=(run.today - item.due_date).days,
        period=run.period,
        amount=amount,
        why=why,
    )


def _accrues(run: _FeeRun, rules: FeeRules, customer_id: str, item: ReceivableItem) -> bool:
    """Tell whether interest is charged on the item: open, or paid in the period just over, and late past the grace."""
    if item.is_credit or item.disputed or _paused(run, customer_id, item):
        return False
    if item.residual > 0:
        last = run.today
    elif item.settled_on is not None and item.settled_on >= run.previous_period:
        last = item.settled_on
    else:
        return False
    return (last - item.due_date).days > rules.grace_days


def _interest_drafts(run: _FeeRun, rule: InterestRule, customer_id: str, item: ReceivableItem) -> list[_Draft]:
    """The interest of every completed period not charged yet, one line per stretch of equal balance and rate."""
    first = item.due_date + timedelta(days=rule.start_day + 1)
    if run.fees.effective_from is not None:
        first = max(first, run.fees.effective_from)
    last = run.period - _ONE_DAY
    if item.residual <= 0 and item.settled_on is not None:
        last = min(last, item.settled_on)
    if first > last:
        return []
    payments = sorted(run.paid.get(item.id, ()))
    pauses = [
        (start, end)
        for covered, start, end in run.plan_pauses.get(customer_id, ())
        if covered is None or item.id in covered
    ]
    bounds = _stretches(run, rule, first, last, payments, pauses)
    drafts: list[_Draft] = []
    capitalised = pending = _ZERO
    current: date | None = None
    for start, stop in pairwise(bounds):
        period = period_start(start, run.fees.period)
        if period != current:
            capitalised, pending, current = capitalised + pending, _ZERO, period
        if any(begin <= start and (end is None or start < end) for begin, end in pauses):
            continue
        principal = _balance(item, payments, start)
        extra = capitalised if rule.method == "compound" else _ZERO
        draft = _accrual(rule, item, customer_id, start, stop, principal, extra, period) if principal > 0 else None
        if draft is None:
            continue
        pending += draft.amount
        if (item.id, period) not in run.books.interest_periods:
            drafts.append(draft)
    minimum = rule.min_charge.get(item.currency)
    if minimum is not None and sum((draft.amount for draft in drafts), _ZERO) < minimum:
        return []  # charged later, once what has accrued reaches the minimum
    return drafts


def _stretches(
    run: _FeeRun,
    rule: InterestRule,
    first: date,
    last: date,
    payments: list[tuple[date, Decimal]],
    pauses: list[tuple[date, date | None]],
) -> list[date]:
    """The days from ``first`` to the day after ``last`` on which the period, balance, rate or a pause changes."""
    cuts = {first, last + _ONE_DAY}
    period = period_start(first, run.fees.period)
    while period <= last:
        cuts.add(period)
        period = next_period(period, run.fees.period)
    cuts.update(paid_on + _ONE_DAY for paid_on, _ in payments)
    cuts.update(rate.start for rate in (*rule.reference_rates, *rule.max_rates))
    for start, end in pauses:
        cuts.add(start)
        if end is not None:
            cuts.add(end)
    return sorted(cut for cut in cuts if first <= cut <= last + _ONE_DAY)


def _balance(item: ReceivableItem, payments: list[tuple[date, Decimal]], day: date) -> Decimal:
    """The item's balance at the start of ``day``: what is open today plus what was paid on it from that day on."""
    if not payments and item.residual <= 0 and item.settled_on is not None:
        return item.amount if day <= item.settled_on else _ZERO  # paid with no allocation recorded
    balance = item.residual + sum((amount for paid_on, amount in payments if paid_on >= day), _ZERO)
    return min(balance, item.amount) if item.amount > 0 else balance


def _accrual(
    rule: InterestRule,
    item: ReceivableItem,
    customer_id: str,
    start: date,
    stop: date,
    principal: Decimal,
    capitalised: Decimal,
    period: date,
) -> _Draft | None:
    """The interest of the days from ``start`` to the day before ``stop`` (None when no rate applies)."""
    rate, unit = rule.rate_on(start), rule.unit
    if rate is None or rate <= 0:
        return None
    currency = item.currency
    capped: Phrase | None = None
    if rule.max_rates:
        ceiling = dated_rate(rule.max_rates, start)
        if ceiling is None:
            return None  # no maximum known for the day: nothing rather than too much
        if (rate if unit == "annual" else rate * rule.days_in_year) > ceiling:
            rate, unit = ceiling, "annual"
            capped = Phrase.of("fee_rate_capped", rate=float(ceiling))
    days = (stop - start).days
    base = principal + capitalised
    divisor = _HUNDRED * rule.days_in_year if unit == "annual" else _HUNDRED
    amount = round_money(base * rate * days / divisor, currency)
    end = stop - _ONE_DAY
    code = "fee_interest_annual" if unit == "annual" else "fee_interest_daily"
    why = [
        Phrase.of(
            code,
            invoice=item.invoice_ref,
            rate=float(rate),
            base=float(base),
            currency=currency,
            days=days,
            start=start.isoformat(),
            end=end.isoformat(),
        )
    ]
    if capitalised > 0:
        why.append(Phrase.of("fee_interest_compound", amount=float(capitalised), currency=currency))
    if capped is not None:
        why.append(capped)
    return _Draft(
        item=item,
        kind="interest",
        key=fee_key("interest", customer_id, item.id, start.isoformat()),
        base=base,
        rate_pct=rate,
        rate_unit=unit,
        days=days,
        period=period,
        amount=amount,
        accrued_from=start,
        accrued_to=end,
        why=why,
    )


def _item_cap(rules: FeeRules, item: ReceivableItem) -> Decimal | None:
    """The most an item may be charged in all (the lower of the amount and the share of the item), if capped."""
    caps = []
    if item.currency in rules.max_per_item:
        caps.append(rules.max_per_item[item.currency])
    if rules.max_item_pct is not None:
        share = item.amount * rules.max_item_pct / _HUNDRED
        caps.append(share.quantize(quantum(item.currency), rounding=ROUND_DOWN))
    return min(caps) if caps else None


def _capped(run: _FeeRun, rules: FeeRules, customer_id: str, drafts: list[_Draft]) -> list[_Draft]:
    """Lower the lines, oldest first, so that no item and no period goes above its cap; drop what is left at zero."""
    drafts.sort(key=lambda d: (d.period, _KIND_ORDER[d.kind], d.item.due_date, d.item.id, d.accrued_from or d.period))
    item_room: dict[str, Decimal] = {}
    period_room: dict[tuple[str, date], Decimal] = {}
    for draft in drafts:
        item, currency = draft.item, draft.item.currency
        item_cap = _item_cap(rules, item)
        if item_cap is not None:
            room = item_room.get(item.id, item_cap - run.books.by_item.get(item.id, _ZERO))
            if draft.amount > room:
                draft.amount = max(room, _ZERO)
                draft.why.append(Phrase.of("fee_cap_item", amount=float(item_cap), currency=currency))
            item_room[item.id] = room - draft.amount
        period_cap = rules.max_per_period.get(currency)
        if period_cap is not None:
            slot = (currency, draft.period)
            spent = run.books.by_period.get((customer_id, currency, draft.period), _ZERO)
            room = period_room.get(slot, period_cap - spent)
            if draft.amount > room:
                lowered = max(room, _ZERO)
                if item_cap is not None:
                    item_room[item.id] += draft.amount - lowered  # what the period cap takes back stays the item's
                draft.amount = lowered
                draft.why.append(Phrase.of("fee_cap_period", amount=float(period_cap), currency=currency))
            period_room[slot] = room - draft.amount
    return [draft for draft in drafts if draft.amount > 0]


def _grouped(customer_id: str, drafts: list[_Draft]) -> Iterator[CustomerFees]:
    """One :class:`CustomerFees` per currency, lines by period, invoice, item and kind."""
    by_currency: dict[str, list[_Draft]] = {}
    for draft in drafts:
        by_currency.setdefault(draft.item.currency, []).append(draft)
    for currency in sorted(by_currency):
        ordered = sorted(
            by_currency[currency],
            key=lambda d: (d.period, d.item.invoice_ref, d.item.id, _KIND_ORDER[d.kind], d.accrued_from or d.period),
        )
        yield CustomerFees(customer_id, currency, tuple(draft.line(customer_id) for draft in ordered))
