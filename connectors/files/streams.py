"""What a ledger file holds (one stream, ``ledger``) and how it is imported into the store.

Each file is a complete new version of the tenant's open receivables, so an open item it no
longer lists was paid or cancelled - but only a file that could be read for that item may say
so: an item whose row was rejected, or any item at all when a rejected row names neither its
customer nor its invoice, stays open. A file that would close more than a share of the open
items (a partial export, the wrong company's file) is refused unless the user confirms.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import Any

from collections_engine.types import Portfolio

from ..common.errors import LedgerError
from ..common.store import FullImport, OpenItem, Store
from .client import TEXT_SUFFIXES, Grid, header_names, read_grid, records
from .layouts import HEAD_ROWS, ReportInfo, infer_date_format, read_report, recognise, skip_rows
from .mappers import (
    REQUIRED,
    TARGETS,
    ColumnMapping,
    MappedLedger,
    RowProblem,
    decide_decimal_mark,
    guess_columns,
    load_mapping,
    map_rows,
    resolve_mapping,
)
from .settings import DEFAULT_MAX_CLOSING_SHARE, FileSettings

STREAM = "ledger"
Progress = Callable[[int, int | None], None]


class ClosingRefused(LedgerError):
    """The file would close too large a share of the ledger's open items."""

    def __init__(self, closing: Sequence[str], open_items: int, max_share: float) -> None:
        sample = ", ".join(closing[:5]) + (", ..." if len(closing) > 5 else "")
        super().__init__(
            f"this file would close {len(closing)} of the ledger's {open_items} open items "
            f"({len(closing) / open_items:.0%}, more than {max_share:.0%}) as paid or cancelled ({sample}); "
            "nothing was imported. If it really is the complete export, run again with --allow-closing"
        )
        self.closing = list(closing)


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
    closed_ids: list[str] = field(default_factory=list)
    closing_withheld: str | None = None
    """Why items absent from the file were not closed, when they were not."""
    ledger: MappedLedger | None = None

    @property
    def report(self) -> Any:
        """What was recognised when the file is an accounting report (``layouts.ReportInfo``), else None."""
        return None if self.ledger is None else self.ledger.report


def ledger_path(settings: FileSettings) -> Path:
    """The run's file (a run without one plans what the store holds and never imports)."""
    if settings.path is None:
        raise LedgerError("no ledger file was given")
    return settings.path


def file_digest(settings: FileSettings) -> str:
    """Fingerprint of the file and its mapping: an unchanged pair need not be imported again."""
    digest = hashlib.sha256(ledger_path(settings).read_bytes())
    if settings.mapping_path is not None:
        digest.update(settings.mapping_path.read_bytes())
    return digest.hexdigest()


def _progress(progress: Progress | None, total: int | None) -> Callable[[int], None] | None:
    """``map_rows``'s progress callback: rows mapped out of ``total``."""
    if progress is None:
        return None
    return lambda done: progress(done, total)


def read_ledger(
    settings: FileSettings, progress: Progress | None = None, report_date: date | None = None
) -> MappedLedger:
    """Read and map a ledger file: a plain table, or an accounting report recognised by its layout (its rows
    become the same ledger rows); raise LedgerError when the file or its mapping cannot be used at all.

    ``report_date`` places a summary's buckets when the report gives no "As of" date (default: today).
    """
    document = load_mapping(settings.mapping_path) if settings.mapping_path else None
    path = ledger_path(settings)
    grid, lines = read_grid(path, settings.sheet or (document or {}).get("sheet"))
    grid = skip_rows(grid, document)
    head = list(islice(grid, HEAD_ROWS))
    if not head:
        raise LedgerError(f"{path.name}: the file is empty")
    recognition = recognise(path.name, head, document)
    if recognition is None:
        return _read_table(settings, head, grid, lines, document, progress)
    on = report_date or datetime.now(timezone.utc).date()
    rows, mapping, info = read_report(recognition, chain(head, grid), document, on)
    ledger = map_rows(rows, mapping, settings.company_currency, progress=_progress(progress, len(rows)))
    info.items, info.customers = len(ledger.items), len(ledger.customers)
    ledger.report = info
    if progress is not None:
        progress(ledger.rows_read, ledger.rows_read)
    return ledger


