"""Policy document: defaults, JSON round trip, and validation messages that name the field."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from collections_engine.defaults import default_policy, default_policy_document
from collections_engine.errors import PolicyError
from collections_engine.policy import policy_from_dict, policy_from_json, policy_to_dict, policy_to_json


def problems_of(document: object) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(document)
    return caught.value.problems


def test_default_policy_round_trips_through_json() -> None:
    policy = default_policy()
    assert policy_from_json(policy_to_json(policy)) == policy
    assert policy_to_dict(policy_from_dict(policy_to_dict(policy))) == policy_to_dict(policy)


def test_missing_optional_sections_take_defaults() -> None:
    document = default_policy_document()
    for section in ("promises", "contact", "channels", "channel_selection", "kpi", "payment_plans", "aging_buckets"):
        del document[section]
    policy = policy_from_dict(document)
    assert policy.contact.max_per_day == 1
    assert policy.channel_cost("call") > policy.channel_cost("email")
    assert policy.aging_buckets == (30, 60, 90, 120)


def test_level_delays_must_increase_and_the_message_names_the_field() -> None:
    document = default_policy_document()
    document["strategies"][0]["levels"][2]["delay_days"] = 3
    assert "strategies[0].levels[2].delay_days: must be greater than the previous level's (3)" in problems_of(document)


def test_every_problem_is_reported_at_once() -> None:
    document = default_policy_document()
    document["contact"]["timezone"] = "Mars/Olympus"
    document["contact"]["hours"] = [["18:00", "09:00"]]
    document["risk"]["categories"][1]["min_score"] = 0
    document["strategies"][1]["levels"][0]["channels"] = ["pigeon"]
    document["default_strategy"] = "missing"
    found = problems_of(document)
    assert "contact.timezone: 'Mars/Olympus' is not a known IANA timezone" in found
    assert "contact.hours[0]: start must be before end" in found
    assert "risk.categories[1].min_score: must be greater than the previous category's (0)" in found
    assert any(p.startswith("strategies[1].levels[0].channels[0]: 'pigeon' is not one of") for p in found)
    assert "default_strategy: 'missing' is not a strategy key" in found


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(colour="red"), "colour: unknown field"),
        (lambda d: d["stage_rules"].update(dispute="nowhere"), "stage_rules.dispute: 'nowhere' is not a stage key"),
        (
            lambda d: d["strategies"][0]["levels"][1].update(stage="limbo"),
            "strategies[0].levels[1].stage: 'limbo' is not a stage key",
        ),
        (
            lambda d: d["strategies"][0].update(risk_categories=["high"]),
            "strategies[1].risk_categories[0]: 'high' is already used by strategies[0]",
        ),
        (
            lambda d: d["payment_plans"][0].update(min_down_payment_pct=150),
            "payment_plans[0].min_down_payment_pct: must be at most 100",
        ),
        (
            lambda d: d["payment_plans"][0].update(risk_category="vip"),
            "payment_plans[0].risk_category: 'vip' is not a risk category key",
        ),
        (
            lambda d: d["contact"].update(max_per_day=5, max_per_week=2),
            "contact.max_per_week: must be at least max_per_day (5)",
        ),
        (
            lambda d: d["contact"]["countries"].update(es={"hours": [["09:00", "10:00"]]}),
            "contact.countries.es: must be an ISO 3166 alpha-2 code such as ES",
        ),
        (lambda d: d["channels"]["sms"].update(cost=-1), "channels.sms.cost: must be a finite, non-negative number"),
        (
            lambda d: d["strategies"][0]["variants"][1].update(weight=0),
            "strategies[0].variants[1].weight: must be at least 1",
        ),
        (
            lambda d: d["risk"]["categories"][0].update(min_score=5),
            "risk.categories[0].min_score: the first category must start at 0",
        ),
        (
            lambda d: d["aging_buckets"].__setitem__(2, 45),
            "aging_buckets[2]: must be greater than the previous bound (60)",
        ),
        (lambda d: d.update(schema_version=2), "schema_version: 2 is not supported (this engine reads 1)"),
        (lambda d: d["strategies"][0].update(levels=[]), "strategies[0].levels: must list at least one level"),
        (lambda d: d["strategies"][0]["levels"][0].pop("template"), "strategies[0].levels[0].template: is required"),
        (lambda d: d["contact"].update(weekdays=[1, 1]), "contact.weekdays: lists a weekday twice"),
    ],
)
def test_invalid_documents_are_rejected_naming_the_field(mutate, expected) -> None:  # type: ignore[no-untyped-def]
    document = default_policy_document()
    mutate(document)
    assert expected in problems_of(document)


def test_not_json_and_not_an_object() -> None:
    with pytest.raises(PolicyError, match="not valid JSON at line 1"):
        policy_from_json("{nope")
    with pytest.raises(PolicyError, match="must be a JSON object"):
        policy_from_dict([1, 2])


def test_decimal_costs_survive_the_round_trip_exactly() -> None:
    document = default_policy_document()
    document["channels"]["sms"]["cost"] = "0.0725"
    policy = policy_from_dict(document)
    again = policy_from_dict(json.loads(json.dumps(policy_to_dict(policy))))
    assert str(again.channel_cost("sms")) == "0.0725"


def test_category_for_score_bands() -> None:
    policy = default_policy()
    assert [policy.category_for(score).key for score in (0, 29.99, 30, 59.9, 60, 100)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]


def test_statement_and_minimums_are_validated_and_round_trip() -> None:
    document = default_policy_document()
    document["statement"] = {"credits": "show"}
    document["minimums"] = {"EUR": {"reminder": "0.50", "letter": 25}}
    policy = policy_from_dict(document)
    assert policy.statement.credits == "show"
    assert (policy.minimum("EUR").reminder, policy.minimum("EUR").letter) == (Decimal("0.50"), Decimal("25"))
    assert policy.minimum("USD").reminder == 0
    assert policy_from_json(policy_to_json(policy)) == policy
    document["statement"] = {"credits": "offset"}
    document["minimums"] = {"euro": {"reminder": 1}, "USD": {"reminder": -1, "fax": 2}}
    found = problems_of(document)
    assert any(p.startswith("statement.credits:") for p in found)
    assert "minimums.euro: must be an ISO 4217 currency code such as EUR" in found
    assert "minimums.USD.reminder: must be a finite, non-negative number" in found
    assert "minimums.USD.fax: unknown field" in found
