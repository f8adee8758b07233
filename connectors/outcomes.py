"""What happens outside the platform: promises to pay, payment plans and calls, checked as the engine checks them.

The commands ``promise``, ``plan`` and ``call`` (``connectors.cli_outcomes``) build records here from a tenant's
stored ledger, under its policy and as of a moment: a promise is checked by ``promises.validate_promise``, a
plan is scheduled by ``plans.make_plan`` and checked by ``plans.validate_plan`` against the rule of the
customer's risk category (the engine's score as of that moment), and a call answers the customer's open call
action. Nothing here writes: the caller records what it is given (or, under a dry run, only shows it), so the
next run of the engine sees it like anything a platform syncs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from collections_engine import plan as plan_portfolio
from collections_engine.decisions import Action, CustomerDecision, PlanEvaluation, PromiseEvaluation
from collections_engine.engine import group_items, local_today
from collections_engine.money import quantum
from collections_engine.plans import ACTIVE_STATUSES, due_dates, evaluate_plans, make_plan, validate_plan
from collections_engine.policy import PlanRule, Policy
from collections_engine.promises import evaluate_promises, validate_promise
from collections_engine.types import (
    FREQUENCIES,
    RESPONSE_OUTCOMES,
    ContactEvent,
    Customer,
    History,
    PaymentPlan,
    Portfolio,
    Promise,
    ReceivableItem,
)

from .common.planning import decision_context
from .common.store import Store

OPEN_CALL_DAYS = 14
"""A call answers a call action recorded in the last two weeks; older ones without an outcome stay as they were."""
CALL_OUTCOMES: tuple[str, ...] = ("responded", "promised", "paid", "disputed", "no_answer", "failed")
LOGGED_CHANNELS: tuple[str, ...] = ("call", "visit")
"""The manual channels whose outcome a collector logs (``call log --channel``)."""
"""What a call ended in, in the engine's words: the customer answered (``responded``, ``promised``, ``paid``,
``disputed``: the engine counts the channel as answered), or did not (``no_answer``, a message left included),
or could not be reached at that number (``failed``: the engine does not learn from it)."""


class RecordError(ValueError):
    """A customer or an item that the tenant's ledger does not hold (or holds closed)."""


class Refused(Exception):
    """The policy or the ledger refuses a promise or a plan; ``problems`` names each field at fault."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Ledger:
    """A tenant's stored receivables and history, under a policy, as of a moment."""

    tenant: str
    policy: Policy
    portfolio: Portfolio
    history: History
    as_of: datetime

    @property
    def today(self) -> date:
        """The day items age against (the policy's time zone)."""
        return local_today(self.policy, self.as_of)

    @cached_property
    def customer_names(self) -> dict[str, str]:
        """Each customer's name, by id."""
        return {customer.id: customer.name for customer in self.portfolio.customers}

    @cached_property
    def invoice_numbers(self) -> dict[str, str]:
        """Each item's invoice number, by item id."""
        return {item.id: item.invoice_ref for item in self.portfolio.items}


def load_ledger(
    store: Store, tenant: str, policy: Policy, as_of: datetime, currency: str, rates: Mapping[str, Decimal]
) -> Ledger:
    """Read a tenant's portfolio (rates: the stored ones, then the given ones) and its contact history."""
    known = {**store.ledger.exchange_rates(tenant), **rates}
    portfolio = store.ledger.load_portfolio(tenant, currency, known)
    return Ledger(tenant, policy, portfolio, store.history.load_history(tenant), as_of)


# --------------------------------------------------------------------------------------
# Customers and items
# --------------------------------------------------------------------------------------


def find_customer(ledger: Ledger, text: str) -> Customer:
    """The customer with this id, else the one with this name (any case)."""
    customers = ledger.portfolio.customers
    for customer in customers:
        if customer.id == text:
            return customer
    named = [c for c in customers if c.name.casefold() == text.strip().casefold()]
    if len(named) == 1:
        return named[0]
    if named:
        raise RecordError(f"{text!r}: several customers have this name ({', '.join(c.id for c in named)}): give the id")
    raise RecordError(f"{text!r}: no such customer in {ledger.tenant} (give its id or its exact name)")


def open_items(ledger: Ledger, customer: Customer) -> list[ReceivableItem]:
    """The customer's open invoices (instalments) as they stood on the ledger's day, oldest due first."""
    items = group_items(customer_portfolio(ledger, customer), ledger.today).get(customer.id, [])
    return sorted((i for i in items if i.residual > 0 and not i.is_credit), key=lambda i: (i.due_date, i.id))


def select_items(ledger: Ledger, customer: Customer, references: Sequence[str]) -> list[ReceivableItem]:
    """The open items named by id or invoice number (an invoice number names all its open instalments)."""
    available = open_items(ledger, customer)
    chosen: dict[str, ReceivableItem] = {}
    for reference in references:
        found = [i for i in available if reference in (i.id, i.invoice_ref)]
        if not found:
            raise RecordError(f"{reference!r}: not an open invoice of {customer.name} ({customer.id})")
        chosen.update((i.id, i) for i in found)
    return list(chosen.values())


