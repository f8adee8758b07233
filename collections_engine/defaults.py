"""The default policy: a sensible starting point that `policy init` writes out."""

from __future__ import annotations

import copy
from typing import Any

from .policy import Policy, policy_from_dict


def _level(key: str, name: str, delay: int, channels: list[str], tone: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "name": name, "delay_days": delay, "channels": channels, "template": key, "tone": tone, **extra}


CALL_SCRIPT = (
    "Confirm the invoices were received, ask for a payment date, "
    "offer a payment plan if the customer cannot pay in full."
)
_PRE_DUE = _level("pre_due", "Courtesy reminder", -3, ["email"], "friendly", attach_invoices=True)
_FINAL = _level("final", "Final notice", 60, ["letter", "email"], "final", channel_mode="all", stage="escalated")
STANDARD_LEVELS: list[dict[str, Any]] = [
    _PRE_DUE,
    _level("first", "First reminder", 3, ["email", "sms"], "friendly", attach_invoices=True),
    _level("second", "Second reminder", 15, ["email", "sms", "whatsapp"], "firm"),
    _level("call", "Collector call", 30, ["call"], "firm", call_script=CALL_SCRIPT),
    _FINAL,
]
EARLY_CALL_LEVELS: list[dict[str, Any]] = [
    _PRE_DUE,
    _level("first", "First reminder", 3, ["sms", "email"], "friendly", attach_invoices=True),
    _level("call", "Collector call", 10, ["call"], "firm", call_script=CALL_SCRIPT),
    _level("second", "Second reminder", 20, ["email", "whatsapp"], "firm"),
    _FINAL,
]

