"""Per-item payment prediction: how likely an item is to be paid late, when it will be paid, and why.

Trained on what is known on ``as_of`` and nothing later: items settled on or before it, and items still
open on it that are already late (their lateness is known, their payment date is not). Each training item's
inputs are computed from the customer's history settled *before that item was issued*, so the model learns
to predict from the past. Predictions for any item use the history settled on or before ``as_of``.

Two small models share the same inputs (``FEATURES``, standardised):

- a ridge logistic regression for "paid late" (more than ``late_tolerance_days`` after the due date), fitted
  by Newton's method; on request (``PredictionSettings.platt``) calibrated by Platt scaling fitted on a
  back-test inside the training period (the most recent 20 % of the training items predicted by a model
  trained on what was known before they were issued);
- a median (least absolute deviations) regression for the payment day relative to the due date, from which
  the expected payment date follows.

For an item still open on ``as_of``, its age counts too: an item unpaid at an age when most punctual items are
already paid is more likely late (``item_age``: the log-odds of the share of punctual items still unpaid at
that point), an item already more than the tolerance overdue *is* late (probability 1, ``already_late``), and
its expected payment date is never in the past (``still_open``: the median remaining delay of the paid items
that were as late; as long again as it has been overdue when fewer than five paid items ever were). Every
contribution is reported as a code with its input value, and the contributions add up to
the log-odds (``logit``) or the days after the due date. Pure, deterministic, standard library only.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from statistics import median
from typing import Any, NamedTuple

from .engine import group_items
from .errors import InputError
from .learning import fit_logistic, fit_median_regression, fit_platt, sigmoid
from .policy import Policy
from .stats import roc_auc
from .types import FAILED_OUTCOMES, History, Portfolio, ReceivableItem

FEATURES: tuple[str, ...] = (
    "customer_share_late",
    "customer_recent_share_late",
    "customer_mean_days_late",
    "customer_median_days_late",
    "customer_history_items",
    "customer_share_disputed",
    "customer_reminders_per_item",
    "amount_vs_usual",
    "disputed",
    "paper",
)
"""The model's inputs, in order: seven of the customer's history, three of the item."""
_CUSTOMER_INPUTS = 7
_HISTORY_ITEMS, _AMOUNT = 4, 7
_MIN_LATER = 5


@dataclass(frozen=True, slots=True)
class PredictionSettings:
    """What counts as late, how far back and how strongly history counts, and the size of the training set."""

    late_tolerance_days: int = 0
    lookback_days: int = 730
    half_life_days: int = 365
    prior_items: float = 2.0
    """Pseudo-items of the whole ledger's behaviour mixed into each customer's figures (shrinkage)."""
    l2: float = 1.0
    max_training_items: int = 20_000
    """The most recent items with a known outcome that the models learn from."""
    platt: bool = False
    """Calibrate by Platt scaling on a time-ordered holdout (measured: on the late-payment history it made the
    Brier score worse on every split, so it is off unless asked for; see docs/prediction.md)."""
    holdout_share: float = 0.2
    min_holdout: int = 50

    @classmethod
    def from_policy(cls, policy: Policy) -> PredictionSettings:
        """The policy's risk settings: tolerance, look-back, half-life and prior weight."""
        risk = policy.risk
        return cls(
            late_tolerance_days=risk.late_tolerance_days,
            lookback_days=risk.lookback_days,
            half_life_days=risk.half_life_days,
            prior_items=risk.prior_items,
        )


@dataclass(frozen=True, slots=True)
class Contribution:
    """One input's part in a prediction: log-odds of paying late, or days after the due date."""

    code: str
    value: float | None
    contribution: float


@dataclass(frozen=True, slots=True)
class ItemPrediction:
    """The prediction for one item, with what is needed to explain it (``PaymentModel.late_reasons``)."""

    item_id: str
    customer_id: str
    invoice_ref: str
    currency: str
    open_amount: Decimal
    due_date: date
    late_probability: float
    expected_payment_date: date
    logit: float | None
    """The log-odds the contributions add up to; None when the item is already late (probability 1)."""
    inputs: tuple[float, ...]
    """The input values in ``FEATURES`` order (``paper`` is NaN when the ledger does not say)."""
    age_days: int | None
    """Days since issue on ``as_of`` for an item open then; None for an item issued later."""
    age_shift: float
    predicted_days: float
    """Days after the due date, from the date model, before the rules below."""
    expected_days_after_due: int
    date_rule: str = ""
    """Why the expected date is not the date model's: ``still_open`` (it would be past while the item is still
    unpaid) or ``not_before_issue``; empty when it is."""


