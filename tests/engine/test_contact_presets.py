"""Contact presets by country: windows per weekday, public holidays, caps per channel, tightening only."""

from __future__ import annotations

import copy
import importlib.util
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from collections_engine.contact import (
    contact_rules,
    earliest_allowed,
    explain_contact,
    holiday_dates,
    in_window,
    next_in_window,
)
from collections_engine.contact_presets import PRESETS, preset_for
from collections_engine.defaults import default_policy_document
from collections_engine.errors import PolicyError
from collections_engine.phrases import english
from collections_engine.policy import policy_from_dict, policy_to_dict
from collections_engine.types import ContactEvent, ContactWindow, Customer

BOGOTA = ZoneInfo("America/Bogota")
UTC = timezone.utc


def preset_policy(**countries: dict[str, Any]) -> Any:
    document = default_policy_document()
    document["contact"]["countries"] = countries or {code: {"preset": code} for code in ("CO", "CL", "MX", "PE", "ES",
                                                                                           "BR", "US")}
    return policy_from_dict(document)


def problems(**countries: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as err:
        preset_policy(**countries)
    return err.value.problems


def test_every_preset_names_a_source_and_allows_some_time() -> None:
    for (country, audience), preset in PRESETS.items():
        assert preset.sources and preset.country == country and preset.audience == audience
        ZoneInfo(preset.timezone)
        assert preset.window.weekdays


def test_colombia_has_saturday_hours_and_no_sundays_or_holidays() -> None:
    rules = contact_rules(Customer(id="1", name="a", country="CO"), preset_policy())
    assert rules.preset == "CO/b2c" and str(rules.tz) == "America/Bogota"
    saturday = datetime(2026, 11, 28, 14, 59, tzinfo=BOGOTA)
    assert in_window(saturday, rules.tz, rules.window) and not in_window(saturday + timedelta(minutes=1), rules.tz,
                                                                         rules.window)
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=BOGOTA)
    assert next_in_window(sunday, rules.tz, rules.window, rules.closed) == datetime(2026, 11, 30, 7, 0, tzinfo=BOGOTA)
    # 8 December is a public holiday in Colombia (Inmaculada Concepción): Tuesday 9 at 07:00
    assert date(2026, 12, 8) in holiday_dates("CO", None, 2026)
    holiday = datetime(2026, 12, 7, 20, 0, tzinfo=BOGOTA)
    assert earliest_allowed(holiday, rules) == datetime(2026, 12, 9, 7, 0, tzinfo=BOGOTA)


def test_the_wait_is_explained_with_the_preset_and_the_next_window() -> None:
    policy = preset_policy()
    customer = Customer(id="1", name="a", country="CO")
    phrase = explain_contact(customer, policy, datetime(2026, 11, 29, 10, 0, tzinfo=BOGOTA))
    assert phrase is not None and phrase.code == "contact_wait_closed_day"
    assert english(phrase) == "CO/b2c: no collection contact on this weekday (2026-11-29); next window 2026-11-30 07:00"
    phrase = explain_contact(customer, policy, datetime(2026, 12, 8, 10, 0, tzinfo=BOGOTA))
    assert phrase is not None and phrase.code == "contact_wait_holiday"
    assert explain_contact(customer, policy, datetime(2026, 12, 9, 10, 0, tzinfo=BOGOTA)) is None
    sent = ContactEvent(id="e", customer_id="1", at=datetime(2026, 12, 9, 8, 0, tzinfo=BOGOTA), channel="sms",
                        level="l1", planned_at=datetime(2026, 12, 9, 8, 0, tzinfo=BOGOTA))
    phrase = explain_contact(customer, policy, datetime(2026, 12, 10, 10, 0, tzinfo=BOGOTA), [sent], ["email"])
    assert phrase is not None and phrase.code == "contact_wait_single_channel"
    assert phrase.values["next"] == "2026-12-16 07:00"


