"""Promises to pay and payment plans: statuses, schedules, allocation, policy limits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collections_engine.defaults import default_policy
from collections_engine.errors import PlanRuleError
from collections_engine.money import quantum
from collections_engine.plans import (
    allocate,
    build_schedule,
    check_plan,
    evaluate_plan,
    installment_reminders,
    make_plan,
    validate_plan,
)
from collections_engine.policy import PromisePolicy
from collections_engine.promises import evaluate_promises, validate_promise
from collections_engine.types import Allocation, Payment, Promise

DAY = date(2026, 11, 2)
RULES = PromisePolicy(tolerance_pct=Decimal("1"), grace_days=2)


def pay(id: str, day: date, amount: str, customer: str = "c1", **values: object) -> Payment:
    return Payment(id=id, customer_id=customer, date=day, amount=Decimal(amount), currency="EUR", **values)  # type: ignore[arg-type]


def promise(id: str, created: date, due: date, amount: str, **values: object) -> Promise:
    return Promise(
        id=id, customer_id="c1", created_on=created, promised_date=due, amount=Decimal(amount), currency="EUR", **values
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("payments", "as_of", "status"),
    [
        ([], DAY + timedelta(days=5), "pending"),
        ([pay("p", DAY + timedelta(days=3), "99.50")], DAY + timedelta(days=3), "kept"),  # within 1% tolerance
        ([pay("p", DAY + timedelta(days=11), "100")], DAY + timedelta(days=11), "kept"),  # paid inside the grace
        ([pay("p", DAY + timedelta(days=3), "40")], DAY + timedelta(days=13), "partially_kept"),
        ([], DAY + timedelta(days=13), "broken"),
        ([pay("p", DAY + timedelta(days=14), "100")], DAY + timedelta(days=14), "broken"),  # paid after the grace
        ([pay("p", DAY - timedelta(days=1), "100")], DAY + timedelta(days=14), "broken"),  # paid before the promise
    ],
)
def test_promise_statuses(payments: list[Payment], as_of: date, status: str) -> None:
    evaluations = evaluate_promises([promise("x", DAY, DAY + timedelta(days=10), "100")], payments, RULES, as_of)
    assert evaluations["x"].status == status


def test_a_new_promise_is_checked_against_the_policy_and_what_is_open() -> None:
    rules = PromisePolicy(max_days_ahead=45)
    assert validate_promise(promise("x", DAY, DAY + timedelta(days=45), "100"), rules, Decimal("100")) == []
    assert validate_promise(promise("x", DAY, DAY + timedelta(days=46), "100"), rules, Decimal("100")) == [
        "promised_date: 2026-12-18 is 46 days ahead; the policy allows at most 45 (promises.max_days_ahead)"
    ]
    assert validate_promise(promise("x", DAY, DAY - timedelta(days=1), "100"), rules, Decimal("100")) == [
        "promised_date: 2026-11-01 is before the day of the promise (2026-11-02)"
    ]
    too_much = validate_promise(promise("x", DAY, DAY, "100.01"), rules, Decimal("100"))
    assert too_much == ["amount: 100.01 EUR is more than the 100 EUR open on the promised items"]
    assert validate_promise(promise("x", DAY, DAY, "0"), rules, Decimal("100")) == ["amount: must be positive, got 0"]
    assert validate_promise(promise("x", DAY, DAY, "1.005"), rules, Decimal("100")) == [
        "amount: 1.005 has more decimals than EUR allows (0.01)"
    ]


def test_cancelled_and_future_promises() -> None:
    cancelled = promise("x", DAY, DAY + timedelta(days=10), "100", cancelled=True)
    future = promise("y", DAY + timedelta(days=30), DAY + timedelta(days=40), "100")
    evaluations = evaluate_promises([cancelled, future], [], RULES, DAY + timedelta(days=1))
    assert evaluations["x"].status == "cancelled" and "y" not in evaluations


def test_a_payment_counts_once_across_overlapping_promises() -> None:
    first = promise("a", DAY, DAY + timedelta(days=5), "60")
    second = promise("b", DAY, DAY + timedelta(days=10), "60")
    evaluations = evaluate_promises(
        [second, first], [pay("p", DAY + timedelta(days=1), "80")], RULES, DAY + timedelta(days=20)
    )
    assert (evaluations["a"].status, evaluations["a"].paid) == ("kept", Decimal("60"))
    assert (evaluations["b"].status, evaluations["b"].paid) == ("partially_kept", Decimal("20"))


def test_allocated_payments_count_only_for_the_promised_items() -> None:
    on_items = promise("a", DAY, DAY + timedelta(days=5), "50", item_ids=("i1",))
    payment = pay("p", DAY + timedelta(days=1), "80", allocations=(Allocation("i2", Decimal("80")),))
    assert evaluate_promises([on_items], [payment], RULES, DAY + timedelta(days=9))["a"].status == "broken"


@settings(max_examples=200, deadline=None)
@given(
    amounts=st.lists(st.integers(1, 50_000), min_size=1, max_size=6),
    payments=st.lists(st.tuples(st.integers(0, 30), st.integers(1, 50_000)), max_size=8),
)
def test_promises_never_count_more_money_than_was_paid(amounts: list[int], payments: list[tuple[int, int]]) -> None:
    promises = [promise(f"p{n}", DAY, DAY + timedelta(days=3 * n), str(a)) for n, a in enumerate(amounts)]
    paid = [pay(f"x{n}", DAY + timedelta(days=d), str(a)) for n, (d, a) in enumerate(payments)]
    evaluations = evaluate_promises(promises, paid, RULES, DAY + timedelta(days=60))
    assert sum(e.paid for e in evaluations.values()) <= sum(p.amount for p in paid)
    assert all(e.paid <= e.amount for e in evaluations.values())


def test_schedule_with_down_payment_and_month_ends() -> None:
    schedule = build_schedule(
        Decimal("1000.00"), "EUR", 3, "monthly", date(2027, 1, 31), Decimal("100.00"), date(2027, 1, 5)
    )
    assert [(i.sequence, i.due_date, i.amount) for i in schedule] == [
        (0, date(2027, 1, 5), Decimal("100.00")),
        (1, date(2027, 1, 31), Decimal("300.00")),
        (2, date(2027, 2, 28), Decimal("300.00")),
        (3, date(2027, 3, 31), Decimal("300.00")),
    ]
    weekly = build_schedule(Decimal("100.00"), "EUR", 3, "weekly", date(2027, 1, 1))
    assert [i.amount for i in weekly] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert weekly[2].due_date == date(2027, 1, 15)


def test_schedule_respects_currency_precision() -> None:
    assert [i.amount for i in build_schedule(Decimal("1000"), "JPY", 3, "biweekly", DAY)] == [
        Decimal("333"),
        Decimal("333"),
        Decimal("334"),
    ]
    assert sum(i.amount for i in build_schedule(Decimal("10.001"), "KWD", 3, "monthly", DAY)) == Decimal("10.001")
    with pytest.raises(ValueError, match=r"total: 10\.001 has more decimals than EUR allows"):
        build_schedule(Decimal("10.001"), "EUR", 3, "monthly", DAY)
    with pytest.raises(ValueError, match="installments: must be at least 1"):
        build_schedule(Decimal("10"), "EUR", 0, "monthly", DAY)
    with pytest.raises(ValueError, match="frequency: 'daily'"):
        build_schedule(Decimal("10"), "EUR", 2, "daily", DAY)


@settings(max_examples=300, deadline=None)
@given(
    cents=st.integers(1, 10**9),
    count=st.integers(1, 36),
    down_share=st.integers(0, 90),
    frequency=st.sampled_from(["weekly", "biweekly", "monthly"]),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
)
def test_instalments_always_sum_to_the_total(
    cents: int, count: int, down_share: int, frequency: str, currency: str
) -> None:
    step = quantum(currency)
    total = Decimal(cents) * step
    down = (total * down_share / 100).quantize(step)
    if down >= total:
        down = Decimal(0)
    schedule = build_schedule(total, currency, count, frequency, DAY, down)
    assert sum(i.amount for i in schedule) == total
    assert all(i.amount == i.amount.quantize(step) for i in schedule)
    regular = [i.amount for i in schedule if i.sequence > 0]
    assert max(regular) - min(regular) < step * count
    assert [i.due_date for i in schedule if i.sequence > 0] == sorted(i.due_date for i in schedule if i.sequence > 0)


@settings(max_examples=300, deadline=None)
@given(
    count=st.integers(1, 12),
    payments=st.lists(st.integers(1, 100_000), max_size=10),
)
def test_allocation_conserves_money_and_fills_oldest_first(count: int, payments: list[int]) -> None:
    plan = make_plan("p", "c1", DAY, "EUR", Decimal("1234.56"), count, "monthly", DAY + timedelta(days=10))
    paid = [pay(f"x{n}", DAY + timedelta(days=n), str(Decimal(a) / 100)) for n, a in enumerate(payments)]
    states = allocate(plan, paid)
    money = sum((p.amount for p in paid), Decimal(0))
    assert sum(s.paid for s in states) == min(plan.total, money)
    assert all(s.paid <= s.amount for s in states)
    first_unpaid = next((n for n, s in enumerate(states) if s.paid < s.amount), len(states))
    assert all(s.paid == 0 for s in states[first_unpaid + 1 :])


def plan_of(grace: int = 5) -> object:
    return make_plan("p", "c1", DAY, "EUR", Decimal("300.00"), 3, "monthly", DAY + timedelta(days=10), grace_days=grace)


@pytest.mark.parametrize(
    ("payments", "as_of", "status"),
    [
        ([], DAY + timedelta(days=9), "good_standing"),
        ([], DAY + timedelta(days=13), "late"),
        ([], DAY + timedelta(days=16), "broken"),
        ([pay("a", DAY + timedelta(days=9), "100")], DAY + timedelta(days=35), "good_standing"),
        ([pay("a", DAY + timedelta(days=9), "150")], DAY + timedelta(days=43), "late"),
        ([pay("a", DAY + timedelta(days=9), "300")], DAY + timedelta(days=43), "completed"),
        ([pay("a", DAY + timedelta(days=20), "100")], DAY + timedelta(days=16), "broken"),  # paid after as_of
    ],
)
def test_plan_statuses(payments: list[Payment], as_of: date, status: str) -> None:
    evaluation = evaluate_plan(plan_of(), payments, as_of)  # type: ignore[arg-type]
    assert evaluation.status == status


def test_plan_validation_against_the_policy() -> None:
    policy = default_policy()
    plan = make_plan("p", "c1", DAY, "EUR", Decimal("1000.00"), 8, "monthly", DAY, Decimal("50.00"), grace_days=9)
    problems = validate_plan(plan, policy.plan_rule("medium"), "medium")
    assert "installments: 8 exceeds the maximum of 6 for risk category 'medium'" in problems
    assert "down_payment: 50.00 is below the minimum of 10% (100.00) for risk category 'medium'" in problems
    assert "grace_days: 9 exceeds the 5 allowed for 'medium'" in problems
    high = validate_plan(plan, policy.plan_rule("high"), "high")
    assert any(p.startswith("frequency: 'monthly' is not allowed for risk category 'high'") for p in high)
    assert validate_plan(plan, None, "vip") == ["risk_category: no payment plans are allowed for 'vip'"]
    ok = make_plan("p", "c1", DAY, "EUR", Decimal("1000.00"), 6, "monthly", DAY, Decimal("100.00"), grace_days=5)
    check_plan(ok, policy.plan_rule("medium"), "medium")
    with pytest.raises(PlanRuleError, match="installments: 8 exceeds"):
        check_plan(plan, policy.plan_rule("medium"), "medium")


def test_instalments_are_reminded_before_their_due_date_and_when_late_but_not_once_the_plan_is_broken() -> None:
    plan = make_plan("p1", "c1", DAY, "EUR", Decimal("900"), 3, "monthly", date(2026, 12, 1), grace_days=5)

    def reminders(as_of: date, payments: tuple[Payment, ...] = ()) -> list[tuple[int, str]]:
        evaluation = evaluate_plan(plan, payments, as_of)
        return [(state.sequence, kind) for state, kind in installment_reminders(evaluation, as_of, 3)]

    assert reminders(date(2026, 11, 27)) == []  # four days ahead: not yet
    assert reminders(date(2026, 11, 28)) == [(1, "pre_due")]
    assert reminders(date(2026, 12, 1)) == [(1, "pre_due")]  # its due date
    assert reminders(date(2026, 12, 3)) == [(1, "overdue")]  # late, inside the 5 grace days
    assert reminders(date(2026, 11, 28), (pay("x", DAY, "300"),)) == []  # already paid
    assert reminders(date(2026, 12, 7)) == []  # past the grace: broken, dunning resumes instead
    assert evaluate_plan(plan, [], date(2026, 12, 7)).status == "broken"