def split_references(values: Sequence[str]) -> list[str]:
    """``--items`` values: each may list several, separated by commas or spaces."""
    return [part for value in values for part in value.replace(",", " ").split() if part]


def customer_portfolio(ledger: Ledger, customer: Customer) -> Portfolio:
    """The part of the portfolio that is one customer's (the engine decides each customer on its own)."""
    portfolio, cid = ledger.portfolio, customer.id
    return Portfolio(
        portfolio.company_currency,
        (customer,),
        tuple(i for i in portfolio.items if i.customer_id == cid),
        tuple(p for p in portfolio.payments if p.customer_id == cid),
        tuple(p for p in portfolio.promises if p.customer_id == cid),
        tuple(p for p in portfolio.plans if p.customer_id == cid),
        portfolio.rates,
    )


def customer_decision(ledger: Ledger, customer: Customer) -> CustomerDecision:
    """What the engine decides for the customer as of the ledger's moment: risk, stage, today's actions."""
    events = tuple(e for e in ledger.history.events if e.customer_id == customer.id)
    decisions = plan_portfolio(customer_portfolio(ledger, customer), ledger.policy, History(events), ledger.as_of)
    return decisions.customers[0]


def _currency_of(items: Sequence[ReceivableItem], customer: Customer) -> str:
    currencies = sorted({i.currency for i in items})
    if not currencies:
        raise Refused([f"items: {customer.name} ({customer.id}) has nothing open"])
    if len(currencies) > 1:
        raise Refused(
            [
                f"items: they are in several currencies ({', '.join(currencies)}); name the items of one "
                "currency with --items"
            ]
        )
    return currencies[0]


def _in_precision(amount: Decimal, currency: str) -> Decimal:
    """1500 as 1500.00 in euros; an amount finer than the currency stays as it is, for the check to name it."""
    step = quantum(currency)
    return amount.quantize(step) if amount == amount.quantize(step) else amount


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------
# Promises
# --------------------------------------------------------------------------------------


def new_promise(
    ledger: Ledger, customer: Customer, amount: Decimal, promised_date: date, references: Sequence[str] = ()
) -> Promise:
    """A promise made today, checked against the policy and what is open on its items (``Refused`` otherwise).

    Its id is derived from what was promised, so recording the same promise twice keeps one.
    """
    items = select_items(ledger, customer, references) if references else open_items(ledger, customer)
    currency = _currency_of(items, customer)
    amount = _in_precision(amount, currency)
    item_ids = tuple(i.id for i in items) if references else ()
    today = ledger.today
    promise = Promise(
        id=f"promise-{_digest(customer.id, today, promised_date, amount, currency, *item_ids)}",
        customer_id=customer.id,
        created_on=today,
        promised_date=promised_date,
        amount=amount,
        currency=currency,
        item_ids=item_ids,
    )
    problems = validate_promise(promise, ledger.policy.promises, sum((i.residual for i in items), Decimal(0)))
    if problems:
        raise Refused(problems)
    return promise


def promise_evaluations(ledger: Ledger) -> dict[str, PromiseEvaluation]:
    """Every promise made by the ledger's day, as the engine judges it that day."""
    portfolio = ledger.portfolio
    return evaluate_promises(portfolio.promises, portfolio.payments, ledger.policy.promises, ledger.today)


# --------------------------------------------------------------------------------------
# Payment plans
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanProposal:
    """A plan scheduled by the engine and what the policy says of it for the customer's risk category."""

    plan: PaymentPlan | None
    """None when the terms cannot even be scheduled (the problems say why)."""
    customer: Customer
    risk_category: str
    risk_score: float
    rule: PlanRule | None
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Inside the rules: it may be recorded."""
        return self.plan is not None and not self.problems


def propose_plan(
    ledger: Ledger,
    customer: Customer,
    instalments: int,
    frequency: str,
    down_payment: Decimal = Decimal(0),
    first_date: date | None = None,
    grace_days: int | None = None,
    references: Sequence[str] = (),
) -> PlanProposal:
    """Schedule a plan for the customer's open invoices (or the named ones) and check it against the policy's rule
    for the customer's risk category as the engine scores it today; the proposal lists every problem."""
    if frequency not in FREQUENCIES:
        raise RecordError(f"frequency: {frequency!r} is not one of {', '.join(FREQUENCIES)}")
    decision = customer_decision(ledger, customer)
    category = decision.risk.category
    rule = ledger.policy.plan_rule(category)
    items = (
        select_items(ledger, customer, references)
        if references
        else [i for i in open_items(ledger, customer) if not i.disputed]
    )
    currency = _currency_of(items, customer)
    today = ledger.today
    first = first_date or due_dates(today, 2, frequency)[1]
    grace = (rule.grace_days if rule else 0) if grace_days is None else grace_days
    total = sum((i.residual for i in items), Decimal(0)).quantize(quantum(currency))
    down_payment = _in_precision(down_payment, currency)
    item_ids = tuple(i.id for i in items)
    problems = _plan_conflicts(ledger, customer, item_ids, first)

    def proposal(plan: PaymentPlan | None, found: list[str]) -> PlanProposal:
        return PlanProposal(plan, customer, category, decision.risk.score, rule, found)

    try:
        plan = make_plan(
            id=f"plan-{_digest(customer.id, today, instalments, frequency, down_payment, first, grace, *item_ids)}",
            customer_id=customer.id,
            created_on=today,
            currency=currency,
            total=total,
            installments=instalments,
            frequency=frequency,
            first_due=first,
            down_payment=down_payment,
            grace_days=grace,
            item_ids=item_ids,
        )
    except ValueError as err:
        return proposal(None, [*problems, str(err)])
    return proposal(plan, [*problems, *validate_plan(plan, rule, category)])