def _read_table(
    settings: FileSettings, head: list[Any], grid: Grid, lines: int | None, document: Any, progress: Progress | None
) -> MappedLedger:
    """A plain table: the first row is the header, every other row one invoice (or instalment)."""
    headers = header_names(head[0].cells)
    rows = records(chain(head[1:], grid), headers)
    mapping = resolve_mapping(headers, document)
    total = None if lines is None else max(0, lines - 1)
    path, sheet = ledger_path(settings), settings.sheet or (document or {}).get("sheet")

    def reread() -> Iterator[tuple[int, Mapping[str, Any]]]:
        again = skip_rows(read_grid(path, sheet)[0], document)
        next(again, None)  # the header
        return records(again, headers)

    # a text file is read again rather than kept (reading it is cheap); a workbook is parsed once and kept
    again = reread if path.suffix.lower() in TEXT_SUFFIXES else None
    ledger = map_rows(rows, mapping, settings.company_currency, reread=again, progress=_progress(progress, total))
    if progress is not None:
        progress(ledger.rows_read, ledger.rows_read)
    return ledger


def items_to_close(open_items: Sequence[OpenItem], ledger: MappedLedger) -> list[str]:
    """Open items the file no longer lists and no rejected row may have been (none if a rejection is anonymous)."""
    if not ledger.fully_identified:
        return []
    listed = {item.id for item in ledger.items}
    invoices = {invoice for _customer, invoice in ledger.rejected if invoice}
    customers = {customer for customer, invoice in ledger.rejected if customer and not invoice}
    return sorted(
        item.id
        for item in open_items
        if item.id not in listed and item.invoice_ref not in invoices and item.customer_id not in customers
    )


def import_ledger(
    settings: FileSettings,
    store: Store,
    progress: Progress | None = None,
    today: date | None = None,
    *,
    dry_run: bool = False,
    allow_closing: bool = False,
    max_closing_share: float = DEFAULT_MAX_CLOSING_SHARE,
) -> ImportResult:
    """Import a ledger file into the store in one transaction (nothing under ``dry_run``); items absent from a
    new version are closed, within the limits above; raise ClosingRefused beyond ``max_closing_share``."""
    digest = file_digest(settings)
    if store.sync.get_bookmark(settings.tenant, STREAM) == digest:
        return ImportResult(skipped=True, problems=[RowProblem(**p) for p in _quarantined_problems(store, settings)])
    ledger = read_ledger(settings, progress, today)
    open_items = store.ledger.open_items(settings.tenant)
    closing = items_to_close(open_items, ledger)
    if closing and not allow_closing and len(closing) > max_closing_share * len(open_items):
        raise ClosingRefused(closing, len(open_items), max_closing_share)
    on = today or datetime.now(timezone.utc).date()
    if not dry_run:
        quarantined = [(f"line {p.line}", dict(p.raw), p.reason) for p in ledger.problems]
        snapshot = FullImport(ledger.customers, ledger.items, ledger.payments, quarantined, closing, on, digest)
        store.ledger.write_full_import(settings.tenant, STREAM, snapshot)
    return ImportResult(
        rows_read=ledger.rows_read,
        customers=len(ledger.customers),
        items=len(ledger.items),
        payments=len(ledger.payments),
        closed=len(closing),
        problems=ledger.problems,
        closed_ids=closing,
        closing_withheld=_withheld(open_items, ledger),
        ledger=ledger,
    )


