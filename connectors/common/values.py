"""Reading one value of a platform record, with a message that names the record and the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
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


def iso_date(record: Mapping[str, Any], name: str, what: str, default: Any = None) -> date | None:
    """The date in ``record[name]`` (ISO text, a time part ignored); None when it is absent and no default is
    given; MappingError when it is not a date."""
    raw = record.get(name) or default
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise MappingError(f"{what}: {name} {str(raw)[:40]!r} is not a date") from None


def required_date(record: Mapping[str, Any], name: str, what: str, default: Any = None) -> date:
    """Like :func:`iso_date`, but a missing date is a MappingError too."""
    found = iso_date(record, name, what, default)
    if found is None:
        raise MappingError(f"{what}: {name} is missing")
    return found