DEFAULT_POLICY_DOCUMENT: dict[str, Any] = {
    "schema_version": 1,
    "name": "Default collections policy",
    "revision": 1,
    "aging_buckets": [30, 60, 90, 120],
    "stages": [
        {"key": "upcoming", "name": "Upcoming", "sequence": 10},
        {"key": "follow_up", "name": "Follow-up", "sequence": 20},
        {"key": "promise", "name": "Promise to pay", "sequence": 30},
        {"key": "payment_plan", "name": "Payment plan", "sequence": 40},
        {"key": "escalated", "name": "Escalated", "sequence": 50},
        {"key": "dispute", "name": "Dispute", "sequence": 60},
        {"key": "closed", "name": "Closed", "sequence": 90, "closed": True},
    ],
    "stage_rules": {
        "pre_due": "upcoming",
        "overdue": "follow_up",
        "promise": "promise",
        "payment_plan": "payment_plan",
        "dispute": "dispute",
        "closed": "closed",
    },
    "risk": {
        "weights": {
            "avg_days_late": 30,
            "late_share": 20,
            "broken_promises": 10,
            "broken_plans": 5,
            "overdue_ratio": 5,
            "credit_exposure": 5,
            "dispute_share": 5,
            "payment_timing": 80,
        },
        "categories": [
            {"key": "low", "name": "Low risk", "min_score": 0, "color": 10},
            {"key": "medium", "name": "Medium risk", "min_score": 30, "color": 2},
            {"key": "high", "name": "High risk", "min_score": 60, "color": 1},
        ],
        "days_late_saturation": 60,
        "broken_promises_saturation": 3,
        "broken_plans_saturation": 2,
        "lookback_days": 730,
        "late_tolerance_days": 0,
        "half_life_days": 365,
        "prior_items": 2,
        "prior_late_share": 0.3,
        "early_payment_days": 15,
    },
    "strategies": [
        {
            "key": "standard",
            "name": "Standard",
            "risk_categories": ["low", "medium"],
            "levels": STANDARD_LEVELS,
            "variants": [
                {"key": "a", "name": "Email first", "weight": 50, "levels": STANDARD_LEVELS},
                {"key": "b", "name": "Early call", "weight": 50, "levels": EARLY_CALL_LEVELS},
            ],
        },
        {
            "key": "high_risk",
            "name": "High risk",
            "risk_categories": ["high"],
            "levels": [
                _level("pre_due", "Pre-due reminder", -7, ["email", "sms"], "neutral", attach_invoices=True),
                _level("first", "First reminder", 1, ["email", "sms"], "firm", attach_invoices=True),
                _level("call", "Collector call", 7, ["call"], "firm"),
                _level("second", "Formal notice", 21, ["email", "letter"], "formal", channel_mode="all"),
                _level("final", "Final notice", 45, ["letter", "call"], "final", channel_mode="all", stage="escalated"),
            ],
        },
    ],
    "default_strategy": "standard",
    "payment_plans": [
        {
            "risk_category": "low",
            "max_installments": 12,
            "min_down_payment_pct": 0,
            "frequencies": ["weekly", "biweekly", "monthly"],
            "grace_days": 10,
        },
        {
            "risk_category": "medium",
            "max_installments": 6,
            "min_down_payment_pct": 10,
            "frequencies": ["weekly", "biweekly", "monthly"],
            "grace_days": 5,
        },
        {
            "risk_category": "high",
            "max_installments": 3,
            "min_down_payment_pct": 30,
            "frequencies": ["weekly", "biweekly"],
            "grace_days": 2,
        },
    ],
    "promises": {"tolerance_pct": 1, "grace_days": 2, "max_days_ahead": 45},
    "contact": {
        "timezone": "UTC",
        "hours": [["09:00", "13:00"], ["15:00", "18:00"]],
        "weekdays": [1, 2, 3, 4, 5],
        "countries": {
            "ES": {
                "timezone": "Europe/Madrid",
                "hours": [["09:00", "14:00"], ["16:00", "19:00"]],
                "weekdays": [1, 2, 3, 4, 5],
            },
            "MX": {"timezone": "America/Mexico_City", "hours": [["09:00", "19:00"]], "weekdays": [1, 2, 3, 4, 5, 6]},
            "AR": {
                "timezone": "America/Argentina/Buenos_Aires",
                "hours": [["09:00", "18:00"]],
                "weekdays": [1, 2, 3, 4, 5],
            },
            "CO": {"timezone": "America/Bogota", "hours": [["08:00", "18:00"]], "weekdays": [1, 2, 3, 4, 5]},
            "US": {"timezone": "America/New_York", "hours": [["08:00", "21:00"]], "weekdays": [1, 2, 3, 4, 5]},
            "GB": {"timezone": "Europe/London", "hours": [["09:00", "18:00"]], "weekdays": [1, 2, 3, 4, 5]},
            "FR": {
                "timezone": "Europe/Paris",
                "hours": [["09:00", "12:00"], ["14:00", "18:00"]],
                "weekdays": [1, 2, 3, 4, 5],
            },
            "DE": {"timezone": "Europe/Berlin", "hours": [["09:00", "18:00"]], "weekdays": [1, 2, 3, 4, 5]},
        },
        "max_per_day": 1,
        "max_per_week": 3,
    },
    "channels": {
        "email": {"cost": 0.02, "respects_window": True},
        "sms": {"cost": 0.08, "respects_window": True},
        "whatsapp": {"cost": 0.05, "respects_window": True},
        "call": {"cost": 4, "respects_window": True},
        "letter": {"cost": 1.5, "respects_window": False},
        "visit": {"cost": 25, "respects_window": True},
    },
    "channel_selection": {
        "switch_after_days": 7,
        "learning": "bayes",
        "prior_response_rate": 0.2,
        "prior_strength": 2.0,
        "min_observations": 3,
    },
    "kpi": {"period_days": 90},
}


def default_policy_document() -> dict[str, Any]:
    """Return a fresh copy of the default policy document."""
    return copy.deepcopy(DEFAULT_POLICY_DOCUMENT)


def default_policy() -> Policy:
    """Return the default policy, validated."""
    return policy_from_dict(default_policy_document())
