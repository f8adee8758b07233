"""Reads rows from CSV and XLSX files: (line number, {header: value})."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..common.errors import LedgerError

Row = dict[str, Any]


def read_rows(path: Path, sheet: str | None = None) -> tuple[list[str], Iterator[tuple[int, Row]], int | None]:
    """Return the headers, the rows with their line numbers, and the number of rows when known."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path, sheet)
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_rows(path)
    raise LedgerError(f"{path.name}: unsupported file type {suffix!r} (use .csv or .xlsx)")


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LedgerError("cannot decode the file as UTF-8 or Latin-1")


def _csv_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, Row]], int | None]:
    text = _decode(path.read_bytes())
    sample = text[:20_000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        raise LedgerError(f"{path.name}: the file is empty") from None
    total = max(0, text.count("\n") - 1)

    def rows() -> Iterator[tuple[int, Row]]:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            yield reader.line_num, dict(zip(headers, (v.strip() for v in values)))

    return headers, rows(), total


def _xlsx_rows(path: Path, sheet: str | None) -> tuple[list[str], Iterator[tuple[int, Row]], int | None]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    if sheet is not None and sheet not in workbook.sheetnames:
        raise LedgerError(f"{path.name}: no sheet {sheet!r} (sheets: {', '.join(workbook.sheetnames)})")
    worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
    iterator = worksheet.iter_rows(values_only=True)
    try:
        headers = [str(h).strip() if h is not None else "" for h in next(iterator)]
    except StopIteration:
        raise LedgerError(f"{path.name}: the sheet is empty") from None
    total = (worksheet.max_row - 1) if worksheet.max_row else None

    def rows() -> Iterator[tuple[int, Row]]:
        for number, values in enumerate(iterator, start=2):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            yield number, {h: _cell(v) for h, v in zip(headers, values)}
        workbook.close()

    return headers, rows(), total


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, (date, int, float)):
        return value
    return "" if value is None else str(value).strip()
