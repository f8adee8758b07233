"""Contact rules: the customer's local window, weekdays and daily / weekly caps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from .policy import Policy
from .types import ContactEvent, ContactWindow, Customer

_MAX_DAYS_AHEAD = 400


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """Return a cached ZoneInfo."""
    return ZoneInfo(name)


@lru_cache(maxsize=256)
def _minutes(window: ContactWindow) -> tuple[tuple[tuple[int, int], ...], frozenset[int]]:
    def to_minutes(text: str) -> int:
        hours, minutes = text.split(":")
        return int(hours) * 60 + int(minutes)

    intervals = tuple((to_minutes(start), to_minutes(end)) for start, end in window.hours)
    return intervals, frozenset(window.weekdays)


def rules_for(customer: Customer, policy: Policy) -> tuple[ZoneInfo, ContactWindow]:
    """Return the timezone and window that apply: customer override, then country, then policy."""
    contact = policy.contact
    country = contact.countries.get(customer.country or "") if customer.country else None
    tz_name = customer.timezone or (country.timezone if country and country.timezone else None) or contact.timezone
    window = customer.contact_window or (country.window if country else contact.window)
    return zone(tz_name), window


def in_window(moment: datetime, tz: ZoneInfo, window: ContactWindow) -> bool:
    """Tell whether an instant falls inside the window in the given timezone."""
    intervals, weekdays = _minutes(window)
    local = moment.astimezone(tz)
    if local.isoweekday() not in weekdays:
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in intervals)


def next_in_window(moment: datetime, tz: ZoneInfo, window: ContactWindow) -> datetime:
    """Return the earliest instant at or after ``moment`` inside the window (UTC-aware)."""
    intervals, weekdays = _minutes(window)
    local = moment.astimezone(tz)
    day = local.date()
    for offset in range(8):
        current = day + timedelta(days=offset)
        if current.isoweekday() not in weekdays:
            continue
        for start, end in intervals:
            candidate = _local_instant(current, start, tz)
            if offset == 0 and candidate <= moment:
                if in_window(moment, tz, window):
                    return moment.astimezone(timezone.utc)
                continue
            if in_window(candidate, tz, window):
                return candidate.astimezone(timezone.utc)
            # DST gap swallowed the start: take the first whole hour inside the interval.
            for minute in range(start - start % 60 + 60, end, 60):
                shifted = _local_instant(current, minute, tz)
                if shifted > moment and in_window(shifted, tz, window):
                    return shifted.astimezone(timezone.utc)
    raise ValueError("contact window has no allowed time in a week")


def _local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    if minute >= 1440:
        return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(tz)
    return datetime.combine(day, time(minute // 60, minute % 60), tz)


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
    local_days: dict[date, int] = {}
    local_weeks: dict[tuple[int, int], int] = {}
    for moment in contacts:
        local = moment.astimezone(tz).date()
        local_days[local] = local_days.get(local, 0) + 1
        week = local.isocalendar()[:2]
        local_weeks[week] = local_weeks.get(week, 0) + 1
    moment = as_of
    limit = as_of + timedelta(days=_MAX_DAYS_AHEAD)
    while moment < limit:
        if respects_window:
            moment = next_in_window(moment, tz, window)
        local_day = moment.astimezone(tz).date()
        week = local_day.isocalendar()[:2]
        if local_weeks.get(week, 0) >= max_per_week:
            monday = local_day + timedelta(days=8 - local_day.isoweekday())
            moment = datetime.combine(monday, time(0), tz)
        elif local_days.get(local_day, 0) >= max_per_day:
            moment = datetime.combine(local_day + timedelta(days=1), time(0), tz)
        else:
            return moment.astimezone(timezone.utc)
    raise ValueError("no contact slot within the caps in the next year")
