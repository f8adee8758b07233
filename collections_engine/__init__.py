"""The collections engine: pure, typed, deterministic collection logic.

``plan(portfolio, policy, history, as_of)`` is the entry point; see ``docs/engine.md``.
"""

from .decisions import Action, CreditHold, CustomerDecision, CustomerFees, Decisions, FeeLine, RiskAssessment
from .engine import plan
from .errors import EngineError, InputError, PlanRuleError, PolicyError
from .fees import late_fees
from .policy import Policy, policy_from_dict, policy_from_json, policy_to_dict, policy_to_json
from .statement import Statement, StatementLine, StatementTotals, build_statement
from .types import (
    Allocation,
    ChargedFee,
    CollectionCost,
    ContactEvent,
    ContactWindow,
    Customer,
    History,
    Installment,
    Payment,
    PaymentPlan,
    Portfolio,
    Promise,
    ReceivableItem,
)

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Allocation",
    "ChargedFee",
    "CollectionCost",
    "ContactEvent",
    "ContactWindow",
    "CreditHold",
    "Customer",
    "CustomerDecision",
    "CustomerFees",
    "Decisions",
    "EngineError",
    "FeeLine",
    "History",
    "InputError",
    "Installment",
    "Payment",
    "PaymentPlan",
    "PlanRuleError",
    "Policy",
    "PolicyError",
    "Portfolio",
    "Promise",
    "ReceivableItem",
    "RiskAssessment",
    "Statement",
    "StatementLine",
    "StatementTotals",
    "build_statement",
    "late_fees",
    "plan",
    "policy_from_dict",
    "policy_from_json",
    "policy_to_dict",
    "policy_to_json",
]