@dataclass(frozen=True, slots=True)
class _Priors:
    """The whole ledger's behaviour on ``as_of``: what a customer without history is assumed to do."""

    share_late: float
    mean_days_late: float
    median_days_late: float
    share_disputed: float
    reminders_per_item: float


@dataclass(frozen=True, slots=True)
class PaymentModel:
    """Fitted weights, the inputs' means and spreads, and the ledger-wide figures the model was trained on."""

    as_of: date
    settings: PredictionSettings
    priors: _Priors
    means: tuple[float, ...]
    scales: tuple[float, ...]
    """Spread of each input over the training items; 0 for an input that never varied (not used)."""
    late_intercept: float
    late_weights: tuple[float, ...]
    calibration: tuple[float, float]
    """Platt's (a, b): the calibrated log-odds is a * model log-odds + b; (1, 0) when not calibrated."""
    date_intercept: float
    date_weights: tuple[float, ...]
    on_time_offsets: tuple[int, ...]
    """Days after due of the punctual training items, sorted (how long punctual items stay unpaid)."""
    known_offsets: tuple[int, ...]
    """Days after due of every settled training item, sorted (how long late items stay unpaid)."""
    training_items: int
    holdout_items: int

    def standardised(self, inputs: Sequence[float]) -> list[float]:
        """Each input as (value - mean) / spread; an unknown (NaN) or unused input is 0."""
        return [
            0.0 if scale == 0.0 or value != value else (value - mean) / scale
            for value, mean, scale in zip(inputs, self.means, self.scales)
        ]

    def late_reasons(self, prediction: ItemPrediction) -> tuple[Contribution, ...]:
        """What moved the log-odds of paying late: the baseline (an average item), each input, the item's age;
        they add up to ``prediction.logit``. An item already late has one reason: ``already_late``."""
        if prediction.logit is None:
            overdue = (self.as_of - prediction.due_date).days
            return (Contribution("already_late", float(overdue), math.inf),)
        a, b = self.calibration
        reasons = [Contribution("baseline", None, a * self.late_intercept + b)]
        reasons += self._input_reasons(prediction, self.late_weights, a)
        if prediction.age_days is not None:
            reasons.append(Contribution("item_age", float(prediction.age_days), prediction.age_shift))
        return tuple(reasons)

    def date_reasons(self, prediction: ItemPrediction) -> tuple[Contribution, ...]:
        """What moved the expected payment day, in days after the due date; they add up to
        ``prediction.expected_days_after_due`` give or take the rounding to whole days."""
        reasons = [Contribution("baseline", None, self.date_intercept)]
        reasons += self._input_reasons(prediction, self.date_weights, 1.0)
        if prediction.date_rule:
            shift = prediction.expected_days_after_due - round(prediction.predicted_days)
            overdue = (self.as_of - prediction.due_date).days
            value = float(overdue) if prediction.date_rule == "still_open" else None
            reasons.append(Contribution(prediction.date_rule, value, float(shift)))
        return tuple(reasons)

    def _input_reasons(
        self, prediction: ItemPrediction, weights: Sequence[float], factor: float
    ) -> list[Contribution]:
        standard = self.standardised(prediction.inputs)
        return [
            Contribution(code, _shown(index, prediction.inputs[index]), factor * weight * standard[index])
            for index, (code, weight) in enumerate(zip(FEATURES, weights))
            if self.scales[index] > 0.0 and prediction.inputs[index] == prediction.inputs[index]  # NaN: unknown
        ]


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small acyclic objects are made (as ``plan`` does)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _sorted_median(values: Sequence[float]) -> float:
    """The median of values already sorted."""
    half = len(values) // 2
    return float(values[half]) if len(values) % 2 else (values[half - 1] + values[half]) / 2.0


