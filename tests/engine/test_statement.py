"""The statement of account: sections, instalments, credits, disputes and totals per currency."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from factories import TODAY, item
from hypothesis import given
from hypothesis import strategies as st

from collections_engine.statement import build_statement
from collections_engine.types import ReceivableItem

D = Decimal


def test_disputed_items_are_listed_apart_and_never_asked_for() -> None:
    items = [item("a", 20, "100.00"), item("b", 10, "500.00"), item("x", 30, "250.00", disputed=True)]
    statement = build_statement("c1", items, TODAY)
    totals = statement.totals_for("EUR")
    assert (totals.overdue, totals.disputed, totals.amount_due) == (D("600.00"), D("250.00"), D("600.00"))
    assert [line.item_id for line in statement.section("overdue")] == ["a", "b"]  # oldest due first
    assert [line.item_id for line in statement.section("disputed")] == ["x"]
    assert totals.balance == D("850.00")


def test_credit_notes_and_unapplied_payments_are_netted_from_the_amount_asked() -> None:
    items = [
        item("a", 40, "1000.00"),
        item("b", 10, "500.00"),
        item("cn", 5, "300.00", is_credit=True, invoice_ref="RINV/1"),
        item("pay", 2, "50.00", is_credit=True, kind="payment", invoice_ref="PBNK/7"),
    ]
    statement = build_statement("c1", items, TODAY)
    totals = statement.totals_for("EUR")
    assert (totals.overdue, totals.credits, totals.credits_applied) == (D("1500.00"), D("350.00"), D("350.00"))
    assert totals.amount_due == D("1150.00")
    assert totals.balance == D("1150.00")
    credits = [(line.item_id, line.kind) for line in statement.section("credit")]
    assert credits == [("cn", "credit_note"), ("pay", "payment")]


def test_show_only_lists_credits_without_deducting_them() -> None:
    items = [item("a", 40, "1000.00"), item("cn", 5, "300.00", is_credit=True)]
    totals = build_statement("c1", items, TODAY, credits_mode="show").totals_for("EUR")
    assert (totals.amount_due, totals.credits, totals.credits_applied, totals.balance) == (
        D("1000.00"), D("300.00"), D("0"), D("700.00"))


def test_a_credit_larger_than_the_overdue_amount_asks_for_nothing_and_keeps_the_rest() -> None:
    items = [item("a", 10, "300.00"), item("up", -20, "400.00"), item("cn", 5, "500.00", is_credit=True)]
    totals = build_statement("c1", items, TODAY).totals_for("EUR")
    assert (totals.amount_due, totals.credits_applied, totals.credit_left) == (D("0.00"), D("300.00"), D("200.00"))
    assert totals.upcoming == D("400.00")


def test_instalments_are_listed_at_their_own_residual_and_numbered() -> None:
    first = item("l1", 30, "600.00", invoice_ref="INV/9")
    second = item("l2", -30, "600.00", invoice_ref="INV/9", issue_date=first.issue_date)
    statement = build_statement("c1", [second, first], TODAY)
    (overdue,) = statement.section("overdue")
    (upcoming,) = statement.section("upcoming")
    assert (overdue.item_id, overdue.residual, overdue.installment, overdue.installments) == ("l1", D("600.00"), 1, 2)
    assert (upcoming.item_id, upcoming.installment, upcoming.installments) == ("l2", 2, 2)
    assert statement.totals_for("EUR").amount_due == D("600.00")


def test_a_settled_instalment_still_counts_in_the_numbering() -> None:
    paid = item("l1", 60, "500.00", residual="0", invoice_ref="INV/3")
    due = item("l2", 30, "500.00", invoice_ref="INV/3")
    (line,) = build_statement("c1", [paid, due], TODAY).lines
    assert (line.installment, line.installments) == (2, 2)


def test_partial_payments_leave_the_residual() -> None:
    (line,) = build_statement("c1", [item("a", 12, "1000.00", residual="400.00")], TODAY).lines
    assert (line.amount, line.residual, line.days_overdue) == (D("1000.00"), D("400.00"), 12)


def test_items_under_a_promise_or_plan_are_arranged_not_asked() -> None:
    items = [item("a", 40, "100.00"), item("b", 20, "200.00")]
    statement = build_statement("c1", items, TODAY, arranged_item_ids={"a"})
    totals = statement.totals_for("EUR")
    assert (totals.overdue, totals.arranged, totals.amount_due) == (D("200.00"), D("100.00"), D("200.00"))
    assert statement.oldest_days_overdue == 20


def test_due_today_is_upcoming_and_future_issues_are_left_out() -> None:
    items = [item("today", 0, "100.00"), item("later", 0, "50.00", issue_date=TODAY + timedelta(days=1))]
    statement = build_statement("c1", items, TODAY)
    assert [line.item_id for line in statement.section("upcoming")] == ["today"]
    assert not statement.has_amount_due


def test_each_currency_has_its_own_totals() -> None:
    items = [item("a", 10, "100.00"), item("u", 10, "70.00", currency="USD"), item("jp", 3, "1500", currency="JPY")]
    statement = build_statement("c1", items, TODAY)
    assert statement.currencies == ("EUR", "JPY", "USD")
    assert statement.totals_for("USD").amount_due == D("70.00")
    assert statement.totals_for("JPY").amount_due == D("1500")
    assert statement.totals_for("GBP").amount_due == D("0")


def test_reminded_items_are_flagged() -> None:
    statement = build_statement("c1", [item("a", 10), item("b", 40)], TODAY, reminded_item_ids={"a"})
    assert {line.item_id: line.reminded for line in statement.lines} == {"a": True, "b": False}


def test_an_unknown_credits_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="credits_mode"):
        build_statement("c1", [], TODAY, credits_mode="offset")  # type: ignore[arg-type]


amounts = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
entries = st.lists(
    st.tuples(st.integers(-30, 120), amounts, st.booleans(), st.booleans(), st.booleans()), max_size=25
)


@given(entries, st.sampled_from(["net", "show"]))
def test_sections_add_up_to_the_ledger(rows: list[tuple[int, Decimal, bool, bool, bool]], mode: str) -> None:
    items: list[ReceivableItem] = [
        item(f"i{n}", days, str(amount), is_credit=credit, disputed=disputed and not credit)
        for n, (days, amount, credit, disputed, _) in enumerate(rows)
    ]
    arranged = {f"i{n}" for n, row in enumerate(rows) if row[4]}
    statement = build_statement("c1", items, TODAY, arranged_item_ids=arranged, credits_mode=mode)  # type: ignore[arg-type]
    totals = statement.totals_for("EUR")
    debit = sum((i.residual for i in items if not i.is_credit), D(0))
    credit = sum((i.residual for i in items if i.is_credit), D(0))
    assert totals.overdue + totals.arranged + totals.disputed + totals.upcoming == debit
    assert totals.credits == credit
    assert totals.balance == debit - credit
    assert 0 <= totals.amount_due <= totals.overdue
    assert sum((line.residual for line in statement.section("overdue")), D(0)) == totals.overdue
    assert not any(line.section == "overdue" and (line.item_id in arranged) for line in statement.lines)
    assert all(line.days_overdue > 0 for line in statement.section("overdue"))
    if mode == "show":
        assert totals.amount_due == totals.overdue
    else:
        assert totals.amount_due == max(D(0), totals.overdue - credit)
