"""Property tests: no contact outside the preset's window, on a public holiday or over a cap, in the
customer's own time zone, across DST changes (hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import holidays
from factories import customer, item
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collections_engine import plan
from collections_engine.contact import contact_rules, earliest_allowed
from collections_engine.contact_presets import PRESET_COUNTRIES, Preset, preset_for
from collections_engine.defaults import default_policy_document
from collections_engine.policy import policy_from_dict
from collections_engine.types import ContactEvent, Customer, History, Portfolio

UTC = timezone.utc
DOCUMENT = default_policy_document()
DOCUMENT["contact"]["countries"] = {code: {"preset": code} for code in PRESET_COUNTRIES}
DOCUMENT["contact"]["max_per_day"] = 3
DOCUMENT["contact"]["max_per_week"] = 10
POLICY = policy_from_dict(DOCUMENT)
ZONES = [None, "America/Santiago", "America/Mexico_City", "US/Eastern", "Europe/Madrid", "America/Bogota"]
# DST changes: Santiago (April / September), Mexico City (until 2022), US Eastern (March / November), Madrid
SWITCHES = [datetime(2022, 4, 3), datetime(2022, 9, 4), datetime(2021, 4, 4), datetime(2022, 10, 30),
            datetime(2026, 3, 8), datetime(2026, 11, 1), datetime(2026, 3, 29), datetime(2026, 10, 25),
            datetime(2026, 12, 8), datetime(2026, 12, 25), datetime(2027, 1, 1)]
CHANNELS = ["email", "sms", "call", "whatsapp", "visit"]


def allowed_minutes(preset: Preset, day: date) -> list[tuple[int, int]]:
    """The preset's own hours for a weekday, read straight from its strings."""
    window = preset.window
    if day.isoweekday() not in window.weekdays:
        return []
    hours = dict(window.day_hours).get(day.isoweekday(), window.hours)
    return [(int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])) for a, b in hours]


def spans_over(day: date, days: list[date], cap: int | None) -> bool:
    """Whether one more contact on ``day`` makes some 7 consecutive days hold more than ``cap``."""
    if cap is None:
        return False
    return any(sum(1 for d in days if start <= d <= start + timedelta(days=6)) + 1 > cap
               for start in (day - timedelta(days=k) for k in range(7)))


def assert_allowed(
    slot: datetime, cust: Customer, occasions: list[datetime], history: list[tuple[datetime, str]], channels: list[str]
) -> None:
    """Check a slot against the preset itself, independently of the engine's resolution.

    Occasion caps count ``occasions`` (contacts made together are one); channel caps count ``history``.
    """
    audience = "b2b" if cust.audience == "b2b" else "b2c"
    preset = preset_for(cust.country or "", audience)
    tz = contact_rules(cust, POLICY).tz
    assert str(tz) == (cust.timezone or preset.timezone)
    local = slot.astimezone(tz)
    minute = local.hour * 60 + local.minute
    assert any(start <= minute < end for start, end in allowed_minutes(preset, local.date())), (preset.key, local)
    if preset.holidays:
        assert local.date() not in holidays.country_holidays(cust.country, years=local.year), (preset.key, local)
    days = [at.astimezone(tz).date() for at in occasions]
    day = local.date()
    assert sum(1 for d in days if d == day) + 1 <= min(preset.max_per_day or 99, POLICY.contact.max_per_day)
    assert sum(1 for d in days if d.isocalendar()[:2] == day.isocalendar()[:2]) + 1 <= POLICY.contact.max_per_week
    assert not spans_over(day, days, preset.max_per_7_days)
    assert all(abs((day - d).days) >= preset.min_days_between for d in days)
    for channel in channels:
        cap = preset.channel_cap(channel)
        on_channel = [at.astimezone(tz).date() for at, c in history if c == channel]
        if cap is not None:
            assert not spans_over(day, on_channel, cap.per_7_days)
        if preset.single_channel_per_7_days:
            assert all(abs((day - at.astimezone(tz).date()).days) > 6 for at, c in history if c != channel)


customers = st.builds(
    Customer,
    id=st.just("c1"),
    name=st.just("c"),
    country=st.sampled_from(PRESET_COUNTRIES),
    timezone=st.sampled_from(ZONES),
    audience=st.sampled_from([None, "b2c", "b2b"]),
)
instants = st.builds(
    lambda base, hours: (base + timedelta(hours=hours)).replace(tzinfo=UTC),
    st.sampled_from(SWITCHES),
    st.integers(-96, 96),
)


@settings(max_examples=300, deadline=None)
@given(
    cust=customers,
    as_of=instants,
    history=st.lists(st.tuples(st.integers(0, 24 * 9), st.sampled_from(CHANNELS)), max_size=8),
    channels=st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=2, unique=True),
)
def test_no_slot_outside_the_preset_on_a_holiday_or_over_a_cap(cust, as_of, history, channels) -> None:  # type: ignore[no-untyped-def]
    log = sorted({(as_of - timedelta(hours=h), c) for h, c in history})
    occasions = sorted({at for at, _ in log})
    rules = contact_rules(cust, POLICY)
    slot = earliest_allowed(as_of, rules, occasions, log, channels)
    assert slot >= as_of
    assert_allowed(slot, cust, occasions, log, channels)


@st.composite
def books(draw: st.DrawFn) -> tuple[Portfolio, History, datetime]:
    as_of = draw(instants)
    people, items, events = [], [], []
    for number in range(draw(st.integers(1, 6))):
        cid = f"c{number}"
        people.append(customer(cid, country=draw(st.sampled_from(PRESET_COUNTRIES)),
                               timezone=draw(st.sampled_from(ZONES)),
                               audience=draw(st.sampled_from([None, "b2b"])), mobile="+10000000"))
        for index in range(draw(st.integers(1, 4))):
            items.append(item(f"{cid}-{index}", draw(st.integers(-10, 120)), customer_id=cid))
        for index in range(draw(st.integers(0, 5))):
            at = as_of - timedelta(hours=draw(st.integers(0, 24 * 8)))
            events.append(ContactEvent(id=f"{cid}-e{index}", customer_id=cid, at=at,
                                       channel=draw(st.sampled_from(CHANNELS)), level=f"other{index}",
                                       planned_at=at - timedelta(minutes=1)))
    return Portfolio("EUR", tuple(people), tuple(items)), History(tuple(events)), as_of


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books())
def test_planned_actions_keep_to_the_presets(book) -> None:  # type: ignore[no-untyped-def]
    portfolio, history, as_of = book
    decisions = plan(portfolio, POLICY, history, as_of)
    by_id = {c.id: c for c in portfolio.customers}
    for decision in decisions.customers:
        for action in decision.actions:
            if action.channel == "letter":
                continue
            cust = by_id[action.customer_id]
            mine = [e for e in history.events if e.customer_id == cust.id and e.channel != "letter"]
            occasions = [at for at, _ in {(e.at, e.level) for e in mine}]
            assert_allowed(action.not_before, cust, occasions, [(e.at, e.channel) for e in mine], [action.channel])
            waits = [p for p in action.reason_parts if p.code.startswith("contact_wait")]
            if action.not_before > as_of + timedelta(hours=1):  # pushed: the action says why, naming the preset
                assert len(waits) == 1 and waits[0].values["rules"] == contact_rules(cust, POLICY).preset
            elif action.not_before == as_of:
                assert waits == []
