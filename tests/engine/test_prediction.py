"""Per-item payment prediction: behaviour, explanations that add up, no look into the future, determinism."""

from __future__ import annotations

import csv
import math
import os
import random
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from factories import UTC, customer, portfolio

from collections_engine.errors import InputError
from collections_engine.prediction import (
    FEATURES,
    ItemPrediction,
    PaymentModel,
    backtest_payments,
    explanation,
    predict_payments,
    train_payment_model,
)
from collections_engine.types import ContactEvent, History, Portfolio, ReceivableItem

SPLIT = date(2026, 1, 1)
AS_OF = SPLIT - timedelta(days=1)


def invoice(
    number: int, customer_id: str, issued: date, days_late: int | None, *, disputed: bool = False,
    delivery: str = "", amount: str = "100.00",
) -> ReceivableItem:
    """An invoice due 30 days after issue, settled ``days_late`` days after its due date (None: still open)."""
    due = issued + timedelta(days=30)
    settled = None if days_late is None else due + timedelta(days=days_late)
    return ReceivableItem(
        id=f"{customer_id}-{number}",
        customer_id=customer_id,
        invoice_ref=f"INV/{customer_id}/{number}",
        currency="EUR",
        amount=Decimal(amount),
        residual=Decimal(0) if settled else Decimal(amount),
        issue_date=issued,
        due_date=due,
        disputed=disputed,
        settled_on=settled,
        delivery=delivery,
    )


def ledger(customers: int = 30, per_customer: int = 24, seed: int = 5) -> Portfolio:
    """Customers with their own habit, invoices over the two years around ``SPLIT`` (disputes and paper later)."""
    rng = random.Random(seed)
    items = []
    for c in range(customers):
        habit = (c % 6) * 4 - 6
        for n in range(per_customer):
            issued = SPLIT - timedelta(days=540) + timedelta(days=n * 30 + rng.randint(0, 20))
            disputed = rng.random() < 0.2
            paper = rng.random() < 0.5
            late = habit + (10 if disputed else 0) + (3 if paper else 0) + rng.randint(-4, 4)
            items.append(invoice(n, f"c{c}", issued, late, disputed=disputed, delivery="paper" if paper else
                                 "electronic", amount=f"{rng.randint(50, 500)}.00"))
    return portfolio([customer(f"c{c}") for c in range(customers)], items)


def test_a_customer_who_always_pays_late_gets_a_higher_probability_than_one_who_never_does() -> None:
    history_items = []
    for n in range(12):
        issued = SPLIT - timedelta(days=400 - 30 * n)
        history_items.append(invoice(n, "late", issued, 25))
        history_items.append(invoice(n, "punctual", issued, -3))
        history_items.append(invoice(n, "mixed", issued, 20 if n % 2 else -2))
    book = portfolio([customer("late"), customer("punctual"), customer("mixed")], history_items)
    model = train_payment_model(book, History(), AS_OF)
    new = [invoice(99, c, SPLIT + timedelta(days=10), None) for c in ("late", "punctual", "mixed")]
    late, punctual, mixed = predict_payments(model, book, History(), new)
    assert late.late_probability > mixed.late_probability > punctual.late_probability
    assert late.late_probability > 0.7 and punctual.late_probability < 0.3
    assert late.expected_payment_date > punctual.expected_payment_date
    assert late.expected_payment_date >= new[0].due_date + timedelta(days=15)


def test_contributions_add_up_to_the_logit_and_the_days_after_due() -> None:
    book = ledger()
    model = train_payment_model(book, History(), AS_OF)
    open_now = predict_payments(model, book, History())  # items open on AS_OF, aged
    later = [invoice(200 + c, f"c{c}", SPLIT + timedelta(days=c), None, disputed=c % 3 == 0, delivery="paper")
             for c in range(30)]
    predictions = open_now + predict_payments(model, book, History(), later)
    assert open_now and any(p.age_days for p in open_now)
    for prediction in predictions:
        if prediction.logit is None:
            continue
        reasons = model.late_reasons(prediction)
        assert sum(r.contribution for r in reasons) == pytest.approx(prediction.logit, abs=1e-9)
        assert prediction.late_probability == pytest.approx(1 / (1 + math.exp(-prediction.logit)))
        days = model.date_reasons(prediction)
        assert sum(r.contribution for r in days) == pytest.approx(prediction.expected_days_after_due, abs=0.5)
    codes = {r.code for r in model.late_reasons(predictions[-1])}
    assert {"baseline", "customer_share_late", "customer_median_days_late", "disputed", "paper"} <= codes
    assert codes <= {"baseline", "item_age", *FEATURES}