def _shown(index: int, value: float) -> float | None:
    """An input as an accountant reads it: a count of items, a ratio of amounts, None when unknown."""
    if value != value:
        return None
    if index == _HISTORY_ITEMS:
        return float(round(math.expm1(value)))
    if index == _AMOUNT:
        return math.exp(value)
    return value


# --------------------------------------------------------------------------------------
# A customer's history as of a moving date
# --------------------------------------------------------------------------------------


class _Settled(NamedTuple):
    """A settled item as history: day settled, days after due (signed), amount, disputed (ordered as sorted)."""

    day: int
    offset: int
    amount: float
    disputed: bool


class _RunningHistory:
    """A customer's items settled before a cutoff day and inside the look-back window, as cutoffs move forward."""

    __slots__ = (
        "_added",
        "_amounts",
        "_count",
        "_customer_inputs",
        "_cutoff",
        "_disputed",
        "_events",
        "_half_life",
        "_late",
        "_late_days",
        "_late_weight",
        "_offsets",
        "_priors",
        "_reference",
        "_removed",
        "_settings",
        "_settled",
        "_weight",
    )

    def __init__(self, settled: list[_Settled], events: list[int], settings: PredictionSettings, priors: _Priors):
        self._settled, self._events, self._settings, self._priors = settled, events, settings, priors
        self._added = self._removed = self._count = self._late = self._disputed = 0
        self._late_days = self._weight = self._late_weight = 0.0
        self._offsets: list[int] = []
        self._amounts: list[float] = []
        self._reference = settled[0].day if settled else 0
        self._half_life = float(settings.half_life_days)
        self._cutoff = -1
        self._customer_inputs: tuple[float, ...] = ()

    def _recency(self, day: int) -> float:
        return 2.0 ** ((day - self._reference) / self._half_life) if self._half_life else 1.0

    def _change(self, entry: _Settled, sign: int) -> None:
        late = entry.offset > self._settings.late_tolerance_days
        weight = sign * self._recency(entry.day)
        self._count += sign
        self._weight += weight
        if late:
            self._late += sign
            self._late_weight += weight
            self._late_days += sign * entry.offset
        self._disputed += sign * entry.disputed
        if sign > 0:
            insort(self._offsets, entry.offset)
            insort(self._amounts, entry.amount)
        else:
            del self._offsets[bisect_left(self._offsets, entry.offset)]
            del self._amounts[bisect_left(self._amounts, entry.amount)]

    def move_to(self, cutoff: int) -> None:
        """Hold what was settled before ``cutoff`` (and not before the look-back window)."""
        if cutoff == self._cutoff:
            return
        settled = self._settled
        while self._added < len(settled) and settled[self._added].day < cutoff:
            self._change(settled[self._added], 1)
            self._added += 1
        since = cutoff - self._settings.lookback_days
        while self._removed < self._added and settled[self._removed].day < since:
            self._change(settled[self._removed], -1)
            self._removed += 1
        self._cutoff = cutoff
        self._customer_inputs = self._inputs_now()

    def _inputs_now(self) -> tuple[float, ...]:
        priors, prior, count = self._priors, self._settings.prior_items, self._count
        total = count + prior
        scale = 1.0 / self._recency(self._cutoff - 1) if count else 0.0
        weight = self._weight * scale
        late_weight = self._late_weight * scale
        middle = _sorted_median(self._offsets) if self._offsets else priors.median_days_late
        cutoff, since = self._cutoff, self._cutoff - self._settings.lookback_days
        reminders = bisect_left(self._events, cutoff) - bisect_left(self._events, since)
        return (
            (self._late + prior * priors.share_late) / total if total else priors.share_late,
            (late_weight + prior * priors.share_late) / (weight + prior) if weight + prior else priors.share_late,
            (self._late_days + prior * priors.mean_days_late) / total if total else priors.mean_days_late,
            (count * middle + prior * priors.median_days_late) / total if total else priors.median_days_late,
            math.log1p(count),
            (self._disputed + prior * priors.share_disputed) / total if total else priors.share_disputed,
            (reminders + prior * priors.reminders_per_item) / total if total else priors.reminders_per_item,
        )

    def inputs(self, item: ReceivableItem, amount: float) -> tuple[float, ...]:
        """The customer's inputs at the cutoff, then the item's: amount against the usual, disputed, paper."""
        amounts = self._amounts
        usual = amounts[len(amounts) // 2] if amounts else 0.0
        ratio = math.log(amount / usual) if usual > 0 and amount > 0 else 0.0
        paper = 1.0 if item.delivery == "paper" else 0.0 if item.delivery == "electronic" else math.nan
        return (*self._customer_inputs, ratio, 1.0 if item.disputed else 0.0, paper)


@dataclass(frozen=True, slots=True)
class _Book:
    """The ledger's history known on ``as_of``, per customer: settled items and reminders, oldest first."""

    settled: dict[str, list[_Settled]]
    reminders: dict[str, list[int]]
    rates: Mapping[str, Decimal]
    settings: PredictionSettings
    priors: _Priors

    def amount(self, item: ReceivableItem) -> float:
        """The item's amount in the company currency (as a float; 1:1 when no rate is known)."""
        rate = self.rates.get(item.currency) if self.rates else None
        return float(item.amount) * (float(rate) if rate is not None else 1.0)

    def inputs_at(self, queries: Sequence[tuple[ReceivableItem, int]]) -> list[tuple[float, ...]]:
        """Each (item, cutoff day)'s inputs from the history settled before that day."""
        by_customer: dict[str, list[int]] = {}
        for index, (item, _cutoff) in enumerate(queries):
            by_customer.setdefault(item.customer_id, []).append(index)
        result: list[tuple[float, ...]] = [()] * len(queries)
        for customer_id, indexes in by_customer.items():
            indexes.sort(key=lambda index: queries[index][1])
            history = _RunningHistory(
                self.settled.get(customer_id, []), self.reminders.get(customer_id, []), self.settings, self.priors
            )
            for index in indexes:
                item, cutoff = queries[index]
                history.move_to(cutoff)
                result[index] = history.inputs(item, self.amount(item))
        return result


def _book(portfolio: Portfolio, history: History, as_of: date, settings: PredictionSettings) -> _Book:
    """Gather what was settled on or before ``as_of`` and the reminders known by then, with the ledger's figures."""
    today = as_of.toordinal()
    rates = portfolio.rates
    settled: dict[str, list[_Settled]] = {}
    for item in portfolio.items:
        if item.is_credit or item.settled_on is None or item.settled_on > as_of:
            continue
        rate = rates.get(item.currency) if rates else None
        amount = float(item.amount) * (float(rate) if rate is not None else 1.0)
        entry = _Settled(item.settled_on.toordinal(), (item.settled_on - item.due_date).days, amount, item.disputed)
        settled.setdefault(item.customer_id, []).append(entry)
    for entries in settled.values():
        entries.sort()
    reminders: dict[str, list[int]] = {}
    for event in history.events:
        day = event.known_at.date().toordinal()
        if day <= today and event.outcome not in FAILED_OUTCOMES:
            reminders.setdefault(event.customer_id, []).append(day)
    for days in reminders.values():
        days.sort()
    return _Book(settled, reminders, rates, settings, _priors(settled, reminders, today, settings))


def _priors(
    settled: Mapping[str, list[_Settled]], reminders: Mapping[str, list[int]], today: int, settings: PredictionSettings
) -> _Priors:
    since = today - settings.lookback_days
    recent = [entry for entries in settled.values() for entry in entries if entry.day >= since]
    tolerance = settings.late_tolerance_days
    count = len(recent)
    if not count:
        return _Priors(0.3, 0.0, 0.0, 0.0, 0.0)
    sent = sum(1 for days in reminders.values() for day in days if day >= since)
    return _Priors(
        share_late=sum(1 for entry in recent if entry.offset > tolerance) / count,
        mean_days_late=sum(entry.offset for entry in recent if entry.offset > tolerance) / count,
        median_days_late=float(median(entry.offset for entry in recent)),
        share_disputed=sum(1 for entry in recent if entry.disputed) / count,
        reminders_per_item=sent / count,
    )


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Example:
    """A training item: its outcome as known on ``as_of`` (days after due; a lower bound when still open)."""

    item: ReceivableItem
    offset: int
    censored: bool


def _examples(portfolio: Portfolio, as_of: date, settings: PredictionSettings) -> list[_Example]:
    """Items issued in the look-back window whose lateness is known on ``as_of``, the most recent ones."""
    since = as_of - timedelta(days=settings.lookback_days)
    found = []
    for item in portfolio.items:
        if item.is_credit or item.issue_date > as_of or item.issue_date < since:
            continue
        if item.settled_on is not None and item.settled_on <= as_of:
            found.append(_Example(item, (item.settled_on - item.due_date).days, False))
            continue
        overdue = (as_of - item.due_date).days
        still_open = item.settled_on is not None or item.residual > 0
        if still_open and overdue > settings.late_tolerance_days:
            found.append(_Example(item, overdue, True))  # late for sure; when it will be paid is not known yet
    found.sort(key=lambda example: (example.item.issue_date, example.item.id))
    return found[-settings.max_training_items :] if settings.max_training_items else found


def _spread(rows: Sequence[Sequence[float]]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and standard deviation of each input over the known values (an input that never varies: spread 0)."""
    means, scales = [], []
    for column in zip(*rows):
        known = [value for value in column if value == value]
        if len(known) < 2:
            means.append(0.0)
            scales.append(0.0)
            continue
        mean = sum(known) / len(known)
        spread = math.sqrt(sum((value - mean) ** 2 for value in known) / len(known))
        means.append(mean)
        scales.append(spread if spread > 1e-9 else 0.0)
    return tuple(means), tuple(scales)


def train_payment_model(
    portfolio: Portfolio,
    history: History,
    as_of: date,
    settings: PredictionSettings | None = None,
) -> PaymentModel:
    """Fit the late-payment and payment-date models on what is known on ``as_of`` (see the module's doc);
    raise InputError when nothing known can teach them (no settled item, or no late or no punctual one)."""
    with _without_cyclic_gc():
        return _train(portfolio, history, as_of, settings or PredictionSettings())


def _train(portfolio: Portfolio, history: History, as_of: date, settings: PredictionSettings) -> PaymentModel:
    book = _book(portfolio, history, as_of, settings)
    examples = _examples(portfolio, as_of, settings)
    labels = [example.offset > settings.late_tolerance_days for example in examples]
    if not any(labels) or all(labels):
        raise InputError(
            f"no history to learn from on {as_of}: {len(examples)} items with a known outcome, "
            f"{sum(labels)} of them paid late; prediction needs items paid late and items paid on time"
        )
    raw = book.inputs_at([(example.item, example.item.issue_date.toordinal()) for example in examples])
    means, scales = _spread(raw)
    used = [index for index, scale in enumerate(scales) if scale > 0.0]
    rows = [_standard_row(row, means, scales, used) for row in raw]
    late = fit_logistic(rows, labels, settings.l2)
    dated = fit_median_regression(rows, [float(example.offset) for example in examples])
    settled = [example for example in examples if not example.censored]
    model = PaymentModel(
        as_of=as_of,
        settings=settings,
        priors=book.priors,
        means=means,
        scales=scales,
        late_intercept=late[0],
        late_weights=_spread_out(late[1:], used),
        calibration=(1.0, 0.0),
        date_intercept=dated[0],
        date_weights=_spread_out(dated[1:], used),
        on_time_offsets=tuple(sorted(e.offset for e in settled if e.offset <= settings.late_tolerance_days)),
        known_offsets=tuple(sorted(e.offset for e in settled)),
        training_items=len(examples),
        holdout_items=0,
    )
    return _calibrated(model, portfolio, history, examples, labels) if settings.platt else model


def _standard_row(
    row: Sequence[float], means: Sequence[float], scales: Sequence[float], used: Sequence[int]
) -> list[float]:
    return [0.0 if row[i] != row[i] else (row[i] - means[i]) / scales[i] for i in used]


def _spread_out(weights: Sequence[float], used: Sequence[int]) -> tuple[float, ...]:
    """Weights of the used inputs placed at their index among all ``FEATURES`` (0 for the others)."""
    full = [0.0] * len(FEATURES)
    for weight, index in zip(weights, used):
        full[index] = weight
    return tuple(full)


def _calibrated(
    model: PaymentModel, portfolio: Portfolio, history: History, examples: Sequence[_Example], labels: Sequence[bool]
) -> PaymentModel:
    """The model with Platt scaling fitted on a back-test inside the training period: a model trained on what
    was known when the most recent items (``holdout_share`` of them) began to be issued predicts those items
    from that day's history, as predictions are made, and their outcomes known on ``as_of`` fit (a, b). The
    model is returned as it is when that holdout is too small or holds one outcome only."""
    settings = model.settings
    held = int(len(examples) * settings.holdout_share)
    outcomes = labels[len(labels) - held :]
    if held < settings.min_holdout or all(outcomes) or not any(outcomes):
        return model
    holdout = [example.item for example in examples[len(examples) - held :]]
    start = min(item.issue_date for item in holdout)
    try:
        earlier = train_payment_model(portfolio, history, start - timedelta(days=1), replace(settings, platt=False))
    except InputError:
        return model
    scores = [p.logit or 0.0 for p in predict_payments(earlier, portfolio, history, holdout)]
    return replace(model, calibration=fit_platt(scores, outcomes), holdout_items=held)


# --------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------


def open_items_on(portfolio: Portfolio, as_of: date) -> list[ReceivableItem]:
    """The receivable items open on ``as_of`` as they stood then (credits left out), in ledger order."""
    return [
        item
        for items in group_items(portfolio, as_of).values()
        for item in items
        if not item.is_credit and item.residual > 0
    ]


def predict_payments(
    model: PaymentModel,
    portfolio: Portfolio,
    history: History,
    items: Sequence[ReceivableItem] | None = None,
) -> list[ItemPrediction]:
    """Predict ``items`` (default: those open on the model's ``as_of``) from the history known on that date."""
    with _without_cyclic_gc():
        return _predict_all(model, portfolio, history, items)


def _predict_all(
    model: PaymentModel, portfolio: Portfolio, history: History, items: Sequence[ReceivableItem] | None
) -> list[ItemPrediction]:
    as_of = model.as_of
    chosen = open_items_on(portfolio, as_of) if items is None else list(items)
    book = _book(portfolio, history, as_of, model.settings)
    cutoff = as_of.toordinal() + 1
    inputs = book.inputs_at([(item, cutoff) for item in chosen])
    return [_predict(model, item, values) for item, values in zip(chosen, inputs)]


def _predict(model: PaymentModel, item: ReceivableItem, inputs: tuple[float, ...]) -> ItemPrediction:
    as_of, tolerance = model.as_of, model.settings.late_tolerance_days
    standard = model.standardised(inputs)
    a, b = model.calibration
    logit: float | None = a * (model.late_intercept + sum(map(_times, model.late_weights, standard))) + b
    predicted = model.date_intercept + sum(map(_times, model.date_weights, standard))
    overdue = (as_of - item.due_date).days
    issued = item.issue_date <= as_of
    age_shift = 0.0
    if issued and overdue > tolerance:
        logit, probability = None, 1.0
    else:
        if issued:
            age_shift = _age_shift(model.on_time_offsets, overdue)
            logit = (logit or 0.0) + age_shift
        probability = sigmoid(logit or 0.0)
    days, rule = round(predicted), ""
    if item.due_date + timedelta(days=days) < item.issue_date:
        days, rule = (item.issue_date - item.due_date).days, "not_before_issue"
    if issued and item.due_date + timedelta(days=days) <= as_of:
        days, rule = overdue + _remaining_days(model.known_offsets, overdue), "still_open"
    return ItemPrediction(
        item_id=item.id,
        customer_id=item.customer_id,
        invoice_ref=item.invoice_ref,
        currency=item.currency,
        open_amount=item.residual if issued else item.amount,
        due_date=item.due_date,
        late_probability=probability,
        expected_payment_date=item.due_date + timedelta(days=days),
        logit=logit,
        inputs=inputs,
        age_days=(as_of - item.issue_date).days if issued else None,
        age_shift=age_shift,
        predicted_days=predicted,
        expected_days_after_due=days,
        date_rule=rule,
    )


def _times(weight: float, value: float) -> float:
    return weight * value


def _age_shift(on_time_offsets: Sequence[int], overdue: int) -> float:
    """Log-odds added for an item still unpaid ``overdue`` days after its due date (negative: before it): one
    over the share of punctual items that were still unpaid at that point (add-one smoothed)."""
    still_unpaid = len(on_time_offsets) - bisect_right(on_time_offsets, overdue)
    return -math.log((still_unpaid + 1) / (len(on_time_offsets) + 1))


def _remaining_days(known_offsets: Sequence[int], overdue: int) -> int:
    """Median further wait of the items that were still unpaid ``overdue`` days after due (at least one day);
    when fewer than five paid items were ever that late, as long again as it has been overdue."""
    later = known_offsets[bisect_right(known_offsets, overdue) :]
    if len(later) < _MIN_LATER:
        return max(1, overdue)
    return max(1, round(_sorted_median(later)) - overdue)


# --------------------------------------------------------------------------------------
# Explanation and back-test
# --------------------------------------------------------------------------------------


def explanation(model: PaymentModel, prediction: ItemPrediction) -> dict[str, Any]:
    """The reasons of a prediction as plain data (codes, input values, contributions), largest first."""

    def listed(reasons: Sequence[Contribution]) -> list[dict[str, Any]]:
        ordered = sorted(reasons, key=lambda r: (r.code != "baseline", -abs(r.contribution), r.code))
        return [
            {
                "code": r.code,
                "value": None if r.value is None else round(r.value, 4),
                "contribution": None if math.isinf(r.contribution) else round(r.contribution, 3),
            }
            for r in ordered
        ]

    return {
        "logit": None if prediction.logit is None else round(prediction.logit, 4),
        "late": listed(model.late_reasons(prediction)),
        "days_after_due": prediction.expected_days_after_due,
        "payment_date": listed(model.date_reasons(prediction)),
    }


@dataclass(frozen=True, slots=True)
class PaymentBacktest:
    """Predictions made at a split for the items issued from it, and how they compare with what happened."""

    split: date
    until: date | None
    model: PaymentModel
    predictions: tuple[ItemPrediction, ...]
    settled: int
    """How many of the predicted items were settled in the ledger (the ones measured)."""
    auc: float | None
    mae_days: float | None
    brier: float | None
    late_share: float | None


def backtest_payments(
    portfolio: Portfolio,
    history: History,
    split: date,
    until: date | None = None,
    settings: PredictionSettings | None = None,
) -> PaymentBacktest:
    """Train on what was settled before ``split`` and predict every item issued on or after it (before
    ``until``); measure ROC AUC and Brier score of "paid late" and the mean absolute error of the payment date
    on the predicted items the ledger shows settled."""
    model = train_payment_model(portfolio, history, split - timedelta(days=1), settings)
    chosen = [
        item
        for item in portfolio.items
        if not item.is_credit and item.issue_date >= split and (until is None or item.issue_date < until)
    ]
    predictions = predict_payments(model, portfolio, history, chosen)
    tolerance = model.settings.late_tolerance_days
    outcomes = [
        (prediction, (item.settled_on - item.due_date).days > tolerance, (item.settled_on - p_date).days)
        for prediction, item in zip(predictions, chosen)
        if item.settled_on is not None
        for p_date in (prediction.expected_payment_date,)
    ]
    probabilities = [prediction.late_probability for prediction, _, _ in outcomes]
    labels = [late for _, late, _ in outcomes]
    both = any(labels) and not all(labels)
    count = len(outcomes)
    return PaymentBacktest(
        split=split,
        until=until,
        model=model,
        predictions=tuple(predictions),
        settled=count,
        auc=roc_auc(probabilities, labels) if both else None,
        mae_days=sum(abs(error) for _, _, error in outcomes) / count if count else None,
        brier=sum((p - late) ** 2 for p, late in zip(probabilities, labels)) / count if count else None,
        late_share=sum(labels) / count if count else None,
    )

