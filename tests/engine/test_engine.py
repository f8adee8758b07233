"""Follow-up planning: levels, pauses, disputes, channels, windows, caps, idempotent reruns."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from factories import AS_OF, TODAY, UTC, customer, event, history, item, portfolio, settled

from collections_engine import plan
from collections_engine.contact import in_window, rules_for
from collections_engine.decisions import Decisions
from collections_engine.defaults import default_policy_document
from collections_engine.errors import InputError, PolicyError
from collections_engine.policy import Policy, policy_from_dict, policy_to_dict
from collections_engine.statement import build_statement
from collections_engine.types import ContactEvent, History, Installment, Payment, PaymentPlan, Promise


def simple_policy(**contact: object) -> Policy:
    """The default policy without A/B variants, so levels are those of the strategy."""
    document = default_policy_document()
    for strategy in document["strategies"]:
        strategy.pop("variants", None)
    document["contact"].update(contact)
    return policy_from_dict(document)


POLICY = simple_policy()


def only(decisions: Decisions, customer_id: str = "c1"):  # type: ignore[no-untyped-def]
    return next(d for d in decisions.customers if d.customer_id == customer_id)


def as_events(decisions: Decisions) -> list[ContactEvent]:
    return [action.as_event(action.not_before) for action in decisions.actions()]


def test_first_level_after_its_delay_on_the_first_channel() -> None:
    decision = only(plan(portfolio([customer()], [item("i1", 5)]), POLICY, history(), AS_OF))
    (action,) = decision.actions
    assert (action.level, action.channel, action.template, action.tone) == ("first", "email", "first", "friendly")
    assert action.item_ids == ("i1",)
    assert action.amount_due == Decimal("100.00")
    assert action.not_before == AS_OF  # Tuesday 10:00 UTC is inside the default window
    assert decision.stage == "follow_up" and decision.level == "first"
    assert decision.oldest_days_overdue == 5 and decision.overdue_amount == Decimal("100.00")


def test_not_yet_time_for_any_level() -> None:
    decision = only(plan(portfolio([customer()], [item("i1", 1), item("i2", -10)]), POLICY, history(), AS_OF))
    assert decision.actions == ()
    assert decision.next_review == TODAY + timedelta(days=2)


def test_pre_due_reminder_before_the_due_date() -> None:
    decision = only(plan(portfolio([customer()], [item("i1", -2)]), POLICY, history(), AS_OF))
    assert [a.level for a in decision.actions] == ["pre_due"]
    assert decision.stage == "upcoming"
    assert "due in 2 days" in decision.actions[0].reason


def test_an_item_first_seen_late_jumps_to_the_level_now_due() -> None:
    decision = only(plan(portfolio([customer()], [item("i1", 40)]), POLICY, history(), AS_OF))
    (action,) = decision.actions
    assert (action.level, action.channel, action.manual) == ("call", "call", True)
    assert action.call_script and "payment plan" in action.call_script


def visit_policy() -> Policy:
    """The default policy whose collector level visits the customer instead of calling."""
    document = default_policy_document()
    for strategy in document["strategies"]:
        strategy.pop("variants", None)
        for level in strategy["levels"]:
            if level["key"] == "call":
                level["channels"] = ["visit", "call"]
    return policy_from_dict(document)


def test_a_visit_is_a_manual_action_at_the_cost_of_a_visit_inside_the_window() -> None:
    policy = visit_policy()
    decision = only(plan(portfolio([customer()], [item("i1", 40)]), policy, history(), AS_OF))
    (action,) = decision.actions
    assert (action.level, action.channel, action.manual) == ("call", "visit", True)
    assert action.as_event(AS_OF).cost == policy.channel_cost("visit") == Decimal("25")
    assert policy.channels["visit"].respects_window
    evening = only(plan(portfolio([customer()], [item("i1", 40)]), policy, history(), AS_OF.replace(hour=20)))
    assert evening.actions[0].channel == "visit" and evening.actions[0].not_before > AS_OF.replace(hour=20)


def test_a_customer_without_a_postal_address_or_opted_out_is_never_visited() -> None:
    policy = visit_policy()
    for who in (customer(has_postal_address=False), customer(opted_out_channels=frozenset({"visit"}))):
        (action,) = only(plan(portfolio([who], [item("i1", 40)]), policy, history(), AS_OF)).actions
        assert action.channel == "call"  # the level's next channel


def test_levels_never_repeat_and_never_go_back() -> None:
    items = [item("i1", 16), item("i2", 5)]
    past = history(event("c1", "second", ("i1",), 1), event("c1", "first", ("i2",), 1))
    decision = only(plan(portfolio([customer()], items), POLICY, past, AS_OF + timedelta(days=1)))
    assert decision.actions == ()
    # i1 reached 'call' once: a due date moved later must not bring it back to 'first'
    moved = [item("i1", 4)]
    decision = only(plan(portfolio([customer()], moved), POLICY, history(event("c1", "call", ("i1",), 3)), AS_OF))
    assert decision.actions == () and decision.level == "call"


def test_next_level_covers_only_the_items_that_reached_it() -> None:
    items = [item("i1", 16), item("i2", 16), item("i3", 4)]
    past = history(event("c1", "first", ("i1", "i2", "i3"), 1))
    (action,) = only(plan(portfolio([customer()], items), POLICY, past, AS_OF)).actions
    assert action.level == "second" and action.item_ids == ("i1", "i2")


def test_disputed_items_are_never_dunned() -> None:
    decision = only(plan(portfolio([customer()], [item("i1", 20, disputed=True)]), POLICY, history(), AS_OF))
    assert decision.actions == () and decision.disputed_item_ids == ("i1",)
    assert decision.stage == "dispute"
    mixed = only(
        plan(portfolio([customer()], [item("i1", 20, disputed=True), item("i2", 5)]), POLICY, history(), AS_OF)
    )
    assert [a.item_ids for a in mixed.actions] == [("i2",)]
    assert mixed.stage == "follow_up"


def test_an_active_promise_pauses_the_items_it_covers() -> None:
    promise = Promise(
        id="p1",
        customer_id="c1",
        created_on=TODAY - timedelta(days=1),
        promised_date=TODAY + timedelta(days=5),
        amount=Decimal("100"),
        currency="EUR",
        item_ids=("i1",),
    )
    items = [item("i1", 20), item("i2", 20)]
    decision = only(plan(portfolio([customer()], items, promises=(promise,)), POLICY, history(), AS_OF))
    assert decision.paused_item_ids == ("i1",)
    assert [a.item_ids for a in decision.actions] == [("i2",)]
    assert decision.stage == "promise"
    assert decision.promises[0].status == "pending"


def test_a_broken_promise_no_longer_pauses_and_raises_the_risk() -> None:
    promise = Promise(
        id="p1",
        customer_id="c1",
        created_on=TODAY - timedelta(days=20),
        promised_date=TODAY - timedelta(days=10),
        amount=Decimal("100"),
        currency="EUR",
    )
    items = [item("i1", 20)]
    with_promise = only(plan(portfolio([customer()], items, promises=(promise,)), POLICY, history(), AS_OF))
    without = only(plan(portfolio([customer()], items), POLICY, history(), AS_OF))
    assert with_promise.promises[0].status == "broken"
    assert with_promise.paused_item_ids == () and with_promise.actions
    assert with_promise.risk.score > without.risk.score


def test_a_plan_in_good_standing_pauses_a_broken_plan_does_not() -> None:
    start = TODAY - timedelta(days=40)
    schedule = tuple(Installment(n, start + timedelta(days=30 * n), Decimal("50")) for n in (1, 2))
    good = PaymentPlan(
        id="pl",
        customer_id="c1",
        created_on=start,
        currency="EUR",
        total=Decimal("100"),
        installments=schedule,
        grace_days=5,
        item_ids=("i1",),
    )
    paid = Payment(id="pay", customer_id="c1", date=start + timedelta(days=29), amount=Decimal("50"), currency="EUR")
    items = [item("i1", 60, residual="50.00")]
    decision = only(plan(portfolio([customer()], items, plans=(good,), payments=(paid,)), POLICY, history(), AS_OF))
    assert decision.plans[0].status == "good_standing"
    assert decision.actions == () and decision.stage == "payment_plan"
    broken = only(plan(portfolio([customer()], items, plans=(good,)), POLICY, history(), AS_OF))
    assert broken.plans[0].status == "broken"
    assert broken.actions and broken.stage != "payment_plan"


def test_opted_out_and_unreachable_channels_are_skipped() -> None:
    c = customer(opted_out_channels=frozenset({"email"}))
    (action,) = only(plan(portfolio([c], [item("i1", 5)]), POLICY, history(), AS_OF)).actions
    assert action.channel == "sms"
    silent = customer(email=None, phone=None, opted_out_channels=frozenset())
    assert only(plan(portfolio([silent], [item("i1", 5)]), POLICY, history(), AS_OF)).actions == ()


def test_no_response_for_n_days_switches_to_the_next_channel() -> None:
    items = [item("i1", 16)]
    quiet = history(event("c1", "first", ("i1",), 13, channel="email"))
    (action,) = only(plan(portfolio([customer()], items), POLICY, quiet, AS_OF)).actions
    assert action.channel == "sms" and "no response on email" in action.reason
    answered = history(event("c1", "first", ("i1",), 13, channel="email", outcome="responded"))
    (action,) = only(plan(portfolio([customer()], items), POLICY, answered, AS_OF)).actions
    assert action.channel == "email"


def test_learned_response_rates_choose_the_channel() -> None:
    past = [event("c1", "x", ("old",), 300 + n, channel="email") for n in range(5)]
    past += [event("c1", "x", ("old",), 200 + n, channel="sms", outcome="paid") for n in range(4)]
    (action,) = only(plan(portfolio([customer()], [item("i1", 5)]), POLICY, history(*past), AS_OF)).actions
    assert action.channel == "sms" and "best response rate" in action.reason
    preferred = customer(preferred_channel="email")
    (action,) = only(plan(portfolio([preferred], [item("i1", 5)]), POLICY, history(*past), AS_OF)).actions
    assert action.channel == "email"


def test_contact_window_in_the_customers_timezone() -> None:
    mexico = customer(country="MX")
    early = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 06:00 in Mexico City
    (action,) = only(plan(portfolio([mexico], [item("i1", 5)]), POLICY, history(), early)).actions
    assert action.local_time.hour == 9 and action.local_time.tzinfo is not None
    assert action.not_before == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_daily_cap_moves_the_action_to_the_next_day() -> None:
    today_contact = event("c1", "other", ("zz",), 0.05)
    (action,) = only(plan(portfolio([customer()], [item("i1", 5)]), POLICY, history(today_contact), AS_OF)).actions
    assert action.not_before.date() == TODAY + timedelta(days=1)


def test_all_mode_sends_on_every_channel_as_one_occasion() -> None:
    decision = only(plan(portfolio([customer()], [item("i1", 61)]), POLICY, history(), AS_OF))
    assert [a.channel for a in decision.actions] == ["letter", "email"]
    assert len({a.key for a in decision.actions}) == 2
    assert decision.stage == "escalated"
    assert all(a.not_before == AS_OF for a in decision.actions)


def test_holds_do_not_dun_pause_and_credit() -> None:
    assert (
        only(plan(portfolio([customer(do_not_dun=True)], [item("i1", 5)]), POLICY, history(), AS_OF)).hold_reason
        == "do_not_dun"
    )
    paused = customer(paused_until=TODAY + timedelta(days=3))
    assert only(plan(portfolio([paused], [item("i1", 5)]), POLICY, history(), AS_OF)).actions == ()
    credit = item("cn1", 5, amount="150.00", is_credit=True)
    decision = only(plan(portfolio([customer()], [item("i1", 5), credit]), POLICY, history(), AS_OF))
    assert decision.hold_reason == "credit_covers_overdue" and decision.actions == ()
    assert decision.open_amount == Decimal("-50.00")


def test_running_twice_the_same_day_sends_nothing_twice() -> None:
    book = portfolio([customer(), customer("c2")], [item("i1", 5), item("i2", 40, customer_id="c2")])
    first = plan(book, POLICY, history(), AS_OF)
    assert len(first.actions()) == 2
    second = plan(book, POLICY, History(events=tuple(as_events(first))), AS_OF + timedelta(hours=3))
    assert second.actions() == []


def test_multi_currency_amounts_in_company_currency() -> None:
    usd = item("i1", 5, amount="110.00", currency="USD")
    book = portfolio([customer()], [usd, item("i2", 5)], rates={"USD": Decimal("0.9")})
    decision = only(plan(book, POLICY, history(), AS_OF))
    assert decision.overdue_amount == Decimal("199.00")
    assert decision.actions[0].amount_due == Decimal("199.00")
    with pytest.raises(InputError, match="no exchange rate from USD to EUR"):
        plan(portfolio([customer()], [usd]), POLICY, history(), AS_OF)


def test_rewinding_to_an_earlier_date_reopens_items_settled_later() -> None:
    paid_late = settled("i1", days_late=20, ago=30)
    earlier = AS_OF - timedelta(days=25)
    decision = only(plan(portfolio([customer()], [paid_late]), POLICY, history(), earlier))
    assert decision.overdue_amount == Decimal("100.00") and decision.oldest_days_overdue == 5
    assert only(plan(portfolio([customer()], [paid_late]), POLICY, history(), AS_OF)).overdue_amount == 0


def test_risk_explains_itself_and_ranks_late_payers_higher() -> None:
    good = [settled(f"g{n}", 0, "good", ago=50 + 30 * n) for n in range(6)]
    late = [settled(f"l{n}", 70, "late", ago=80 + 30 * n) for n in range(6)] + [item("l9", 80, customer_id="late")]
    decisions = plan(portfolio([customer("good"), customer("late")], good + late), POLICY, history(), AS_OF)
    good_risk, late_risk = only(decisions, "good").risk, only(decisions, "late").risk
    # paying on the due date: the prior of the late share, and a fifth of the timing's points (15 days early: 0)
    assert good_risk.score < 15 and good_risk.category == "low"
    assert late_risk.category == "high"
    newcomer = only(plan(portfolio([customer("new")], []), POLICY, history(), AS_OF), "new").risk
    expected = (20 * 0.3 + 80 * 15 / (60 + 15)) / 160 * 100  # the priors: 30 % late, paid on the due date
    assert newcomer.score == pytest.approx(expected, abs=0.01) and not newcomer.has_history
    recent = [settled(f"r{n}", 40, "recent", ago=40 + 10 * n) for n in range(3)]
    recent += [settled(f"o{n}", 0, "recent", ago=500 + 10 * n) for n in range(3)]
    older = [settled(f"r{n}", 0, "older", ago=40 + 10 * n) for n in range(3)]
    older += [settled(f"o{n}", 40, "older", ago=500 + 10 * n) for n in range(3)]
    pair = plan(portfolio([customer("recent"), customer("older")], recent + older), POLICY, history(), AS_OF)
    assert only(pair, "recent").risk.score > only(pair, "older").risk.score  # recent behaviour weighs more
    assert abs(sum(c.points for c in late_risk.contributions) - late_risk.score) < 0.05
    assert "paid late" in late_risk.explanation()
    assert only(decisions, "late").strategy == "high_risk"


def test_payment_timing_ranks_early_payers_below_punctual_ones_and_explains_itself() -> None:
    """Two customers who never paid late differ by how early they pay: the one paying 12 days before the due date
    scores lower. The factor's value is the recency-weighted average of days from due date to payment (early
    negative) with the prior's pseudo-items at 0, an open item overdue counts its days overdue so far, and each
    day is capped at the days-late saturation either way."""
    early = [settled(f"e{n}", -12, "early", ago=40 + 30 * n) for n in range(4)]
    punctual = [settled(f"p{n}", 0, "punctual", ago=40 + 30 * n) for n in range(4)]
    slow = [settled(f"s{n}", 200, "slow", ago=300 + 30 * n) for n in range(2)] + [item("s9", 10, customer_id="slow")]
    book = portfolio([customer("early"), customer("punctual"), customer("slow")], early + punctual + slow)
    decisions = plan(book, POLICY, history(), AS_OF)
    risks = {c: only(decisions, c).risk for c in ("early", "punctual", "slow")}
    timing = {c: next(x for x in r.contributions if x.factor == "payment_timing") for c, r in risks.items()}
    assert risks["early"].score < risks["punctual"].score < risks["slow"].score
    recency = [0.5 ** ((40 + 30 * n + 12) / 365) for n in range(4)]  # settled 12 days before the due date
    assert timing["early"].value == pytest.approx(-12 * sum(recency) / (sum(recency) + 2))
    assert timing["early"].normalized == pytest.approx((timing["early"].value + 15) / 75)
    assert timing["punctual"].value == 0 and timing["punctual"].points == pytest.approx(0.2 * 80 / 160 * 100)
    slow_recency = [0.5 ** ((300 + 30 * n - 200) / 365) for n in range(2)]  # settled 200 days after due
    assert timing["slow"].value == pytest.approx((60 * sum(slow_recency) + 10) / (sum(slow_recency) + 1 + 2))
    assert timing["early"].detail == "paid -8 days from the due date on average (minus: early)"  # -7.5004
    assert abs(sum(c.points for c in risks["slow"].contributions) - risks["slow"].score) < 0.05


def test_a_policy_without_payment_timing_scores_as_before() -> None:
    """An old policy document (no ``payment_timing`` weight, no ``early_payment_days``) still loads, with the
    defaults; with the weight at 0 the score is the seven earlier factors' alone."""
    document = default_policy_document()
    del document["risk"]["weights"]["payment_timing"]
    del document["risk"]["early_payment_days"]
    loaded = policy_from_dict(document)
    assert loaded.risk.weights["payment_timing"] == 80.0 and loaded.risk.early_payment_days == 15
    document["risk"]["weights"]["payment_timing"] = 0
    without = policy_from_dict(document)
    late = [settled(f"l{n}", 20, ago=80 + 30 * n) for n in range(3)]
    risk = only(plan(portfolio([customer()], late), without, history(), AS_OF)).risk
    by_factor = {c.factor: c for c in risk.contributions}
    assert by_factor["payment_timing"].points == 0
    assert by_factor["avg_days_late"].points == pytest.approx(20 / 60 * 30 / 80 * 100)
    with pytest.raises(PolicyError, match=r"risk\.early_payment_days: must be at least 0"):
        policy_from_dict({**document, "risk": {**document["risk"], "early_payment_days": -1}})


