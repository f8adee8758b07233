"""Engine records <-> store rows, by field name: one mapping per type, no column written out by hand.

A :class:`RowMapping` pairs an engine dataclass with its table: every field that has a column
of the same name is stored (``tenant`` added), the others keep their defaults when loaded, and a
field whose value is not a column type (a tuple of ids, a contact window, allocations) names a
:class:`Codec` that turns it into text and back. Adding a field to an engine type and a column to
its table is then the whole change.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from collections_engine.types import Allocation, ContactWindow, Installment

from .models import Base

T = TypeVar("T")


@dataclass(frozen=True)
class Codec:
    """How a field that is not a column type is written (``dump``) and read back (``load``)."""

    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]


IDS = Codec(lambda ids: json.dumps(list(ids)), lambda text: tuple(json.loads(text)))
NAME_SET = Codec(lambda names: json.dumps(sorted(names)), lambda text: frozenset(json.loads(text)))
WINDOW = Codec(
    lambda w: json.dumps({"hours": w.hours, "weekdays": w.weekdays}) if w else None,
    lambda text: ContactWindow(hours=tuple((a, b) for a, b in json.loads(text)["hours"]),
                               weekdays=tuple(json.loads(text)["weekdays"])) if text else None,
)
ALLOCATIONS = Codec(
    lambda allocations: json.dumps([[a.item_id, str(a.amount)] for a in allocations]),
    lambda text: tuple(Allocation(item_id, Decimal(amount)) for item_id, amount in json.loads(text)),
)
INSTALMENTS = Codec(
    lambda instalments: json.dumps([[i.sequence, i.due_date.isoformat(), str(i.amount)] for i in instalments]),
    lambda text: tuple(Installment(n, date.fromisoformat(d), Decimal(a)) for n, d, a in json.loads(text)),
)


def _identical(value: Any, other: Any) -> bool:
    """Equal values that also print alike: Decimal('1.0') equals Decimal('1.00') but is not the same amount
    to show."""
    if isinstance(value, Decimal) and isinstance(other, Decimal):
        return value.as_tuple() == other.as_tuple()
    return type(value) is type(other)


class RowMapping(Generic[T]):
    """The columns of ``model`` that are fields of ``kind``, with the codecs of the fields that need one."""

    def __init__(
        self,
        kind: type[T],
        model: type[Base],
        codecs: Mapping[str, Codec] | None = None,
        *,
        shared: tuple[str, ...] = (),
        same_as: Mapping[str, str] | None = None,
    ) -> None:
        """``shared`` fields repeat across rows (a customer's id, a currency, a date): :meth:`load_all` keeps
        one object per distinct value. A ``same_as`` field equal to another (an unpaid item's residual and
        its amount, to the last digit) is that field's object. A million items, about 250 MB less."""
        columns = set(model.__table__.columns.keys())
        self.kind = kind
        self.model = model
        self.codecs = dict(codecs or {})
        self.fields = [f.name for f in dataclasses.fields(kind) if f.name in columns]  # type: ignore[arg-type]
        missing = columns - set(self.fields) - {"tenant"}
        if missing:
            raise TypeError(f"{model.__tablename__}: columns {sorted(missing)} are no field of {kind.__name__}")
        unknown = (set(self.codecs) | set(shared) | set(same_as or {}) | set((same_as or {}).values())) - set(
            self.fields
        )
        if unknown:
            raise TypeError(f"{kind.__name__}: codecs or sharing for fields that are not stored: {sorted(unknown)}")
        self.shared = tuple(shared)
        self.same_as = dict(same_as or {})

    def row(self, tenant: str, record: T) -> dict[str, Any]:
        """The column values of a record."""
        values: dict[str, Any] = {"tenant": tenant}
        for name in self.fields:
            value = getattr(record, name)
            codec = self.codecs.get(name)
            values[name] = codec.dump(value) if codec else value
        return values

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns :meth:`values` fills, in its order."""
        return ("tenant", *self.fields)

    def values(self, tenant: str, record: T) -> tuple[Any, ...]:
        """The column values of a record, in the order of :attr:`columns` (no dict per row)."""
        if not self.codecs:
            return (tenant, *[getattr(record, name) for name in self.fields])
        codecs = self.codecs
        return (tenant, *[codecs[name].dump(getattr(record, name)) if name in codecs else getattr(record, name)
                          for name in self.fields])

    def load_all(self, session: Session, tenant: str, *order_by: Any) -> tuple[T, ...]:
        """Every record of a tenant, in ``order_by`` order, read as plain columns (no ORM object per row)."""
        table = self.model.__table__
        columns = [table.c[name] for name in self.fields]
        # fetched in batches: a million rows buffered at once would cost more than the records built from them
        query = select(*columns).where(table.c.tenant == tenant).order_by(*order_by).execution_options(yield_per=5000)
        kind, names = self.kind, self.fields
        decoders = [(index, name, self.codecs[name].load) for index, name in enumerate(names) if name in self.codecs]
        pools: list[tuple[str, dict[Any, Any]]] = [(name, {}) for name in self.shared]
        same = list(self.same_as.items())
        init_fields = [f for f in dataclasses.fields(kind) if f.init]  # type: ignore[arg-type]
        stored = [f.name for f in init_fields if f.name in names]
        gaps = [(index, f.default) for index, f in enumerate(init_fields) if f.name not in names]
        if stored == list(names) and all(default is not dataclasses.MISSING for _index, default in gaps):
            # the columns are the fields in order, the others have plain defaults: built positionally
            position = {name: index for index, name in enumerate(names)}
            shared = [(position[name], pool) for name, pool in pools]
            alike = [(position[name], position[twin]) for name, twin in same]
            records = []
            for row in session.execute(query):
                values: list[Any] = list(row)
                for index, _name, decode in decoders:
                    values[index] = decode(values[index])
                for index, pool in shared:
                    value = values[index]
                    values[index] = pool.setdefault(value, value)
                for index, twin in alike:
                    value, reference = values[index], values[twin]
                    if value == reference and _identical(value, reference):
                        values[index] = reference
                for index, default in gaps:
                    values.insert(index, default)
                records.append(kind(*values))
            return tuple(records)
        records = []
        for row in session.execute(query):
            named = dict(zip(names, row))
            for index, name, decode in decoders:
                named[name] = decode(row[index])
            for name, pool in pools:
                value = named[name]
                named[name] = pool.setdefault(value, value)
            for name, other in same:
                value, reference = named[name], named[other]
                if value == reference and _identical(value, reference):
                    named[name] = reference
            records.append(kind(**named))
        return tuple(records)

    def load(self, row: Any) -> T:
        """The record a row holds."""
        values = {}
        for name in self.fields:
            value = getattr(row, name)
            codec = self.codecs.get(name)
            values[name] = codec.load(value) if codec else value
        return self.kind(**values)
