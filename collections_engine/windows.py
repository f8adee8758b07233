"""Contact windows as minute intervals per weekday: intersection and containment (no policy, no clock)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from .types import ContactWindow

Intervals = tuple[tuple[int, int], ...]


def _to_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@lru_cache(maxsize=256)
def day_intervals(window: ContactWindow) -> dict[int, Intervals]:
    """Return the allowed minute intervals of each allowed ISO weekday."""
    default = tuple((_to_minutes(a), _to_minutes(b)) for a, b in window.hours)
    special = {day: tuple((_to_minutes(a), _to_minutes(b)) for a, b in hours) for day, hours in window.day_hours}
    return {day: special.get(day, default) for day in window.weekdays}


def intersect_windows(first: ContactWindow, second: ContactWindow) -> ContactWindow | None:
    """Return the hours both windows allow, weekday by weekday (None when they share none)."""
    a, b = day_intervals(first), day_intervals(second)
    days: dict[int, Intervals] = {}
    for day in sorted(set(a) & set(b)):
        common = tuple(
            (max(s1, s2), min(e1, e2)) for s1, e1 in a[day] for s2, e2 in b[day] if max(s1, s2) < min(e1, e2)
        )
        if common:
            days[day] = tuple(sorted(common))
    return window_from_days(days) if days else None


def window_from_days(days: Mapping[int, Intervals]) -> ContactWindow:
    """Build a window from minute intervals per weekday (the first day's hours become the default)."""

    def text(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    def pairs(intervals: Intervals) -> tuple[tuple[str, str], ...]:
        return tuple((text(s), text(e)) for s, e in intervals)

    weekdays = tuple(sorted(days))
    default = days[weekdays[0]]
    special = tuple((day, pairs(days[day])) for day in weekdays if days[day] != default)
    return ContactWindow(hours=pairs(default), weekdays=weekdays, day_hours=special)


def window_within(inner: ContactWindow, outer: ContactWindow) -> list[tuple[int, tuple[str, str] | None]]:
    """Return what of ``inner`` lies outside ``outer``: (weekday, None) for a day, (weekday, interval) for hours."""
    outer_days = day_intervals(outer)
    problems: list[tuple[int, tuple[str, str] | None]] = []
    for day, intervals in day_intervals(inner).items():
        allowed = _merged(outer_days.get(day, ()))
        if not allowed:
            problems.append((day, None))
            continue
        for start, end in intervals:
            if not any(s <= start and end <= e for s, e in allowed):
                problems.append((day, (f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}")))
    return problems


def _merged(intervals: Intervals) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
