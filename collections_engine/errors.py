"""Errors raised by the engine; each names what was wrong so a user can fix it."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises."""


class PolicyError(EngineError):
    """A policy document is invalid; ``problems`` lists ``field.path: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid policy:\n  " + "\n  ".join(self.problems))


class InputError(EngineError):
    """The portfolio or history handed to the engine is inconsistent."""


class PlanRuleError(EngineError):
    """A payment plan breaks the policy's rules for the customer's risk category."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("payment plan not allowed:\n  " + "\n  ".join(self.problems))