def test_the_explanation_is_codes_with_values_for_an_accountant() -> None:
    book = ledger()
    model = train_payment_model(book, History(), AS_OF)
    (prediction,) = predict_payments(model, book, History(), [invoice(300, "c5", SPLIT, None, disputed=True,
                                                                      delivery="paper", amount="400.00")])
    shown = explanation(model, prediction)
    late = {r["code"]: r for r in shown["late"]}
    assert shown["late"][0]["code"] == "baseline" and late["baseline"]["value"] is None
    assert late["disputed"]["value"] == 1.0 and late["disputed"]["contribution"] > 0
    assert late["paper"]["value"] == 1.0
    assert 0.0 <= late["customer_share_late"]["value"] <= 1.0
    settled = [i for i in book.items if i.customer_id == "c5" and i.settled_on and i.settled_on < SPLIT]
    assert late["customer_history_items"]["value"] == len(settled)  # settled before the split (within 730 days)
    assert late["amount_vs_usual"]["value"] > 0
    assert shown["days_after_due"] == prediction.expected_days_after_due
    assert all(set(r) == {"code", "value", "contribution"} for r in shown["late"] + shown["payment_date"])


def test_an_open_item_already_late_is_late_and_will_be_paid_after_today() -> None:
    book = ledger()
    overdue = invoice(400, "c1", AS_OF - timedelta(days=60), None)
    book = replace(book, items=(*book.items, overdue))
    model = train_payment_model(book, History(), AS_OF)
    prediction = next(p for p in predict_payments(model, book, History()) if p.item_id == overdue.id)
    assert prediction.late_probability == 1.0 and prediction.logit is None
    assert [r.code for r in model.late_reasons(prediction)] == ["already_late"]
    assert prediction.expected_payment_date > AS_OF
    assert model.date_reasons(prediction)[-1].code == "still_open"


def test_an_unpaid_item_near_its_due_date_is_more_likely_late_than_when_it_was_issued() -> None:
    book = ledger()
    model = train_payment_model(book, History(), AS_OF)
    young = invoice(500, "c2", AS_OF - timedelta(days=1), None)
    old = invoice(501, "c2", AS_OF - timedelta(days=27), None)  # due in 3 days: most punctual items are paid by then
    overdue = invoice(502, "c2", AS_OF - timedelta(days=31), None)  # due yesterday: late already
    fresh, ageing, late = predict_payments(model, book, History(), [young, old, overdue])
    assert ageing.age_shift > 0.5 and fresh.age_shift == pytest.approx(0.0, abs=0.05)
    assert ageing.late_probability > fresh.late_probability
    assert late.late_probability == 1.0


def test_no_leakage_what_happened_after_the_split_changes_nothing() -> None:
    book = ledger()
    model = train_payment_model(book, History(), AS_OF)
    before = predict_payments(model, book, History(), [i for i in book.items if i.issue_date >= SPLIT])

    def moved(item: ReceivableItem) -> ReceivableItem:
        """Every payment made after the split moves (later, or earlier but still after the split)."""
        if item.settled_on is None or item.settled_on <= AS_OF:
            return item
        shift = 40 if item.settled_on.day % 2 else -max(0, (item.settled_on - SPLIT).days)
        return replace(item, settled_on=item.settled_on + timedelta(days=shift))

    future_reminders = History(events=tuple(
        ContactEvent(id=f"r{n}", customer_id=f"c{n}", at=datetime(2026, 2, 1, 9, tzinfo=UTC), channel="email")
        for n in range(30)
    ))
    changed = replace(book, items=tuple(moved(i) for i in book.items))
    assert changed.items != book.items
    retrained = train_payment_model(changed, future_reminders, AS_OF)
    after = predict_payments(retrained, changed, future_reminders, [i for i in changed.items if i.issue_date >= SPLIT])
    assert retrained == model
    assert after == before


def test_training_and_prediction_are_deterministic() -> None:
    first = backtest_payments(ledger(), History(), SPLIT)
    second = backtest_payments(ledger(), History(), SPLIT)
    assert first == second
    assert first.auc is not None and first.auc > 0.8
    assert first.mae_days is not None and first.brier is not None


def test_reminders_known_before_the_cutoff_become_an_input() -> None:
    book = ledger()
    events = tuple(
        ContactEvent(id=f"r{n}", customer_id=f"c{n % 30}", channel="email",
                     at=datetime.combine(SPLIT - timedelta(days=30 + 17 * n), datetime.min.time(), UTC))
        for n in range(60)
        if n % 30 % 6 >= 3  # the customers with the later habits were reminded
    )
    model = train_payment_model(book, History(events=events), AS_OF)
    assert model.scales[FEATURES.index("customer_reminders_per_item")] > 0
    assert model.late_weights[FEATURES.index("customer_reminders_per_item")] != 0
    plain = train_payment_model(book, History(), AS_OF)
    assert plain.scales[FEATURES.index("customer_reminders_per_item")] == 0  # no history: not an input


def test_nothing_to_learn_from_is_a_clear_error() -> None:
    only_punctual = portfolio([customer("p")], [invoice(n, "p", SPLIT - timedelta(days=200 - n), -1)
                                                for n in range(10)])
    with pytest.raises(InputError, match="paid late and items paid on time"):
        train_payment_model(only_punctual, History(), AS_OF)
    with pytest.raises(InputError, match="no history to learn from on 2020-01-01"):
        train_payment_model(ledger(), History(), date(2020, 1, 1))


