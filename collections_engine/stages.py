"""Which kanban stage a customer's case belongs in."""

from __future__ import annotations

from dataclasses import dataclass

from .policy import Policy


@dataclass(slots=True)
class CaseSituation:
    """The facts that decide a case's stage."""

    has_overdue: bool
    has_upcoming: bool
    all_overdue_disputed: bool
    plan_active: bool
    promise_active: bool
    level_stage: str | None


def stage_for(situation: CaseSituation, policy: Policy) -> str:
    """Return the stage key; precedence: closed, dispute, plan, promise, level's stage, overdue, pre-due."""
    rules = policy.stage_rules
    if not situation.has_overdue and not situation.has_upcoming and not situation.plan_active:
        return rules.closed
    if situation.has_overdue and situation.all_overdue_disputed:
        return rules.dispute
    if situation.plan_active:
        return rules.payment_plan
    if situation.promise_active:
        return rules.promise
    if situation.has_overdue:
        return situation.level_stage or rules.overdue
    return rules.pre_due
