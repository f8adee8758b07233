"""What the engine decides: one :class:`CustomerDecision` per customer.

These are plain slotted dataclasses rather than frozen ones: a planning run builds one per
customer and per action, and frozen construction costs several times more. Treat them as
read-only values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .phrases import Phrase, english
from .types import ChargedFee, ContactEvent


@dataclass(slots=True)
class RiskContribution:
    """One input of the risk score: its raw value, its 0-1 normalised value and its points."""

    factor: str
    value: float
    normalized: float
    weight: float
    points: float

    @property
    def phrase(self) -> Phrase:
        """What the factor's value says (code ``risk_<factor>``, parameter ``value``), for an interface to render."""
        return Phrase.of(f"risk_{self.factor}", value=self.value)

    @property
    def detail(self) -> str:
        """The factor's value in plain English (interfaces render :attr:`phrase` in their reader's language)."""
        return english(self.phrase)


@dataclass(slots=True)
class RiskAssessment:
    """A customer's 0-100 risk score, its category and why."""

    customer_id: str
    score: float
    category: str
    breakdown: tuple[tuple[str, float, float, float, float], ...]
    settled_items: int
    has_history: bool

    @property
    def contributions(self) -> tuple[RiskContribution, ...]:
        """Return each factor's value, normalised value, weight and points (points add up to the score)."""
        return tuple(RiskContribution(*row) for row in self.breakdown)

    def explanation(self) -> str:
        """Return a one-line explanation in English, biggest contributions first (interfaces render
        :meth:`factors` in their reader's language)."""
        parts = sorted(self.contributions, key=lambda c: -c.points)
        text = ", ".join(f"{c.detail} (+{c.points:.0f})" for c in parts if c.points >= 0.5)
        return text or english(Phrase.of("risk_none"))

    def factors(self) -> list[tuple[str, float, float]]:
        """The factors that raised the score (code, raw value, points), biggest first: what an explanation says."""
        parts = sorted(self.contributions, key=lambda c: -c.points)
        return [(c.factor, c.value, round(c.points, 2)) for c in parts if c.points >= 0.5]


@dataclass(slots=True)
class Action:
    """One collection action to take, with its idempotency key and earliest send time.

    ``amount_due`` is what the reminder asks, as its statement of account will: the overdue
    amount not disputed nor arranged, net of credits in ``net`` mode (for a pre-due reminder,
    what comes due), in the company currency; ``item_ids`` are the items that reached the level.
    """

    key: str
    customer_id: str
    strategy: str
    variant: str
    level: str
    level_index: int
    channel: str
    template: str
    tone: str
    item_ids: tuple[str, ...]
    amount_due: Decimal
    currency: str
    not_before: datetime
    local_time: datetime
    cost: Decimal
    manual: bool
    reason: str
    """Why, in English (for logs and notes); ``reason_parts`` says it in codes to render in any language."""
    call_script: str | None = None
    attach_statement: bool = True
    attach_invoices: bool = False
    reason_parts: tuple[Phrase, ...] = ()
    """The reason as phrases: what is due, the level reached, why this channel."""

    def as_event(self, planned_at: datetime) -> ContactEvent:
        """Return the contact event this action stands for once recorded, so later runs see it as done."""
        return ContactEvent(
            id=self.key,
            customer_id=self.customer_id,
            at=self.not_before,
            channel=self.channel,
            level=self.level,
            strategy=self.strategy,
            variant=self.variant,
            item_ids=self.item_ids,
            outcome="sent",
            cost=self.cost,
            planned_at=planned_at,
        )


@dataclass(slots=True)
class PromiseEvaluation:
    """Status of a promise to pay as of a date."""

    promise_id: str
    customer_id: str
    status: str
    amount: Decimal
    paid: Decimal
    deadline: date


@dataclass(slots=True)
class InstallmentState:
    """One instalment with what has been allocated to it."""

    sequence: int
    due_date: date
    amount: Decimal
    paid: Decimal
    status: str


@dataclass(slots=True)
class PlanEvaluation:
    """Status of a payment plan as of a date."""

    plan_id: str
    customer_id: str
    status: str
    total: Decimal
    paid: Decimal
    next_due: date | None
    installments: tuple[InstallmentState, ...]


HOLD_CAUSES: tuple[str, ...] = ("manual", "broken_plan", "overdue_days", "overdue_amount", "credit_limit")
"""Why a customer is on credit hold, in the order the reasons are given."""


