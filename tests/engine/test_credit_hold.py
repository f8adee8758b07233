"""Credit holds: hand-made portfolios, each rule's condition and scope, reasons as phrases, validation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from factories import AS_OF, TODAY, customer, history, item, portfolio

from collections_engine import CreditHold, plan
from collections_engine.decisions import CustomerDecision
from collections_engine.defaults import default_policy_document
from collections_engine.errors import PolicyError
from collections_engine.phrases import english
from collections_engine.policy import Policy, policy_from_dict, policy_from_json, policy_to_dict, policy_to_json
from collections_engine.types import Customer, Installment, PaymentPlan, Portfolio, Promise, ReceivableItem


def hold_policy(*rules: dict[str, Any]) -> Policy:
    document = default_policy_document()
    document["credit_hold"] = {"rules": list(rules)}
    return policy_from_dict(document)


def decide(book: Portfolio, policy: Policy) -> CustomerDecision:
    (decision,) = plan(book, policy, history(), AS_OF).customers
    return decision


def hold_of(customers: list[Customer], items: list[ReceivableItem], policy: Policy, **book: Any) -> CreditHold | None:
    return decide(portfolio(customers, items, **book), policy).credit_hold


def reasons(hold: CreditHold | None) -> list[str]:
    assert hold is not None
    return [english(part) for part in hold.reason_parts]


OVERDUE_30 = {"overdue_days": 30}


# --------------------------------------------------------------------------------------
# Without the section nothing is held, and nothing more is computed
# --------------------------------------------------------------------------------------


def test_without_the_section_nobody_is_held_not_even_by_hand() -> None:
    policy = policy_from_dict(default_policy_document())
    assert policy.credit_hold is None
    by_hand = customer(manual_credit_hold="cheque bounced", credit_limit=Decimal(1))
    assert hold_of([by_hand], [item("i1", 200, amount="9000.00")], policy) is None
    assert "credit_hold" not in policy_to_dict(policy)  # a policy without holds exports as it always did


# --------------------------------------------------------------------------------------
# Overdue beyond N days, beyond an amount
# --------------------------------------------------------------------------------------


def test_an_item_overdue_beyond_the_days_holds_the_customer() -> None:
    policy = hold_policy(OVERDUE_30)
    hold = hold_of([customer()], [item("i1", 45, amount="1200.00"), item("i2", 10)], policy)
    assert hold is not None
    assert hold.causes == ("overdue_days",)
    assert reasons(hold) == ["INV/i1 45 days overdue, over the 30-day limit"]
    assert (hold.overdue, hold.balance, hold.currency) == (Decimal("1300.00"), Decimal("1300.00"), "EUR")
    assert hold.reason == "INV/i1 45 days overdue, over the 30-day limit"


@pytest.mark.parametrize(("days", "held"), [(29, False), (30, False), (31, True)])
def test_the_days_are_a_limit_to_go_beyond(days: int, held: bool) -> None:
    assert (hold_of([customer()], [item("i1", days)], hold_policy(OVERDUE_30)) is not None) is held


def test_disputed_arranged_and_credit_covered_items_do_not_hold() -> None:
    policy = hold_policy(OVERDUE_30)
    assert hold_of([customer()], [item("i1", 60, disputed=True)], policy) is None
    promise = Promise("p1", "c1", TODAY - timedelta(days=2), TODAY + timedelta(days=10), Decimal("100"), "EUR", ("i1",))
    assert hold_of([customer()], [item("i1", 60)], policy, promises=(promise,)) is None
    credit = item("cn1", 0, amount="100.00", is_credit=True)
    assert hold_of([customer()], [item("i1", 60), credit], policy) is None  # the customer owes nothing net
    assert hold_of([customer()], [item("i1", 60, residual="0.00")], policy) is None  # paid


def test_overdue_beyond_an_amount_in_the_company_currency() -> None:
    policy = hold_policy({"overdue_amount": {"EUR": 1000, "USD": 1100}})
    assert hold_of([customer()], [item("i1", 5, amount="1000.00")], policy) is None  # not beyond
    upcoming = item("i3", -20, amount="5000.00")  # not yet due: not overdue
    hold = hold_of([customer()], [item("i1", 5, amount="600.00"), item("i2", 2, amount="400.01"), upcoming], policy)
    assert hold is not None and hold.causes == ("overdue_amount",)
    assert reasons(hold) == ["1000.01 EUR overdue, over the limit of 1000.00 EUR"]
    assert (hold.overdue, hold.balance) == (Decimal("1000.01"), Decimal("6000.01"))
    only_usd = hold_policy({"overdue_amount": {"USD": 10}})
    assert hold_of([customer()], [item("i1", 5, amount="600.00")], only_usd) is None  # no EUR amount: no condition


def test_foreign_currency_items_count_at_the_rate() -> None:
    policy = hold_policy({"overdue_amount": {"EUR": 1000}})
    dollars = item("i1", 5, amount="1000.00", currency="USD")
    assert hold_of([customer()], [dollars], policy, rates={"USD": Decimal("0.9")}) is None  # 900 EUR
    hold = hold_of([customer()], [dollars], policy, rates={"USD": Decimal("1.1")})
    assert hold is not None and reasons(hold) == ["1100.00 EUR overdue, over the limit of 1000.00 EUR"]


# --------------------------------------------------------------------------------------
# Credit limit, broken plan, manual hold
# --------------------------------------------------------------------------------------


def test_a_balance_over_the_credit_limit_holds_whatever_is_due() -> None:
    policy = hold_policy({"over_credit_limit": True})
    items = [item("i1", -20, amount="4000.00"), item("i2", 3, amount="2000.00")]
    assert hold_of([customer()], items, policy) is None  # no limit given: no condition
    assert hold_of([customer(credit_limit=Decimal("6000"))], items, policy) is None  # at the limit, not over
    hold = hold_of([customer(credit_limit=Decimal("5000"))], items, policy)
    assert hold is not None and hold.causes == ("credit_limit",)
    assert reasons(hold) == ["balance of 6000.00 EUR, over the credit limit of 5000.00 EUR"]
    credit = item("cn1", 0, amount="1500.00", is_credit=True)  # credits lower the balance
    assert hold_of([customer(credit_limit=Decimal("5000"))], [*items, credit], policy) is None


def broken_or_good_plan(paid: bool) -> dict[str, Any]:
    from collections_engine.types import Payment

    start = TODAY - timedelta(days=40)
    schedule = tuple(Installment(n, start + timedelta(days=30 * n), Decimal("50")) for n in (1, 2))
    plan_ = PaymentPlan("pl", "c1", start, "EUR", Decimal("100"), schedule, grace_days=5, item_ids=("i1",))
    payment = Payment("pay", "c1", start + timedelta(days=29), Decimal("50"), "EUR")
    return {"plans": (plan_,), "payments": (payment,) if paid else ()}


def test_a_broken_plan_holds_one_in_good_standing_does_not() -> None:
    policy = hold_policy({"broken_plan": True})
    items = [item("i1", 60, residual="50.00")]
    assert hold_of([customer()], items, policy, **broken_or_good_plan(paid=True)) is None
    hold = hold_of([customer()], items, policy, **broken_or_good_plan(paid=False))
    due = TODAY - timedelta(days=10)
    assert hold is not None and hold.causes == ("broken_plan",)
    assert reasons(hold) == [f"payment plan broken: the instalment due {due.isoformat()} is unpaid"]


def test_a_manual_hold_holds_with_its_reason_even_without_rules() -> None:
    policy = hold_policy()
    assert policy.credit_hold is not None and policy.credit_hold.rules == ()
    assert hold_of([customer()], [item("i1", 90)], policy) is None
    hold = hold_of([customer(manual_credit_hold="returned cheque of 3 March")], [], policy)
    assert hold is not None and hold.causes == ("manual",)
    assert reasons(hold) == ["manual hold: returned cheque of 3 March"]
    assert (hold.overdue, hold.balance) == (Decimal("0.00"), Decimal("0.00"))


def test_every_cause_is_given_once_in_a_fixed_order() -> None:
    policy = hold_policy(
        {"overdue_amount": {"EUR": 100}, "overdue_days": 60},
        {"over_credit_limit": True, "overdue_days": 10},  # the first rule's days do not hold, this one's do
        {"overdue_days": 5},  # the cause is already given by the rule before
    )
    held = customer(credit_limit=Decimal("200"), manual_credit_hold="director's decision")
    hold = hold_of([held], [item("i1", 20, amount="300.00")], policy)
    assert hold is not None
    assert hold.causes == ("manual", "overdue_days", "overdue_amount", "credit_limit")
    assert reasons(hold) == [
        "manual hold: director's decision",
        "INV/i1 20 days overdue, over the 10-day limit",
        "300.00 EUR overdue, over the limit of 100.00 EUR",
        "balance of 300.00 EUR, over the credit limit of 200.00 EUR",
    ]


# --------------------------------------------------------------------------------------
# Per risk category and stage; decided afresh on each run
# --------------------------------------------------------------------------------------


def test_rules_apply_to_their_risk_categories_and_stages_only() -> None:
    items = [item("i1", 45)]
    category = decide(portfolio([customer()], items), hold_policy()).risk.category
    others = [key for key in ("low", "medium", "high") if key != category]
    assert hold_of([customer()], items, hold_policy({**OVERDUE_30, "risk_categories": others})) is None
    assert hold_of([customer()], items, hold_policy({**OVERDUE_30, "risk_categories": [category]})) is not None
    stage = decide(portfolio([customer()], items), hold_policy()).stage
    assert stage == "follow_up"
    assert hold_of([customer()], items, hold_policy({**OVERDUE_30, "stages": ["escalated"]})) is None
    assert hold_of([customer()], items, hold_policy({**OVERDUE_30, "stages": ["follow_up", "escalated"]}))
    both = {**OVERDUE_30, "stages": ["follow_up"], "risk_categories": others}
    assert hold_of([customer()], items, hold_policy(both)) is None  # both scopes must match


def test_the_hold_lifts_once_the_cause_is_gone() -> None:
    policy = hold_policy(OVERDUE_30, {"over_credit_limit": True})
    held = customer(credit_limit=Decimal("500"))
    assert hold_of([held], [item("i1", 45, amount="800.00")], policy) is not None
    paid = item("i1", 45, amount="800.00", residual="0.00", settled_on=TODAY)
    assert hold_of([held], [paid], policy) is None
    partly_paid = item("i1", 45, amount="800.00", residual="400.00")
    hold = hold_of([held], [partly_paid], policy)
    assert hold is not None and hold.causes == ("overdue_days",)  # under the limit now, still overdue


def test_the_runs_held_customers_by_id() -> None:
    policy = hold_policy(OVERDUE_30)
    customers = [customer("c1"), customer("c2")]
    items = [item("i1", 45), item("i2", 5, customer_id="c2")]
    decisions = plan(portfolio(customers, items), policy, history(), AS_OF)
    assert list(decisions.credit_holds()) == ["c1"]
    assert decisions.credit_holds()["c1"].customer_id == "c1"


# --------------------------------------------------------------------------------------
# The policy section: validation naming each field, round trip
# --------------------------------------------------------------------------------------


def problems_of(section: Any) -> list[str]:
    document = default_policy_document()
    document["credit_hold"] = section
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(document)
    return caught.value.problems


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ([], "credit_hold: must be an object"),
        ({"rule": []}, "credit_hold.rule: unknown field"),
        ({"rules": {}}, "credit_hold.rules: must be a list"),
        ({"rules": [{}]}, "credit_hold.rules[0]: sets no condition: give overdue_days, overdue_amount, "
         "over_credit_limit or broken_plan"),
        ({"rules": [{"overdue_day": 3}]}, "credit_hold.rules[0].overdue_day: unknown field"),
        ({"rules": [{"overdue_days": -1}]}, "credit_hold.rules[0].overdue_days: must be at least 0"),
        ({"rules": [{"overdue_days": "30"}]}, "credit_hold.rules[0].overdue_days: must be an integer"),
        ({"rules": [{"overdue_amount": {"eur": 10}}]},
         "credit_hold.rules[0].overdue_amount.eur: must be an ISO 4217 currency code such as EUR"),
        ({"rules": [{"overdue_amount": {"EUR": "10.001"}}]},
         "credit_hold.rules[0].overdue_amount.EUR: 10.001 has more decimals than EUR allows (0.01)"),
        ({"rules": [{"over_credit_limit": "yes"}]}, "credit_hold.rules[0].over_credit_limit: must be true or false"),
        ({"rules": [{"broken_plan": True, "risk_categories": ["vip"]}]},
         "credit_hold.rules[0].risk_categories[0]: 'vip' is not a risk category key"),
        ({"rules": [OVERDUE_30, {"broken_plan": True, "stages": ["follow_up", "legal"]}]},
         "credit_hold.rules[1].stages[1]: 'legal' is not a stage key"),
    ],
)
def test_invalid_sections_are_refused_naming_the_field(section: Any, expected: str) -> None:
    assert expected in problems_of(section)


def test_the_section_round_trips() -> None:
    policy = hold_policy(
        {"risk_categories": ["high"], "overdue_days": 15, "overdue_amount": {"EUR": "2500.50"}},
        {"stages": ["escalated"], "over_credit_limit": True, "broken_plan": True},
        {"overdue_days": 0},
    )
    assert policy_from_json(policy_to_json(policy)) == policy
    document = policy_to_dict(policy)
    assert document["credit_hold"]["rules"][0] == {
        "risk_categories": ["high"],
        "stages": [],
        "overdue_days": 15,
        "overdue_amount": {"EUR": 2500.5},
        "over_credit_limit": False,
        "broken_plan": False,
    }
    assert "overdue_days" not in document["credit_hold"]["rules"][1]
    assert policy_to_dict(policy_from_dict(document)) == document
    assert policy_to_dict(hold_policy())["credit_hold"] == {"rules": []}
