"""Invariants of late fees and interest on random ledgers and policies (hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collections_engine import late_fees
from collections_engine.decisions import FeeLine
from collections_engine.defaults import default_policy_document
from collections_engine.fees import next_period, period_start
from collections_engine.money import minor_units, quantum, round_money
from collections_engine.plans import evaluate_plans, plan_covered_item_ids
from collections_engine.policy import FeeRules, Policy, dated_rate, policy_from_dict
from collections_engine.types import (
    Allocation,
    ChargedFee,
    Customer,
    Installment,
    Payment,
    PaymentPlan,
    Portfolio,
    ReceivableItem,
)

UTC = timezone.utc
CURRENCIES = ["EUR", "JPY", "KWD"]
RATES = {"JPY": Decimal("0.0062"), "KWD": Decimal("2.9")}
FIXED_AMOUNTS = {"EUR": "40.00", "JPY": "5000", "KWD": "12.500"}
PERIOD_CAPS = {"EUR": "60.00", "JPY": "8000", "KWD": "20.000"}
ITEM_CAPS = {"EUR": "75.00", "JPY": "9000", "KWD": "25.000"}


def money(draw: st.DrawFn, currency: str, low: int = 1, high: int = 5000) -> Decimal:
    units = Decimal(draw(st.integers(low * 1000, high * 1000))) / 1000
    return round_money(units * (100 if currency == "JPY" else 1), currency)


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[Portfolio, datetime]:
    """Customers with instalments overdue or not, disputed, partly paid, settled lately, under plans kept or broken."""
    as_of = draw(
        st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
    )
    today = as_of.date()
    customers, items, payments, plans = [], [], [], []
    for number in range(draw(st.integers(1, 4))):
        cid = f"c{number}"
        customers.append(
            Customer(cid, cid, country=draw(st.sampled_from(["ES", "MX", None])),
                     audience=draw(st.sampled_from(["b2b", "b2c", None])))
        )
        for index in range(draw(st.integers(0, 5))):
            currency = draw(st.sampled_from(CURRENCIES))
            due = today - timedelta(days=draw(st.integers(-20, 420)))
            amount = money(draw, currency)
            residual, settled_on = amount, None
            state = draw(st.sampled_from(["open", "open", "partly", "settled"]))
            iid = f"{cid}-{index}"
            if state == "partly" and due < today:
                part = round_money(amount * Decimal(draw(st.integers(1, 99))) / 100, currency)
                paid_on = due + timedelta(days=draw(st.integers(0, (today - due).days)))
                payments.append(Payment(f"p-{iid}", cid, paid_on, part, currency, (Allocation(iid, part),)))
                residual = amount - part
            elif state == "settled" and due < today:
                residual, settled_on = Decimal(0), due + timedelta(days=draw(st.integers(0, (today - due).days)))
            items.append(
                ReceivableItem(
                    id=iid,
                    customer_id=cid,
                    invoice_ref=f"F-{cid}-{draw(st.integers(0, 2))}",
                    currency=currency,
                    amount=amount,
                    residual=residual,
                    issue_date=due - timedelta(days=30),
                    due_date=due,
                    disputed=draw(st.booleans()) and draw(st.booleans()),
                    settled_on=settled_on,
                )
            )
        if items and draw(st.booleans()):
            mine = [i.id for i in items if i.customer_id == cid]
            covered = tuple(draw(st.lists(st.sampled_from(mine), max_size=3, unique=True))) if mine else ()
            created = today - timedelta(days=draw(st.integers(0, 120)))
            first_due = created + timedelta(days=draw(st.integers(1, 90)))  # in the past: broken unless paid
            schedule = (Installment(1, first_due, Decimal("100.00")), Installment(2, first_due + timedelta(days=30),
                                                                                  Decimal("100.00")))
            plans.append(PaymentPlan(f"plan-{cid}", cid, created, "EUR", Decimal("200.00"), schedule, item_ids=covered))
    portfolio = Portfolio("EUR", tuple(customers), tuple(items), tuple(payments), plans=tuple(plans), rates=RATES)
    return portfolio, as_of


@st.composite
def sections(draw: st.DrawFn) -> dict[str, Any]:
    """A ``late_fees`` section with any mix of fees, interest and caps."""
    section: dict[str, Any] = {
        "period": draw(st.sampled_from(["monthly", "quarterly", "yearly"])),
        "grace_days": draw(st.integers(0, 30)),
        "audiences": draw(st.sampled_from([["b2b", "b2c"], ["b2b"], ["b2c"]])),
        "fixed": [],
    }
    if draw(st.booleans()):
        section["fixed"].append({"amounts": FIXED_AMOUNTS, "per": draw(st.sampled_from(["invoice", "item"]))})
    if draw(st.booleans()):
        section["fixed"].append({"amounts": FIXED_AMOUNTS, "recurring": True})
    if draw(st.booleans()):
        section["percentage"] = {"rate_pct": draw(st.sampled_from([1, "2.5", 10])), "recurring": draw(st.booleans()),
                                 "minimum": {"EUR": 5}, "maximum": {"EUR": 50, "JPY": 6000}}
    if draw(st.booleans()):
        section["interest"] = interest(draw)
    if draw(st.booleans()):
        section["max_per_item"] = ITEM_CAPS
    if draw(st.booleans()):
        section["max_item_pct"] = draw(st.sampled_from([1, 5, "12.5"]))
    if draw(st.booleans()):
        section["max_per_period"] = PERIOD_CAPS
    if draw(st.booleans()):
        section["countries"] = {"MX": {"preset": "MX", "max_per_period": PERIOD_CAPS}}
    return section


def interest(draw: st.DrawFn) -> dict[str, Any]:
    unit = draw(st.sampled_from(["annual", "daily"]))
    rule: dict[str, Any] = {
        "method": draw(st.sampled_from(["simple", "compound"])),
        "unit": unit,
        "days_in_year": draw(st.sampled_from([365, 360])),
        "start_day": draw(st.integers(0, 10)),
    }
    if draw(st.booleans()):
        rule["rate_pct"] = draw(st.sampled_from([8, "10.15", 24])) if unit == "annual" else draw(
            st.sampled_from(["0.03", "0.1"]))
    else:
        rule["reference_rates"] = [{"from": "2025-07-01", "rate_pct": "2.15"}, {"from": "2026-07-01",
                                                                               "rate_pct": "2.40"}]
        rule["margin_pct"] = 8 if unit == "annual" else "0.02"
    if draw(st.booleans()):
        rule["max_rates"] = [{"from": "2025-01-01", "rate_pct": 12}, {"from": "2026-09-01", "rate_pct": 20}]
    if draw(st.booleans()):
        rule["min_charge"] = {"EUR": 1, "KWD": "0.500"}
    return rule


def fee_policy(section: dict[str, Any]) -> Policy:
    document = default_policy_document()
    document["late_fees"] = section
    return policy_from_dict(document)


def all_lines(portfolio: Portfolio, policy: Policy, as_of: datetime, charged: list[ChargedFee]) -> list[FeeLine]:
    return [line for fees in late_fees(portfolio, policy, as_of, charged) for line in fees.lines]


def rules_of(policy: Policy, portfolio: Portfolio, customer_id: str) -> FeeRules:
    assert policy.late_fees is not None
    country = next(c.country for c in portfolio.customers if c.id == customer_id)
    return policy.late_fees.rules_for(country)


def item_cap(rules: FeeRules, item: ReceivableItem) -> Decimal | None:
    caps = [rules.max_per_item[item.currency]] if item.currency in rules.max_per_item else []
    if rules.max_item_pct is not None:
        caps.append(item.amount * rules.max_item_pct / 100)
    return min(caps) if caps else None


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(ledger=ledgers(), section=sections())
def test_no_fee_on_disputed_items_nor_during_a_plan_in_good_standing(ledger, section) -> None:  # type: ignore[no-untyped-def]
    portfolio, as_of = ledger
    policy = fee_policy(section)
    found = all_lines(portfolio, policy, as_of, [])
    assert found == all_lines(portfolio, policy, as_of, [])  # deterministic
    disputed = {i.id for i in portfolio.items if i.disputed}
    today = as_of.date()
    cover = plan_covered_item_ids(evaluate_plans(portfolio.plans, portfolio.payments, today), portfolio.plans)
    items = {i.id: i for i in portfolio.items}
    for line in found:
        assert line.item_id not in disputed
        covered = cover.get(line.customer_id, frozenset())
        assert covered is not None and line.item_id not in covered
        assert (today - items[line.item_id].due_date).days > rules_of(policy, portfolio, line.customer_id).grace_days


@SETTINGS
@given(ledger=ledgers(), section=sections())
def test_amounts_are_positive_at_the_currencys_precision_and_interest_is_its_formula(ledger, section) -> None:  # type: ignore[no-untyped-def]
    portfolio, as_of = ledger
    policy = fee_policy(section)
    for fees in late_fees(portfolio, policy, as_of):
        assert fees.total == sum(line.amount for line in fees.lines)
        for line in fees.lines:
            assert line.currency == fees.currency and line.amount > 0
            assert line.amount.as_tuple().exponent == -minor_units(line.currency)
            assert line.amount == line.amount.quantize(quantum(line.currency))
            if line.kind == "interest" and not any(p.code.startswith("fee_cap") for p in line.reason_parts):
                assert line.rate_pct is not None and line.accrued_from is not None and line.accrued_to is not None
                assert line.days == (line.accrued_to - line.accrued_from).days + 1
                rules = rules_of(policy, portfolio, line.customer_id)
                assert rules.interest is not None
                divisor = 100 * (rules.interest.days_in_year if line.rate_unit == "annual" else 1)
                assert line.amount == round_money(line.base * line.rate_pct * line.days / divisor, line.currency)
                assert line.period == period_start(line.accrued_from, policy.late_fees.period)  # type: ignore[union-attr]
                assert line.accrued_to < period_start(as_of.date(), policy.late_fees.period)  # type: ignore[union-attr]


@SETTINGS
@given(ledger=ledgers(), section=sections(), later=st.integers(0, 40))
def test_idempotent_per_period(ledger, section, later) -> None:  # type: ignore[no-untyped-def]
    portfolio, as_of = ledger
    policy = fee_policy(section)
    first = all_lines(portfolio, policy, as_of, [])
    charged = [line.as_charged(as_of.date()) for line in first]
    assert all_lines(portfolio, policy, as_of, charged) == []  # the same run again: nothing new
    assert policy.late_fees is not None
    period = policy.late_fees.period
    same_period = min(as_of + timedelta(days=later), datetime.combine(
        next_period(period_start(as_of.date(), period), period) - timedelta(days=1), as_of.timetz()))
    keys = {fee.key for fee in charged}
    interest_periods = {(fee.item_id, fee.period) for fee in charged if fee.kind == "interest"}
    for line in all_lines(portfolio, policy, same_period, charged):
        assert line.key not in keys  # whatever is new in the period was not charged before
        assert line.kind != "interest" or (line.item_id, line.period) not in interest_periods


@SETTINGS
@given(ledger=ledgers(), section=sections())
def test_never_above_the_caps_over_successive_periods(ledger, section) -> None:  # type: ignore[no-untyped-def]
    portfolio, as_of = ledger
    policy = fee_policy(section)
    assert policy.late_fees is not None
    charged: list[ChargedFee] = []
    moment = as_of
    for _ in range(4):  # four runs, a period apart: every cap holds on what was charged in all
        new = all_lines(portfolio, policy, moment, charged)
        charged += [line.as_charged(moment.date()) for line in new]
        moment = datetime.combine(next_period(period_start(moment.date(), policy.late_fees.period),
                                              policy.late_fees.period), moment.timetz())
    assert len({fee.key for fee in charged}) == len(charged)  # no key charged twice
    items = {i.id: i for i in portfolio.items}
    by_item: dict[str, Decimal] = {}
    by_period: dict[tuple[str, str, date], Decimal] = {}
    for fee in charged:
        by_item[fee.item_id] = by_item.get(fee.item_id, Decimal(0)) + fee.amount
        slot = (fee.customer_id, fee.currency, fee.period)
        by_period[slot] = by_period.get(slot, Decimal(0)) + fee.amount
    for item_id, total in by_item.items():
        item = items[item_id]
        cap = item_cap(rules_of(policy, portfolio, item.customer_id), item)
        assert cap is None or total <= cap
    for (customer_id, currency, _period), total in by_period.items():
        cap = rules_of(policy, portfolio, customer_id).max_per_period.get(currency)
        assert cap is None or total <= cap


@SETTINGS
@given(ledger=ledgers(), section=sections())
def test_interest_never_above_the_maximum_rate_of_its_days(ledger, section) -> None:  # type: ignore[no-untyped-def]
    portfolio, as_of = ledger
    policy = fee_policy(section)
    for line in all_lines(portfolio, policy, as_of + timedelta(days=200), []):
        rules = rules_of(policy, portfolio, line.customer_id)
        if line.kind != "interest" or rules.interest is None or not rules.interest.max_rates:
            continue
        assert line.accrued_from is not None and line.rate_pct is not None
        ceiling = dated_rate(rules.interest.max_rates, line.accrued_from)
        annual = line.rate_pct * (rules.interest.days_in_year if line.rate_unit == "daily" else 1)
        assert ceiling is not None and annual <= ceiling