@dataclass(frozen=True, slots=True)
class CreditHold:
    """A customer on credit hold: new orders wait until the causes are gone (or a person overrides the hold).

    ``causes`` are :data:`HOLD_CAUSES` codes, ``reason_parts`` one phrase per cause in the same order;
    ``overdue`` is what is overdue (not disputed nor arranged) net of credits and ``balance`` everything open
    net of credits, both in the company currency. Frozen, unlike the planner's records: few customers are held.
    """

    customer_id: str
    causes: tuple[str, ...]
    reason_parts: tuple[Phrase, ...]
    overdue: Decimal
    balance: Decimal
    currency: str

    @property
    def reason(self) -> str:
        """Why, in English (interfaces render :attr:`reason_parts` in their reader's language)."""
        return "; ".join(english(part) for part in self.reason_parts)


@dataclass(slots=True)
class CustomerDecision:
    """Everything the engine decided for one customer."""

    customer_id: str
    currency: str
    open_amount: Decimal
    overdue_amount: Decimal
    oldest_days_overdue: int
    risk: RiskAssessment
    stage: str
    strategy: str
    variant: str
    level: str | None
    level_index: int
    actions: tuple[Action, ...]
    paused_item_ids: tuple[str, ...]
    disputed_item_ids: tuple[str, ...]
    promises: tuple[PromiseEvaluation, ...]
    plans: tuple[PlanEvaluation, ...]
    hold_reason: str | None
    """Why no reminder goes out (``do_not_dun``, ``paused``, ``credit_covers_overdue``, ``below_minimum``)."""
    next_review: date | None
    credit_hold: CreditHold | None = None
    """Whether new orders wait, and why: only when the policy has a ``credit_hold`` section."""


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One late fee or one stretch of late interest to charge on an item, exact to the currency's cent.

    ``base`` is what the fee or interest is computed on (the overdue amount; for compound interest plus the
    interest of earlier periods), ``rate_pct`` the percentage (interest: a year or a day, ``rate_unit``) and
    ``days`` the days of interest (for a fee, the days overdue). ``period`` is the first day of the period
    the line is for: a fee's is the period it is charged in, interest's the period it accrued in, from
    ``accrued_from`` to ``accrued_to`` inclusive. Frozen, unlike the planner's records: a run makes few.
    """

    key: str
    customer_id: str
    item_id: str
    invoice_ref: str
    currency: str
    kind: str
    base: Decimal
    rate_pct: Decimal | None
    rate_unit: str | None
    days: int
    period: date
    amount: Decimal
    accrued_from: date | None = None
    accrued_to: date | None = None
    level: str | None = None
    reason_parts: tuple[Phrase, ...] = ()

    @property
    def reason(self) -> str:
        """Why, in English (interfaces render :attr:`reason_parts` in their reader's language)."""
        return "; ".join(english(part) for part in self.reason_parts)

    def as_charged(self, charged_on: date) -> ChargedFee:
        """Return the record of this line once posted, so later runs neither charge it again nor exceed a cap."""
        return ChargedFee(
            key=self.key,
            customer_id=self.customer_id,
            item_id=self.item_id,
            kind=self.kind,
            currency=self.currency,
            amount=self.amount,
            period=self.period,
            charged_on=charged_on,
        )


@dataclass(frozen=True, slots=True)
class CustomerFees:
    """The fee and interest lines to charge one customer in one currency."""

    customer_id: str
    currency: str
    lines: tuple[FeeLine, ...]

    @property
    def total(self) -> Decimal:
        """The sum of the lines (each already at the currency's precision)."""
        return sum((line.amount for line in self.lines), Decimal(0))


@dataclass(slots=True)
class Decisions:
    """The result of one planning run (``late_fees``: only when the policy charges them)."""

    as_of: datetime
    policy_name: str
    policy_revision: int
    customers: tuple[CustomerDecision, ...]
    late_fees: tuple[CustomerFees, ...] = ()

    def actions(self) -> list[Action]:
        """Return every action of the run, in customer order."""
        return [action for decision in self.customers for action in decision.actions]

    def credit_holds(self) -> dict[str, CreditHold]:
        """Return the credit hold of every held customer, by customer id."""
        return {d.customer_id: d.credit_hold for d in self.customers if d.credit_hold is not None}
