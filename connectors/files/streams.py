"""What a ledger file holds (one stream, ``ledger``) and how it is imported into the store."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from ..common.store import Store
from .client import read_rows
from .mappers import RowProblem, load_mapping, map_rows, resolve_mapping
from .settings import FileSettings

STREAM = "ledger"
Progress = Callable[[int, int | None], None]


@dataclass
class ImportResult:
    """What an import loaded, closed and rejected."""

    rows_read: int = 0
    customers: int = 0
    items: int = 0
    payments: int = 0
    closed: int = 0
    skipped: bool = False
    problems: list[RowProblem] = field(default_factory=list)


def file_digest(settings: FileSettings) -> str:
    """Fingerprint of the file and its mapping: an unchanged pair need not be imported again."""
    digest = hashlib.sha256(settings.path.read_bytes())
    if settings.mapping_path is not None:
        digest.update(settings.mapping_path.read_bytes())
    return digest.hexdigest()


def _counted(
    rows: Iterator[tuple[int, Mapping[str, Any]]], total: int | None, progress: Progress | None
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for done, row in enumerate(rows, start=1):
        if progress is not None and done % 500 == 0:
            progress(done, total)
        yield row


def import_ledger(
    settings: FileSettings, store: Store, progress: Progress | None = None, today: date | None = None
) -> ImportResult:
    """Import a ledger file into the store; items absent from a new version of the file are closed."""
    digest = file_digest(settings)
    if store.get_bookmark(settings.tenant, STREAM) == digest:
        return ImportResult(skipped=True, problems=[RowProblem(**p) for p in _quarantined_problems(store, settings)])
    document = load_mapping(settings.mapping_path) if settings.mapping_path else None
    headers, rows, total = read_rows(settings.path, settings.sheet)
    mapping = resolve_mapping(headers, document)
    ledger = map_rows(_counted(rows, total, progress), mapping, settings.company_currency)
    store.clear_quarantine(settings.tenant, STREAM)
    for problem in ledger.problems:
        store.quarantine(settings.tenant, STREAM, f"line {problem.line}", dict(problem.raw), problem.reason)
    store.upsert_customers(settings.tenant, ledger.customers)
    store.upsert_items(settings.tenant, ledger.items)
    store.upsert_payments(settings.tenant, ledger.payments)
    closed = store.close_items_not_in(
        settings.tenant, {item.id for item in ledger.items}, today or datetime.now(timezone.utc).date()
    )
    store.set_bookmark(settings.tenant, STREAM, digest)
    if progress is not None:
        progress(ledger.rows_read, ledger.rows_read)
    return ImportResult(
        rows_read=ledger.rows_read,
        customers=len(ledger.customers),
        items=len(ledger.items),
        payments=len(ledger.payments),
        closed=closed,
        problems=ledger.problems,
    )


def _quarantined_problems(store: Store, settings: FileSettings) -> list[dict[str, Any]]:
    return [
        {"line": int(entry["record"].removeprefix("line ")), "reason": entry["reason"], "raw": entry["raw"]}
        for entry in store.quarantined(settings.tenant)
        if entry["stream"] == STREAM
    ]
