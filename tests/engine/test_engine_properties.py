"""Invariants of a planning run on random portfolios (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from factories import customer, item
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collections_engine import plan
from collections_engine.contact import in_window, rules_for
from collections_engine.defaults import default_policy
from collections_engine.types import ContactEvent, History, Portfolio

POLICY = default_policy()
COUNTRIES = ["ES", "MX", "US", "FR", "DE", "GB", None]


@st.composite
def books(draw: st.DrawFn) -> tuple[Portfolio, History, datetime]:
    as_of = draw(
        st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(timezone.utc))
    )
    customers, items, events = [], [], []
    for number in range(draw(st.integers(1, 8))):
        cid = f"c{number}"
        customers.append(
            customer(
                cid,
                country=draw(st.sampled_from(COUNTRIES)),
                opted_out_channels=frozenset(draw(st.sets(st.sampled_from(["email", "sms", "call", "visit"])))),
            )
        )
        for index in range(draw(st.integers(0, 6))):
            items.append(
                item(
                    f"{cid}-{index}",
                    draw(st.integers(-10, 200)),
                    customer_id=cid,
                    disputed=draw(st.booleans()) and draw(st.booleans()),
                )
            )
        for index in range(draw(st.integers(0, 4))):
            at = as_of - timedelta(hours=draw(st.integers(0, 24 * 10)))
            events.append(
                ContactEvent(
                    id=f"{cid}-e{index}",
                    customer_id=cid,
                    at=at,
                    channel=draw(st.sampled_from(["email", "sms", "call", "visit"])),
                    level="other",
                    planned_at=at - timedelta(minutes=1),
                )
            )
    return Portfolio("EUR", tuple(customers), tuple(items)), History(tuple(events)), as_of


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books())
def test_actions_stay_in_the_window_under_the_caps_and_runs_are_deterministic(book) -> None:  # type: ignore[no-untyped-def]
    portfolio, history, as_of = book
    decisions = plan(portfolio, POLICY, history, as_of)
    assert decisions == plan(portfolio, POLICY, history, as_of)
    customers = {c.id: c for c in portfolio.customers}
    disputed = {i.id for i in portfolio.items if i.disputed}
    for decision in decisions.customers:
        occasions = {(a.not_before, a.level) for a in decision.actions if a.channel != "letter"}
        assert len(occasions) <= 1  # one contact occasion per customer and run
        for action in decision.actions:
            assert not set(action.item_ids) & disputed
            assert action.not_before >= as_of
            assert action.channel not in customers[action.customer_id].opted_out_channels
            if action.channel == "letter":
                continue
            tz, window = rules_for(customers[action.customer_id], POLICY)
            assert in_window(action.not_before, tz, window)
            day = action.not_before.astimezone(tz).date()
            # contacts made together (same instant and level) are one occasion
            past = {
                (e.at, e.level) for e in history.events if e.customer_id == action.customer_id and e.channel != "letter"
            }
            same_day = [at for at, _ in past if at.astimezone(tz).date() == day]
            same_week = [at for at, _ in past if at.astimezone(tz).date().isocalendar()[:2] == day.isocalendar()[:2]]
            assert len(same_day) + 1 <= POLICY.contact.max_per_day
            assert len(same_week) + 1 <= POLICY.contact.max_per_week
