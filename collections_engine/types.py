"""Domain types of the collections engine.

Every type is an immutable, slotted dataclass so that a portfolio of a million items
stays small in memory and nobody can change an input behind the engine's back.
Money is ``Decimal``; dates are ``datetime.date``; instants are timezone-aware
``datetime.datetime``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

Channel = Literal["email", "sms", "letter", "call", "whatsapp", "visit"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "letter", "call", "whatsapp", "visit")
MANUAL_CHANNELS: frozenset[str] = frozenset({"call", "whatsapp", "letter", "visit"})

Frequency = Literal["weekly", "biweekly", "monthly"]
FREQUENCIES: tuple[Frequency, ...] = ("weekly", "biweekly", "monthly")

DELIVERIES: tuple[str, ...] = ("paper", "electronic")
"""How an invoice reaches the customer, where the ledger says (``ReceivableItem.delivery``)."""

Outcome = Literal["sent", "responded", "promised", "paid", "no_answer", "bounced", "failed", "disputed"]
RESPONSE_OUTCOMES: frozenset[str] = frozenset({"responded", "promised", "paid", "disputed"})
FAILED_OUTCOMES: frozenset[str] = frozenset({"bounced", "failed"})

PromiseStatus = Literal["pending", "kept", "partially_kept", "broken", "cancelled"]
PlanStatus = Literal["good_standing", "late", "broken", "completed", "cancelled"]


@dataclass(frozen=True, slots=True)
class ContactWindow:
    """Hours (local, ``HH:MM`` half-open intervals) and ISO weekdays (1=Mon) allowed.

    ``day_hours`` gives other hours to some of the ``weekdays`` (e.g. Saturday 08:00-15:00);
    the days it does not name use ``hours``.
    """

    hours: tuple[tuple[str, str], ...] = (("09:00", "18:00"),)
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    day_hours: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class Customer:
    """A commercial partner that owes money (one per company in multi-company setups)."""

    id: str
    name: str
    country: str | None = None
    timezone: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    has_postal_address: bool = True
    language: str | None = None
    credit_limit: Decimal | None = None
    collector: str | None = None
    strategy: str | None = None
    preferred_channel: str | None = None
    opted_out_channels: frozenset[str] = frozenset()
    contact_window: ContactWindow | None = None
    do_not_dun: bool = False
    paused_until: date | None = None
    audience: str | None = None  # "b2b" or "b2c"; None: the policy's contact.audience
    region: str | None = None  # ISO 3166-2 subdivision (e.g. "MD" in ES) for regional public holidays
    manual_credit_hold: str | None = None  # the reason of a hold put by hand (policy's credit_hold section needed)


@dataclass(frozen=True, slots=True)
class ReceivableItem:
    """One receivable instalment: an invoice has as many items as payment-term lines.

    ``residual`` is the amount still open when the data was read; ``settled_on`` is the
    date the item was fully paid (if it was), which lets the engine rewind to an earlier
    ``as_of`` for back-tests. ``kind`` says what the customer calls it on a statement:
    ``invoice``, ``credit_note`` or ``payment`` (an unapplied payment); empty means an
    invoice, or a credit note when ``is_credit``.
    """

    id: str
    customer_id: str
    invoice_ref: str
    currency: str
    amount: Decimal
    residual: Decimal
    issue_date: date
    due_date: date
    disputed: bool = False
    settled_on: date | None = None
    is_credit: bool = False
    kind: str = ""
    delivery: str = ""


@dataclass(frozen=True, slots=True)
class Allocation:
    """Part of a payment applied to one receivable item."""

    item_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received from a customer, optionally allocated to items."""

    id: str
    customer_id: str
    date: date
    amount: Decimal
    currency: str
    allocations: tuple[Allocation, ...] = ()


@dataclass(frozen=True, slots=True)
class Promise:
    """A promise to pay ``amount`` by ``promised_date``, made on ``created_on``."""

    id: str
    customer_id: str
    created_on: date
    promised_date: date
    amount: Decimal
    currency: str
    item_ids: tuple[str, ...] = ()
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class Installment:
    """One scheduled instalment of a payment plan (``sequence`` 0 is the down payment)."""

    sequence: int
    due_date: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    """An agreed schedule that replaces the original due dates of ``item_ids``."""

    id: str
    customer_id: str
    created_on: date
    currency: str
    total: Decimal
    installments: tuple[Installment, ...]
    frequency: str = "monthly"
    grace_days: int = 0
    item_ids: tuple[str, ...] = ()
    payment_ids: tuple[str, ...] = ()
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class ContactEvent:
    """One collection action, sent or scheduled (``at``), with its outcome.

    ``planned_at`` is the ``as_of`` of the run that decided it; a run as of that instant or
    earlier ignores it, so re-running an old ``as_of`` reproduces the old decisions (and the
    outbox, keyed by action, still sends nothing twice).
    """

    id: str
    customer_id: str
    at: datetime
    channel: str
    level: str | None = None
    strategy: str | None = None
    variant: str | None = None
    item_ids: tuple[str, ...] = ()
    outcome: str = "sent"
    responded_at: datetime | None = None
    cost: Decimal = Decimal(0)
    collector: str | None = None
    planned_at: datetime | None = None

    @property
    def known_at(self) -> datetime:
        """When the engine learnt of this event: planned time if recorded, else its own time."""
        return self.planned_at or self.at


@dataclass(frozen=True, slots=True)
class CollectionCost:
    """A cost of collecting from a customer that is no contact, e.g. a collection agency's commission.

    It adds to the collection cost (and cost per collection) of the period it falls in, never to the
    number of contacts.
    """

    customer_id: str
    on: date
    amount: Decimal
    kind: str = "agency_commission"


FeeKind = Literal["fixed", "percentage", "interest"]
FEE_KINDS: tuple[FeeKind, ...] = ("fixed", "percentage", "interest")


@dataclass(frozen=True, slots=True)
class ChargedFee:
    """A late fee or interest line already charged to a customer: a :class:`~.decisions.FeeLine` once posted.

    ``key`` is the line's key (a fee is never charged twice under one key); ``period`` the first day of the
    period it was charged for, ``charged_on`` the day it was posted. Caps count ``amount``.
    """

    key: str
    customer_id: str
    item_id: str
    kind: str
    currency: str
    amount: Decimal
    period: date
    charged_on: date


@dataclass(frozen=True, slots=True)
class Portfolio:
    """Everything the engine knows about a company's receivables."""

    company_currency: str
    customers: tuple[Customer, ...]
    items: tuple[ReceivableItem, ...]
    payments: tuple[Payment, ...] = ()
    promises: tuple[Promise, ...] = ()
    plans: tuple[PaymentPlan, ...] = ()
    rates: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class History:
    """Past contact events (what was sent, when, on which channel, with what outcome)."""

    events: tuple[ContactEvent, ...] = ()
