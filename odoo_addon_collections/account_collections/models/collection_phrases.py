"""The engine's phrases (codes with parameters) in the reader's language, through Odoo's translations.

The engine says why an action is due and what raised a risk score as codes
(``collections_engine.phrases``); its English templates are listed here as translatable terms, so
that Odoo's translation export and the ``es`` catalogue carry them, and each record renders its
codes in the language of whoever reads it. A test checks that this list is the engine's.
"""

from datetime import datetime

from babel.dates import format_date, format_datetime

from odoo.tools.misc import babel_locale_parse
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

# code: (singular, plural or None, the parameter that counts)
TEMPLATES = {
    "item_overdue": (_lt("{invoice} {days} day overdue"), _lt("{invoice} {days} days overdue"), "days"),
    "item_due_in": (_lt("{invoice} due in {days} day"), _lt("{invoice} due in {days} days"), "days"),
    "item_due_today": (_lt("{invoice} due today"), None, None),
    "level_reached": (_lt("level '{level}' ({delay:+d} day)"), _lt("level '{level}' ({delay:+d} days)"), "delay_abs"),
    "channel_none_reachable": (_lt("no reachable channel that the customer accepts"), None, None),
    "channel_all_of_level": (_lt("all channels of the level"), None, None),
    "channel_first_of_level": (_lt("first channel of the level"), None, None),
    "channel_no_response": (
        _lt("no response on {channel} for {days} day"),
        _lt("no response on {channel} for {days} days"),
        "days",
    ),
    "channel_preferred": (_lt("customer's preferred channel"), None, None),
    "channel_best_response": (_lt("best response rate ({rate:.0%})"), None, None),
    "risk_avg_days_late": (_lt("{value:.0f} days late on average"), None, None),
    "risk_late_share": (_lt("{value:.0%} of items paid late or long overdue"), None, None),
    "risk_broken_promises": (_lt("{value:g} broken promises"), None, None),
    "risk_broken_plans": (_lt("{value:g} broken payment plans"), None, None),
    "risk_overdue_ratio": (_lt("{value:.0%} of the open balance overdue"), None, None),
    "risk_credit_exposure": (_lt("{value:.0%} of the credit limit used"), None, None),
    "risk_dispute_share": (_lt("{value:.0%} of items disputed"), None, None),
    "risk_payment_timing": (_lt("paid {value:+.0f} days from the due date on average (minus: early)"), None, None),
    "risk_none": (_lt("no adverse payment behaviour"), None, None),
    # why a preset made an action wait
    "contact_wait_holiday": (
        _lt("{rules}: no collection contact on public holidays ({day}); next window {next}"),
        None,
        None,
    ),
    "contact_wait_closed_day": (
        _lt("{rules}: no collection contact on this weekday ({day}); next window {next}"),
        None,
        None,
    ),
    "contact_wait_hours": (
        _lt("{rules}: contact hours on {day} are {hours}; next window {next}"),
        None,
        None,
    ),
    "contact_wait_cap_day": (
        _lt("{rules}: at most {count} contact a day; next window {next}"),
        _lt("{rules}: at most {count} contacts a day; next window {next}"),
        "count",
    ),
    "contact_wait_cap_week": (
        _lt("{rules}: at most {count} contact a week; next window {next}"),
        _lt("{rules}: at most {count} contacts a week; next window {next}"),
        "count",
    ),
    "contact_wait_cap_7_days": (
        _lt("{rules}: at most {count} contact in 7 days; next window {next}"),
        _lt("{rules}: at most {count} contacts in 7 days; next window {next}"),
        "count",
    ),
    "contact_wait_gap": (
        _lt("{rules}: {days} day between contacts; next window {next}"),
        _lt("{rules}: {days} days between contacts; next window {next}"),
        "days",
    ),
    "contact_wait_channel_day": (
        _lt("{rules}: at most {count} {channel} contact a day; next window {next}"),
        _lt("{rules}: at most {count} {channel} contacts a day; next window {next}"),
        "count",
    ),
    "contact_wait_channel_7_days": (
        _lt("{rules}: at most {count} {channel} contact in 7 days; next window {next}"),
        _lt("{rules}: at most {count} {channel} contacts in 7 days; next window {next}"),
        "count",
    ),
    "contact_wait_single_channel": (
        _lt("{rules}: one channel in 7 days ({channel} already used); next window {next}"),
        None,
        None,
    ),
    # late fees and interest
    "fee_fixed": (
        _lt("{invoice}: late-payment fee, {days} day overdue"),
        _lt("{invoice}: late-payment fee, {days} days overdue"),
        "days",
    ),
    "fee_fixed_level": (
        _lt("{invoice}: fee of the reminder level '{level}'"),
        None,
        None,
    ),
    "fee_fixed_period": (
        _lt("{invoice}: late-payment fee for the period from {period}"),
        None,
        None,
    ),
    "fee_percentage": (
        _lt("{invoice}: {rate:g}% of {base:.2f} {currency} overdue"),
        None,
        None,
    ),
    "fee_percentage_period": (
        _lt("{invoice}: {rate:g}% of {base:.2f} {currency} overdue, for the period from {period}"),
        None,
        None,
    ),
    "fee_interest_annual": (
        _lt("{invoice}: interest at {rate:g}% a year on {base:.2f} {currency} for {days} day ({start} to {end})"),
        _lt("{invoice}: interest at {rate:g}% a year on {base:.2f} {currency} for {days} days ({start} to {end})"),
        "days",
    ),
    "fee_interest_daily": (
        _lt("{invoice}: interest at {rate}% a day on {base:.2f} {currency} for {days} day ({start} to {end})"),
        _lt("{invoice}: interest at {rate}% a day on {base:.2f} {currency} for {days} days ({start} to {end})"),
        "days",
    ),
    "fee_interest_compound": (
        _lt("the base includes {amount:.2f} {currency} of interest of earlier periods"),
        None,
        None,
    ),
    "fee_rate_capped": (
        _lt("rate capped at the maximum of {rate:g}% a year"),
        None,
        None,
    ),
    "fee_minimum": (
        _lt("raised to the minimum of {amount:.2f} {currency}"),
        None,
        None,
    ),
    "fee_maximum": (
        _lt("lowered to the maximum of {amount:.2f} {currency}"),
        None,
        None,
    ),
    "fee_cap_item": (
        _lt("reduced to the cap of {amount:.2f} {currency} per item"),
        None,
        None,
    ),
    "fee_cap_period": (
        _lt("reduced to the cap of {amount:.2f} {currency} per period"),
        None,
        None,
    ),
    # credit hold (account_collections_sale refuses to confirm the quotations of a held customer)
    "hold_manual": (_lt("manual hold: {reason}"), None, None),
    "hold_broken_plan": (_lt("payment plan broken: the instalment due {due} is unpaid"), None, None),
    "hold_overdue_days": (
        _lt("{invoice} {days} day overdue, over the {limit}-day limit"),
        _lt("{invoice} {days} days overdue, over the {limit}-day limit"),
        "days",
    ),
    "hold_overdue_amount": (
        _lt("{amount:.2f} {currency} overdue, over the limit of {limit:.2f} {currency}"),
        None,
        None,
    ),
    "hold_credit_limit": (
        _lt("balance of {amount:.2f} {currency}, over the credit limit of {limit:.2f} {currency}"),
        None,
        None,
    ),
}


