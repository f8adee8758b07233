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

from sqlalchemy import Boolean, Date, DateTime, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from collections_engine.types import Allocation, ContactWindow, Installment

from .models import Base, ExactDecimal

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


_DATES: dict[str, date] = {}


def _date(value: Any) -> date | None:
    """A DATE column's value: SQLite gives its ISO text (parsed once per distinct day), PostgreSQL a date."""
    if isinstance(value, str):
        day = _DATES.get(value)
        if day is None:
            day = date.fromisoformat(value)
            if len(_DATES) < 100_000:
                _DATES[value] = day
        return day
    return value  # type: ignore[no-any-return]


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _exact(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _raw_decoder(kind: Any) -> Callable[[Any], Any] | None:
    """How a column read without its type's own conversion becomes a value, or None to keep that conversion."""
    if isinstance(kind, ExactDecimal):
        return _exact
    if isinstance(kind, Boolean):
        return _flag
    if isinstance(kind, Date) and not isinstance(kind, DateTime):
        return _date
    return None  # text as it is; any other type keeps its own conversion


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
        """Every record of a tenant, in ``order_by`` order, read as plain columns (no ORM object per row).

        Text, exact decimals, dates and flags are read as the driver gives them and turned into values here,
        each repeated value once (a date's text is parsed once per distinct date); a ``same_as`` field whose
        stored text equals the other field's is that field's object. Rows are fetched in batches: a million
        rows buffered at once would cost more than the records built from them."""
        table = self.model.__table__
        names = self.fields
        columns: list[Any] = []
        decoders: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(names):
            column = table.c[name]
            decode = self.codecs[name].load if name in self.codecs else _raw_decoder(column.type)
            if decode is None:
                columns.append(column)  # the column type's own conversion (UTC datetimes...)
                continue
            columns.append(type_coerce(column, NullType()).label(name) if name not in self.codecs else column)
            decoders.append((index, decode))
        query = select(*columns).where(table.c.tenant == tenant).order_by(*order_by).execution_options(yield_per=5000)
        position = {name: index for index, name in enumerate(names)}
        shared = {position[name] for name in self.shared}
        pools: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
            (index, decode, {}) for index, decode in decoders if index in shared
        ]
        shared_pools: list[tuple[int, dict[Any, Any]]] = [
            (index, {}) for index in sorted(shared - {index for index, _decode in decoders})
        ]
        plain = [(index, decode) for index, decode in decoders if index not in shared]
        alike = [(position[name], position[twin]) for name, twin in self.same_as.items()]
        alike_fields = {index for index, _twin in alike}
        plain = [(index, decode) for index, decode in plain if index not in alike_fields]
        alike_decoders = {index: decode for index, decode in decoders if index in alike_fields}
        kind = self.kind
        init_fields = [f for f in dataclasses.fields(kind) if f.init]  # type: ignore[arg-type]
        stored = [f.name for f in init_fields if f.name in names]
        gaps = [(index, f.default) for index, f in enumerate(init_fields) if f.name not in names]
        positional = stored == list(names) and all(default is not dataclasses.MISSING for _i, default in gaps)
        records = []
        for row in session.connection().execute(query):  # Core rows: no ORM loading per row
            raw: tuple[Any, ...] = tuple(row)
            values: list[Any] = list(raw)
            for index, decode, pool in pools:
                value = raw[index]
                if value in pool:
                    values[index] = pool[value]
                else:
                    values[index] = pool[value] = decode(value)
            for index, simple_pool in shared_pools:
                value = values[index]
                values[index] = simple_pool.setdefault(value, value)
            for index, decode in plain:
                values[index] = decode(values[index])
            for index, twin in alike:
                if raw[index] == raw[twin] and type(raw[index]) is type(raw[twin]):
                    values[index] = values[twin]  # the same stored text: the same value, one object
                elif index in alike_decoders:
                    values[index] = alike_decoders[index](raw[index])
            if positional:
                for index, default in gaps:
                    values.insert(index, default)
                records.append(kind(*values))
            else:
                records.append(kind(**dict(zip(names, values))))
        return tuple(records)

    def load(self, row: Any) -> T:
        """The record a row holds."""
        values = {}
        for name in self.fields:
            value = getattr(row, name)
            codec = self.codecs.get(name)
            values[name] = codec.load(value) if codec else value
        return self.kind(**values)
