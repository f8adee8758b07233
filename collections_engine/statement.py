"""The statement of account: what a customer reads in every reminder, letter, SMS and portal page.

One function, :func:`build_statement`, turns a customer's receivable items as they stand on a
day into sections and totals per currency. Every channel renders it and case amounts come
from it, so a reminder's total and lines can never disagree with the case, the letter or the
portal:

- ``overdue``: instalments past their due date, each at its own residual; what is asked;
- ``arranged``: overdue or not, covered by a promise to pay or a payment plan in good standing
  (shown with the arrangement, never asked for again);
- ``disputed``: under review, listed apart and never in the amount asked;
- ``upcoming``: not yet due (due today included), for information or a pre-due reminder;
- ``credit``: open credit notes and unapplied payments; with ``credits="net"`` they are
  deducted from the amount asked (never below zero), with ``credits="show"`` only listed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from .money import round_money
from .types import ReceivableItem

Section = Literal["overdue", "arranged", "disputed", "upcoming", "credit"]
SECTIONS: tuple[Section, ...] = ("overdue", "arranged", "disputed", "upcoming", "credit")
CreditsMode = Literal["net", "show"]
CREDITS_MODES: tuple[CreditsMode, ...] = ("net", "show")
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One open instalment, credit note or unapplied payment of the statement."""

    item_id: str
    invoice_ref: str
    section: Section
    kind: str
    currency: str
    amount: Decimal
    residual: Decimal
    issue_date: date
    due_date: date
    days_overdue: int
    installment: int = 0
    installments: int = 0
    reminded: bool = False


@dataclass(frozen=True, slots=True)
class StatementTotals:
    """The sums of one currency's sections and what is asked in that currency."""

    currency: str
    overdue: Decimal
    arranged: Decimal
    disputed: Decimal
    upcoming: Decimal
    credits: Decimal
    credits_applied: Decimal
    amount_due: Decimal
    balance: Decimal

    @property
    def credit_left(self) -> Decimal:
        """Return the credit not used against the overdue amount."""
        return self.credits - self.credits_applied


@dataclass(frozen=True, slots=True)
class Statement:
    """A customer's statement of account on a day, in sections and totals per currency."""

    customer_id: str
    as_of: date
    credits_mode: CreditsMode
    lines: tuple[StatementLine, ...]
    totals: tuple[StatementTotals, ...]

    def section(self, name: Section) -> tuple[StatementLine, ...]:
        """Return the lines of one section, oldest due date first."""
        return tuple(line for line in self.lines if line.section == name)

    def totals_for(self, currency: str) -> StatementTotals:
        """Return the totals of one currency (all zero if the statement has none in it)."""
        for totals in self.totals:
            if totals.currency == currency:
                return totals
        return StatementTotals(currency, *([_ZERO] * 8))

    @property
    def currencies(self) -> tuple[str, ...]:
        """Return the currencies of the statement, in the order of its totals."""
        return tuple(totals.currency for totals in self.totals)

    @property
    def has_amount_due(self) -> bool:
        """Tell whether anything is asked in any currency."""
        return any(totals.amount_due > 0 for totals in self.totals)

    @property
    def oldest_days_overdue(self) -> int:
        """Return the days overdue of the oldest line that is asked for (0 if none)."""
        return max((line.days_overdue for line in self.lines if line.section == "overdue"), default=0)


def build_statement(
    customer_id: str,
    items: Iterable[ReceivableItem],
    today: date,
    *,
    arranged_item_ids: Collection[str] = (),
    reminded_item_ids: Collection[str] = (),
    credits_mode: CreditsMode = "net",
) -> Statement:
    """Return the customer's statement of account as it stands at the end of ``today``.

    ``items`` are the customer's receivable items, open or settled: settled instalments of an
    invoice only count for numbering its open ones ("2 of 3"). ``arranged_item_ids`` are the
    items under a promise or a plan in good standing; ``reminded_item_ids`` those the reminder
    being rendered is about (flagged on their lines).
    """
    if credits_mode not in CREDITS_MODES:
        raise ValueError(f"credits_mode must be one of {', '.join(CREDITS_MODES)}, not {credits_mode!r}")
    items = list(items)
    numbering = _installment_numbers(items)
    arranged = set(arranged_item_ids)
    reminded = set(reminded_item_ids)
    lines = []
    for item in items:
        if item.residual <= 0 or item.issue_date > today:
            continue
        days = (today - item.due_date).days
        number, count = numbering.get(item.id, (0, 0))
        lines.append(
            StatementLine(
                item_id=item.id,
                invoice_ref=item.invoice_ref,
                section=_section(item, days, arranged),
                kind=item.kind or ("credit_note" if item.is_credit else "invoice"),
                currency=item.currency,
                amount=item.amount,
                residual=item.residual,
                issue_date=item.issue_date,
                due_date=item.due_date,
                days_overdue=max(days, 0),
                installment=number,
                installments=count,
                reminded=item.id in reminded,
            )
        )
    lines.sort(key=lambda line: (SECTIONS.index(line.section), line.due_date, line.invoice_ref, line.item_id))
    currencies = sorted({line.currency for line in lines})
    totals = tuple(
        _totals(currency, [ln for ln in lines if ln.currency == currency], credits_mode) for currency in currencies
    )
    return Statement(customer_id, today, credits_mode, tuple(lines), totals)


def _section(item: ReceivableItem, days: int, arranged: set[str]) -> Section:
    if item.is_credit:
        return "credit"
    if item.disputed:
        return "disputed"
    if item.id in arranged:
        return "arranged"
    return "overdue" if days > 0 else "upcoming"


def _installment_numbers(items: list[ReceivableItem]) -> dict[str, tuple[int, int]]:
    """Number the instalments of each invoice that has more than one (1-based, by due date)."""
    by_invoice: dict[str, list[ReceivableItem]] = {}
    for item in items:
        if not item.is_credit:
            by_invoice.setdefault(item.invoice_ref, []).append(item)
    numbers: dict[str, tuple[int, int]] = {}
    for group in by_invoice.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda item: (item.due_date, item.id))
        for index, item in enumerate(group, start=1):
            numbers[item.id] = (index, len(group))
    return numbers


def amount_asked(overdue: Decimal, credits: Decimal, credits_mode: str) -> Decimal:
    """Return what a reminder asks: the overdue amount, less the credits (never below zero) in ``net`` mode."""
    if credits_mode == "net":
        return max(_ZERO, overdue - credits)
    return overdue


def _totals(currency: str, lines: list[StatementLine], credits_mode: CreditsMode) -> StatementTotals:
    sums = dict.fromkeys(SECTIONS, _ZERO)
    for line in lines:
        sums[line.section] += line.residual
    sums = {name: round_money(value, currency) for name, value in sums.items()}
    asked = amount_asked(sums["overdue"], sums["credit"], credits_mode)
    owed = sums["overdue"] + sums["arranged"] + sums["disputed"] + sums["upcoming"]
    return StatementTotals(
        currency=currency,
        overdue=sums["overdue"],
        arranged=sums["arranged"],
        disputed=sums["disputed"],
        upcoming=sums["upcoming"],
        credits=sums["credit"],
        credits_applied=sums["overdue"] - asked,
        amount_due=asked,
        balance=owed - sums["credit"],
    )