def test_regulation_f_caps_calls_at_seven_in_seven_days() -> None:
    policy = preset_policy()
    customer = Customer(id="1", name="a", country="US", timezone="America/Chicago")
    rules = contact_rules(customer, policy)
    chicago = ZoneInfo("America/Chicago")
    calls = [(datetime(2026, 11, 23 + n // 2, 9 + n, 0, tzinfo=chicago), "call") for n in range(7)]
    as_of = datetime(2026, 11, 27, 9, 0, tzinfo=chicago)
    slot = earliest_allowed(as_of, rules, [], calls, ["call"])
    assert slot == datetime(2026, 11, 30, 8, 0, tzinfo=chicago)  # the first call day (23rd) has left the 7 days
    assert earliest_allowed(as_of, rules, [], calls, ["email"]) == as_of  # other channels are not capped


def test_b2b_customers_follow_the_business_preset() -> None:
    policy = preset_policy()
    rules = contact_rules(Customer(id="1", name="a", country="MX", audience="b2b"), policy)
    assert rules.preset == "MX/b2b" and rules.window.weekdays == (1, 2, 3, 4, 5)
    assert contact_rules(Customer(id="1", name="a", country="MX"), policy).window.weekdays == (1, 2, 3, 4, 5, 6, 7)


def test_a_customer_window_narrows_the_preset_but_never_widens_it() -> None:
    own = ContactWindow(hours=(("06:00", "10:00"),), weekdays=(6, 7))
    rules = contact_rules(Customer(id="1", name="a", country="CO", contact_window=own), preset_policy())
    assert rules.window == ContactWindow(hours=(("08:00", "10:00"),), weekdays=(6,))


def test_a_policy_may_tighten_a_preset() -> None:
    policy = preset_policy(CO={
        "preset": "CO", "hours": [["08:00", "18:00"]], "weekdays": [1, 2, 3, 4, 5, 6],
        "hours_by_weekday": {"6": [["09:00", "12:00"]]}, "max_per_day": 1,
        "channel_caps": {"call": {"per_7_days": 1}}, "channels": ["email", "sms"], "timezone": "America/Bogota",
    })
    rule = policy.contact.countries["CO"]
    assert rule.preset == "CO" and rule.window is not None and rule.window.day_hours == ((6, (("09:00", "12:00"),)),)
    assert policy_from_dict(policy_to_dict(policy)) == policy
    rules = contact_rules(Customer(id="1", name="a", country="CO"), policy)
    assert rules.channels == frozenset({"email", "sms"}) and rules.channel_caps["call"].per_7_days == 1


def test_visits_only_where_the_law_read_names_them() -> None:
    policy = preset_policy()
    for country in ("PE", "US", "CL"):
        rules = contact_rules(Customer(id="1", name="a", country=country), policy)
        assert rules.channels is not None and "visit" in rules.channels
    for country in ("CO", "MX", "ES", "BR"):
        assert "visit" not in preset_for(country, "b2c").channels
        assert any("visit" in note for note in preset_for(country, "b2c").unverified)
        assert "visit" in preset_for(country, "b2b").channels  # the business courtesy preset limits no channel
    assert preset_for("CL", "b2c").channel_cap("visit") == preset_for("CL", "b2c").channel_cap("call")
    assert any("visit" in p for p in problems(CO={"preset": "CO", "channels": ["email", "visit"]}))


def test_loosening_a_preset_is_refused_naming_the_field() -> None:
    found = problems(CO={
        "preset": "CO", "hours": [["06:00", "19:00"]], "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "hours_by_weekday": {"6": [["08:00", "16:00"]]}, "holidays": False,
    }, CL={"preset": "CL", "max_per_7_days": 3, "min_days_between": 1, "channel_caps": {"call": {"per_7_days": 2}}},
        PE={"preset": "PE", "channels": ["email", "fax"]})
    text = "\n".join(found)
    assert 'contact.countries.CO.hours: ["06:00", "19:00"] on weekday 1 is outside preset CO/b2c' in text.replace(
        "'", '"')
    assert "contact.countries.CO.weekdays: weekday 7 has no contact under preset CO/b2c" in text
    assert "contact.countries.CO.hours_by_weekday.6: " in text
    assert "contact.countries.CO.holidays: preset CO/b2c (Ley 2300 de 2023) forbids contact on public holidays" in text
    assert "contact.countries.CL.max_per_7_days: 3 is above preset CL/b2c" in text
    assert "contact.countries.CL.min_days_between: 1 is below preset CL/b2c" in text
    assert "contact.countries.CL.channel_caps.call.per_7_days: 2 is above preset CL/b2c" in text
    assert "contact.countries.PE.channels[1]: 'fax' is not one of" in text


def test_unknown_preset_and_weekday_hours_outside_weekdays_are_refused() -> None:
    found = problems(FR={"preset": "FR"}, ES={"hours": [["09:00", "14:00"]], "hours_by_weekday": {"6": [["09:00",
                                                                                                         "12:00"]]}})
    assert any(p.startswith("contact.countries.FR.preset: 'FR' is not one of") for p in found)
    assert "contact.countries.ES.hours_by_weekday.6: weekday 6 is not in weekdays" in found


def test_a_policy_that_needs_holidays_without_the_package_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "holidays" else real(name, *a))
    found = problems(CO={"preset": "CO"})
    assert found == ["contact.countries.CO.holidays: public holidays need the 'holidays' package: "
                     "pip install 'odoo-collections[holidays]'"]


def test_existing_policies_keep_their_meaning() -> None:
    document = default_policy_document()
    policy = policy_from_dict(copy.deepcopy(document))
    assert policy.contact.audience == "b2c"
    rule = policy.contact.countries["ES"]
    assert rule.preset is None and rule.holidays is None and rule.window is not None
    assert policy_from_dict(policy_to_dict(policy)) == policy
    rules = contact_rules(Customer(id="1", name="a", country="ES"), policy)
    assert rules.holidays is None and rules.preset is None


def test_preset_lookup() -> None:
    assert preset_for("US", "b2c").channel_cap("call") is not None
    with pytest.raises(KeyError):
        preset_for("FR", "b2c")


def test_region_holidays_fall_back_to_national_for_an_unknown_region() -> None:
    assert holiday_dates("ES", "XX", 2026) == holiday_dates("ES", None, 2026)
    assert date(2026, 5, 2) in holiday_dates("ES", "MD", 2026)  # Comunidad de Madrid's own holiday
    assert date(2026, 5, 2) not in holiday_dates("ES", None, 2026)


def test_utc_instants_are_read_in_the_customer_zone() -> None:
    rules = contact_rules(Customer(id="1", name="a", country="PE"), preset_policy())
    friday_night_lima = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)  # Friday 19:30 in Lima
    assert in_window(friday_night_lima, rules.tz, rules.window, rules.closed)
    assert earliest_allowed(friday_night_lima + timedelta(minutes=31), rules) == datetime(
        2026, 11, 30, 7, 0, tzinfo=ZoneInfo("America/Lima"))
