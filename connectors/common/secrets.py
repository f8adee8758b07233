"""Secrets are marked: a :class:`Secret` never shows its value in a repr, a log line or an error."""

from __future__ import annotations

import os

from .errors import ConfigurationError


class Secret:
    """A string that masks itself; call :meth:`reveal` at the one place that needs the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def secret_from_env(variable: str, purpose: str) -> Secret:
    """Read a secret from the environment or fail naming the variable."""
    value = os.environ.get(variable)
    if not value:
        raise ConfigurationError(f"{variable} is not set ({purpose})")
    return Secret(value)


def mask_secrets(text: str, *secrets: str | Secret | None) -> str:
    """Replace every occurrence of the given secrets in a text (vendor messages may echo a token)."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value and len(value) >= 6:
            text = text.replace(value, "********")
    return text
