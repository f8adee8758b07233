"""Turn engine dataclasses into JSON-ready values (Decimals as strings, dates ISO)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

_CONVERTERS: dict[type, Callable[[Any], Any]] = {}
"""How a value of each type becomes JSON, decided once per type (what to do depends on the type only)."""


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types; Decimals keep their exact digits as strings."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    convert = _CONVERTERS.get(kind)
    if convert is None:
        convert = _CONVERTERS[kind] = _converter(kind)
    return convert(value)


def _converter(kind: type) -> Callable[[Any], Any]:
    """The conversion of a type's values: a dataclass as a dict of its fields, Decimal as its digits, a date in
    ISO, enums and flags as themselves, mappings with text keys, sets sorted, floats to 6 decimals."""
    if dataclasses.is_dataclass(kind):
        names = tuple(field.name for field in dataclasses.fields(kind))
        if len(names) > 1:
            values = attrgetter(*names)
            return lambda value: dict(zip(names, map(to_jsonable, values(value))))
        return lambda value: {name: to_jsonable(getattr(value, name)) for name in names}
    if issubclass(kind, Decimal):
        return str
    if issubclass(kind, (datetime, date)):
        return _isoformat
    if issubclass(kind, (str, int)):  # subclasses (enums, flags)
        return _same
    if issubclass(kind, Mapping):
        return lambda value: {str(key): to_jsonable(item) for key, item in value.items()}
    if issubclass(kind, (set, frozenset)):
        return lambda value: sorted(map(to_jsonable, value))
    if issubclass(kind, (list, tuple)):
        return lambda value: list(map(to_jsonable, value))
    if issubclass(kind, float):
        return lambda value: round(value, 6)
    return _same


def _isoformat(value: date) -> str:
    return value.isoformat()


def _same(value: Any) -> Any:
    return value