AUDIENCE_LABELS = {"b2c": _lt("consumers"), "b2b": _lt("businesses")}


def _parsed(value, pattern):
    """A date or local time the engine wrote with ``pattern``; None when it is absent or of another shape."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, pattern)
    except ValueError:
        return None


def _wait_params(env, params):
    """The parameters of why a contact waits, as a person reads them: the rules by country and audience
    ("Colombia (consumers)"), the day and the next window in the reader's language ("Tuesday 8 December",
    "Wednesday 9 December 07:00": local to the customer, as the engine gives them)."""
    readable = dict(params)
    locale = babel_locale_parse(env.lang or "en_US")
    rules = params.get("rules")
    if rules == "policy":
        readable["rules"] = env._("Company contact rules")
    elif isinstance(rules, str) and "/" in rules:
        code, audience = rules.split("/", 1)
        country = env["res.country"].search([("code", "=", code)], limit=1)
        label = AUDIENCE_LABELS.get(audience)
        readable["rules"] = f"{country.name or code} ({env._(label) if label else audience})"
    day, moment = _parsed(params.get("day"), "%Y-%m-%d"), _parsed(params.get("next"), "%Y-%m-%d %H:%M")
    if day:  # a parameter of another shape is shown as the engine wrote it
        readable["day"] = format_date(day.date(), "EEEE d MMMM", locale=locale)
    if moment:
        readable["next"] = format_datetime(moment, "EEEE d MMMM HH:mm", locale=locale)
    if params.get("channel"):
        labels = dict(env["collection.action"]._fields["channel"]._description_selection(env))
        readable["channel"] = labels.get(params["channel"], params["channel"])
    return readable


def render(env, code, params):
    """One phrase in ``env``'s language; a code this version does not know is shown as the code."""
    entry = TEMPLATES.get(code)
    if entry is None:
        return code
    if code.startswith("contact_wait_"):
        params = _wait_params(env, params)
    singular, plural, count = entry
    template = plural if plural is not None and params.get(count) != 1 else singular
    try:
        return env._(template).format(**params)
    except (KeyError, ValueError, IndexError):  # a translation that lost a parameter: the English text
        return template._source.format(**params)


def render_parts(env, parts, separator="; "):
    """Several phrases stored as ``[[code, {params}], ...]``, joined."""
    return separator.join(render(env, code, params or {}) for code, params in parts or [])


def render_factors(env, factors):
    """A risk explanation from its factors stored as ``[[factor, value, points], ...]``."""
    if not factors:
        return render(env, "risk_none", {})
    return ", ".join(
        f"{render(env, f'risk_{factor}', {'value': value})} (+{points:.0f})" for factor, value, points in factors
    )
