"""Reading one value of a platform record, with a message that names the record and the field."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .sync import MappingError


def money(record: Mapping[str, Any], name: str, what: str, default: Any = None) -> Decimal:
    """The amount in ``record[name]``; MappingError ("<what>: <name> is ...") when it is missing or no number."""
    raw = record.get(name, default)
    if raw is None or raw == "":
        raise MappingError(f"{what}: {name} is missing")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise MappingError(f"{what}: {name} is not a number ({str(raw)[:40]!r})") from None
    if not value.is_finite():
        raise MappingError(f"{what}: {name} is not a number ({str(raw)[:40]!r})")
    return value
