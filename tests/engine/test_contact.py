"""Contact windows in the customer's timezone, weekdays, caps, and DST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from collections_engine.contact import earliest_contact, in_window, next_in_window, rules_for
from collections_engine.defaults import default_policy
from collections_engine.types import ContactWindow, Customer

UTC = timezone.utc
MADRID = ZoneInfo("Europe/Madrid")
SPLIT = ContactWindow(hours=(("09:00", "14:00"), ("16:00", "19:00")), weekdays=(1, 2, 3, 4, 5))


def test_rules_prefer_customer_then_country_then_policy() -> None:
    policy = default_policy()
    tz, window = rules_for(Customer(id="1", name="a", country="ES"), policy)
    assert str(tz) == "Europe/Madrid" and window.hours[0] == ("09:00", "14:00")
    custom = ContactWindow(hours=(("10:00", "11:00"),), weekdays=(6,))
    tz, window = rules_for(
        Customer(id="2", name="b", country="ES", timezone="Atlantic/Canary", contact_window=custom), policy
    )
    assert str(tz) == "Atlantic/Canary" and window == custom
    tz, window = rules_for(Customer(id="3", name="c", country="JP"), policy)
    assert str(tz) == "UTC" and window == policy.contact.window


def test_next_in_window_moves_to_the_afternoon_and_over_the_weekend() -> None:
    lunch = datetime(2026, 11, 24, 14, 30, tzinfo=MADRID)  # Tuesday
    assert next_in_window(lunch, MADRID, SPLIT) == datetime(2026, 11, 24, 16, 0, tzinfo=MADRID)
    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=MADRID)
    assert next_in_window(friday_night, MADRID, SPLIT) == datetime(2026, 11, 30, 9, 0, tzinfo=MADRID)
    inside = datetime(2026, 11, 24, 10, 15, tzinfo=MADRID)
    assert next_in_window(inside, MADRID, SPLIT) == inside


def test_window_is_read_in_local_time_not_utc() -> None:
    # 08:30 UTC is 09:30 in Madrid in winter: inside the window.
    moment = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    assert in_window(moment, MADRID, SPLIT)
    assert not in_window(moment, ZoneInfo("America/Mexico_City"), SPLIT)


def test_daily_cap_pushes_to_the_next_day_and_weekly_cap_to_next_week() -> None:
    as_of = datetime(2026, 11, 24, 9, 30, tzinfo=MADRID)
    today_contact = [datetime(2026, 11, 24, 9, 5, tzinfo=MADRID)]
    slot = earliest_contact(as_of, MADRID, SPLIT, today_contact, 1, 3)
    assert slot == datetime(2026, 11, 25, 9, 0, tzinfo=MADRID)
    week = [datetime(2026, 11, d, 10, 0, tzinfo=MADRID) for d in (23, 24)] + [datetime(2026, 11, 20, 10, tzinfo=MADRID)]
    slot = earliest_contact(as_of, MADRID, SPLIT, week, 1, 2)
    assert slot == datetime(2026, 11, 30, 9, 0, tzinfo=MADRID)


def test_dst_spring_forward_gap_is_never_chosen() -> None:
    window = ContactWindow(hours=(("02:00", "04:00"),), weekdays=(7,))
    as_of = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday before the switch night
    slot = next_in_window(as_of, MADRID, window)
    assert in_window(slot, MADRID, window)
    assert slot.astimezone(MADRID).hour == 3


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    zone_name=st.sampled_from(["Europe/Madrid", "America/Mexico_City", "Asia/Kolkata", "America/New_York", "UTC"]),
    start_hour=st.integers(0, 22),
    length=st.integers(1, 10),
    weekdays=st.sets(st.integers(1, 7), min_size=1),
    history=st.lists(st.integers(-10 * 24, 10 * 24), max_size=12),
    per_day=st.integers(1, 3),
    extra_week=st.integers(0, 4),
)
def test_no_slot_outside_the_window_or_over_the_caps(  # type: ignore[no-untyped-def]
    start, zone_name, start_hour, length, weekdays, history, per_day, extra_week
) -> None:
    tz = ZoneInfo(zone_name)
    end_hour = min(24, start_hour + length)
    window = ContactWindow(
        hours=((f"{start_hour:02d}:00", f"{end_hour:02d}:00" if end_hour < 24 else "24:00"),),
        weekdays=tuple(sorted(weekdays)),
    )
    contacts = [start + timedelta(hours=h) for h in history]
    per_week = per_day + extra_week
    slot = earliest_contact(start, tz, window, contacts, per_day, per_week)
    assert slot >= start
    assert in_window(slot, tz, window)
    day = slot.astimezone(tz).date()
    same_day = [c for c in contacts if c.astimezone(tz).date() == day]
    same_week = [c for c in contacts if c.astimezone(tz).date().isocalendar()[:2] == day.isocalendar()[:2]]
    assert len(same_day) + 1 <= per_day
    assert len(same_week) + 1 <= per_week