def _plan_conflicts(ledger: Ledger, customer: Customer, item_ids: tuple[str, ...], first: date) -> list[str]:
    """A first instalment in the past, or items already under an active plan."""
    problems = []
    if first < ledger.today:
        problems.append(f"first_date: {first} is before today ({ledger.today})")
    wanted = set(item_ids)
    for plan_id, evaluation in plan_evaluations(ledger).items():
        if evaluation.customer_id != customer.id or evaluation.status not in ACTIVE_STATUSES:
            continue
        plan = next(p for p in ledger.portfolio.plans if p.id == plan_id)
        if not plan.item_ids or wanted & set(plan.item_ids):
            problems.append(
                f"items: already under payment plan {plan_id} ({evaluation.status}); "
                f"cancel it first (plan cancel {plan_id})"
            )
    return problems


def plan_evaluations(ledger: Ledger) -> dict[str, PlanEvaluation]:
    """Every plan made by the ledger's day, as the engine judges it that day."""
    return evaluate_plans(ledger.portfolio.plans, ledger.portfolio.payments, ledger.today)


# --------------------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """A call to record: its contact event, the call action it answers, and what must be recorded first."""

    event: ContactEvent
    answers: str | None
    """The outbox key of the call action the call carries out (done from now on), if any."""
    answered_level: str | None
    record_first: tuple[Action, ...] = ()
    """Today's actions of the engine for the customer, not yet recorded, of which the call is one: recorded first
    (the other channels of the level still go), as a run would."""
    promise: Promise | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    """What a platform push shows beside the actions recorded first (stage, level, risk, promises)."""


def call_record(
    store: Store,
    ledger: Ledger,
    customer: Customer,
    outcome: str,
    promise: Promise | None = None,
    channel: str = "call",
) -> CallRecord:
    """The call (or visit: ``channel``) as the engine will read it: the outcome of the customer's newest open action
    on that channel (recorded by a run in the last ``OPEN_CALL_DAYS``, or the one the engine asks for today), else a
    contact of its own that counts towards the contact caps."""
    if outcome not in CALL_OUTCOMES:
        raise RecordError(f"outcome: {outcome!r} is not one of {', '.join(CALL_OUTCOMES)}")
    if channel not in LOGGED_CHANNELS:
        raise RecordError(f"channel: {channel!r} is not one of {', '.join(LOGGED_CHANNELS)}")
    as_of = ledger.as_of
    responded_at = as_of if outcome in RESPONSE_OUTCOMES else None
    since = as_of - timedelta(days=OPEN_CALL_DAYS)
    known = store.outcomes.open_calls(ledger.tenant, customer.id, as_of, channel)
    open_calls = [o for o in known if o[0].known_at >= since]
    if open_calls:
        event, _status = open_calls[0]
        done = replace(event, outcome=outcome, at=as_of, responded_at=responded_at)
        return CallRecord(done, event.id, event.level, promise=promise)
    decision = customer_decision(ledger, customer)
    unrecorded = set(store.outbox.unrecorded_keys(ledger.tenant, [a.key for a in decision.actions]))
    call = next((a for a in decision.actions if a.channel == channel and a.key in unrecorded), None)
    if call is not None:
        fresh = tuple(a for a in decision.actions if a.key in unrecorded)
        event = replace(call.as_event(as_of), outcome=outcome, at=as_of, responded_at=responded_at)
        return CallRecord(event, call.key, call.level, fresh, promise, decision_context(decision))
    event = ContactEvent(
        id=f"{channel}-{_digest(customer.id, as_of.isoformat(), outcome)}",
        customer_id=customer.id,
        at=as_of,
        channel=channel,
        outcome=outcome,
        responded_at=responded_at,
        cost=ledger.policy.channel_cost(channel),
        collector=customer.collector,
    )
    return CallRecord(event, None, None, promise=promise)
