"""Aging buckets and KPIs, checked against figures worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from factories import AS_OF, TODAY, customer, event, history, item, portfolio

from collections_engine import plan
from collections_engine.aging import age_items, bucket_index, bucket_labels
from collections_engine.defaults import default_policy_document
from collections_engine.kpis import compute_kpis
from collections_engine.policy import policy_from_dict
from collections_engine.types import Allocation, CollectionCost, Payment, Promise, ReceivableItem


def test_bucket_labels_and_boundaries() -> None:
    assert [label for label, _, _ in bucket_labels([30, 60])] == ["not_due", "1-30", "31-60", "61+"]
    assert [bucket_index(d, [30, 60]) for d in (-5, 0, 1, 30, 31, 60, 61, 400)] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_aging_in_item_and_company_currency() -> None:
    items = [
        item("a", -3, "100.00"),
        item("b", 10, "200.00", currency="USD"),
        item("c", 45, "50.00"),
        item("d", 45, "20.00", is_credit=True),
        item("e", 200, "10.00", residual="0"),
    ]
    report = age_items(items, [30, 60], TODAY, "EUR", {"USD": Decimal("0.5")})
    amounts = {b.label: b.company_amount for b in report.buckets}
    assert amounts == {"not_due": Decimal("100.00"), "1-30": Decimal("100.00"), "31-60": Decimal("30.00"), "61+": 0}
    assert report.buckets[1].by_currency == {"USD": Decimal("200.00")}
    assert report.total == Decimal("230.00") and report.overdue == Decimal("130.00")


def kpi_book() -> tuple:  # type: ignore[type-arg]
    """A small ledger whose KPIs are easy to work out by hand (period: the 90 days to TODAY)."""
    start = TODAY - timedelta(days=90)
    items = [
        # open at the start of the period, overdue, paid in full during it: recovered
        ReceivableItem(
            "old1",
            "c1",
            "O-1",
            "EUR",
            Decimal("300"),
            Decimal("0"),
            start - timedelta(days=60),
            start - timedelta(days=30),
            settled_on=start + timedelta(days=10),
        ),
        # open at the start, overdue, still open
        ReceivableItem(
            "old2",
            "c2",
            "O-2",
            "EUR",
            Decimal("100"),
            Decimal("100"),
            start - timedelta(days=60),
            start - timedelta(days=30),
        ),
        # sold in the period, now overdue
        ReceivableItem(
            "new1",
            "c2",
            "N-1",
            "EUR",
            Decimal("600"),
            Decimal("600"),
            TODAY - timedelta(days=60),
            TODAY - timedelta(days=30),
        ),
        # sold in the period, not yet due
        ReceivableItem(
            "new2",
            "c1",
            "N-2",
            "EUR",
            Decimal("300"),
            Decimal("300"),
            TODAY - timedelta(days=10),
            TODAY + timedelta(days=20),
        ),
    ]
    promises = (
        Promise("p1", "c1", start + timedelta(days=1), start + timedelta(days=8), Decimal("300"), "EUR"),
        Promise("p2", "c2", TODAY - timedelta(days=20), TODAY - timedelta(days=10), Decimal("100"), "EUR"),
    )
    payments = (
        Payment("pay1", "c1", start + timedelta(days=7), Decimal("300"), "EUR", (Allocation("old1", Decimal("300")),)),
    )
    book = portfolio(
        [customer("c1", collector="ana"), customer("c2", collector="luis")], items, promises=promises, payments=payments
    )
    return book, history(event("c2", "first", ("old2",), 30, cost=Decimal("4")), event("c1", "first", ("old1",), 85))


def test_kpis_by_hand() -> None:
    book, past = kpi_book()
    policy = policy_from_dict(default_policy_document())
    kpis = compute_kpis(book, policy, past, AS_OF).overall
    # receivables at the end: 100 + 600 + 300 = 1000; sales in the period: 900; current: 300
    assert kpis.receivables == Decimal("1000") and kpis.credit_sales == Decimal("900")
    assert kpis.dso == pytest.approx(1000 / 900 * 90)
    assert kpis.best_possible_dso == pytest.approx(300 / 900 * 90)
    assert kpis.average_days_delinquent == pytest.approx(700 / 900 * 90)
    # CEI = (400 + 900 - 1000) / (400 + 900 - 300)
    assert kpis.cei == pytest.approx(30.0)
    assert (kpis.customers_with_balance, kpis.customers_delinquent) == (2, 1)
    assert kpis.pct_customers_delinquent == pytest.approx(50.0)
    assert kpis.pct_amount_delinquent == pytest.approx(70.0)
    assert kpis.recovery_rate == pytest.approx(75.0)  # 300 of the 400 overdue at the start
    assert (kpis.promises_due, kpis.promise_kept_rate) == (2, pytest.approx(50.0))
    assert kpis.actions == 2 and kpis.collection_cost == Decimal("4")
    assert kpis.collected == Decimal("300")  # collected on dunned items
    assert kpis.cost_per_collection == pytest.approx(4 / 300)


def test_an_agency_commission_is_a_cost_of_collection_but_no_contact() -> None:
    book, past = kpi_book()
    policy = policy_from_dict(default_policy_document())
    start = TODAY - timedelta(days=90)
    costs = (
        CollectionCost("c1", TODAY - timedelta(days=5), Decimal("30")),  # in the period
        CollectionCost("c2", TODAY - timedelta(days=1), Decimal("6")),  # in the period
        CollectionCost("c2", start, Decimal("10")),  # the period's first day is the day before it began
        CollectionCost("c2", TODAY + timedelta(days=1), Decimal("50")),  # after the period
    )
    report = compute_kpis(book, policy, past, AS_OF, grouping="collector", other_costs=costs)
    # contacts: 4 (luis's customer c2); commissions: 30 (ana's c1) + 6 (c2); collected on dunned items: 300
    assert report.overall.actions == 2 and report.overall.collection_cost == Decimal("40")
    assert report.overall.cost_per_collection == pytest.approx(40 / 300)
    assert report.groups["ana"].collection_cost == Decimal("30") and report.groups["ana"].actions == 1
    assert report.groups["luis"].collection_cost == Decimal("10") and report.groups["luis"].actions == 1
    without = compute_kpis(book, policy, past, AS_OF, grouping="collector")
    assert without.groups["ana"].collection_cost == Decimal("0")
    # the rest of the KPIs do not move
    assert replace(report.overall, collection_cost=Decimal("4"), cost_per_collection=4 / 300) == without.overall


def test_money_received_on_account_is_no_credit_sale_but_a_credit_note_is() -> None:
    book, past = kpi_book()
    policy = policy_from_dict(default_policy_document())
    day = TODAY - timedelta(days=5)
    on_account = ReceivableItem(
        "pay9", "c1", "P-9", "EUR", Decimal("50"), Decimal("50"), day, day, is_credit=True, kind="payment"
    )
    refund = ReceivableItem("cn9", "c1", "CN-9", "EUR", Decimal("20"), Decimal("20"), day, day, is_credit=True)
    with_payment = replace(book, items=(*book.items, on_account))
    with_refund = replace(book, items=(*book.items, refund))
    kpis = compute_kpis(with_payment, policy, past, AS_OF).overall
    assert kpis.credit_sales == Decimal("900")  # unchanged
    assert kpis.receivables == Decimal("950")  # the receivables are net of it
    kpis = compute_kpis(with_refund, policy, past, AS_OF).overall
    assert kpis.credit_sales == Decimal("880") and kpis.receivables == Decimal("980")


def test_countback_dso() -> None:
    book, past = kpi_book()
    policy = policy_from_dict(default_policy_document())
    kpis = compute_kpis(book, policy, past, AS_OF).overall
    # 1000 open: Oct 24-Nov 24 sold 300 (31 days), Sep 24-Oct 24 sold 600 (30 days), two months without sales
    # (31 + 31 days), then Jun 24-Jul 24 sold 400 of which 100 remain: 30 x 100 / 400 days
    assert kpis.dso_countback == pytest.approx(31 + 30 + 31 + 31 + 30 * 100 / 400)


def test_kpis_per_group() -> None:
    book, past = kpi_book()
    policy = policy_from_dict(default_policy_document())
    report = compute_kpis(book, policy, past, AS_OF, grouping="collector")
    assert set(report.groups) == {"ana", "luis"}
    assert report.groups["ana"].receivables == Decimal("300") and report.groups["luis"].receivables == Decimal("700")
    assert report.groups["luis"].pct_amount_delinquent == pytest.approx(100.0)
    decisions = plan(book, policy, past, AS_OF)
    by_risk = compute_kpis(book, policy, past, AS_OF, decisions, "risk_category")
    assert sum(g.receivables for g in by_risk.groups.values()) == Decimal("1000")
    by_variant = compute_kpis(book, policy, past, AS_OF, decisions, "variant")
    assert all(key.startswith("standard/") or key.startswith("high_risk/") for key in by_variant.groups)
    with pytest.raises(ValueError, match="needs the decisions"):
        compute_kpis(book, policy, past, AS_OF, grouping="variant")


def test_kpis_per_group_given_by_the_caller() -> None:
    book, past = kpi_book()
    policy = policy_from_dict(default_policy_document())
    by_collector = compute_kpis(book, policy, past, AS_OF, grouping="collector")
    teams = {customer.id: {"ana": "north", "luis": "south"}[customer.collector] for customer in book.customers}
    by_team = compute_kpis(book, policy, past, AS_OF, grouping="team", groups=teams)
    assert by_team.grouping == "team"
    assert by_team.groups == {"north": by_collector.groups["ana"], "south": by_collector.groups["luis"]}
    first = book.customers[0].id
    partial = compute_kpis(book, policy, past, AS_OF, grouping="team", groups={first: "north"})
    assert set(partial.groups) == {"north", "unassigned"}
    assert sum(g.receivables for g in partial.groups.values()) == partial.overall.receivables
    with pytest.raises(ValueError, match="name the grouping"):
        compute_kpis(book, policy, past, AS_OF, groups=teams)


def test_kpis_as_of_an_earlier_date_rewind_payments() -> None:
    book, past = kpi_book()
    policy = policy_from_dict(default_policy_document())
    start = TODAY - timedelta(days=90)
    before_payment = datetime.combine(start + timedelta(days=6), datetime.min.time(), timezone.utc)
    after_payment = before_payment + timedelta(days=2)
    assert compute_kpis(book, policy, past, before_payment).overall.receivables == Decimal("400")
    assert compute_kpis(book, policy, past, after_payment).overall.receivables == Decimal("100")


def test_aging_buckets_add_up_to_the_kpi_receivables_to_the_cent() -> None:
    rates = {"USD": Decimal("0.923457"), "MXN": Decimal("0.050321")}
    items = [
        item(f"i{n}", days, f"{100 + n * 7.13:.2f}", customer_id=f"c{n % 3}", currency=currency)
        for n, (days, currency) in enumerate(
            [(d, c) for d in (-5, 3, 17, 33, 48, 61, 95, 130) for c in ("EUR", "USD", "MXN")]
        )
    ]
    book = portfolio([customer(f"c{n}") for n in range(3)], items, rates=rates)
    policy = policy_from_dict(default_policy_document())
    report = age_items(book.items, policy.aging_buckets, TODAY, "EUR", rates)
    kpis = compute_kpis(book, policy, history(), AS_OF, plan(book, policy, history(), AS_OF))
    assert sum(b.company_amount for b in report.buckets) == report.total == kpis.overall.receivables
    assert all(b.company_amount == b.company_amount.quantize(Decimal("0.01")) for b in report.buckets)
    exact = sum(i.residual * (rates.get(i.currency) or Decimal(1)) for i in items)
    assert abs(report.total - exact) < Decimal("0.005")  # the buckets' rounding lands on the rounded total
