"""The policy document: the one definition of the collection logic.

A policy is plain JSON (see ``docs/policy.md``). :func:`policy_from_dict` validates
a document and returns typed, immutable objects; :func:`policy_to_dict` writes the
document back, so ``policy_from_dict(policy_to_dict(p)) == p``. Every problem is
reported with the path of the field at fault, e.g.
``strategies[0].levels[2].delay_days: must be greater than the previous level's (15)``.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .contact_presets import AUDIENCES, PRESET_COUNTRIES, ChannelCap, Preset, preset_for
from .errors import PolicyError
from .fee_presets import FEE_PRESET_KEYS, fee_preset
from .money import quantum
from .statement import CREDITS_MODES
from .types import CHANNELS, FREQUENCIES, ContactWindow

SCHEMA_VERSION = 1
RISK_FACTORS: tuple[str, ...] = (
    "avg_days_late",
    "late_share",
    "broken_promises",
    "broken_plans",
    "overdue_ratio",
    "credit_exposure",
    "dispute_share",
    "payment_timing",
)
STAGE_ROLES: tuple[str, ...] = (
    "pre_due",
    "overdue",
    "promise",
    "payment_plan",
    "dispute",
    "closed",
)
TONES: tuple[str, ...] = ("friendly", "neutral", "firm", "formal", "final")
CHANNEL_MODES: tuple[str, ...] = ("choose", "all")
LEARNING_RULES: tuple[str, ...] = ("bayes", "none")
_WINDOW_FIELDS: tuple[str, ...] = ("hours", "weekdays", "hours_by_weekday")
_COUNTRY_FIELDS: tuple[str, ...] = (
    *_WINDOW_FIELDS,
    "timezone",
    "preset",
    "holidays",
    "max_per_day",
    "max_per_7_days",
    "min_days_between",
    "channel_caps",
    "channels",
)
FEE_PERIODS: tuple[str, ...] = ("monthly", "quarterly", "yearly")
INTEREST_METHODS: tuple[str, ...] = ("simple", "compound")
RATE_UNITS: tuple[str, ...] = ("annual", "daily")
FEE_SCOPES: tuple[str, ...] = ("invoice", "item")
DAYS_IN_YEAR: tuple[int, ...] = (365, 360)
_FEE_RULE_FIELDS: tuple[str, ...] = (
    "preset",
    "audiences",
    "exempt_risk_categories",
    "grace_days",
    "fixed",
    "percentage",
    "interest",
    "max_per_item",
    "max_item_pct",
    "max_per_period",
)
_LATE_FEE_FIELDS: tuple[str, ...] = (*_FEE_RULE_FIELDS, "period", "effective_from", "countries")
_INTEREST_FIELDS: tuple[str, ...] = (
    "method",
    "rate_pct",
    "reference_rates",
    "margin_pct",
    "unit",
    "days_in_year",
    "start_day",
    "max_rates",
    "min_charge",
)
_HOLD_RULE_FIELDS: tuple[str, ...] = (
    "risk_categories",
    "stages",
    "overdue_days",
    "overdue_amount",
    "over_credit_limit",
    "broken_plan",
)
_MAX_AMOUNT = Decimal(10) ** 15
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

# --------------------------------------------------------------------------------------
# Typed policy
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stage:
    """A column of the collections kanban."""

    key: str
    name: str
    sequence: int
    closed: bool = False


@dataclass(frozen=True, slots=True)
class StageRules:
    """Which stage a case goes to in each situation (keys of :class:`Stage`)."""

    pre_due: str
    overdue: str
    promise: str
    payment_plan: str
    dispute: str
    closed: str


@dataclass(frozen=True, slots=True)
class RiskCategory:
    """A band of risk scores: a customer is in the last category whose min_score <= score."""

    key: str
    name: str
    min_score: int
    color: int = 0


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """How the 0-100 risk score is computed and banded."""

    weights: Mapping[str, float]
    categories: tuple[RiskCategory, ...]
    days_late_saturation: int = 60
    broken_promises_saturation: int = 3
    broken_plans_saturation: int = 2
    lookback_days: int = 730
    late_tolerance_days: int = 0
    half_life_days: int = 365
    prior_items: float = 2.0
    prior_late_share: float = 0.3
    early_payment_days: int = 15
    """Days before the due date at which the usual payment timing adds no points (``payment_timing``)."""


@dataclass(frozen=True, slots=True)
class Level:
    """A follow-up level: what to do ``delay_days`` after the due date (negative: before)."""

    key: str
    name: str
    delay_days: int
    channels: tuple[str, ...]
    template: str
    tone: str = "neutral"
    channel_mode: str = "choose"
    stage: str | None = None
    call_script: str | None = None
    attach_statement: bool = True
    attach_invoices: bool = False


@dataclass(frozen=True, slots=True)
class Variant:
    """An A/B variant of a strategy: its own levels, assigned to customers by weight."""

    key: str
    name: str
    weight: int
    levels: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class Strategy:
    """A sequence of follow-up levels, for the risk categories that use it."""

    key: str
    name: str
    levels: tuple[Level, ...]
    risk_categories: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = ()
    experiment_key: str | None = None


@dataclass(frozen=True, slots=True)
class PlanRule:
    """Limits of a payment plan for customers of one risk category."""

    risk_category: str
    max_installments: int
    min_down_payment_pct: Decimal
    frequencies: tuple[str, ...]
    grace_days: int


@dataclass(frozen=True, slots=True)
class PromisePolicy:
    """When a promise counts as kept: amount tolerance and days of grace."""

    tolerance_pct: Decimal = Decimal("1")
    grace_days: int = 2
    max_days_ahead: int = 45


@dataclass(frozen=True, slots=True)
class CountryRule:
    """Contact rules of one country: its own window and timezone, or a legal preset that the policy tightens.

    With a ``preset`` every other field is optional (None: the preset's) and may only be stricter
    than the preset of each audience; without one, ``window`` is required as before.
    """

    window: ContactWindow | None
    timezone: str | None = None
    preset: str | None = None
    holidays: bool | None = None
    max_per_day: int | None = None
    max_per_7_days: int | None = None
    min_days_between: int | None = None
    channel_caps: Mapping[str, ChannelCap] = field(default_factory=dict)
    channels: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ContactPolicy:
    """When and how often a customer may be contacted."""

    timezone: str = "UTC"
    window: ContactWindow = ContactWindow()
    countries: Mapping[str, CountryRule] = field(default_factory=dict)
    max_per_day: int = 1
    max_per_week: int = 3
    audience: str = "b2c"


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """Cost of one action on a channel and whether it obeys the contact window."""

    cost: Decimal
    respects_window: bool = True


@dataclass(frozen=True, slots=True)
class ChannelSelection:
    """How a channel is chosen among a level's channels."""

    switch_after_days: int = 7
    learning: str = "bayes"
    prior_response_rate: float = 0.2
    prior_strength: float = 2.0
    min_observations: int = 3


@dataclass(frozen=True, slots=True)
class StatementPolicy:
    """How the statement of account treats credits: deducted from what is asked, or only listed."""

    credits: str = "net"


@dataclass(frozen=True, slots=True)
class Minimum:
    """Smallest amount due (in one currency) worth a reminder, and worth a letter."""

    reminder: Decimal = Decimal(0)
    letter: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class FixedFee:
    """A fixed amount per currency, charged once per invoice (or item) when it is overdue past the grace days,
    once when a reminder of ``level`` covered it, or every period it stays overdue (``recurring``)."""

    amounts: Mapping[str, Decimal]
    level: str | None = None
    per: str = "invoice"
    recurring: bool = False


@dataclass(frozen=True, slots=True)
class PercentageFee:
    """A percentage of an item's overdue amount, once or every period, kept between a minimum and a maximum."""

    rate_pct: Decimal
    recurring: bool = False
    minimum: Mapping[str, Decimal] = field(default_factory=dict)
    maximum: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatedRate:
    """A rate (percent) that applies from ``start`` until the next one of its list."""

    start: date
    rate_pct: Decimal


@dataclass(frozen=True, slots=True)
class InterestRule:
    """Late interest: a fixed rate or a reference rate plus a margin, a year or a day, capped by dated maximums.

    ``max_rates`` are nominal annual rates (e.g. a usury rate): a day they do not cover accrues nothing.
    """

    method: str = "simple"
    rate_pct: Decimal | None = None
    reference_rates: tuple[DatedRate, ...] = ()
    margin_pct: Decimal = Decimal(0)
    unit: str = "annual"
    days_in_year: int = 365
    start_day: int = 0
    max_rates: tuple[DatedRate, ...] = ()
    min_charge: Mapping[str, Decimal] = field(default_factory=dict)

    def rate_on(self, day: date) -> Decimal | None:
        """The rate of ``day`` in the rule's unit (None before the first reference rate)."""
        if not self.reference_rates:
            return self.rate_pct
        reference = dated_rate(self.reference_rates, day)
        return None if reference is None else reference + self.margin_pct


def dated_rate(rates: tuple[DatedRate, ...], day: date) -> Decimal | None:
    """The rate of the list that applies on ``day`` (None before the first one)."""
    index = bisect_right([rate.start for rate in rates], day) - 1
    return rates[index].rate_pct if index >= 0 else None


@dataclass(frozen=True, slots=True)
class FeeRules:
    """What is charged for late payment to the customers one rule set covers, and its caps."""

    preset: str | None = None
    audiences: tuple[str, ...] = AUDIENCES
    exempt_risk_categories: tuple[str, ...] = ()
    grace_days: int = 0
    fixed: tuple[FixedFee, ...] = ()
    percentage: PercentageFee | None = None
    interest: InterestRule | None = None
    max_per_item: Mapping[str, Decimal] = field(default_factory=dict)
    max_item_pct: Decimal | None = None
    max_per_period: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LateFeePolicy:
    """Late fees and interest: the rule set of every customer, or of their country, charged once per period."""

    rules: FeeRules = FeeRules()
    period: str = "monthly"
    effective_from: date | None = None
    countries: Mapping[str, FeeRules] = field(default_factory=dict)

    def rules_for(self, country: str | None) -> FeeRules:
        """The rule set of a customer's country, else the policy's."""
        return self.countries.get(country or "", self.rules)


@dataclass(frozen=True, slots=True)
class HoldRule:
    """When customers of some risk categories and stages go on credit hold; each condition holds on its own.

    Empty ``risk_categories`` or ``stages``: every one. ``overdue_days``: an item overdue (not disputed nor
    arranged) for more days; ``overdue_amount``: more overdue, net of credits, than the company currency's
    amount; ``over_credit_limit``: a balance above the customer's credit limit; ``broken_plan``: a broken plan.
    """

    risk_categories: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    overdue_days: int | None = None
    overdue_amount: Mapping[str, Decimal] = field(default_factory=dict)
    over_credit_limit: bool = False
    broken_plan: bool = False

    def applies_to(self, category: str, stage: str) -> bool:
        """Tell whether the rule covers a customer of this risk category in this stage."""
        return (not self.risk_categories or category in self.risk_categories) and (
            not self.stages or stage in self.stages
        )


@dataclass(frozen=True, slots=True)
class CreditHoldPolicy:
    """Credit holds: the rules, tried in order; a customer's manual hold applies whatever they say."""

    rules: tuple[HoldRule, ...] = ()


@dataclass(frozen=True, slots=True)
class KpiPolicy:
    """Periods used by the KPIs."""

    period_days: int = 90


@dataclass(frozen=True, slots=True)
class Policy:
    """A complete, validated policy document."""

    name: str
    revision: int
    stages: tuple[Stage, ...]
    stage_rules: StageRules
    risk: RiskPolicy
    strategies: tuple[Strategy, ...]
    default_strategy: str
    aging_buckets: tuple[int, ...] = (30, 60, 90, 120)
    payment_plans: tuple[PlanRule, ...] = ()
    promises: PromisePolicy = PromisePolicy()
    contact: ContactPolicy = ContactPolicy()
    channels: Mapping[str, ChannelConfig] = field(default_factory=dict)
    channel_selection: ChannelSelection = ChannelSelection()
    kpi: KpiPolicy = KpiPolicy()
    statement: StatementPolicy = StatementPolicy()
    minimums: Mapping[str, Minimum] = field(default_factory=dict)
    late_fees: LateFeePolicy | None = None
    credit_hold: CreditHoldPolicy | None = None
    schema_version: int = SCHEMA_VERSION

    def strategy(self, key: str) -> Strategy:
        """Return the strategy with this key (KeyError if absent)."""
        for strategy in self.strategies:
            if strategy.key == key:
                return strategy
        raise KeyError(key)

    def category_for(self, score: float) -> RiskCategory:
        """Return the risk category a score falls in."""
        chosen = self.risk.categories[0]
        for category in self.risk.categories:
            if score >= category.min_score:
                chosen = category
        return chosen

    def plan_rule(self, category_key: str) -> PlanRule | None:
        """Return the payment-plan rule of a risk category, if it has one."""
        for rule in self.payment_plans:
            if rule.risk_category == category_key:
                return rule
        return None

    def minimum(self, currency: str) -> Minimum:
        """Return the minimum amounts of a currency (zero where none is set)."""
        return self.minimums.get(currency, _NO_MINIMUM)

    def channel_cost(self, channel: str) -> Decimal:
        """Return the configured cost of one action on ``channel`` (0 if unset)."""
        config = self.channels.get(channel)
        return config.cost if config else Decimal(0)


# --------------------------------------------------------------------------------------
# Reading and validating a document
# --------------------------------------------------------------------------------------

T = TypeVar("T")


class _Reader:
    """Reads typed values out of nested JSON while collecting path-named problems."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def obj(self, value: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
            return {}
        for key in value:
            if key not in allowed:
                self.fail(f"{path}.{key}" if path else key, "unknown field")
        return value

    def get(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        parse: Callable[[Any, str], T],
        default: Any = None,
        required: bool = False,
    ) -> T:
        full = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            if required:
                self.fail(full, "is required")
            return default  # type: ignore[no-any-return]
        return parse(data[key], full)

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be a non-empty string")
            return ""
        return value

    def key(self, value: Any, path: str) -> str:
        text = self.string(value, path)
        if text and not _KEY.match(text):
            self.fail(path, f"{text!r} must use lower-case letters, digits, '_', '-' or '.'")
        return text

    def integer(self, value: Any, path: str, low: int | None = None, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be an integer")
            return low or 0
        if low is not None and value < low:
            self.fail(path, f"must be at least {low}")
        if high is not None and value > high:
            self.fail(path, f"must be at most {high}")
        return value

    def ranged(self, low: int | None = None, high: int | None = None) -> Callable[[Any, str], int]:
        return lambda value, path: self.integer(value, path, low, high)

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, "must be a number")
            return 0.0
        if value < 0:
            self.fail(path, "must not be negative")
        return float(value)

    def decimal(self, value: Any, path: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(path, "must be a number")
            return Decimal(0)
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            self.fail(path, f"{value!r} is not a number")
            return Decimal(0)
        if not result.is_finite() or result < 0:
            self.fail(path, "must be a finite, non-negative number")
            return Decimal(0)
        return result

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
            return False
        return value

    def choice(self, options: tuple[str, ...]) -> Callable[[Any, str], str]:
        def parse(value: Any, path: str) -> str:
            if value not in options:
                self.fail(path, f"{value!r} is not one of {', '.join(options)}")
            return str(value)

        return parse

    def items(self, value: Any, path: str, parse: Callable[[Any, str], T]) -> tuple[T, ...]:
        if not isinstance(value, list):
            self.fail(path, "must be a list")
            return ()
        return tuple(parse(element, f"{path}[{index}]") for index, element in enumerate(value))

    def list_of(self, parse: Callable[[Any, str], T]) -> Callable[[Any, str], tuple[T, ...]]:
        return lambda value, path: self.items(value, path, parse)

    def unique(self, keys: list[str], path: str, what: str) -> None:
        seen: set[str] = set()
        for index, key in enumerate(keys):
            if key in seen:
                self.fail(f"{path}[{index}].{what}", f"{key!r} is used twice")
            seen.add(key)


def _window(r: _Reader, value: Any, path: str) -> ContactWindow:
    data = r.obj(value, path, _WINDOW_FIELDS)
    hours = r.get(data, "hours", path, r.list_of(lambda v, p: _interval(r, v, p)), ContactWindow().hours)
    weekdays = r.get(data, "weekdays", path, r.list_of(r.ranged(1, 7)), ContactWindow().weekdays)
    if not hours:
        r.fail(f"{path}.hours", "must list at least one interval")
    if not weekdays:
        r.fail(f"{path}.weekdays", "must list at least one weekday")
    if len(set(weekdays)) != len(weekdays):
        r.fail(f"{path}.weekdays", "lists a weekday twice")
    ordered = _ordered_hours(r, hours, f"{path}.hours")
    day_hours = r.get(data, "hours_by_weekday", path, lambda v, p: _day_hours(r, v, p, weekdays), ())
    return ContactWindow(hours=ordered, weekdays=tuple(sorted(weekdays)), day_hours=day_hours)


def _ordered_hours(r: _Reader, hours: tuple[tuple[str, str], ...], path: str) -> tuple[tuple[str, str], ...]:
    ordered = sorted(hours)
    for index in range(1, len(ordered)):
        if ordered[index][0] < ordered[index - 1][1]:
            r.fail(path, "intervals overlap")
    return tuple(ordered)


def _day_hours(
    r: _Reader, value: Any, path: str, weekdays: tuple[int, ...]
) -> tuple[tuple[int, tuple[tuple[str, str], ...]], ...]:
    data = r.obj(value, path, tuple(str(day) for day in range(1, 8)))
    result = []
    for key, hours_doc in sorted(data.items()):
        if key not in {str(day) for day in range(1, 8)}:
            continue
        day_path = f"{path}.{key}"
        hours = r.items(hours_doc, day_path, lambda v, p: _interval(r, v, p))
        if not hours:
            r.fail(day_path, "must list at least one interval")
        if int(key) not in weekdays:
            r.fail(day_path, f"weekday {key} is not in weekdays")
        result.append((int(key), _ordered_hours(r, hours, day_path)))
    return tuple(result)


def _interval(r: _Reader, value: Any, path: str) -> tuple[str, str]:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        r.fail(path, 'must be a pair of times like ["09:00", "18:00"]')
        return ("00:00", "00:00")
    start, end = value
    for part, text in (("[0]", start), ("[1]", end)):
        if not _HHMM.match(text):
            r.fail(f"{path}{part}", f"{text!r} is not a time HH:MM")
    if start >= end:
        r.fail(path, "start must be before end")
    return (start, end)


def _timezone(r: _Reader, value: Any, path: str) -> str:
    name = r.string(value, path)
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            r.fail(path, f"{name!r} is not a known IANA timezone")
    return name


def _stage(r: _Reader, value: Any, path: str) -> Stage:
    data = r.obj(value, path, ("key", "name", "sequence", "closed"))
    return Stage(
        key=r.get(data, "key", path, r.key, "", required=True),
        name=r.get(data, "name", path, r.string, "", required=True),
        sequence=r.get(data, "sequence", path, r.ranged(0), 0),
        closed=r.get(data, "closed", path, r.boolean, False),
    )


def _category(r: _Reader, value: Any, path: str) -> RiskCategory:
    data = r.obj(value, path, ("key", "name", "min_score", "color"))
    return RiskCategory(
        key=r.get(data, "key", path, r.key, "", required=True),
        name=r.get(data, "name", path, r.string, "", required=True),
        min_score=r.get(data, "min_score", path, r.ranged(0, 100), 0, required=True),
        color=r.get(data, "color", path, r.ranged(0, 11), 0),
    )


def _risk(r: _Reader, value: Any, path: str) -> RiskPolicy:
    fields = (
        "weights",
        "categories",
        "days_late_saturation",
        "broken_promises_saturation",
        "broken_plans_saturation",
        "lookback_days",
        "late_tolerance_days",
        "half_life_days",
        "prior_items",
        "prior_late_share",
        "early_payment_days",
    )
    data = r.obj(value, path, fields)
    weights_doc = r.get(data, "weights", path, lambda v, p: r.obj(v, p, RISK_FACTORS), {})
    weights = {
        factor: r.get(weights_doc, factor, f"{path}.weights", r.number, DEFAULT_RISK_WEIGHTS[factor])
        for factor in RISK_FACTORS
    }
    if sum(weights.values()) <= 0:
        r.fail(f"{path}.weights", "at least one weight must be positive")
    categories = r.get(data, "categories", path, r.list_of(lambda v, p: _category(r, v, p)), (), required=True)
    if categories:
        if categories[0].min_score != 0:
            r.fail(f"{path}.categories[0].min_score", "the first category must start at 0")
        for index in range(1, len(categories)):
            if categories[index].min_score <= categories[index - 1].min_score:
                r.fail(
                    f"{path}.categories[{index}].min_score",
                    f"must be greater than the previous category's ({categories[index - 1].min_score})",
                )
    elif "categories" in data:
        r.fail(f"{path}.categories", "must list at least one category")
    r.unique([c.key for c in categories], f"{path}.categories", "key")
    return RiskPolicy(
        weights=weights,
        categories=categories,
        days_late_saturation=r.get(data, "days_late_saturation", path, r.ranged(1), 60),
        broken_promises_saturation=r.get(data, "broken_promises_saturation", path, r.ranged(1), 3),
        broken_plans_saturation=r.get(data, "broken_plans_saturation", path, r.ranged(1), 2),
        lookback_days=r.get(data, "lookback_days", path, r.ranged(1), 730),
        late_tolerance_days=r.get(data, "late_tolerance_days", path, r.ranged(0), 0),
        half_life_days=r.get(data, "half_life_days", path, r.ranged(0, 3650), 365),
        prior_items=r.get(data, "prior_items", path, r.number, 2.0),
        prior_late_share=_share(r, data, f"{path}.prior_late_share", 0.3),
        early_payment_days=r.get(data, "early_payment_days", path, r.ranged(0, 365), 15),
    )


def _share(r: _Reader, data: Mapping[str, Any], path: str, default: float) -> float:
    value = data.get(path.rsplit(".", 1)[1], default)
    share = r.number(value, path)
    if share > 1:
        r.fail(path, "must be between 0 and 1")
    return share


def _level(r: _Reader, value: Any, path: str) -> Level:
    fields = (
        "key",
        "name",
        "delay_days",
        "channels",
        "template",
        "tone",
        "channel_mode",
        "stage",
        "call_script",
        "attach_statement",
        "attach_invoices",
    )
    data = r.obj(value, path, fields)
    channels = r.get(data, "channels", path, r.list_of(r.choice(CHANNELS)), (), required=True)
    if "channels" in data and not channels:
        r.fail(f"{path}.channels", "must list at least one channel")
    if len(set(channels)) != len(channels):
        r.fail(f"{path}.channels", "lists a channel twice")
    return Level(
        key=r.get(data, "key", path, r.key, "", required=True),
        name=r.get(data, "name", path, r.string, "", required=True),
        delay_days=r.get(data, "delay_days", path, r.ranged(-365, 3650), 0, required=True),
        channels=channels,
        template=r.get(data, "template", path, r.key, "", required=True),
        tone=r.get(data, "tone", path, r.choice(TONES), "neutral"),
        channel_mode=r.get(data, "channel_mode", path, r.choice(CHANNEL_MODES), "choose"),
        stage=r.get(data, "stage", path, r.key, None),
        call_script=r.get(data, "call_script", path, r.string, None),
        attach_statement=r.get(data, "attach_statement", path, r.boolean, True),
        attach_invoices=r.get(data, "attach_invoices", path, r.boolean, False),
    )


def _levels(r: _Reader, value: Any, path: str) -> tuple[Level, ...]:
    levels = r.items(value, path, lambda v, p: _level(r, v, p))
    if isinstance(value, list) and not levels:
        r.fail(path, "must list at least one level")
    for index in range(1, len(levels)):
        if levels[index].delay_days <= levels[index - 1].delay_days:
            r.fail(
                f"{path}[{index}].delay_days",
                f"must be greater than the previous level's ({levels[index - 1].delay_days})",
            )
    r.unique([level.key for level in levels], path, "key")
    return levels


def _variant(r: _Reader, value: Any, path: str) -> Variant:
    data = r.obj(value, path, ("key", "name", "weight", "levels"))
    return Variant(
        key=r.get(data, "key", path, r.key, "", required=True),
        name=r.get(data, "name", path, r.string, "", required=True),
        weight=r.get(data, "weight", path, r.ranged(1, 10000), 1, required=True),
        levels=r.get(data, "levels", path, lambda v, p: _levels(r, v, p), (), required=True),
    )


def _strategy(r: _Reader, value: Any, path: str) -> Strategy:
    fields = ("key", "name", "levels", "risk_categories", "variants", "experiment_key")
    data = r.obj(value, path, fields)
    variants = r.get(data, "variants", path, r.list_of(lambda v, p: _variant(r, v, p)), ())
    r.unique([variant.key for variant in variants], f"{path}.variants", "key")
    return Strategy(
        key=r.get(data, "key", path, r.key, "", required=True),
        name=r.get(data, "name", path, r.string, "", required=True),
        levels=r.get(data, "levels", path, lambda v, p: _levels(r, v, p), (), required=True),
        risk_categories=r.get(data, "risk_categories", path, r.list_of(r.key), ()),
        variants=variants,
        experiment_key=r.get(data, "experiment_key", path, r.key, None),
    )


def _plan_rule(r: _Reader, value: Any, path: str) -> PlanRule:
    fields = ("risk_category", "max_installments", "min_down_payment_pct", "frequencies", "grace_days")
    data = r.obj(value, path, fields)
    pct = r.get(data, "min_down_payment_pct", path, r.decimal, Decimal(0))
    if pct > 100:
        r.fail(f"{path}.min_down_payment_pct", "must be at most 100")
    frequencies = r.get(data, "frequencies", path, r.list_of(r.choice(FREQUENCIES)), FREQUENCIES)
    if not frequencies:
        r.fail(f"{path}.frequencies", "must list at least one frequency")
    return PlanRule(
        risk_category=r.get(data, "risk_category", path, r.key, "", required=True),
        max_installments=r.get(data, "max_installments", path, r.ranged(1, 120), 1, required=True),
        min_down_payment_pct=pct,
        frequencies=frequencies,
        grace_days=r.get(data, "grace_days", path, r.ranged(0, 365), 0),
    )


def _promises(r: _Reader, value: Any, path: str) -> PromisePolicy:
    data = r.obj(value, path, ("tolerance_pct", "grace_days", "max_days_ahead"))
    pct = r.get(data, "tolerance_pct", path, r.decimal, Decimal("1"))
    if pct > 100:
        r.fail(f"{path}.tolerance_pct", "must be at most 100")
    return PromisePolicy(
        tolerance_pct=pct,
        grace_days=r.get(data, "grace_days", path, r.ranged(0, 365), 2),
        max_days_ahead=r.get(data, "max_days_ahead", path, r.ranged(1, 3650), 45),
    )


def _country(r: _Reader, value: Any, path: str) -> CountryRule:
    data = r.obj(value, path, _COUNTRY_FIELDS)
    preset: str | None = r.get(data, "preset", path, r.choice(PRESET_COUNTRIES), None)
    window_doc = {k: v for k, v in data.items() if k in _WINDOW_FIELDS}
    caps_doc = r.get(data, "channel_caps", path, lambda v, p: r.obj(v, p, CHANNELS), {})
    rule = CountryRule(
        window=_window(r, window_doc, path) if window_doc or not preset else None,
        timezone=r.get(data, "timezone", path, lambda v, p: _timezone(r, v, p), None),
        preset=preset,
        holidays=r.get(data, "holidays", path, r.boolean, None),
        max_per_day=r.get(data, "max_per_day", path, r.ranged(1, 100), None),
        max_per_7_days=r.get(data, "max_per_7_days", path, r.ranged(1, 700), None),
        min_days_between=r.get(data, "min_days_between", path, r.ranged(0, 30), None),
        channel_caps={
            channel: _channel_cap(r, cap, f"{path}.channel_caps.{channel}")
            for channel, cap in caps_doc.items()
            if channel in CHANNELS
        },
        channels=r.get(data, "channels", path, r.list_of(r.choice(CHANNELS)), None),
    )
    if preset not in PRESET_COUNTRIES:
        preset = None
    if rule.holidays or (preset and any(preset_for(preset, a).holidays for a in AUDIENCES)):
        _check_holidays_available(r, path.rsplit(".", 1)[-1], f"{path}.holidays")
    if preset:
        # checked against the consumer preset (the law); a business customer gets the tighter of both at run time
        _check_tighter(r, rule, preset_for(preset, "b2c"), path)
    return rule


def _channel_cap(r: _Reader, value: Any, path: str) -> ChannelCap:
    data = r.obj(value, path, ("per_day", "per_7_days"))
    return ChannelCap(
        per_day=r.get(data, "per_day", path, r.ranged(0, 100), None),
        per_7_days=r.get(data, "per_7_days", path, r.ranged(0, 700), None),
    )


def _check_holidays_available(r: _Reader, country: str, path: str) -> None:
    """Public holidays come from the optional ``holidays`` package: a policy that needs it and lacks it is refused."""
    import importlib.util

    if importlib.util.find_spec("holidays") is None:
        r.fail(path, "public holidays need the 'holidays' package: pip install 'odoo-collections[holidays]'")
        return
    import holidays

    if country not in holidays.list_supported_countries():
        r.fail(path, f"the holidays package has no public holidays for {country!r}")


def _check_tighter(r: _Reader, rule: CountryRule, preset: Preset, path: str) -> None:
    """A policy may narrow a preset, never widen it: name each field that would loosen it."""
    from .windows import window_within

    where = f"preset {preset.key} ({preset.name})"
    if rule.window is not None:
        for day, interval in window_within(rule.window, preset.window):
            if interval is None:
                r.fail(f"{path}.weekdays", f"weekday {day} has no contact under {where}")
            else:
                r.fail(_hours_path(rule.window, day, path), f"{list(interval)} on weekday {day} is outside {where}")
    if rule.holidays is False and preset.holidays:
        r.fail(f"{path}.holidays", f"{where} forbids contact on public holidays; a policy may only tighten it")
    for name, mine, theirs in (
        ("max_per_day", rule.max_per_day, preset.max_per_day),
        ("max_per_7_days", rule.max_per_7_days, preset.max_per_7_days),
    ):
        if mine is not None and theirs is not None and mine > theirs:
            r.fail(f"{path}.{name}", f"{mine} is above {where}'s {theirs}; a policy may only tighten it")
    if rule.min_days_between is not None and rule.min_days_between < preset.min_days_between:
        r.fail(f"{path}.min_days_between", f"{rule.min_days_between} is below {where}'s {preset.min_days_between}")
    for channel, cap in rule.channel_caps.items():
        theirs_cap = preset.channel_cap(channel)
        for name in ("per_day", "per_7_days"):
            mine_value, theirs_value = getattr(cap, name), getattr(theirs_cap, name, None)
            if mine_value is not None and theirs_value is not None and mine_value > theirs_value:
                r.fail(f"{path}.channel_caps.{channel}.{name}", f"{mine_value} is above {where}'s {theirs_value}")
    for index, channel in enumerate(rule.channels or ()):
        if channel not in preset.channels:
            r.fail(f"{path}.channels[{index}]", f"{channel!r} is not allowed by {where}")


def _hours_path(window: ContactWindow, day: int, path: str) -> str:
    return f"{path}.hours_by_weekday.{day}" if day in dict(window.day_hours) else f"{path}.hours"


def _contact(r: _Reader, value: Any, path: str) -> ContactPolicy:
    fields = ("timezone", *_WINDOW_FIELDS, "countries", "max_per_day", "max_per_week", "audience")
    data = r.obj(value, path, fields)
    window_doc = {k: v for k, v in data.items() if k in _WINDOW_FIELDS}
    countries_doc = r.get(
        data, "countries", path, lambda v, p: r.obj(v, p, tuple(v) if isinstance(v, dict) else ()), {}
    )
    countries = {}
    for code, rule in countries_doc.items():
        if not re.match(r"^[A-Z]{2}$", code):
            r.fail(f"{path}.countries.{code}", "must be an ISO 3166 alpha-2 code such as ES")
        countries[code] = _country(r, rule, f"{path}.countries.{code}")
    max_day = r.get(data, "max_per_day", path, r.ranged(1, 100), 1)
    max_week = r.get(data, "max_per_week", path, r.ranged(1, 700), 3)
    if max_week < max_day:
        r.fail(f"{path}.max_per_week", f"must be at least max_per_day ({max_day})")
    return ContactPolicy(
        timezone=r.get(data, "timezone", path, lambda v, p: _timezone(r, v, p), "UTC"),
        window=_window(r, window_doc, path),
        countries=countries,
        max_per_day=max_day,
        max_per_week=max_week,
        audience=r.get(data, "audience", path, r.choice(AUDIENCES), "b2c"),
    )


def _channels(r: _Reader, value: Any, path: str) -> dict[str, ChannelConfig]:
    data = r.obj(value, path, CHANNELS)
    result = dict(DEFAULT_CHANNELS)
    for channel, config in data.items():
        if channel not in CHANNELS:
            continue
        cpath = f"{path}.{channel}"
        doc = r.obj(config, cpath, ("cost", "respects_window"))
        default = DEFAULT_CHANNELS[channel]
        result[channel] = ChannelConfig(
            cost=r.get(doc, "cost", cpath, r.decimal, default.cost),
            respects_window=r.get(doc, "respects_window", cpath, r.boolean, default.respects_window),
        )
    return result


def _statement(r: _Reader, value: Any, path: str) -> StatementPolicy:
    data = r.obj(value, path, ("credits",))
    return StatementPolicy(credits=r.get(data, "credits", path, r.choice(CREDITS_MODES), "net"))


def _minimums(r: _Reader, value: Any, path: str) -> dict[str, Minimum]:
    data = r.obj(value, path, tuple(value) if isinstance(value, dict) else ())
    result = {}
    for code, doc in data.items():
        cpath = f"{path}.{code}"
        if not re.match(r"^[A-Z]{3}$", code):
            r.fail(cpath, "must be an ISO 4217 currency code such as EUR")
        fields = r.obj(doc, cpath, ("reminder", "letter"))
        result[code] = Minimum(
            reminder=r.get(fields, "reminder", cpath, r.decimal, Decimal(0)),
            letter=r.get(fields, "letter", cpath, r.decimal, Decimal(0)),
        )
    return result


def _amounts(r: _Reader, value: Any, path: str) -> dict[str, Decimal]:
    """Amounts per ISO currency code, each with no more decimals than its currency has."""
    data = r.obj(value, path, tuple(value) if isinstance(value, dict) else ())
    result = {}
    for code, amount in data.items():
        cpath = f"{path}.{code}"
        if not re.match(r"^[A-Z]{3}$", code):
            r.fail(cpath, "must be an ISO 4217 currency code such as EUR")
            continue
        parsed = r.decimal(amount, cpath)
        if parsed >= _MAX_AMOUNT:
            r.fail(cpath, f"must be less than {_MAX_AMOUNT:,}")
        elif parsed != parsed.quantize(quantum(code)):
            r.fail(cpath, f"{amount} has more decimals than {code} allows ({quantum(code)})")
        result[code] = parsed
    return result


def _percent(r: _Reader, high: int) -> Callable[[Any, str], Decimal]:
    def parse(value: Any, path: str) -> Decimal:
        pct = r.decimal(value, path)
        if pct > high:
            r.fail(path, f"must be at most {high}")
        return pct

    return parse


def _day(r: _Reader, value: Any, path: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    r.fail(path, f"{value!r} is not a date YYYY-MM-DD")
    return date.min


def _dated_rates(r: _Reader, value: Any, path: str, high: int) -> tuple[DatedRate, ...]:
    def rate(element: Any, epath: str) -> DatedRate:
        data = r.obj(element, epath, ("from", "rate_pct"))
        return DatedRate(
            start=r.get(data, "from", epath, lambda v, p: _day(r, v, p), date.min, required=True),
            rate_pct=r.get(data, "rate_pct", epath, _percent(r, high), Decimal(0), required=True),
        )

    rates = r.items(value, path, rate)
    if isinstance(value, list) and not rates:
        r.fail(path, "must list at least one rate")
    for index in range(1, len(rates)):
        if rates[index].start <= rates[index - 1].start:
            r.fail(f"{path}[{index}].from", f"must be after the previous rate's ({rates[index - 1].start})")
    return rates


def _fixed_fee(r: _Reader, value: Any, path: str) -> FixedFee:
    data = r.obj(value, path, ("amounts", "level", "per", "recurring"))
    amounts = r.get(data, "amounts", path, lambda v, p: _amounts(r, v, p), {}, required=True)
    if "amounts" in data and not amounts:
        r.fail(f"{path}.amounts", "must give the fee in at least one currency")
    fee = FixedFee(
        amounts=amounts,
        level=r.get(data, "level", path, r.key, None),
        per=r.get(data, "per", path, r.choice(FEE_SCOPES), "invoice"),
        recurring=r.get(data, "recurring", path, r.boolean, False),
    )
    if fee.level and fee.recurring:
        r.fail(f"{path}.recurring", "a level's fee is charged once; recurring is for fees without a level")
    return fee


def _fixed_fees(r: _Reader, value: Any, path: str) -> tuple[FixedFee, ...]:
    fees = r.items(value, path, lambda v, p: _fixed_fee(r, v, p))
    seen: dict[tuple[str | None, bool], int] = {}
    for index, fee in enumerate(fees):
        trigger = (fee.level, fee.recurring)
        if trigger in seen:
            r.fail(f"{path}[{index}]", f"charges on the same occasion as {path.rsplit('.', 1)[-1]}[{seen[trigger]}]")
        seen.setdefault(trigger, index)
    return fees


def _percentage_fee(r: _Reader, value: Any, path: str) -> PercentageFee:
    data = r.obj(value, path, ("rate_pct", "recurring", "minimum", "maximum"))
    fee = PercentageFee(
        rate_pct=r.get(data, "rate_pct", path, _percent(r, 100), Decimal(0), required=True),
        recurring=r.get(data, "recurring", path, r.boolean, False),
        minimum=r.get(data, "minimum", path, lambda v, p: _amounts(r, v, p), {}),
        maximum=r.get(data, "maximum", path, lambda v, p: _amounts(r, v, p), {}),
    )
    for code, high in fee.maximum.items():
        low = fee.minimum.get(code)
        if low is not None and high < low:
            r.fail(f"{path}.maximum.{code}", f"must be at least the minimum ({low})")
    return fee


def _interest(r: _Reader, value: Any, path: str, rate_required: bool = True) -> InterestRule:
    data = r.obj(value, path, _INTEREST_FIELDS)
    unit = r.get(data, "unit", path, r.choice(RATE_UNITS), "annual")
    high = 1000 if unit == "annual" else 10
    rate = r.get(data, "rate_pct", path, _percent(r, high), None)
    references = r.get(data, "reference_rates", path, lambda v, p: _dated_rates(r, v, p, 100), ())
    if rate is not None and references:
        r.fail(path, "give either rate_pct or reference_rates, not both")
    elif rate is None and not references and rate_required:
        r.fail(path, "give either rate_pct or reference_rates")
    margin = r.get(data, "margin_pct", path, _percent(r, high), Decimal(0))
    if margin and rate is not None:
        r.fail(f"{path}.margin_pct", "is added to reference_rates; with a fixed rate_pct include it there")
    return InterestRule(
        method=r.get(data, "method", path, r.choice(INTEREST_METHODS), "simple"),
        rate_pct=rate,
        reference_rates=references,
        margin_pct=margin,
        unit=unit,
        days_in_year=r.get(data, "days_in_year", path, _days_in_year(r), 365),
        start_day=r.get(data, "start_day", path, r.ranged(0, 3650), 0),
        max_rates=r.get(data, "max_rates", path, lambda v, p: _dated_rates(r, v, p, 1000), ()),
        min_charge=r.get(data, "min_charge", path, lambda v, p: _amounts(r, v, p), {}),
    )


def _days_in_year(r: _Reader) -> Callable[[Any, str], int]:
    def parse(value: Any, path: str) -> int:
        if value not in DAYS_IN_YEAR or isinstance(value, bool):
            r.fail(path, f"{value!r} is not one of {', '.join(map(str, DAYS_IN_YEAR))}")
            return 365
        return int(value)

    return parse


def _with_preset(r: _Reader, data: dict[str, Any], path: str) -> tuple[dict[str, Any], set[str]]:
    """The rule set's document over its preset's (objects merged one level down); the required fields it lacks."""
    key = r.get(data, "preset", path, r.choice(FEE_PRESET_KEYS), None)
    if key not in FEE_PRESET_KEYS:
        return data, set()
    preset = fee_preset(key)
    merged: dict[str, Any] = dict(preset.document)
    for name, value in data.items():
        below = merged.get(name)
        if isinstance(below, dict) and isinstance(value, dict):
            merged[name] = {**below, **value}
        else:
            merged[name] = value
    missing = set()
    for field_path, what in preset.requires:
        section, _, name = field_path.partition(".")
        holder = merged.get(section)
        if not isinstance(holder, dict) or holder.get(name) in (None, [], {}):
            r.fail(f"{path}.{field_path}", f"the {key} preset needs {what}")
            missing.add(field_path)
    return merged, missing


def _fee_rules(r: _Reader, value: Any, path: str, allowed: tuple[str, ...] = _FEE_RULE_FIELDS) -> FeeRules:
    data, missing = _with_preset(r, r.obj(value, path, allowed), path)
    audiences = r.get(data, "audiences", path, r.list_of(r.choice(AUDIENCES)), AUDIENCES)
    if not audiences:
        r.fail(f"{path}.audiences", "must list at least one audience")
    if len(set(audiences)) != len(audiences):
        r.fail(f"{path}.audiences", "lists an audience twice")
    rate_required = "interest.reference_rates" not in missing
    return FeeRules(
        preset=data.get("preset") if data.get("preset") in FEE_PRESET_KEYS else None,
        audiences=audiences,
        exempt_risk_categories=r.get(data, "exempt_risk_categories", path, r.list_of(r.key), ()),
        grace_days=r.get(data, "grace_days", path, r.ranged(0, 3650), 0),
        fixed=r.get(data, "fixed", path, lambda v, p: _fixed_fees(r, v, p), ()),
        percentage=r.get(data, "percentage", path, lambda v, p: _percentage_fee(r, v, p), None),
        interest=r.get(data, "interest", path, lambda v, p: _interest(r, v, p, rate_required), None),
        max_per_item=r.get(data, "max_per_item", path, lambda v, p: _amounts(r, v, p), {}),
        max_item_pct=r.get(data, "max_item_pct", path, _percent(r, 100), None),
        max_per_period=r.get(data, "max_per_period", path, lambda v, p: _amounts(r, v, p), {}),
    )


def _late_fees(r: _Reader, value: Any, path: str) -> LateFeePolicy:
    rules = _fee_rules(r, value, path, _LATE_FEE_FIELDS)
    data = value if isinstance(value, dict) else {}
    countries_doc = r.get(
        data, "countries", path, lambda v, p: r.obj(v, p, tuple(v) if isinstance(v, dict) else ()), {}
    )
    countries = {}
    for code, rule in countries_doc.items():
        if not re.match(r"^[A-Z]{2}$", code):
            r.fail(f"{path}.countries.{code}", "must be an ISO 3166 alpha-2 code such as ES")
        countries[code] = _fee_rules(r, rule, f"{path}.countries.{code}")
    return LateFeePolicy(
        rules=rules,
        period=r.get(data, "period", path, r.choice(FEE_PERIODS), "monthly"),
        effective_from=r.get(data, "effective_from", path, lambda v, p: _day(r, v, p), None),
        countries=countries,
    )


def _hold_rule(r: _Reader, value: Any, path: str) -> HoldRule:
    data = r.obj(value, path, _HOLD_RULE_FIELDS)
    rule = HoldRule(
        risk_categories=r.get(data, "risk_categories", path, r.list_of(r.key), ()),
        stages=r.get(data, "stages", path, r.list_of(r.key), ()),
        overdue_days=r.get(data, "overdue_days", path, r.ranged(0, 3650), None),
        overdue_amount=r.get(data, "overdue_amount", path, lambda v, p: _amounts(r, v, p), {}),
        over_credit_limit=r.get(data, "over_credit_limit", path, r.boolean, False),
        broken_plan=r.get(data, "broken_plan", path, r.boolean, False),
    )
    if isinstance(value, dict) and not (
        rule.overdue_days is not None or rule.overdue_amount or rule.over_credit_limit or rule.broken_plan
    ):
        r.fail(path, "sets no condition: give overdue_days, overdue_amount, over_credit_limit or broken_plan")
    return rule


def _credit_hold(r: _Reader, value: Any, path: str) -> CreditHoldPolicy:
    data = r.obj(value, path, ("rules",))
    return CreditHoldPolicy(rules=r.get(data, "rules", path, r.list_of(lambda v, p: _hold_rule(r, v, p)), ()))


def _check_hold_references(r: _Reader, holds: CreditHoldPolicy, stages: set[str], categories: set[str]) -> None:
    for index, rule in enumerate(holds.rules):
        path = f"credit_hold.rules[{index}]"
        for c_index, category in enumerate(rule.risk_categories):
            if category and category not in categories:
                r.fail(f"{path}.risk_categories[{c_index}]", f"{category!r} is not a risk category key")
        for s_index, stage in enumerate(rule.stages):
            if stage and stage not in stages:
                r.fail(f"{path}.stages[{s_index}]", f"{stage!r} is not a stage key")


def _selection(r: _Reader, value: Any, path: str) -> ChannelSelection:
    fields = ("switch_after_days", "learning", "prior_response_rate", "prior_strength", "min_observations")
    data = r.obj(value, path, fields)
    rate = r.get(data, "prior_response_rate", path, r.number, 0.2)
    if not 0 < rate < 1:
        r.fail(f"{path}.prior_response_rate", "must be between 0 and 1 (exclusive)")
    return ChannelSelection(
        switch_after_days=r.get(data, "switch_after_days", path, r.ranged(1, 365), 7),
        learning=r.get(data, "learning", path, r.choice(LEARNING_RULES), "bayes"),
        prior_response_rate=rate,
        prior_strength=r.get(data, "prior_strength", path, r.number, 2.0),
        min_observations=r.get(data, "min_observations", path, r.ranged(0, 1000), 3),
    )


def _stage_rules(r: _Reader, value: Any, path: str) -> StageRules:
    data = r.obj(value, path, STAGE_ROLES)
    keys = {role: r.get(data, role, path, r.key, "", required=True) for role in STAGE_ROLES}
    return StageRules(**keys)


def _check_references(r: _Reader, policy: Policy) -> None:
    stage_keys = {stage.key for stage in policy.stages}
    for role in STAGE_ROLES:
        key = getattr(policy.stage_rules, role)
        if key and key not in stage_keys:
            r.fail(f"stage_rules.{role}", f"{key!r} is not a stage key")
    category_keys = {category.key for category in policy.risk.categories}
    claimed: dict[str, int] = {}
    for s_index, strategy in enumerate(policy.strategies):
        spath = f"strategies[{s_index}]"
        for c_index, category in enumerate(strategy.risk_categories):
            cpath = f"{spath}.risk_categories[{c_index}]"
            if category not in category_keys:
                r.fail(cpath, f"{category!r} is not a risk category key")
            elif category in claimed:
                r.fail(cpath, f"{category!r} is already used by strategies[{claimed[category]}]")
            claimed[category] = s_index
        level_lists = [(f"{spath}.levels", strategy.levels)] + [
            (f"{spath}.variants[{v}].levels", variant.levels) for v, variant in enumerate(strategy.variants)
        ]
        for lpath, levels in level_lists:
            for l_index, level in enumerate(levels):
                if level.stage and level.stage not in stage_keys:
                    r.fail(f"{lpath}[{l_index}].stage", f"{level.stage!r} is not a stage key")
    if policy.default_strategy and policy.default_strategy not in {s.key for s in policy.strategies}:
        r.fail("default_strategy", f"{policy.default_strategy!r} is not a strategy key")
    for index, rule in enumerate(policy.payment_plans):
        if rule.risk_category and rule.risk_category not in category_keys:
            r.fail(f"payment_plans[{index}].risk_category", f"{rule.risk_category!r} is not a risk category key")
    if policy.late_fees is not None:
        _check_fee_references(r, policy.late_fees, level_keys(policy), category_keys)
    if policy.credit_hold is not None:
        _check_hold_references(r, policy.credit_hold, stage_keys, category_keys)


def level_keys(policy: Policy) -> set[str]:
    """Every level key of every strategy and variant."""
    keys: set[str] = set()
    for strategy in policy.strategies:
        keys.update(level.key for level in strategy.levels)
        for variant in strategy.variants:
            keys.update(level.key for level in variant.levels)
    return keys


def _check_fee_references(r: _Reader, fees: LateFeePolicy, levels: set[str], categories: set[str]) -> None:
    countries = ((f"late_fees.countries.{code}", rules) for code, rules in fees.countries.items())
    rule_sets = [("late_fees", fees.rules), *countries]
    for path, rules in rule_sets:
        for index, fee in enumerate(rules.fixed):
            if fee.level and fee.level not in levels:
                r.fail(f"{path}.fixed[{index}].level", f"{fee.level!r} is not a level key of any strategy")
        for index, category in enumerate(rules.exempt_risk_categories):
            if category and category not in categories:
                r.fail(f"{path}.exempt_risk_categories[{index}]", f"{category!r} is not a risk category key")


_TOP_FIELDS = (
    "schema_version",
    "name",
    "revision",
    "aging_buckets",
    "stages",
    "stage_rules",
    "risk",
    "strategies",
    "default_strategy",
    "payment_plans",
    "promises",
    "contact",
    "channels",
    "channel_selection",
    "kpi",
    "statement",
    "minimums",
    "late_fees",
    "credit_hold",
)


def policy_from_dict(document: Any) -> Policy:
    """Validate a policy document and return it typed; raise PolicyError naming every bad field."""
    r = _Reader()
    data = r.obj(document, "", _TOP_FIELDS)
    if not isinstance(document, dict):
        raise PolicyError(["(document): must be a JSON object"])
    version = r.get(data, "schema_version", "", r.integer, SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        r.fail("schema_version", f"{version} is not supported (this engine reads {SCHEMA_VERSION})")
    buckets = r.get(data, "aging_buckets", "", r.list_of(r.ranged(1, 3650)), (30, 60, 90, 120))
    for index in range(1, len(buckets)):
        if buckets[index] <= buckets[index - 1]:
            r.fail(f"aging_buckets[{index}]", f"must be greater than the previous bound ({buckets[index - 1]})")
    stages = r.get(data, "stages", "", r.list_of(lambda v, p: _stage(r, v, p)), (), required=True)
    r.unique([s.key for s in stages], "stages", "key")
    strategies = r.get(data, "strategies", "", r.list_of(lambda v, p: _strategy(r, v, p)), (), required=True)
    if "strategies" in data and not strategies:
        r.fail("strategies", "must list at least one strategy")
    r.unique([s.key for s in strategies], "strategies", "key")
    kpi_doc = r.get(data, "kpi", "", lambda v, p: r.obj(v, p, ("period_days",)), {})
    plan_rules = r.get(data, "payment_plans", "", r.list_of(lambda v, p: _plan_rule(r, v, p)), ())
    r.unique([rule.risk_category for rule in plan_rules], "payment_plans", "risk_category")
    policy = Policy(
        name=r.get(data, "name", "", r.string, "", required=True),
        revision=r.get(data, "revision", "", r.ranged(1), 1),
        stages=stages,
        stage_rules=r.get(data, "stage_rules", "", lambda v, p: _stage_rules(r, v, p), None, required=True),
        risk=r.get(data, "risk", "", lambda v, p: _risk(r, v, p), None, required=True),
        strategies=strategies,
        default_strategy=r.get(data, "default_strategy", "", r.key, "", required=True),
        aging_buckets=buckets,
        payment_plans=plan_rules,
        promises=r.get(data, "promises", "", lambda v, p: _promises(r, v, p), PromisePolicy()),
        contact=r.get(data, "contact", "", lambda v, p: _contact(r, v, p), ContactPolicy()),
        channels=r.get(data, "channels", "", lambda v, p: _channels(r, v, p), dict(DEFAULT_CHANNELS)),
        channel_selection=r.get(data, "channel_selection", "", lambda v, p: _selection(r, v, p), ChannelSelection()),
        kpi=KpiPolicy(period_days=r.get(kpi_doc, "period_days", "kpi", r.ranged(1, 3650), 90)),
        statement=r.get(data, "statement", "", lambda v, p: _statement(r, v, p), StatementPolicy()),
        minimums=r.get(data, "minimums", "", lambda v, p: _minimums(r, v, p), {}),
        late_fees=r.get(data, "late_fees", "", lambda v, p: _late_fees(r, v, p), None),
        credit_hold=r.get(data, "credit_hold", "", lambda v, p: _credit_hold(r, v, p), None),
    )
    if policy.stage_rules is not None and policy.risk is not None:
        _check_references(r, policy)
    if r.problems:
        raise PolicyError(r.problems)
    return policy


def policy_from_json(text: str) -> Policy:
    """Parse and validate a policy document from JSON text."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise PolicyError([f"(document): not valid JSON at line {err.lineno} column {err.colno}: {err.msg}"]) from err
    return policy_from_dict(document)


# --------------------------------------------------------------------------------------
# Writing a document
# --------------------------------------------------------------------------------------


def _num(value: Decimal) -> int | float | str:
    """Write a Decimal as a JSON number without losing precision."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(str(as_float)) == value else str(value)


def _window_dict(window: ContactWindow | None) -> dict[str, Any]:
    if window is None:
        return {}
    doc: dict[str, Any] = {"hours": [list(pair) for pair in window.hours], "weekdays": list(window.weekdays)}
    if window.day_hours:
        doc["hours_by_weekday"] = {str(day): [list(pair) for pair in hours] for day, hours in window.day_hours}
    return doc


def country_rule_dict(rule: CountryRule) -> dict[str, Any]:
    """Return the document of one country rule: preset, window and every field that is set."""
    doc: dict[str, Any] = {**({"preset": rule.preset} if rule.preset else {}), **_window_dict(rule.window)}
    optional = {
        "timezone": rule.timezone,
        "holidays": rule.holidays,
        "max_per_day": rule.max_per_day,
        "max_per_7_days": rule.max_per_7_days,
        "min_days_between": rule.min_days_between,
        "channels": list(rule.channels) if rule.channels is not None else None,
    }
    doc.update({key: value for key, value in optional.items() if value is not None})
    if rule.channel_caps:
        doc["channel_caps"] = {
            channel: {k: v for k, v in (("per_day", cap.per_day), ("per_7_days", cap.per_7_days)) if v is not None}
            for channel, cap in sorted(rule.channel_caps.items())
        }
    return doc


def _level_dict(level: Level) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": level.key,
        "name": level.name,
        "delay_days": level.delay_days,
        "channels": list(level.channels),
        "template": level.template,
        "tone": level.tone,
        "channel_mode": level.channel_mode,
        "attach_statement": level.attach_statement,
        "attach_invoices": level.attach_invoices,
    }
    if level.stage:
        doc["stage"] = level.stage
    if level.call_script:
        doc["call_script"] = level.call_script
    return doc


def _strategy_dict(strategy: Strategy) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": strategy.key,
        "name": strategy.name,
        "risk_categories": list(strategy.risk_categories),
        "levels": [_level_dict(level) for level in strategy.levels],
    }
    if strategy.variants:
        doc["variants"] = [
            {"key": v.key, "name": v.name, "weight": v.weight, "levels": [_level_dict(lv) for lv in v.levels]}
            for v in strategy.variants
        ]
    if strategy.experiment_key:
        doc["experiment_key"] = strategy.experiment_key
    return doc


def _amounts_dict(amounts: Mapping[str, Decimal]) -> dict[str, int | float | str]:
    return {code: _num(amount) for code, amount in sorted(amounts.items())}


def _rates_dict(rates: tuple[DatedRate, ...]) -> list[dict[str, Any]]:
    return [{"from": rate.start.isoformat(), "rate_pct": _num(rate.rate_pct)} for rate in rates]


def _interest_dict(rule: InterestRule) -> dict[str, Any]:
    doc: dict[str, Any] = {"method": rule.method}
    if rule.reference_rates:
        doc.update(reference_rates=_rates_dict(rule.reference_rates), margin_pct=_num(rule.margin_pct))
    else:
        doc["rate_pct"] = None if rule.rate_pct is None else _num(rule.rate_pct)
    doc.update(unit=rule.unit, days_in_year=rule.days_in_year, start_day=rule.start_day)
    if rule.max_rates:
        doc["max_rates"] = _rates_dict(rule.max_rates)
    if rule.min_charge:
        doc["min_charge"] = _amounts_dict(rule.min_charge)
    return doc


def fee_rules_dict(rules: FeeRules) -> dict[str, Any]:
    """Return the document of a late-fee rule set: its preset and every field, so it reads back the same."""
    doc: dict[str, Any] = {
        **({"preset": rules.preset} if rules.preset else {}),
        "audiences": list(rules.audiences),
        "exempt_risk_categories": list(rules.exempt_risk_categories),
        "grace_days": rules.grace_days,
        "fixed": [
            {
                "amounts": _amounts_dict(fee.amounts),
                **({"level": fee.level} if fee.level else {}),
                "per": fee.per,
                "recurring": fee.recurring,
            }
            for fee in rules.fixed
        ],
    }
    percentage = rules.percentage
    if percentage is not None:
        doc["percentage"] = {
            "rate_pct": _num(percentage.rate_pct),
            "recurring": percentage.recurring,
            "minimum": _amounts_dict(percentage.minimum),
            "maximum": _amounts_dict(percentage.maximum),
        }
    if rules.interest is not None:
        doc["interest"] = _interest_dict(rules.interest)
    if rules.preset:  # a section the preset fills and the policy leaves out is written as null
        doc.setdefault("percentage", None)
        doc.setdefault("interest", None)
    doc["max_per_item"] = _amounts_dict(rules.max_per_item)
    if rules.max_item_pct is not None:
        doc["max_item_pct"] = _num(rules.max_item_pct)
    doc["max_per_period"] = _amounts_dict(rules.max_per_period)
    return doc


def _late_fees_dict(fees: LateFeePolicy) -> dict[str, Any]:
    doc: dict[str, Any] = {"period": fees.period}
    if fees.effective_from is not None:
        doc["effective_from"] = fees.effective_from.isoformat()
    doc.update(fee_rules_dict(fees.rules))
    if fees.countries:
        doc["countries"] = {code: fee_rules_dict(rules) for code, rules in sorted(fees.countries.items())}
    return doc


def _credit_hold_dict(holds: CreditHoldPolicy) -> dict[str, Any]:
    rules = []
    for rule in holds.rules:
        doc: dict[str, Any] = {"risk_categories": list(rule.risk_categories), "stages": list(rule.stages)}
        if rule.overdue_days is not None:
            doc["overdue_days"] = rule.overdue_days
        doc.update(
            overdue_amount=_amounts_dict(rule.overdue_amount),
            over_credit_limit=rule.over_credit_limit,
            broken_plan=rule.broken_plan,
        )
        rules.append(doc)
    return {"rules": rules}


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """Return the JSON-ready document of a policy (inverse of :func:`policy_from_dict`)."""
    risk = policy.risk
    contact = policy.contact
    selection = policy.channel_selection
    return {
        "schema_version": policy.schema_version,
        "name": policy.name,
        "revision": policy.revision,
        "aging_buckets": list(policy.aging_buckets),
        "stages": [{"key": s.key, "name": s.name, "sequence": s.sequence, "closed": s.closed} for s in policy.stages],
        "stage_rules": {role: getattr(policy.stage_rules, role) for role in STAGE_ROLES},
        "risk": {
            "weights": dict(risk.weights),
            "categories": [
                {"key": c.key, "name": c.name, "min_score": c.min_score, "color": c.color} for c in risk.categories
            ],
            "days_late_saturation": risk.days_late_saturation,
            "broken_promises_saturation": risk.broken_promises_saturation,
            "broken_plans_saturation": risk.broken_plans_saturation,
            "lookback_days": risk.lookback_days,
            "late_tolerance_days": risk.late_tolerance_days,
            "half_life_days": risk.half_life_days,
            "prior_items": risk.prior_items,
            "prior_late_share": risk.prior_late_share,
            "early_payment_days": risk.early_payment_days,
        },
        "strategies": [_strategy_dict(s) for s in policy.strategies],
        "default_strategy": policy.default_strategy,
        "payment_plans": [
            {
                "risk_category": rule.risk_category,
                "max_installments": rule.max_installments,
                "min_down_payment_pct": _num(rule.min_down_payment_pct),
                "frequencies": list(rule.frequencies),
                "grace_days": rule.grace_days,
            }
            for rule in policy.payment_plans
        ],
        "promises": {
            "tolerance_pct": _num(policy.promises.tolerance_pct),
            "grace_days": policy.promises.grace_days,
            "max_days_ahead": policy.promises.max_days_ahead,
        },
        "contact": {
            "timezone": contact.timezone,
            **_window_dict(contact.window),
            "countries": {code: country_rule_dict(rule) for code, rule in sorted(contact.countries.items())},
            "max_per_day": contact.max_per_day,
            "max_per_week": contact.max_per_week,
            "audience": contact.audience,
        },
        "channels": {
            name: {"cost": _num(config.cost), "respects_window": config.respects_window}
            for name, config in policy.channels.items()
        },
        "channel_selection": {
            "switch_after_days": selection.switch_after_days,
            "learning": selection.learning,
            "prior_response_rate": selection.prior_response_rate,
            "prior_strength": selection.prior_strength,
            "min_observations": selection.min_observations,
        },
        "kpi": {"period_days": policy.kpi.period_days},
        "statement": {"credits": policy.statement.credits},
        "minimums": {
            code: {"reminder": _num(minimum.reminder), "letter": _num(minimum.letter)}
            for code, minimum in sorted(policy.minimums.items())
        },
        # written only when set: a policy without late fees exports as it always did
        **({"late_fees": _late_fees_dict(policy.late_fees)} if policy.late_fees is not None else {}),
        **({"credit_hold": _credit_hold_dict(policy.credit_hold)} if policy.credit_hold is not None else {}),
    }


def policy_to_json(policy: Policy) -> str:
    """Return the policy as indented JSON text."""
    return json.dumps(policy_to_dict(policy), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------
# Defaults
# --------------------------------------------------------------------------------------

_NO_MINIMUM = Minimum()

DEFAULT_RISK_WEIGHTS: dict[str, float] = {
    "avg_days_late": 30.0,
    "late_share": 20.0,
    "broken_promises": 10.0,
    "broken_plans": 5.0,
    "overdue_ratio": 5.0,
    "credit_exposure": 5.0,
    "dispute_share": 5.0,
    "payment_timing": 80.0,
}

DEFAULT_CHANNELS: dict[str, ChannelConfig] = {
    "email": ChannelConfig(cost=Decimal("0.02")),
    "sms": ChannelConfig(cost=Decimal("0.08")),
    "whatsapp": ChannelConfig(cost=Decimal("0.05")),
    "call": ChannelConfig(cost=Decimal("4")),
    "letter": ChannelConfig(cost=Decimal("1.5"), respects_window=False),
    "visit": ChannelConfig(cost=Decimal("25")),
}
