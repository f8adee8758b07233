"""Turn engine dataclasses into JSON-ready values (Decimals as strings, dates ISO)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

_UNSEEN: Any = object()
_DATACLASS_FIELDS: dict[type, Any] = {}
"""The field names of each dataclass type met, None for any other type: looked up once per type."""


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types; Decimals keep their exact digits as strings."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    names = _DATACLASS_FIELDS.get(kind, _UNSEEN)
    if names is _UNSEEN:
        names = _DATACLASS_FIELDS[kind] = _field_names(kind) if dataclasses.is_dataclass(kind) else None
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (str, int)):  # subclasses (enums, flags)
        return value
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [to_jsonable(item) for item in value]
        return sorted(items) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, float):
        return round(value, 6)
    return value


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind))
