"""Contact rules: the customer's local window, weekdays, public holidays and caps.

:func:`contact_rules` resolves what applies to one customer (its own window, then its country's
rule with the country's legal preset, then the policy), :func:`earliest_allowed` finds the first
instant inside all of it, and :func:`explain_wait` says, as a phrase, why a contact has to wait.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .contact_presets import ChannelCap, Preset, preset_for
from .errors import InputError
from .phrases import Phrase
from .policy import CountryRule, Policy
from .types import ContactEvent, ContactWindow, Customer
from .windows import day_intervals, intersect_windows

_MAX_DAYS_AHEAD = 400
_SEARCH_DAYS = 31  # a week of allowed weekdays plus any run of holidays


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """Return a cached ZoneInfo."""
    return ZoneInfo(name)


# --------------------------------------------------------------------------------------
# Windows and holidays
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Return the public holidays of a country (and subdivision) in a year, from the ``holidays`` package.

    An unknown subdivision falls back to the national holidays; a missing package is an error.
    """
    module: Any = holidays_module()
    try:
        found = module.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:
        if subdivision is None:
            raise
        found = module.country_holidays(country, years=year)
    return frozenset(found)


def holidays_module() -> object:
    """Import the optional ``holidays`` package, or raise InputError saying how to install it."""
    try:
        return importlib.import_module("holidays")
    except ImportError as err:
        raise InputError(
            "public holidays need the 'holidays' package: pip install 'odoo-collections[holidays]'"
        ) from err


def _closed_check(holidays: tuple[str, str | None] | None) -> Callable[[date], bool] | None:
    if holidays is None:
        return None
    country, subdivision = holidays
    return lambda day: day in holiday_dates(country, subdivision, day.year)


def in_window(
    moment: datetime, tz: ZoneInfo, window: ContactWindow, closed: Callable[[date], bool] | None = None
) -> bool:
    """Tell whether an instant falls inside the window in the given timezone (and not on a closed day)."""
    local = moment.astimezone(tz)
    intervals = day_intervals(window).get(local.isoweekday())
    if not intervals or (closed is not None and closed(local.date())):
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in intervals)


def next_in_window(
    moment: datetime, tz: ZoneInfo, window: ContactWindow, closed: Callable[[date], bool] | None = None
) -> datetime:
    """Return the earliest instant at or after ``moment`` inside the window (UTC-aware), skipping closed days."""
    by_day = day_intervals(window)
    day = moment.astimezone(tz).date()
    for offset in range(_SEARCH_DAYS):
        current = day + timedelta(days=offset)
        intervals = by_day.get(current.isoweekday())
        if not intervals or (closed is not None and closed(current)):
            continue
        for start, end in intervals:
            candidate = _local_instant(current, start, tz)
            if offset == 0 and candidate <= moment:
                if in_window(moment, tz, window, closed):
                    return moment.astimezone(timezone.utc)
                continue
            if in_window(candidate, tz, window, closed):
                return candidate.astimezone(timezone.utc)
            # DST gap swallowed the start: take the first whole hour inside the interval.
            for minute in range(start - start % 60 + 60, end, 60):
                shifted = _local_instant(current, minute, tz)
                if shifted > moment and in_window(shifted, tz, window, closed):
                    return shifted.astimezone(timezone.utc)
    raise ValueError(f"contact window has no allowed time in {_SEARCH_DAYS} days")