def test_ab_variants_are_assigned_deterministically() -> None:
    policy = policy_from_dict(default_policy_document())
    customers = [customer(f"c{n}") for n in range(200)]
    items = [item(f"i{n}", 5, customer_id=f"c{n}") for n in range(200)]
    first = plan(portfolio(customers, items), policy, history(), AS_OF)
    again = plan(portfolio(customers, items), policy, history(), AS_OF)
    variants = [d.variant for d in first.customers]
    assert variants == [d.variant for d in again.customers]
    assert 60 < variants.count("a") < 140 and variants.count("a") + variants.count("b") == 200


def test_inputs_are_checked() -> None:
    with pytest.raises(InputError, match="timezone-aware"):
        plan(portfolio([customer()], []), POLICY, history(), datetime(2026, 11, 24, 10))
    with pytest.raises(InputError, match="unknown customers: ghost"):
        plan(portfolio([customer()], [item("i1", 5, customer_id="ghost")]), POLICY, history(), AS_OF)


def test_same_inputs_same_decisions() -> None:
    book = portfolio([customer(), customer("c2", country="MX")], [item("i1", 5), item("i2", 70, customer_id="c2")])
    assert plan(book, POLICY, history(), AS_OF) == plan(book, POLICY, history(), AS_OF)


def test_action_times_respect_each_customers_window() -> None:
    late_evening = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # Friday night
    customers = [customer(f"c{n}", country=country) for n, country in enumerate(["ES", "MX", "US", "FR", None])]
    items = [item(f"i{n}", 5, customer_id=f"c{n}") for n in range(5)]
    for action in plan(portfolio(customers, items), POLICY, history(), late_evening).actions():
        c = next(x for x in customers if x.id == action.customer_id)
        tz, window = rules_for(c, POLICY)
        assert in_window(action.not_before, tz, window)
        assert action.not_before >= late_evening
        if c.country in ("ES", "FR", None):  # closed on Friday night and on weekends
            assert action.not_before.astimezone(tz).date() == date(2026, 11, 30)