def test_platt_calibration_on_a_time_ordered_holdout_when_asked() -> None:
    from collections_engine.prediction import PredictionSettings

    book = ledger(customers=40)
    calibrated = train_payment_model(book, History(), AS_OF, PredictionSettings(platt=True, min_holdout=20))
    plain = train_payment_model(book, History(), AS_OF)
    assert plain.calibration == (1.0, 0.0) and plain.holdout_items == 0
    assert calibrated.calibration != (1.0, 0.0) and calibrated.holdout_items == int(calibrated.training_items * 0.2)
    assert calibrated.late_weights == plain.late_weights  # the fit is the same; only the scale of the log-odds moves


# --------------------------------------------------------------------------------------
# The real late-payment history (../shared/data), when present
# --------------------------------------------------------------------------------------

DATA = Path(os.environ.get("ODOO_COLLECTIONS_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
HISTORY_FILE = DATA / "ar-late-payments" / "late_payment_histories.csv"


def late_payment_history() -> Portfolio:
    """The shared data set read directly (the connectors' import is tested in tests/connectors)."""
    if not HISTORY_FILE.exists():
        pytest.skip(f"shared data set ar-late-payments not found at {HISTORY_FILE}: set ODOO_COLLECTIONS_DATA")

    def day(text: str) -> date:
        return datetime.strptime(text, "%d/%m/%Y").date()

    items = []
    with HISTORY_FILE.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            amount = Decimal(row["InvoiceAmount"])
            items.append(ReceivableItem(
                id=row["invoiceNumber"], customer_id=row["customerID"], invoice_ref=row["invoiceNumber"],
                currency="USD", amount=amount, residual=Decimal(0), issue_date=day(row["InvoiceDate"]),
                due_date=day(row["DueDate"]), disputed=row["Disputed"] == "Yes", settled_on=day(row["SettledDate"]),
                delivery=row["PaperlessBill"].lower(),
            ))
    people = sorted({i.customer_id for i in items})
    return Portfolio(company_currency="USD", customers=tuple(customer(c) for c in people), items=tuple(items))


def test_on_the_real_history_split_2013_the_targets_are_met() -> None:
    result = backtest_payments(late_payment_history(), History(), date(2013, 1, 1))
    assert result.settled == 1189
    assert result.auc is not None and result.auc >= 0.90
    assert result.mae_days is not None and result.mae_days <= 6.0
    assert result.brier is not None and result.brier < 0.15


@pytest.mark.parametrize("split", [date(2012, 7, 1), date(2012, 10, 1), date(2013, 4, 1), date(2013, 7, 1)])
def test_on_the_real_history_other_splits_hold_up(split: date) -> None:
    result = backtest_payments(late_payment_history(), History(), split)
    assert result.auc is not None and result.auc >= 0.88
    assert result.mae_days is not None and result.mae_days <= 6.0


def test_predictions_are_plain_records() -> None:
    book = ledger()
    model = train_payment_model(book, History(), AS_OF)
    prediction = predict_payments(model, book, History())[0]
    assert isinstance(prediction, ItemPrediction) and isinstance(model, PaymentModel)
    assert len(prediction.inputs) == len(FEATURES)


def test_cash_in_by_week_and_amount_at_risk() -> None:
    from collections_engine.forecast import payment_outlook

    book = replace(ledger(), rates={"USD": Decimal("0.5")})
    dollars = replace(invoice(600, "c3", AS_OF - timedelta(days=5), None, amount="300.00"), currency="USD")
    book = replace(book, items=(*book.items, dollars))
    outlook = payment_outlook(book, History(), AS_OF, weeks=4)
    assert [w.week_start.weekday() for w in outlook.weeks] == [0, 0, 0, 0]
    assert outlook.weeks[0].week_start <= AS_OF < outlook.weeks[1].week_start
    open_items = [i for i in book.items if i.issue_date <= AS_OF and (i.settled_on is None or i.settled_on > AS_OF)]
    assert sum(w.items for w in outlook.weeks) + outlook.later_items == len(open_items) == len(outlook.predictions)
    total = sum((w.amount for w in outlook.weeks), outlook.later_amount)
    expected = sum((i.amount * (Decimal("0.5") if i.currency == "USD" else 1) for i in open_items), Decimal(0))
    assert total == expected
    prediction = outlook.predictions[dollars.id]
    risk = Decimal(150) * Decimal(str(round(prediction.late_probability, 6)))
    assert outlook.amount_at_risk([dollars.id, "unknown"]) == risk.quantize(Decimal("0.01"))


def test_an_item_whose_channel_is_unknown_has_no_paper_reason() -> None:
    book = ledger()
    model = train_payment_model(book, History(), AS_OF)
    known, unknown = predict_payments(model, book, History(), [
        invoice(700, "c4", SPLIT, None, delivery="paper"), invoice(701, "c4", SPLIT, None, delivery=""),
    ])
    assert "paper" in {r.code for r in model.late_reasons(known)}
    assert "paper" not in {r.code for r in model.late_reasons(unknown)}
    assert sum(r.contribution for r in model.late_reasons(unknown)) == pytest.approx(unknown.logit, abs=1e-9)
