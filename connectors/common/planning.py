"""Plan a tenant from the store and record the actions: the step every connector shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from collections_engine import plan
from collections_engine.decisions import CustomerDecision, Decisions
from collections_engine.policy import Policy
from collections_engine.types import History, Portfolio

if TYPE_CHECKING:
    from .store import Store


@dataclass(frozen=True)
class PlanOutcome:
    """The engine's decisions for a tenant and what was newly recorded in the outbox."""

    portfolio: Portfolio
    history: History
    decisions: Decisions
    new_keys: list[str]


def decision_context(decision: CustomerDecision) -> dict[str, Any]:
    """What a platform push shows beside an action: stage, level, risk and open promises."""
    return {
        "stage": decision.stage,
        "level": decision.level,
        "risk_category": decision.risk.category,
        "risk_score": round(decision.risk.score, 1),
        "promises": [
            {"deadline": p.deadline.isoformat(), "amount": str(p.amount), "status": p.status}
            for p in decision.promises
            if p.status in ("pending", "broken")
        ],
    }


def plan_tenant(
    store: Store,
    tenant: str,
    policy: Policy,
    as_of: datetime,
    company_currency: str,
    rates: Mapping[str, Decimal],
    *,
    dry_run: bool = False,
    portfolio: Portfolio | None = None,
) -> PlanOutcome:
    """Load the tenant's portfolio (unless given) and history, ask the engine, record new actions (a dry run
    records nothing and only tells which would be new); a run that fails while recording is marked failed."""
    if portfolio is None:
        portfolio = store.ledger.load_portfolio(tenant, company_currency, rates)
    history = store.history.load_history(tenant)
    decisions = plan(portfolio, policy, history, as_of)
    if dry_run:
        new_keys = store.outbox.unrecorded_keys(tenant, [action.key for action in decisions.actions()])
    else:
        run_id = store.runs.start_run(tenant, "plan", as_of)
        context = {d.customer_id: decision_context(d) for d in decisions.customers if d.actions}
        try:
            new_keys = store.outbox.enqueue_actions(tenant, run_id, decisions.actions(), as_of, context)
        except Exception as err:
            store.runs.finish_run(run_id, "failed", {"error": type(err).__name__})
            raise
        store.runs.finish_run(run_id, "done", {"actions": len(decisions.actions()), "new": len(new_keys)})
    return PlanOutcome(portfolio, history, decisions, new_keys)