def minimum_policy(**minimums: dict[str, str]) -> Policy:
    document = policy_to_dict(POLICY)
    document["minimums"] = minimums
    return policy_from_dict(document)


def test_no_reminder_for_a_balance_under_the_minimum() -> None:
    policy = minimum_policy(EUR={"reminder": "1.00"})
    small = only(plan(portfolio([customer()], [item("i1", 5, amount="0.05")]), policy, history(), AS_OF))
    assert (small.actions, small.hold_reason) == ((), "below_minimum")
    enough = only(plan(portfolio([customer()], [item("i1", 5, amount="1.00")]), policy, history(), AS_OF))
    assert [a.channel for a in enough.actions] == ["email"] and enough.hold_reason is None


def test_the_minimum_is_measured_net_of_credits() -> None:
    policy = minimum_policy(EUR={"reminder": "50.00"})
    items = [item("i1", 5, amount="120.00"), item("cn", 3, amount="100.00", is_credit=True)]
    decision = only(plan(portfolio([customer()], items), policy, history(), AS_OF))
    assert decision.hold_reason == "below_minimum"  # asks 20.00 once the credit note is deducted
    document = policy_to_dict(policy)
    document["statement"] = {"credits": "show"}
    shown = only(plan(portfolio([customer()], items), policy_from_dict(document), history(), AS_OF))
    assert shown.hold_reason is None and shown.actions  # credits only listed: 120.00 is asked