def _withheld(open_items: Sequence[OpenItem], ledger: MappedLedger) -> str | None:
    if ledger.fully_identified:
        return None
    listed = {item.id for item in ledger.items}
    absent = sum(1 for item in open_items if item.id not in listed)
    if not absent:
        return None
    return (
        f"{absent} open items are not in the file but none was closed: "
        "some rejected rows name neither a customer nor an invoice"
    )


def preview_portfolio(portfolio: Portfolio, result: ImportResult, closed_on: date) -> Portfolio:
    """The portfolio as it would be after an import that a dry run did not write."""
    ledger = result.ledger
    if ledger is None:
        return portfolio
    customers = {c.id: c for c in portfolio.customers} | {c.id: c for c in ledger.customers}
    items = {i.id: i for i in portfolio.items} | {i.id: i for i in ledger.items}
    for item_id in result.closed_ids:
        items[item_id] = replace(items[item_id], residual=Decimal(0), settled_on=closed_on)
    payments = {p.id: p for p in portfolio.payments} | {p.id: p for p in ledger.payments}
    return replace(
        portfolio,
        customers=tuple(sorted(customers.values(), key=lambda c: c.id)),
        items=tuple(sorted(items.values(), key=lambda i: (i.customer_id, i.due_date, i.id))),
        payments=tuple(sorted(payments.values(), key=lambda p: (p.date, p.id))),
    )


def _quarantined_problems(store: Store, settings: FileSettings) -> list[dict[str, Any]]:
    return [
        {"line": int(entry["record"].removeprefix("line ")), "reason": entry["reason"], "raw": entry["raw"]}
        for entry in store.sync.quarantined(settings.tenant)
        if entry["stream"] == STREAM
    ]


@dataclass(frozen=True)
class MappingSuggestion:
    """The mapping that reading a file found, to write and edit; what was recognised; what is still missing."""

    document: dict[str, Any]
    report: ReportInfo | None
    missing: list[str]


def suggest_mapping(path: Path, sheet: str | None = None, today: date | None = None) -> MappingSuggestion:
    """What detection makes of a file, as a mapping document: layout, header row, columns, date format, decimal
    mark. Loading the file with it gives what loading it without a mapping gives, and each key can be edited."""
    grid, _lines = read_grid(path, sheet)
    head = list(islice(grid, HEAD_ROWS))
    if not head:
        raise LedgerError(f"{path.name}: the file is empty")
    document: dict[str, Any] = {}
    recognition = recognise(path.name, head, None)
    if recognition is None:
        headers = header_names(head[0].cells)
        columns = guess_columns(headers)
        rows = list(records(chain(head[1:], grid), headers))
        dated = [columns[t] for t in ("due_date", "invoice_date") if t in columns]
        texts = [v for _, r in rows for h in dated if isinstance(v := r.get(h), str)]
        fmt, _problem = infer_date_format(texts, None)
        mark = decide_decimal_mark(rows, ColumnMapping(columns))
        report = None
    else:
        on = today or datetime.now(timezone.utc).date()
        report_rows, mapping, report = read_report(recognition, chain(head, grid), None, on)
        headers = recognition.headers
        columns = {t: headers[i] for t, i in recognition.columns.items() if t in TARGETS and headers[i]}
        document.update(layout=recognition.layout.key, header_row=recognition.header_line)
        if recognition.customer_from_group_rows:
            document["customer_from_group_rows"] = True
        fmt, mark = report.date_format, decide_decimal_mark(report_rows, mapping)
        ledger = map_rows(report_rows, mapping, "EUR")
        report.items, report.customers = len(ledger.items), len(ledger.customers)
    document["columns"] = columns
    if fmt and fmt != "%Y-%m-%d":
        document["date_format"] = fmt
    if mark:
        document["decimal_separator"] = mark
    if sheet:
        document["sheet"] = sheet
    missing = [] if recognition is not None else [t for t in REQUIRED if t not in columns]
    return MappingSuggestion(document, report, missing)
