"""A/B assignment and results; the statistics they rest on."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collections_engine.experiments import VariantObservation, assign_variant, experiment_results
from collections_engine.stats import (
    normal_cdf,
    normal_ppf,
    roc_auc,
    student_t_cdf,
    student_t_ppf,
    two_proportion_z_test,
    welch_t_test,
    wilson_interval,
)


def test_distributions_match_tables() -> None:
    assert normal_ppf(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert normal_cdf(1.959964) == pytest.approx(0.975, abs=1e-6)
    assert student_t_cdf(2.228, 10) == pytest.approx(0.975, abs=1e-4)
    assert student_t_ppf(0.975, 10) == pytest.approx(2.228139, abs=1e-4)
    assert student_t_cdf(0.0, 3) == pytest.approx(0.5)


def test_wilson_interval_known_value() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)


def test_welch_and_z_tests() -> None:
    # Welch's t-test, example 1 of the Wikipedia article (t = -2.46, df = 25.0, p = 0.021).
    result = welch_t_test(
        [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4],
        [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4],
    )
    assert result is not None
    t, df, p = result
    assert (
        t == pytest.approx(-2.46, abs=0.01)
        and df == pytest.approx(24.99, abs=0.1)
        and p == pytest.approx(0.021, abs=0.002)
    )
    assert welch_t_test([1.0], [2.0, 3.0]) is None
    assert welch_t_test([1.0, 1.0], [1.0, 1.0]) is None
    z = two_proportion_z_test(45, 100, 30, 100)
    assert z is not None and z[0] == pytest.approx(2.191, abs=0.01) and z[1] == pytest.approx(0.0285, abs=0.001)


def test_roc_auc() -> None:
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], [False, True, False, True]) == 0.5
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75


def test_assignment_is_stable_and_follows_weights() -> None:
    variants = [("a", 70), ("b", 30)]
    picks = [assign_variant("exp-1", f"customer-{n}", variants) for n in range(10_000)]
    assert picks == [assign_variant("exp-1", f"customer-{n}", variants) for n in range(10_000)]
    assert abs(picks.count("a") / 10_000 - 0.70) < 0.02
    assert assign_variant("exp-1", "customer-42", variants) == "a"  # pinned: the hash must never change
    reshuffled = [assign_variant("exp-2", f"customer-{n}", variants) for n in range(1000)]
    assert reshuffled != picks[:1000]


@settings(max_examples=100, deadline=None)
@given(customer=st.text(min_size=1, max_size=20), weights=st.lists(st.integers(1, 100), min_size=1, max_size=5))
def test_assignment_always_returns_a_listed_variant(customer: str, weights: list[int]) -> None:
    variants = [(f"v{n}", w) for n, w in enumerate(weights)]
    assert assign_variant("e", customer, variants) in {key for key, _ in variants}


def observation(variant: str, n: int, collected: str, days: int | None) -> VariantObservation:
    return VariantObservation(f"{variant}{n}", variant, Decimal("100"), Decimal(collected), days, Decimal("0.50"))


def test_experiment_results_find_a_real_difference() -> None:
    control = [observation("a", n, "100" if n % 2 else "20", 30 if n % 2 else None) for n in range(200)]
    better = [observation("b", n, "100" if n % 5 else "20", 20 if n % 5 else None) for n in range(200)]
    report = experiment_results(control + better)
    a, b = report.variants
    assert report.control == "a" and a.variant == "a"
    assert a.recovery_rate == pytest.approx(0.60) and b.recovery_rate == pytest.approx(0.84)
    assert a.recovery_interval is not None and a.recovery_interval[0] < 0.60 < a.recovery_interval[1]
    assert b.recovery_difference == pytest.approx(0.24)
    assert b.significant and b.decision == "better"
    assert b.always_valid_p_value is not None and b.always_valid_p_value < 0.001
    assert b.difference_interval is not None and 0 < b.difference_interval[0] < 0.24 < b.difference_interval[1]
    assert report.stop and report.winner == "b"
    assert b.paid_share == pytest.approx(0.8) and b.mean_days_to_pay == pytest.approx(20)
    assert b.cost_per_unit_collected == pytest.approx(100 / 16800)


def test_experiment_results_do_not_invent_significance() -> None:
    same = [observation(v, n, "100" if n % 2 else "0", None) for v in "ab" for n in range(40)]
    _control, b = experiment_results(same).variants
    assert not b.significant and b.decision == "undecided" and b.always_valid_p_value == pytest.approx(1.0)
    tiny = experiment_results([observation("a", 1, "10", None), observation("b", 1, "10", None)])
    assert tiny.variants[1].always_valid_p_value is None and not tiny.variants[1].significant


def test_observations_from_contacts_and_payments() -> None:
    from datetime import date, datetime, timedelta, timezone

    from collections_engine.experiments import observe_experiment
    from collections_engine.types import Allocation, ContactEvent, Customer, History, Payment, Portfolio, ReceivableItem

    utc = timezone.utc
    day = date(2026, 10, 1)

    def open_item(id: str, customer: str, amount: str, residual: str) -> ReceivableItem:
        return ReceivableItem(
            id,
            customer,
            id,
            "EUR",
            Decimal(amount),
            Decimal(residual),
            day - timedelta(days=40),
            day - timedelta(days=10),
        )

    items = (open_item("a1", "ca", "100", "0"), open_item("b1", "cb", "200", "150"), open_item("x1", "cx", "50", "50"))
    payments = (
        Payment("pa", "ca", day + timedelta(days=12), Decimal("100"), "EUR", (Allocation("a1", Decimal("100")),)),
        Payment("pb", "cb", day + timedelta(days=5), Decimal("50"), "EUR", (Allocation("b1", Decimal("50")),)),
    )
    contact = datetime(2026, 10, 1, 9, tzinfo=utc)
    events = (
        ContactEvent("e1", "ca", contact, "email", "first", "standard", "a", ("a1",), cost=Decimal("0.02")),
        ContactEvent("e2", "cb", contact, "call", "first", "standard", "b", ("b1",), cost=Decimal("4")),
        ContactEvent("e3", "cx", contact, "email", "first", "other", "a", ("x1",)),
    )
    book = Portfolio("EUR", tuple(Customer(c, c) for c in ("ca", "cb", "cx")), items, payments)
    found = observe_experiment(book, History(events), datetime(2026, 11, 1, tzinfo=utc), "standard")
    assert found == [
        VariantObservation("ca", "a", Decimal("100"), Decimal("100"), 12, Decimal("0.02")),
        VariantObservation("cb", "b", Decimal("200"), Decimal("50"), None, Decimal("4")),
    ]
