"""Credit holds: whether a customer's new orders must wait, and why (``docs/policy.md``, credit_hold).

The planner calls :func:`credit_hold` for each customer only when the policy has a ``credit_hold``
section. A customer is held when a rule that covers their risk category and stage finds one of its
conditions true, or when someone put them on hold by hand (``Customer.manual_credit_hold``). Holds are
decided afresh on every run: the day the cause is gone (the invoice paid, the balance back under the
limit, the manual hold released), the next run lifts it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .decisions import HOLD_CAUSES, CreditHold, PlanEvaluation
from .phrases import Phrase
from .policy import CreditHoldPolicy, HoldRule
from .types import Customer, ReceivableItem


def credit_hold(
    policy: CreditHoldPolicy,
    customer: Customer,
    situation: HoldSituation,
) -> CreditHold | None:
    """The customer's credit hold with one phrase per cause, or None when nothing holds them."""
    rules = [rule for rule in policy.rules if rule.applies_to(situation.category, situation.stage)]
    if not rules and not customer.manual_credit_hold:
        return None
    found: dict[str, Phrase] = {}
    if customer.manual_credit_hold:
        found["manual"] = Phrase.of("hold_manual", reason=customer.manual_credit_hold)
    for rule in rules:
        for cause, phrase in _causes(rule, customer, situation):
            found.setdefault(cause, phrase)
    if not found:
        return None
    causes = tuple(cause for cause in HOLD_CAUSES if cause in found)
    return CreditHold(
        customer_id=customer.id,
        causes=causes,
        reason_parts=tuple(found[cause] for cause in causes),
        overdue=situation.overdue_due(),
        balance=situation.balance_due(),
        currency=situation.currency,
    )


@dataclass(slots=True)
class HoldSituation:
    """What the rules read of one customer, as the planner found it (amounts in the company currency).

    ``overdue`` is what is overdue, not disputed nor arranged, net of credits (never below zero); ``balance``
    everything open net of credits; ``arranged`` the items under a promise or a plan in good standing.
    """

    category: str
    stage: str
    overdue: Decimal
    balance: Decimal
    currency: str
    quantum: Decimal
    today: date
    items: Sequence[ReceivableItem]
    arranged: Collection[str]
    plans: Sequence[PlanEvaluation]

    def overdue_due(self) -> Decimal:
        """The overdue amount (not disputed nor arranged, net of credits) at the company currency's precision."""
        return self.overdue.quantize(self.quantum, ROUND_HALF_UP)

    def balance_due(self) -> Decimal:
        """Everything open net of credits at the company currency's precision."""
        return self.balance.quantize(self.quantum, ROUND_HALF_UP)

    def oldest_overdue(self) -> tuple[ReceivableItem, int] | None:
        """The item overdue for the most days (not disputed, arranged nor a credit) and its days."""
        today = self.today.toordinal()
        oldest: tuple[ReceivableItem, int] | None = None
        arranged = set(self.arranged)
        for item in self.items:
            if item.residual <= 0 or item.is_credit or item.disputed or item.id in arranged:
                continue
            days = today - item.due_date.toordinal()
            if days > 0 and (oldest is None or days > oldest[1]):
                oldest = (item, days)
        return oldest

    def broken_instalment(self) -> date | None:
        """The due date of the first unpaid instalment of a broken plan (None: no plan is broken)."""
        for evaluation in self.plans:
            if evaluation.status == "broken":
                unpaid = [state.due_date for state in evaluation.installments if state.status == "overdue"]
                return min(unpaid) if unpaid else evaluation.next_due or self.today
        return None


def _causes(rule: HoldRule, customer: Customer, situation: HoldSituation) -> list[tuple[str, Phrase]]:
    """The conditions of one rule that hold, each as its cause and phrase."""
    found: list[tuple[str, Phrase]] = []
    currency = situation.currency
    if rule.broken_plan:
        due = situation.broken_instalment()
        if due is not None:
            found.append(("broken_plan", Phrase.of("hold_broken_plan", due=due.isoformat())))
    if rule.overdue_days is not None and situation.overdue > 0:
        oldest = situation.oldest_overdue()
        if oldest is not None and oldest[1] > rule.overdue_days:
            item, days = oldest
            phrase = Phrase.of("hold_overdue_days", invoice=item.invoice_ref, days=days, limit=rule.overdue_days)
            found.append(("overdue_days", phrase))
    limit = rule.overdue_amount.get(currency)
    if limit is not None and situation.overdue > limit:
        amount = float(situation.overdue_due())
        phrase = Phrase.of("hold_overdue_amount", amount=amount, currency=currency, limit=float(limit))
        found.append(("overdue_amount", phrase))
    credit_limit = customer.credit_limit
    if rule.over_credit_limit and credit_limit is not None and situation.balance > credit_limit:
        amount = float(situation.balance_due())
        phrase = Phrase.of("hold_credit_limit", amount=amount, currency=currency, limit=float(credit_limit))
        found.append(("credit_limit", phrase))
    return found
