"""What payment prediction gives a run: each open item's prediction, the amount at risk of a set of items,
and the cash expected in each coming week (from the expected payment dates)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .money import quantum, rate_for
from .prediction import ItemPrediction, PaymentModel, PredictionSettings, predict_payments, train_payment_model
from .types import History, Portfolio

FORECAST_WEEKS = 13


@dataclass(frozen=True, slots=True)
class CashInWeek:
    """The open items expected to be paid in the week starting on Monday ``week_start`` (company currency)."""

    week_start: date
    items: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PaymentOutlook:
    """Predictions for the items open on a day, and the weekly cash-in they add up to."""

    model: PaymentModel
    predictions: Mapping[str, ItemPrediction]
    """By item id."""
    company_currency: str
    rates: Mapping[str, Decimal]
    weeks: tuple[CashInWeek, ...]
    later_items: int
    later_amount: Decimal
    """Expected after the last week shown."""

    def amount_at_risk(self, item_ids: Iterable[str]) -> Decimal:
        """Sum over the items of late probability x open amount, in the company currency."""
        total = Decimal(0)
        for item_id in item_ids:
            prediction = self.predictions.get(item_id)
            if prediction is not None:
                total += self._company(prediction) * Decimal(str(round(prediction.late_probability, 6)))
        return total.quantize(quantum(self.company_currency), ROUND_HALF_UP)

    def _company(self, prediction: ItemPrediction) -> Decimal:
        return prediction.open_amount * rate_for(prediction.currency, self.company_currency, self.rates)


def payment_outlook(
    portfolio: Portfolio,
    history: History,
    today: date,
    settings: PredictionSettings | None = None,
    weeks: int = FORECAST_WEEKS,
) -> PaymentOutlook:
    """Train on what is known on ``today``, predict every item open on it, and sum the cash-in by week;
    raise InputError when the history cannot teach the model (see ``train_payment_model``)."""
    model = train_payment_model(portfolio, history, today, settings)
    predictions = predict_payments(model, portfolio, history)
    shown, later_items, later_amount = cash_in_by_week(
        predictions, today, portfolio.company_currency, portfolio.rates, weeks
    )
    return PaymentOutlook(
        model=model,
        predictions={p.item_id: p for p in predictions},
        company_currency=portfolio.company_currency,
        rates=portfolio.rates,
        weeks=shown,
        later_items=later_items,
        later_amount=later_amount,
    )


def cash_in_by_week(
    predictions: Sequence[ItemPrediction],
    today: date,
    company_currency: str,
    rates: Mapping[str, Decimal],
    weeks: int = FORECAST_WEEKS,
) -> tuple[tuple[CashInWeek, ...], int, Decimal]:
    """Open amounts by the ISO week of their expected payment date, from this week on (``weeks`` of them, empty
    ones included), and the items and amount expected later; amounts in the company currency, rounded."""
    first = today - timedelta(days=today.weekday())
    counts = [0] * weeks
    amounts = [Decimal(0)] * weeks
    later_items, later_amount = 0, Decimal(0)
    for prediction in predictions:
        amount = prediction.open_amount * rate_for(prediction.currency, company_currency, rates)
        index = max(0, (prediction.expected_payment_date - first).days // 7)
        if index < weeks:
            counts[index] += 1
            amounts[index] += amount
        else:
            later_items += 1
            later_amount += amount
    step = quantum(company_currency)
    shown = tuple(
        CashInWeek(first + timedelta(weeks=n), counts[n], amounts[n].quantize(step, ROUND_HALF_UP))
        for n in range(weeks)
    )
    return shown, later_items, later_amount.quantize(step, ROUND_HALF_UP)
