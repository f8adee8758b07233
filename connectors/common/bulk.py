"""Writing many rows at once, at the speed of the database driver rather than of per-row ORM work.

An upsert of thousands of rows through SQLAlchemy builds and processes each row's parameters one by
one; that costs more than the database's own work. :func:`upsert` compiles the statement once, turns
every value into what the driver takes with the column types' own bind processors (so a value is
stored exactly as SQLAlchemy would store it), and then:

- on SQLite, hands all rows to the driver's ``executemany`` (one prepared statement);
- on PostgreSQL with psycopg2, streams them with ``COPY`` into a temporary table and upserts from it
  with one ``INSERT ... SELECT ... ON CONFLICT`` (falling back to ``executemany`` with another driver).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import FromClause

TableLike = FromClause  # a model's __table__
COPY_THRESHOLD = 1000  # below this, a plain executemany is as quick as a COPY


def upsert(connection: Connection, table: TableLike, columns: Sequence[str], rows: Sequence[Sequence[Any]],
           keys: Sequence[str]) -> None:
    """Insert ``rows`` (tuples of ``columns``' values) into ``table``, updating the rows whose ``keys`` exist."""
    if not rows:
        return
    connection.info["odoo_collections.changed"] = True  # COPY bypasses the statement events (store.CHANGED)
    dialect = connection.dialect
    processors = _processors(connection, table, columns)
    if processors:
        rows = [tuple(value if process is None else process(value) for process, value in zip(processors, row))
                for row in rows]
    if dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD and _copy_capable(connection):
        _copy_upsert(connection, table, columns, rows, keys)
        return
    factory: Any = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = factory(table).values({name: bindparam(name) for name in columns})
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in columns if name not in keys}
    )
    compiled = statement.compile(dialect=dialect)
    if compiled.positiontup is not None:  # qmark / numeric styles: the values in the statement's order
        index = {name: position for position, name in enumerate(columns)}
        order = [index[name] for name in compiled.positiontup]
        in_order = order == list(range(len(columns)))
        parameters: list[Any] = list(rows) if in_order else [tuple(row[position] for position in order) for row in rows]
    else:
        parameters = [dict(zip(columns, row)) for row in rows]
    connection.exec_driver_sql(str(compiled), parameters)


def _processors(connection: Connection, table: TableLike, columns: Sequence[str]) -> list[Any]:
    """Each column's bind processor for this dialect (None where the driver takes the value as it is)."""
    dialect = connection.dialect
    found = []
    for name in columns:
        kind = table.c[name].type
        process = kind.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and isinstance(kind, (Date, Boolean)) and not isinstance(kind, DateTime):
            process = _remembered(process)  # few distinct days and flags: each formatted once
        found.append(process)
    return found if any(found) else []


def _remembered(process: Any) -> Any:
    memo: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            result = memo[value] = process(value)
            return result

    return remembered


def _copy_capable(connection: Connection) -> bool:
    return connection.dialect.driver == "psycopg2"  # its cursors stream COPY (copy_expert)


def _copy_upsert(connection: Connection, table: TableLike, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                 keys: Sequence[str]) -> None:
    quoted = [connection.dialect.identifier_preparer.quote(name) for name in columns]
    target = connection.dialect.identifier_preparer.format_table(table)
    staging = f"bulk_{getattr(table, 'name', 'rows')}"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP")
        cursor.execute(f"TRUNCATE {staging}")
        buffer = io.StringIO()
        buffer.writelines("\t".join(map(_copy_text, row)) + "\n" for row in rows)
        buffer.seek(0)
        cursor.copy_expert(f"COPY {staging} ({', '.join(quoted)}) FROM STDIN", buffer)
        updates = ", ".join(f"{q} = EXCLUDED.{q}" for name, q in zip(columns, quoted) if name not in keys)
        conflict = ", ".join(connection.dialect.identifier_preparer.quote(k) for k in keys)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        cursor.execute(
            f"INSERT INTO {target} ({', '.join(quoted)}) SELECT {', '.join(quoted)} FROM {staging} "
            f"ON CONFLICT ({conflict}) {action}"
        )
    finally:
        cursor.close()


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """A value in COPY's text format: NULL as \\N, booleans and dates as PostgreSQL writes them, and
    backslashes, tabs and line breaks escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).translate(_ESCAPES)