def _local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    if minute >= 1440:
        return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(tz)
    return datetime.combine(day, time(minute // 60, minute % 60), tz)


# --------------------------------------------------------------------------------------
# Resolved rules of one customer
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRules:
    """Everything that limits when one customer may be contacted."""

    tz: ZoneInfo
    window: ContactWindow
    max_per_day: int = 1
    max_per_week: int = 3  # per local ISO week (the policy's cap)
    holidays: tuple[str, str | None] | None = None  # country and subdivision whose holidays are closed
    max_per_7_days: int | None = None
    min_days_between: int = 0
    channel_caps: Mapping[str, ChannelCap] = field(default_factory=dict)
    single_channel_per_7_days: bool = False
    channels: frozenset[str] | None = None  # allowed channels; None: all
    preset: str | None = None  # e.g. "CO/b2c" when a legal preset shaped these rules

    @property
    def closed(self) -> Callable[[date], bool] | None:
        """The closed-day test (public holidays), if any."""
        return _closed_check(self.holidays)

    @property
    def counts_channels(self) -> bool:
        """Whether the caps look at channels, not only at occasions."""
        return bool(self.channel_caps) or self.single_channel_per_7_days


def rules_for(customer: Customer, policy: Policy) -> tuple[ZoneInfo, ContactWindow]:
    """Return the timezone and window that apply: customer override, then country, then policy."""
    rules = contact_rules(customer, policy)
    return rules.tz, rules.window


def audience_of(customer: Customer, policy: Policy) -> str:
    """Return the customer's audience: its own, else the policy's; anything but b2b counts as b2c."""
    audience = customer.audience or policy.contact.audience
    return "b2b" if audience == "b2b" else "b2c"


def contact_rules(customer: Customer, policy: Policy) -> ContactRules:
    """Resolve the rules of one customer: own window and timezone, then country rule and preset, then policy."""
    contact = policy.contact
    country = contact.countries.get(customer.country) if customer.country else None
    if country is None:
        tz_name = customer.timezone or contact.timezone
        window = customer.contact_window or contact.window
        return ContactRules(zone(tz_name), window, contact.max_per_day, contact.max_per_week)
    preset = preset_for(country.preset, audience_of(customer, policy)) if country.preset else None
    return _country_rules(customer, policy, country, preset)


def _country_rules(customer: Customer, policy: Policy, rule: CountryRule, preset: Preset | None) -> ContactRules:
    """The country's rule over its preset: every field is the tighter of the two, so no override loosens a preset."""
    contact = policy.contact
    country_window = rule.window or contact.window
    if preset is not None:
        narrowed = intersect_windows(rule.window, preset.window) if rule.window else None
        country_window = narrowed or preset.window
    window = customer.contact_window or country_window
    if preset is not None and customer.contact_window is not None:
        # a customer's own hours can narrow the legal window, never widen it
        window = intersect_windows(customer.contact_window, country_window) or country_window
    tz_name = customer.timezone or rule.timezone or (preset.timezone if preset else None) or contact.timezone
    holidays = bool(rule.holidays) or bool(preset and preset.holidays)
    return ContactRules(
        tz=zone(tz_name),
        window=window,
        max_per_day=min(contact.max_per_day, *_given(rule.max_per_day, preset.max_per_day if preset else None)),
        max_per_week=contact.max_per_week,
        holidays=(customer.country or "", customer.region) if holidays else None,
        max_per_7_days=_lowest(rule.max_per_7_days, preset.max_per_7_days if preset else None),
        min_days_between=max(rule.min_days_between or 0, preset.min_days_between if preset else 0),
        channel_caps=_channel_caps(rule.channel_caps, dict(preset.channel_caps) if preset else {}),
        single_channel_per_7_days=bool(preset and preset.single_channel_per_7_days),
        channels=_allowed(rule.channels, preset),
        preset=preset.key if preset else None,
    )


def _channel_caps(mine: Mapping[str, ChannelCap], theirs: Mapping[str, ChannelCap]) -> dict[str, ChannelCap]:
    caps = {}
    for channel in set(mine) | set(theirs):
        a, b = mine.get(channel, ChannelCap()), theirs.get(channel, ChannelCap())
        caps[channel] = ChannelCap(_lowest(a.per_day, b.per_day), _lowest(a.per_7_days, b.per_7_days))
    return caps


def _given(*values: int | None) -> list[int]:
    return [v for v in values if v is not None] or [1_000_000]


def _lowest(*values: int | None) -> int | None:
    given = [v for v in values if v is not None]
    return min(given) if given else None


def _allowed(channels: tuple[str, ...] | None, preset: Preset | None) -> frozenset[str] | None:
    allowed = set(preset.channels) if preset else None
    if channels is not None:
        allowed = set(channels) if allowed is None else allowed & set(channels)
    return frozenset(allowed) if allowed is not None else None


# --------------------------------------------------------------------------------------
# Contacts that count, and the earliest allowed slot
# --------------------------------------------------------------------------------------


def counted_contacts(events: Iterable[ContactEvent], policy: Policy, since: datetime | None = None) -> list[datetime]:
    """Return the instants of contacts (from ``since`` on) that count towards the caps, one per occasion."""
    seen: set[tuple[datetime, str | None]] = set()
    result = []
    for event in events:
        if since is not None and event.at < since:
            continue
        config = policy.channels.get(event.channel)
        if config is not None and not config.respects_window:
            continue
        occasion = (event.at, event.level)
        if occasion in seen:
            continue
        seen.add(occasion)
        result.append(event.at)
    return result


def channel_contacts(
    events: Iterable[ContactEvent], policy: Policy, since: datetime | None = None
) -> list[tuple[datetime, str]]:
    """Return (instant, channel) of the contacts that count towards the per-channel caps."""
    seen: set[tuple[datetime, str]] = set()
    for event in events:
        if since is not None and event.at < since:
            continue
        config = policy.channels.get(event.channel)
        if config is None or config.respects_window:
            seen.add((event.at, event.channel))
    return sorted(seen)


@dataclass(frozen=True, slots=True)
class _Block:
    """Why a local day is over a cap: a phrase code and its parameters."""

    code: str
    params: tuple[tuple[str, int | str], ...]


def _count_in_7_days(day: date, days: Sequence[date]) -> int:
    """The most contacts in any 7 consecutive days that contain ``day``, counting one more on ``day``."""
    best = 0
    for shift in range(7):
        first = day - timedelta(days=6 - shift)
        last = first + timedelta(days=6)
        best = max(best, sum(1 for d in days if first <= d <= last))
    return best + 1


def cap_block(
    day: date,
    rules: ContactRules,
    occasion_days: Sequence[date],
    channel_days: Sequence[tuple[date, str]] = (),
    channels: Sequence[str] = (),
) -> _Block | None:
    """Return why one more contact on the local ``day`` would break a cap, or None."""
    if sum(1 for d in occasion_days if d == day) >= rules.max_per_day:
        return _Block("contact_wait_cap_day", (("count", rules.max_per_day),))
    week = day.isocalendar()[:2]
    if sum(1 for d in occasion_days if d.isocalendar()[:2] == week) >= rules.max_per_week:
        return _Block("contact_wait_cap_week", (("count", rules.max_per_week),))
    if rules.max_per_7_days is not None and _count_in_7_days(day, occasion_days) > rules.max_per_7_days:
        return _Block("contact_wait_cap_7_days", (("count", rules.max_per_7_days),))
    gap = rules.min_days_between
    if gap and any(abs((day - d).days) < gap for d in occasion_days):
        return _Block("contact_wait_gap", (("days", gap),))
    for channel in channels:
        block = _channel_block(day, rules, channel, channel_days)
        if block is not None:
            return block
    return None


def _channel_block(
    day: date, rules: ContactRules, channel: str, channel_days: Sequence[tuple[date, str]]
) -> _Block | None:
    if rules.single_channel_per_7_days:
        for other_day, other in channel_days:
            if other != channel and abs((day - other_day).days) <= 6:
                return _Block("contact_wait_single_channel", (("channel", other),))
    cap = rules.channel_caps.get(channel)
    if cap is None:
        return None
    days = [d for d, c in channel_days if c == channel]
    if cap.per_day is not None and sum(1 for d in days if d == day) >= cap.per_day:
        return _Block("contact_wait_channel_day", (("channel", channel), ("count", cap.per_day)))
    if cap.per_7_days is not None and _count_in_7_days(day, days) > cap.per_7_days:
        return _Block("contact_wait_channel_7_days", (("channel", channel), ("count", cap.per_7_days)))
    return None


def earliest_allowed(
    as_of: datetime,
    rules: ContactRules,
    contacts: Sequence[datetime] = (),
    channel_log: Sequence[tuple[datetime, str]] = (),
    channels: Sequence[str] = (),
    respects_window: bool = True,
) -> datetime:
    """Return the earliest instant >= as_of inside the rules' window, off holidays and under every cap."""
    tz = rules.tz
    closed = rules.closed
    occasion_days = [moment.astimezone(tz).date() for moment in contacts]
    channel_days = [(moment.astimezone(tz).date(), channel) for moment, channel in channel_log]
    moment = as_of
    limit = as_of + timedelta(days=_MAX_DAYS_AHEAD)
    while moment < limit:
        if respects_window:
            moment = next_in_window(moment, tz, rules.window, closed)
        local_day = moment.astimezone(tz).date()
        block = cap_block(local_day, rules, occasion_days, channel_days, channels)
        if block is None:
            return moment.astimezone(timezone.utc)
        if block.code == "contact_wait_cap_week":
            local_day += timedelta(days=7 - local_day.isoweekday())
        moment = datetime.combine(local_day + timedelta(days=1), time(0), tz)
    raise ValueError("no contact slot within the caps in the next year")


def earliest_contact(
    as_of: datetime,
    tz: ZoneInfo,
    window: ContactWindow,
    contacts: list[datetime],
    max_per_day: int,
    max_per_week: int,
    respects_window: bool = True,
) -> datetime:
    """Return the earliest instant >= as_of in the window whose local day and ISO week are under the caps."""
    rules = ContactRules(tz, window, max_per_day, max_per_week)
    return earliest_allowed(as_of, rules, contacts, respects_window=respects_window)


# --------------------------------------------------------------------------------------
# Why a contact waits
# --------------------------------------------------------------------------------------


def explain_wait(
    as_of: datetime,
    rules: ContactRules,
    contacts: Sequence[datetime] = (),
    channel_log: Sequence[tuple[datetime, str]] = (),
    channels: Sequence[str] = (),
) -> Phrase | None:
    """Say why no contact is allowed at ``as_of`` and when the next window opens (None if one is allowed now)."""
    slot = earliest_allowed(as_of, rules, contacts, channel_log, channels)
    if slot <= as_of:
        return None
    tz = rules.tz
    local = as_of.astimezone(tz)
    day = local.date()
    label = rules.preset or "policy"
    base: dict[str, int | str] = {
        "rules": label,
        "day": day.isoformat(),
        "next": slot.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
    }
    closed = rules.closed
    intervals = day_intervals(rules.window).get(local.isoweekday())
    if closed is not None and closed(day):
        return Phrase.of("contact_wait_holiday", **base)
    if not intervals:
        return Phrase.of("contact_wait_closed_day", **base)
    if not in_window(as_of, tz, rules.window):
        hours = ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in intervals)
        return Phrase.of("contact_wait_hours", hours=hours, **base)
    occasion_days = [moment.astimezone(tz).date() for moment in contacts]
    channel_days = [(moment.astimezone(tz).date(), channel) for moment, channel in channel_log]
    block = cap_block(day, rules, occasion_days, channel_days, channels)
    if block is None:  # allowed now by every rule (a DST gap moved the slot by minutes)
        return None
    return Phrase.of(block.code, **base, **dict(block.params))


def explain_contact(
    customer: Customer,
    policy: Policy,
    as_of: datetime,
    events: Sequence[ContactEvent] = (),
    channels: Sequence[str] = ("email",),
) -> Phrase | None:
    """Say why a customer cannot be contacted at ``as_of`` on these channels, and when it can (None: now)."""
    rules = contact_rules(customer, policy)
    since = as_of - timedelta(days=_MAX_DAYS_AHEAD)
    log = channel_contacts(events, policy, since) if rules.counts_channels else []
    return explain_wait(as_of, rules, counted_contacts(events, policy, since), log, channels)