def test_a_letter_needs_its_own_minimum() -> None:
    policy = minimum_policy(EUR={"reminder": "1.00", "letter": "500.00"})
    small = only(plan(portfolio([customer()], [item("i1", 61, amount="80.00")]), policy, history(), AS_OF))
    assert [a.channel for a in small.actions] == ["email"]  # the final notice without its letter
    large = only(plan(portfolio([customer()], [item("i1", 61, amount="800.00")]), policy, history(), AS_OF))
    assert [a.channel for a in large.actions] == ["letter", "email"]


def test_the_action_asks_what_its_statement_asks() -> None:
    items = [
        item("old", 40, amount="300.00"),  # already reminded at the second level: not in the occasion
        item("new", 5, amount="200.00"),
        item("cn", 2, amount="120.00", is_credit=True),
        item("dis", 30, amount="999.00", disputed=True),
    ]
    events = history(event("c1", "call", ("old",), days_ago=3))
    (action,) = only(plan(portfolio([customer()], items), POLICY, events, AS_OF)).actions
    assert action.item_ids == ("new",)
    assert action.amount_due == Decimal("380.00")  # 300 + 200 overdue, less the credit note; never the dispute
    assert action.amount_due == build_statement("c1", items, TODAY).totals_for("EUR").amount_due
