"""Late fees and interest: hand-computed figures to the cent, grace, minimum and maximum, caps, presets, validation."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from factories import UTC, customer, event, history, item, portfolio

from collections_engine import ChargedFee, History, late_fees, plan
from collections_engine.decisions import CustomerFees, FeeLine
from collections_engine.defaults import default_policy_document
from collections_engine.errors import InputError, PolicyError
from collections_engine.fee_presets import PRESETS
from collections_engine.fees import period_start
from collections_engine.phrases import english
from collections_engine.policy import Policy, policy_from_dict, policy_from_json, policy_to_dict, policy_to_json
from collections_engine.types import Allocation, Installment, Payment, PaymentPlan, Portfolio, ReceivableItem

DUE = date(2026, 9, 30)  # interest runs from 1 October
DEC_5 = datetime(2026, 12, 5, 10, tzinfo=UTC)  # October and November are over


def fee_policy(**late_fees: Any) -> Policy:
    document = default_policy_document()
    for strategy in document["strategies"]:
        strategy.pop("variants", None)
    document["late_fees"] = late_fees
    return policy_from_dict(document)


def invoice(id: str = "i1", amount: str = "1000.00", due: date = DUE, **values: Any) -> ReceivableItem:
    return item(id, 0, amount=amount, due_date=due, issue_date=due - timedelta(days=30), **values)


def lines(book: Portfolio, policy: Policy, as_of: datetime = DEC_5, **options: Any) -> list[FeeLine]:
    return [line for fees in late_fees(book, policy, as_of, **options) for line in fees.lines]


def amounts(found: list[FeeLine], kind: str | None = None) -> list[Decimal]:
    return [line.amount for line in found if kind is None or line.kind == kind]


def charged(found: list[FeeLine], on: date = date(2026, 12, 5)) -> list[ChargedFee]:
    return [line.as_charged(on) for line in found]


INTEREST_10 = {"interest": {"rate_pct": 10}}


# --------------------------------------------------------------------------------------
# Interest to the cent
# --------------------------------------------------------------------------------------


def test_simple_interest_for_each_completed_month_to_the_cent() -> None:
    found = lines(portfolio([customer()], [invoice()]), fee_policy(**INTEREST_10))
    # 1000 x 10 % x 31 / 365 = 8.4931...; 1000 x 10 % x 30 / 365 = 8.2191...; December is not over
    assert [(line.period, line.days, line.amount) for line in found] == [
        (date(2026, 10, 1), 31, Decimal("8.49")),
        (date(2026, 11, 1), 30, Decimal("8.22")),
    ]
    october = found[0]
    assert (october.kind, october.base, october.rate_pct, october.rate_unit) == ("interest", Decimal("1000.00"),
                                                                                  Decimal("10"), "annual")
    assert (october.accrued_from, october.accrued_to) == (date(2026, 10, 1), date(2026, 10, 31))
    assert october.reason == "INV/i1: interest at 10% a year on 1000.00 EUR for 31 days (2026-10-01 to 2026-10-31)"


def test_compound_interest_adds_each_months_interest_to_the_base() -> None:
    found = lines(portfolio([customer()], [invoice()]), fee_policy(interest={"rate_pct": 10, "method": "compound"}))
    # November on 1008.49: 1008.49 x 10 % x 30 / 365 = 8.2889... -> 8.29
    assert [(line.base, line.amount) for line in found] == [
        (Decimal("1000.00"), Decimal("8.49")),
        (Decimal("1008.49"), Decimal("8.29")),
    ]
    assert english(found[1].reason_parts[1]) == "the base includes 8.49 EUR of interest of earlier periods"


def test_compound_interest_is_the_same_whether_october_was_charged_already_or_not() -> None:
    policy = fee_policy(interest={"rate_pct": 10, "method": "compound"})
    book = portfolio([customer()], [invoice()])
    november_run = lines(book, policy, datetime(2026, 11, 3, tzinfo=UTC))
    assert amounts(november_run) == [Decimal("8.49")]
    assert amounts(lines(book, policy, charged=charged(november_run))) == [Decimal("8.29")]


def test_daily_rate_and_a_360_day_year() -> None:
    book = portfolio([customer()], [invoice()])
    daily = lines(book, fee_policy(interest={"rate_pct": "0.05", "unit": "daily"}))
    assert amounts(daily) == [Decimal("15.50"), Decimal("15.00")]  # 1000 x 0.05 % x 31, x 30
    assert daily[0].rate_unit == "daily" and "0.05% a day" in daily[0].reason
    banker = lines(book, fee_policy(interest={"rate_pct": 10, "days_in_year": 360}))
    assert amounts(banker) == [Decimal("8.61"), Decimal("8.33")]  # 1000 x 10 % x 31 / 360 = 8.6111, x 30 = 8.3333


def test_a_partial_payment_lowers_the_base_from_the_next_day() -> None:
    paid = Payment("p1", "c1", date(2026, 10, 15), Decimal("400.00"), "EUR", (Allocation("i1", Decimal("400.00")),))
    book = portfolio([customer()], [invoice(residual="600.00")], payments=(paid,))
    found = lines(book, fee_policy(**INTEREST_10))
    # 1 to 15 October on 1000 (15 days): 4.1095... -> 4.11; 16 to 31 on 600 (16 days): 2.6301... -> 2.63
    assert [(line.accrued_from, line.days, line.base, line.amount) for line in found] == [
        (date(2026, 10, 1), 15, Decimal("1000.00"), Decimal("4.11")),
        (date(2026, 10, 16), 16, Decimal("600.00"), Decimal("2.63")),
        (date(2026, 11, 1), 30, Decimal("600.00"), Decimal("4.93")),  # 600 x 10 % x 30 / 365 = 4.9315
    ]


def test_currencies_round_to_their_own_precision() -> None:
    book = portfolio(
        [customer()],
        [invoice("yen", amount="100000", currency="JPY"), invoice("dinar", amount="1000.000", currency="KWD")],
        rates={"JPY": Decimal("0.0062"), "KWD": Decimal("2.9")},
    )
    found = lines(book, fee_policy(**INTEREST_10), datetime(2026, 11, 3, tzinfo=UTC))
    by_item = {line.item_id: line.amount for line in found}
    assert by_item == {"yen": Decimal("849"), "dinar": Decimal("8.493")}  # 849.315..., 8.49315...
    assert [(fees.currency, fees.total) for fees in late_fees(book, fee_policy(**INTEREST_10),
                                                              datetime(2026, 11, 3, tzinfo=UTC))] == [
        ("JPY", Decimal("849")),
        ("KWD", Decimal("8.493")),
    ]


def test_start_day_and_grace_days() -> None:
    book = portfolio([customer()], [invoice(due=date(2026, 10, 25))])
    policy = fee_policy(grace_days=10, interest={"rate_pct": 10})
    assert lines(book, policy, datetime(2026, 11, 4, tzinfo=UTC)) == []  # 10 days overdue: within the grace
    (late,) = lines(book, policy, datetime(2026, 11, 5, tzinfo=UTC))  # 11 days: October's 6 days are charged
    assert (late.days, late.amount) == (6, Decimal("1.64"))  # 1000 x 10 % x 6 / 365 = 1.6438
    later_start = fee_policy(grace_days=10, interest={"rate_pct": 10, "start_day": 3})
    (shorter,) = lines(book, later_start, datetime(2026, 11, 5, tzinfo=UTC))
    assert (shorter.accrued_from, shorter.days, shorter.amount) == (date(2026, 10, 29), 3, Decimal("0.82"))


def test_interest_below_the_minimum_waits_until_it_reaches_it() -> None:
    book = portfolio([customer()], [invoice()])
    policy = fee_policy(interest={"rate_pct": 10, "min_charge": {"EUR": 10}})
    assert lines(book, policy, datetime(2026, 11, 3, tzinfo=UTC)) == []  # October alone: 8.49
    assert amounts(lines(book, policy)) == [Decimal("8.49"), Decimal("8.22")]  # together 16.71


def test_a_quarterly_period_charges_the_whole_quarter_once_it_is_over() -> None:
    book = portfolio([customer()], [invoice(due=date(2026, 6, 30))])
    policy = fee_policy(period="quarterly", **INTEREST_10)
    (third,) = lines(book, policy, datetime(2026, 10, 2, tzinfo=UTC))
    assert (third.period, third.days, third.amount) == (date(2026, 7, 1), 92, Decimal("25.21"))  # 25.2054...
    assert lines(book, policy, datetime(2026, 12, 31, tzinfo=UTC), charged=charged([third])) == []


# --------------------------------------------------------------------------------------
# Rates that change, and maximum rates
# --------------------------------------------------------------------------------------

REFERENCE = [{"from": "2026-07-01", "rate_pct": "2.15"}, {"from": "2027-01-01", "rate_pct": "2.40"}]


def test_eu_directive_preset_fixed_40_per_invoice_and_reference_rate_plus_8_for_businesses() -> None:
    policy = fee_policy(preset="EU", interest={"reference_rates": REFERENCE})
    due = date(2026, 11, 30)
    items = [
        invoice("a1", amount="600.00", due=due, invoice_ref="F-1"),  # one invoice in two instalments
        invoice("a2", amount="400.00", due=due + timedelta(days=31), invoice_ref="F-1"),
        invoice("b1", amount="1000.00", due=due, invoice_ref="F-1", customer_id="c2"),
    ]
    book = portfolio([customer(audience="b2b"), customer("c2", audience="b2c")], items)
    found = lines(book, policy, datetime(2027, 2, 3, tzinfo=UTC))
    assert {line.customer_id for line in found} == {"c1"}  # the directive protects businesses only
    fixed = [line for line in found if line.kind == "fixed"]
    assert [(line.item_id, line.amount, line.base) for line in fixed] == [("a1", Decimal("40.00"), Decimal("1000.00"))]
    interest = [(line.item_id, line.period, line.rate_pct, line.amount) for line in found if line.kind == "interest"]
    assert interest == [
        ("a1", date(2026, 12, 1), Decimal("10.15"), Decimal("5.17")),  # 600 x 10.15 % x 31 / 365 = 5.1723
        ("a1", date(2027, 1, 1), Decimal("10.40"), Decimal("5.30")),  # 600 x 10.40 % x 31 / 365 = 5.2997
        ("a2", date(2027, 1, 1), Decimal("10.40"), Decimal("3.53")),  # 400 x 10.40 % x 31 / 365 = 3.5332
    ]


def test_a_rate_above_the_maximum_of_the_day_is_capped_and_days_without_a_maximum_accrue_nothing() -> None:
    policy = fee_policy(
        interest={"rate_pct": 30, "max_rates": [{"from": "2026-10-16", "rate_pct": 25}, {"from": "2026-11-01",
                                                                                           "rate_pct": 35}]}
    )
    found = lines(portfolio([customer()], [invoice()]), policy)
    assert [(line.accrued_from, line.days, line.rate_pct, line.amount) for line in found] == [
        (date(2026, 10, 16), 16, Decimal("25"), Decimal("10.96")),  # capped: 1000 x 25 % x 16 / 365 = 10.9589
        (date(2026, 11, 1), 30, Decimal("30"), Decimal("24.66")),  # under November's maximum: 24.6575
    ]
    assert english(found[0].reason_parts[-1]) == "rate capped at the maximum of 25% a year"


def test_colombia_preset_needs_the_usury_rate_and_never_charges_above_it() -> None:
    with pytest.raises(PolicyError, match=r"late_fees.interest.max_rates: the CO preset needs the usury rate"):
        fee_policy(preset="CO", interest={"rate_pct": 30})
    policy = fee_policy(preset="CO", interest={"rate_pct": 30, "max_rates": [{"from": "2026-01-01", "rate_pct": 24}]})
    found = lines(portfolio([customer(country="CO")], [invoice(currency="COP", amount="1000000.00")]), policy)
    assert {line.rate_pct for line in found} == {Decimal("24")}
    assert amounts(found) == [Decimal("20383.56"), Decimal("19726.03")]  # 1,000,000 x 24 % x 31 / 365, x 30 / 365


# --------------------------------------------------------------------------------------
# Fees: fixed, per level, percentage, minimum and maximum
# --------------------------------------------------------------------------------------


def test_percentage_fee_between_its_minimum_and_maximum() -> None:
    policy = fee_policy(percentage={"rate_pct": 2, "minimum": {"EUR": 5}, "maximum": {"EUR": 100}})
    items = [invoice("small", amount="100.00"), invoice("mid", amount="1234.56"), invoice("big", amount="10000.00")]
    found = {line.item_id: line for line in lines(portfolio([customer()], items), policy)}
    assert {k: str(v.amount) for k, v in found.items()} == {
        "small": "5.00",  # 2.00 raised to the minimum
        "mid": "24.69",  # 24.6912
        "big": "100.00",  # 200.00 lowered to the maximum
    }
    assert english(found["small"].reason_parts[-1]) == "raised to the minimum of 5.00 EUR"
    assert english(found["big"].reason_parts[-1]) == "lowered to the maximum of 100.00 EUR"
    assert found["mid"].reason == "INV/mid: 2% of 1234.56 EUR overdue"


def test_one_off_fees_are_charged_once_and_recurring_ones_once_a_period() -> None:
    policy = fee_policy(fixed=[{"amounts": {"EUR": 40}}, {"amounts": {"EUR": 5}, "recurring": True}],
                        percentage={"rate_pct": 1, "recurring": True})
    book = portfolio([customer()], [invoice()])
    november = lines(book, policy, datetime(2026, 11, 3, tzinfo=UTC))
    assert sorted(amounts(november)) == [Decimal("5.00"), Decimal("10.00"), Decimal("40.00")]
    assert lines(book, policy, datetime(2026, 11, 28, tzinfo=UTC), charged=charged(november)) == []
    december = lines(book, policy, DEC_5, charged=charged(november))
    assert sorted((line.kind, line.amount) for line in december) == [("fixed", Decimal("5.00")),
                                                                     ("percentage", Decimal("10.00"))]
    assert {line.period for line in december} == {date(2026, 12, 1)}


def test_a_level_fee_follows_the_reminder_that_covered_the_item() -> None:
    policy = fee_policy(fixed=[{"amounts": {"EUR": 15}, "level": "final", "per": "item"}])
    book = portfolio([customer()], [item("i1", 65), item("i2", 65)])
    sent = history(event("c1", "final", ("i1",), days_ago=2), event("c1", "final", ("i2",), days_ago=2,
                                                                     outcome="bounced"))
    (fee,) = lines(book, policy, datetime(2026, 11, 24, 10, tzinfo=UTC), history=sent)
    assert (fee.item_id, fee.level, fee.amount) == ("i1", "final", Decimal("15.00"))
    assert fee.reason == "INV/i1: fee of the reminder level 'final'"


def test_plan_charges_a_level_fee_with_the_action_that_reaches_the_level() -> None:
    policy = fee_policy(fixed=[{"amounts": {"EUR": 15}, "level": "final"}])
    book = portfolio([customer()], [item("i1", 61)])
    decisions = plan(book, policy, History(), datetime(2026, 11, 24, 10, tzinfo=UTC))
    assert [a.level for a in decisions.actions()] == ["final", "final"]
    (fees,) = decisions.late_fees
    assert (fees.customer_id, fees.currency, fees.total) == ("c1", "EUR", Decimal("15.00"))
    recorded = [line.as_charged(date(2026, 11, 24)) for line in fees.lines]
    again = plan(book, policy, History(), datetime(2026, 11, 25, 10, tzinfo=UTC), charged_fees=recorded)
    assert again.late_fees == ()


def test_plan_without_late_fees_computes_none() -> None:
    policy = fee_policy()
    document = policy_to_dict(policy)
    del document["late_fees"]
    plain = policy_from_dict(document)
    assert plain.late_fees is None and "late_fees" not in policy_to_dict(plain)
    assert plan(portfolio([customer()], [item("i1", 90)]), plain, History(), DEC_5).late_fees == ()
    assert late_fees(portfolio([customer()], [item("i1", 90)]), plain, DEC_5) == ()


# --------------------------------------------------------------------------------------
# Caps
# --------------------------------------------------------------------------------------


def test_the_item_cap_lowers_the_last_line_and_stops_later_ones() -> None:
    policy = fee_policy(fixed=[{"amounts": {"EUR": 40}}], percentage={"rate_pct": 2}, max_per_item={"EUR": 50},
                        **INTEREST_10)
    book = portfolio([customer()], [invoice()])
    found = lines(book, policy)
    # oldest first: October 8.49, November 8.22, then the fee 40 (33.29 left of 50) and the percentage (none left)
    assert [(line.kind, line.amount) for line in found] == [
        ("interest", Decimal("8.49")),
        ("interest", Decimal("8.22")),
        ("fixed", Decimal("33.29")),
    ]
    assert english(found[-1].reason_parts[-1]) == "reduced to the cap of 50.00 EUR per item"
    assert sum(amounts(found)) == Decimal("50.00")
    assert lines(book, policy, datetime(2027, 3, 5, tzinfo=UTC), charged=charged(found)) == []


def test_the_item_cap_as_a_share_of_the_item() -> None:
    policy = fee_policy(fixed=[{"amounts": {"EUR": 40}}], max_item_pct="2.5")
    found = lines(portfolio([customer()], [invoice(amount="999.99")]), policy)
    assert amounts(found) == [Decimal("24.99")]  # 2.5 % of 999.99 = 24.99975, never rounded up


def test_the_period_cap_counts_every_item_of_the_customer_and_what_was_charged() -> None:
    policy = fee_policy(fixed=[{"amounts": {"EUR": 40}}], max_per_period={"EUR": 100})
    items = [invoice(f"i{n}", due=DUE + timedelta(days=n)) for n in range(4)]
    found = lines(portfolio([customer()], items), policy)
    assert amounts(found) == [Decimal("40.00"), Decimal("40.00"), Decimal("20.00")]
    assert english(found[-1].reason_parts[-1]) == "reduced to the cap of 100.00 EUR per period"
    earlier = ChargedFee("k", "c1", "i0", "fixed", "EUR", Decimal("90.00"), date(2026, 12, 1), date(2026, 12, 1))
    assert amounts(lines(portfolio([customer()], items), policy, charged=[earlier])) == [Decimal("10.00")]


# --------------------------------------------------------------------------------------
# Never on disputes nor during a plan in good standing; effective date; who is covered
# --------------------------------------------------------------------------------------

EVERYTHING = {"fixed": [{"amounts": {"EUR": 40}}], "percentage": {"rate_pct": 2}, **INTEREST_10}


def test_nothing_on_a_disputed_item() -> None:
    book = portfolio([customer()], [invoice("d", disputed=True), invoice("ok")])
    assert {line.item_id for line in lines(book, fee_policy(**EVERYTHING))} == {"ok"}


def test_nothing_during_a_plan_in_good_standing_and_no_interest_for_its_days_once_broken() -> None:
    schedule = (Installment(1, date(2026, 11, 20), Decimal("500.00")), Installment(2, date(2026, 12, 20),
                                                                                  Decimal("500.00")))
    arranged = PaymentPlan("p1", "c1", date(2026, 10, 16), "EUR", Decimal("1000.00"), schedule, item_ids=("i1",))
    paid = Payment("pay", "c1", date(2026, 11, 20), Decimal("500.00"), "EUR")
    kept = portfolio([customer()], [invoice()], plans=(arranged,), payments=(paid,))
    assert lines(kept, fee_policy(**EVERYTHING)) == []
    broken = portfolio([customer()], [invoice()], plans=(arranged,))  # nothing paid: broken from 21 November
    interest = [line for line in lines(broken, fee_policy(**EVERYTHING)) if line.kind == "interest"]
    assert [(line.accrued_from, line.days, line.amount) for line in interest] == [
        (date(2026, 10, 1), 15, Decimal("4.11")),  # 1 to 15 October, before the plan
        (date(2026, 11, 21), 10, Decimal("2.74")),  # from the day the plan broke
    ]


def test_nothing_before_the_effective_date_and_interest_only_from_it() -> None:
    policy = fee_policy(effective_from="2026-11-01", **EVERYTHING)
    book = portfolio([customer()], [invoice()])
    assert lines(book, policy, datetime(2026, 10, 31, tzinfo=UTC)) == []
    found = lines(book, policy)
    assert [(line.kind, line.period) for line in found] == [("interest", date(2026, 11, 1))]  # no one-off fee
    later = lines(portfolio([customer()], [invoice(due=date(2026, 11, 10))]), policy)  # its grace ended since
    assert sorted(line.kind for line in later) == ["fixed", "interest", "percentage"]


def test_an_item_paid_in_the_period_just_over_gets_its_last_days_of_interest() -> None:
    paid_off = invoice(residual="0", settled_on=date(2026, 11, 10))
    found = lines(portfolio([customer()], [paid_off]), fee_policy(**EVERYTHING))
    assert [(line.kind, line.days, line.amount) for line in found] == [
        ("interest", 31, Decimal("8.49")),
        ("interest", 10, Decimal("2.74")),  # 1 to 10 November, the day it was paid included
    ]
    long_ago = invoice(residual="0", settled_on=date(2026, 10, 10))
    assert lines(portfolio([customer()], [long_ago]), fee_policy(**EVERYTHING)) == []


def test_country_rule_sets_and_risk_category_exemptions() -> None:
    policy = fee_policy(exempt_risk_categories=["low"], countries={"MX": {"preset": "MX"}}, **EVERYTHING)
    items = [invoice("es", customer_id="c1"), invoice("mx", customer_id="c2", currency="MXN")]
    book = portfolio([customer("c1", country="ES"), customer("c2", country="MX", audience="b2b")], items,
                     rates={"MXN": Decimal("0.05")})
    with pytest.raises(InputError, match="pass risk_categories"):
        lines(book, policy)
    found = lines(book, policy, risk_categories={"c1": "low", "c2": "low"})
    assert [(line.item_id, line.rate_pct, line.amount) for line in found] == [
        ("mx", Decimal("6"), Decimal("5.10")),  # Mexico's own rule set (6 % a year) replaces the policy's
        ("mx", Decimal("6"), Decimal("4.93")),
    ]
    assert {f.customer_id for f in plan(book, policy, History(), DEC_5).late_fees} <= {"c1", "c2"}


def test_lines_are_grouped_per_customer_and_currency() -> None:
    items = [invoice("e"), invoice("u", currency="USD"), invoice("x", customer_id="c2")]
    book = portfolio([customer(), customer("c2")], items, rates={"USD": Decimal("0.9")})
    groups = late_fees(book, fee_policy(fixed=[{"amounts": {"EUR": 40, "USD": 45}}]), DEC_5)
    assert [(g.customer_id, g.currency, g.total) for g in groups] == [
        ("c1", "EUR", Decimal("40.00")),
        ("c1", "USD", Decimal("45.00")),
        ("c2", "EUR", Decimal("40.00")),
    ]
    assert all(isinstance(g, CustomerFees) for g in groups)
    with pytest.raises(InputError, match="timezone-aware"):
        late_fees(book, fee_policy(**EVERYTHING), datetime(2026, 12, 5))


def test_periods() -> None:
    assert period_start(date(2026, 11, 24), "monthly") == date(2026, 11, 1)
    assert period_start(date(2026, 11, 24), "quarterly") == date(2026, 10, 1)
    assert period_start(date(2026, 3, 31), "quarterly") == date(2026, 1, 1)
    assert period_start(date(2026, 11, 24), "yearly") == date(2026, 1, 1)


# --------------------------------------------------------------------------------------
# The policy section
# --------------------------------------------------------------------------------------


def test_late_fees_round_trip_through_json_presets_included() -> None:
    policy = fee_policy(
        period="quarterly",
        effective_from="2026-01-01",
        preset="EU",
        interest={"reference_rates": REFERENCE, "min_charge": {"EUR": "0.50"}},
        percentage={"rate_pct": "1.5", "minimum": {"EUR": 5}},
        max_item_pct=25,
        max_per_period={"EUR": "150.00"},
        countries={"CO": {"preset": "CO", "interest": {"rate_pct": 20, "max_rates": [{"from": "2026-01-01",
                                                                                        "rate_pct": 24}]}},
                   "PE": {}},
    )
    assert policy_from_json(policy_to_json(policy)) == policy
    assert policy_to_dict(policy_from_dict(policy_to_dict(policy))) == policy_to_dict(policy)
    fees = policy.late_fees
    assert fees is not None and fees.rules.fixed[0].amounts == {"EUR": Decimal("40")}
    assert fees.rules.interest is not None and fees.rules.interest.margin_pct == 8
    assert fees.rules_for("PE").fixed == () and fees.rules_for("FR") is fees.rules
    without = copy.deepcopy(policy_to_dict(policy))
    without["late_fees"]["interest"] = None  # leaving out what the preset fills is written as null, and read back
    with pytest.raises(PolicyError, match="reference_rates"):
        policy_from_dict(without)


def test_every_preset_names_a_source_and_reads_as_a_policy() -> None:
    rates = [{"from": "2026-01-01", "rate_pct": 20}]
    for key, preset in PRESETS.items():
        assert preset.sources and preset.name
        needs = {path: rates for path, _ in preset.requires}
        interest = {name.split(".")[1]: value for name, value in needs.items()}
        if key in ("CO", "PE"):
            interest["rate_pct"] = 20
        assert fee_policy(preset=key, **({"interest": interest} if interest else {})).late_fees is not None


def problems(**late_fees: Any) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        fee_policy(**late_fees)
    return caught.value.problems


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"period": "weekly"}, "late_fees.period: 'weekly' is not one of monthly, quarterly, yearly"),
        ({"colour": 1}, "late_fees.colour: unknown field"),
        ({"grace_days": -1}, "late_fees.grace_days: must be at least 0"),
        ({"effective_from": "2026-02-30"}, "late_fees.effective_from: '2026-02-30' is not a date YYYY-MM-DD"),
        ({"audiences": ["b2g"]}, "late_fees.audiences[0]: 'b2g' is not one of b2c, b2b"),
        ({"audiences": []}, "late_fees.audiences: must list at least one audience"),
        ({"preset": "FR"}, "late_fees.preset: 'FR' is not one of CO, ES, EU, MX, PE"),
        ({"preset": "EU"}, "late_fees.interest.reference_rates: the EU preset needs the ECB main refinancing rate"),
        ({"fixed": [{"amounts": {"EUR": "40.005"}}]}, "late_fees.fixed[0].amounts.EUR: 40.005 has more decimals "
                                                      "than EUR allows (0.01)"),
        ({"fixed": [{"amounts": {"JPY": "1.5"}}]}, "late_fees.fixed[0].amounts.JPY: 1.5 has more decimals than JPY "
                                                   "allows (1)"),
        ({"fixed": [{"amounts": {"eur": 40}}]}, "late_fees.fixed[0].amounts.eur: must be an ISO 4217 currency code"),
        ({"fixed": [{"amounts": {"EUR": -1}}]}, "late_fees.fixed[0].amounts.EUR: must be a finite, non-negative"),
        ({"fixed": [{"level": "first"}]}, "late_fees.fixed[0].amounts: is required"),
        ({"fixed": [{"amounts": {"EUR": 1}, "level": "tenth"}]}, "late_fees.fixed[0].level: 'tenth' is not a level "
                                                                 "key of any strategy"),
        ({"fixed": [{"amounts": {"EUR": 1}, "level": "first", "recurring": True}]}, "late_fees.fixed[0].recurring: "
                                                                                    "a level's fee is charged once"),
        ({"fixed": [{"amounts": {"EUR": 1}}, {"amounts": {"EUR": 2}}]}, "late_fees.fixed[1]: charges on the same "
                                                                        "occasion as fixed[0]"),
        ({"fixed": [{"amounts": {"EUR": 1}, "per": "customer"}]}, "late_fees.fixed[0].per: 'customer' is not one of "
                                                                  "invoice, item"),
        ({"percentage": {"rate_pct": 101}}, "late_fees.percentage.rate_pct: must be at most 100"),
        ({"percentage": {"rate_pct": 2, "minimum": {"EUR": 10}, "maximum": {"EUR": 5}}},
         "late_fees.percentage.maximum.EUR: must be at least the minimum (10)"),
        ({"interest": {}}, "late_fees.interest: give either rate_pct or reference_rates"),
        ({"interest": {"rate_pct": 5, "reference_rates": REFERENCE}},
         "late_fees.interest: give either rate_pct or reference_rates, not both"),
        ({"interest": {"rate_pct": 5, "margin_pct": 8}}, "late_fees.interest.margin_pct: is added to reference_rates"),
        ({"interest": {"rate_pct": 5, "method": "continuous"}}, "late_fees.interest.method: 'continuous' is not one "
                                                                "of simple, compound"),
        ({"interest": {"rate_pct": 11, "unit": "daily"}}, "late_fees.interest.rate_pct: must be at most 10"),
        ({"interest": {"rate_pct": 5, "days_in_year": 366}}, "late_fees.interest.days_in_year: 366 is not one of "
                                                             "365, 360"),
        ({"interest": {"reference_rates": [REFERENCE[1], REFERENCE[0]]}},
         "late_fees.interest.reference_rates[1].from: must be after the previous rate's (2027-01-01)"),
        ({"interest": {"reference_rates": [{"from": "2026-01-01"}]}},
         "late_fees.interest.reference_rates[0].rate_pct: is required"),
        ({"interest": {"rate_pct": 5, "max_rates": []}}, "late_fees.interest.max_rates: must list at least one rate"),
        ({"interest": {"rate_pct": 5, "min_charge": {"EUR": "0.001"}}},
         "late_fees.interest.min_charge.EUR: 0.001 has more decimals than EUR allows (0.01)"),
        ({"max_item_pct": 150}, "late_fees.max_item_pct: must be at most 100"),
        ({"max_per_period": {"EUR": "1e20"}}, "late_fees.max_per_period.EUR: must be less than 1,000,000,000,000,000"),
        ({"exempt_risk_categories": ["vip"]}, "late_fees.exempt_risk_categories[0]: 'vip' is not a risk category key"),
        ({"countries": {"co": {}}}, "late_fees.countries.co: must be an ISO 3166 alpha-2 code such as ES"),
        ({"countries": {"CO": {"period": "monthly"}}}, "late_fees.countries.CO.period: unknown field"),
        ({"countries": {"CO": {"preset": "CO", "interest": {"rate_pct": 20}}}},
         "late_fees.countries.CO.interest.max_rates: the CO preset needs the usury rate"),
    ],
)
def test_invalid_late_fees_are_rejected_naming_the_field(section: dict[str, Any], expected: str) -> None:
    assert any(problem.startswith(expected) for problem in problems(**section)), problems(**section)
