"""What the engine says, as codes with parameters: each interface renders them in its reader's language.

The engine never writes a sentence for a person: an action's reason is a tuple of :class:`Phrase`
(what is due, the level, why this channel), a risk factor is its code and value. :data:`ENGLISH`
holds the English text of every code - the message ids the interfaces translate (the CLI and the HTML
report through gettext catalogues, the Odoo addon through Odoo's translations) - and :func:`english`
renders a phrase with it, for logs and for the ``reason`` text kept beside the codes.

A template names its parameters in braces; a count in ``plural`` picks the singular or plural form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

ParamValue = str | int | float


@dataclass(frozen=True, slots=True)
class Phrase:
    """A code and its parameters (names and values, in a tuple so that a phrase is hashable)."""

    code: str
    params: tuple[tuple[str, ParamValue], ...] = ()

    @classmethod
    def of(cls, code: str, **params: ParamValue) -> Phrase:
        """A phrase from keyword parameters; an unknown code is a programming error."""
        if code not in ENGLISH:
            raise KeyError(f"no text for phrase code {code!r}")
        return cls(code, tuple(sorted(params.items())))

    @property
    def values(self) -> dict[str, ParamValue]:
        """The parameters as a mapping."""
        return dict(self.params)


@dataclass(frozen=True)
class Template:
    """The English text of a code: one form, or a singular and a plural chosen by the parameter ``plural``."""

    singular: str
    plural: str | None = None
    count: str | None = None

    def form(self, values: Mapping[str, Any]) -> str:
        """The form the parameters call for."""
        if self.plural is None or self.count is None:
            return self.singular
        return self.singular if values.get(self.count) == 1 else self.plural


ENGLISH: dict[str, Template] = {
    # what is due
    "item_overdue": Template("{invoice} {days} day overdue", "{invoice} {days} days overdue", "days"),
    "item_due_in": Template("{invoice} due in {days} day", "{invoice} due in {days} days", "days"),
    "item_due_today": Template("{invoice} due today"),
    # the level reached
    "level_reached": Template("level '{level}' ({delay:+d} day)", "level '{level}' ({delay:+d} days)", "delay_abs"),
    # why this channel
    "channel_none_reachable": Template("no reachable channel that the customer accepts"),
    "channel_all_of_level": Template("all channels of the level"),
    "channel_first_of_level": Template("first channel of the level"),
    "channel_no_response": Template(
        "no response on {channel} for {days} day", "no response on {channel} for {days} days", "days"
    ),
    "channel_preferred": Template("customer's preferred channel"),
    "channel_best_response": Template("best response rate ({rate:.0%})"),
    # why a contact waits (rules: the preset, e.g. "CO/b2c", or "policy"; day and next: local, ISO)
    "contact_wait_holiday": Template("{rules}: no collection contact on public holidays ({day}); next window {next}"),
    "contact_wait_closed_day": Template("{rules}: no collection contact on this weekday ({day}); next window {next}"),
    "contact_wait_hours": Template("{rules}: contact hours on {day} are {hours}; next window {next}"),
    "contact_wait_cap_day": Template(
        "{rules}: at most {count} contact a day; next window {next}",
        "{rules}: at most {count} contacts a day; next window {next}",
        "count",
    ),
    "contact_wait_cap_week": Template(
        "{rules}: at most {count} contact a week; next window {next}",
        "{rules}: at most {count} contacts a week; next window {next}",
        "count",
    ),
    "contact_wait_cap_7_days": Template(
        "{rules}: at most {count} contact in 7 days; next window {next}",
        "{rules}: at most {count} contacts in 7 days; next window {next}",
        "count",
    ),
    "contact_wait_gap": Template(
        "{rules}: {days} day between contacts; next window {next}",
        "{rules}: {days} days between contacts; next window {next}",
        "days",
    ),
    "contact_wait_channel_day": Template(
        "{rules}: at most {count} {channel} contact a day; next window {next}",
        "{rules}: at most {count} {channel} contacts a day; next window {next}",
        "count",
    ),
    "contact_wait_channel_7_days": Template(
        "{rules}: at most {count} {channel} contact in 7 days; next window {next}",
        "{rules}: at most {count} {channel} contacts in 7 days; next window {next}",
        "count",
    ),
    "contact_wait_single_channel": Template(
        "{rules}: one channel in 7 days ({channel} already used); next window {next}"
    ),
    # risk factors (value: the factor's raw value)
    "risk_avg_days_late": Template("{value:.0f} days late on average"),
    "risk_late_share": Template("{value:.0%} of items paid late or long overdue"),
    "risk_broken_promises": Template("{value:g} broken promises"),
    "risk_broken_plans": Template("{value:g} broken payment plans"),
    "risk_overdue_ratio": Template("{value:.0%} of the open balance overdue"),
    "risk_credit_exposure": Template("{value:.0%} of the credit limit used"),
    "risk_dispute_share": Template("{value:.0%} of items disputed"),
    "risk_payment_timing": Template("paid {value:+.0f} days from the due date on average (minus: early)"),
    "risk_none": Template("no adverse payment behaviour"),
    # late fees and interest (base and amount: money with its currency; rate: percent; start, end, period: ISO dates)
    "fee_fixed": Template(
        "{invoice}: late-payment fee, {days} day overdue", "{invoice}: late-payment fee, {days} days overdue", "days"
    ),
    "fee_fixed_level": Template("{invoice}: fee of the reminder level '{level}'"),
    "fee_fixed_period": Template("{invoice}: late-payment fee for the period from {period}"),
    "fee_percentage": Template("{invoice}: {rate:g}% of {base:.2f} {currency} overdue"),
    "fee_percentage_period": Template(
        "{invoice}: {rate:g}% of {base:.2f} {currency} overdue, for the period from {period}"
    ),
    "fee_interest_annual": Template(
        "{invoice}: interest at {rate:g}% a year on {base:.2f} {currency} for {days} day ({start} to {end})",
        "{invoice}: interest at {rate:g}% a year on {base:.2f} {currency} for {days} days ({start} to {end})",
        "days",
    ),
    "fee_interest_daily": Template(
        "{invoice}: interest at {rate}% a day on {base:.2f} {currency} for {days} day ({start} to {end})",
        "{invoice}: interest at {rate}% a day on {base:.2f} {currency} for {days} days ({start} to {end})",
        "days",
    ),
    "fee_interest_compound": Template("the base includes {amount:.2f} {currency} of interest of earlier periods"),
    "fee_rate_capped": Template("rate capped at the maximum of {rate:g}% a year"),
    "fee_minimum": Template("raised to the minimum of {amount:.2f} {currency}"),
    "fee_maximum": Template("lowered to the maximum of {amount:.2f} {currency}"),
    "fee_cap_item": Template("reduced to the cap of {amount:.2f} {currency} per item"),
    "fee_cap_period": Template("reduced to the cap of {amount:.2f} {currency} per period"),
    # credit hold (amount and limit: money in the company currency; due: an ISO date)
    "hold_manual": Template("manual hold: {reason}"),
    "hold_broken_plan": Template("payment plan broken: the instalment due {due} is unpaid"),
    "hold_overdue_days": Template(
        "{invoice} {days} day overdue, over the {limit}-day limit",
        "{invoice} {days} days overdue, over the {limit}-day limit",
        "days",
    ),
    "hold_overdue_amount": Template("{amount:.2f} {currency} overdue, over the limit of {limit:.2f} {currency}"),
    "hold_credit_limit": Template(
        "balance of {amount:.2f} {currency}, over the credit limit of {limit:.2f} {currency}"
    ),
}


def english(phrase: Phrase) -> str:
    """The phrase in English."""
    values = phrase.values
    return ENGLISH[phrase.code].form(values).format(**values)


@lru_cache(maxsize=4096)
def english_cached(phrase: Phrase) -> str:
    """:func:`english` for phrases that recur (a level, a channel's reason): rendered once."""
    return english(phrase)


def english_all(phrases: Iterable[Phrase], separator: str = "; ") -> str:
    """Several phrases in English, joined."""
    return separator.join(english(p) for p in phrases)
