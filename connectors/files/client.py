"""Reads CSV and XLSX files: rows of cells with their line numbers (a grid), or (line number, {header: value}).

Every way a file can be unusable ends in a ``LedgerError`` with a message that names the
file and never echoes its bytes: a binary file, an empty one, a corrupt or oversized
workbook (checked before it is loaded: a small XLSX can unpack to gigabytes).
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..common.errors import LedgerError

Row = dict[str, Any]
Rows = Iterator[tuple[int, Row]]

MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_UNPACKED_BYTES = 300 * 1024 * 1024  # everything inside an XLSX, uncompressed
MAX_SHARED_STRINGS_BYTES = 50 * 1024 * 1024  # openpyxl loads the shared strings whole, even read-only
MAX_ROWS = 1_000_000
MAX_COLUMNS = 200
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension[^>]*\bref=\"([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?\"")


class UnreadableRow(dict[str, Any]):
    """A row whose bytes could not be read as text: rejected with ``reason``, its readable values kept."""

    def __init__(self, values: Row, reason: str) -> None:
        super().__init__(values)
        self.reason = reason


@dataclass(frozen=True)
class _Text:
    """A decoded file and the physical lines (1-based) holding bytes that were not valid."""

    text: str
    encoding: str
    bad_lines: dict[int, str]


@dataclass(frozen=True)
class GridRow:
    """One non-blank row of a file as it is laid out: its line (CSV) or row (XLSX) number and its cells."""

    line: int
    cells: list[Any]
    unreadable: str | None = None
    """Why the row's bytes could not be read as text, when they could not."""


Grid = Iterator[GridRow]


TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
"""The ledger files read as delimited text (any other is a workbook)."""


def read_grid(path: Path, sheet: str | None = None) -> tuple[Grid, int | None]:
    """Return the file's non-blank rows as cells, with their line numbers, and the number of lines when known.

    Title blocks, section rows and footers are all there: a report layout decides what they are.
    """
    suffix = path.suffix.lower()
    if path.stat().st_size > MAX_FILE_BYTES:
        raise LedgerError(f"{path.name}: the file is larger than {MAX_FILE_BYTES // 2**20} MB")
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_grid(path, sheet)
    if suffix in TEXT_SUFFIXES:
        return _csv_grid(path)
    hint = " (save an old .xls workbook as .xlsx)" if suffix == ".xls" else ""
    raise LedgerError(f"{path.name}: unsupported file type {suffix or '(none)'!r}: use .csv or .xlsx{hint}")


def read_rows(path: Path, sheet: str | None = None) -> tuple[list[str], Rows, int | None]:
    """Return the headers (the first row), the rows with their line numbers, and the number of rows when known."""
    grid, total = read_grid(path, sheet)
    first = next(grid, None)
    if first is None:
        raise LedgerError(f"{path.name}: the file is empty")
    headers = header_names(first.cells)
    return headers, records(grid, headers), None if total is None else max(0, total - 1)


def header_names(cells: list[Any]) -> list[str]:
    """The cells of a header row as names ('' for an empty cell)."""
    return ["" if cell is None else str(cell).strip() for cell in cells]


def records(grid: Grid, headers: list[str]) -> Rows:
    """The rows below a header as {header: value}; a row whose bytes were unreadable is an UnreadableRow."""
    for row in grid:
        values = dict(zip(headers, row.cells))
        yield row.line, UnreadableRow(values, row.unreadable) if row.unreadable else values


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------


def decode(raw: bytes, name: str) -> _Text:
    """Decode as UTF-8 (or UTF-16 with a BOM); Windows-1252 only when the bytes are clearly not UTF-8.

    A UTF-8 file with a few bad bytes stays UTF-8: the lines holding them are reported, not garbled.
    """
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return _Text(_strict(raw, encoding, name), encoding, {})
    if b"\x00" in raw[:65536]:
        raise LedgerError(f"{name}: this is not a text (CSV) file")
    try:
        return _Text(raw.decode("utf-8-sig"), "utf-8", {})
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8-sig", errors="replace")
    invalid = text.count("\ufffd")
    valid = sum(1 for char in text if ord(char) > 0x7F) - invalid
    if valid > 0 and valid >= invalid:
        return _Text(text, "utf-8", _bad_lines(raw, text))
    for encoding in ("cp1252", "latin-1"):
        try:
            return _Text(raw.decode(encoding), encoding, {})
        except UnicodeDecodeError:
            continue
    raise LedgerError(f"{name}: cannot decode the file as UTF-8 or Windows-1252")  # pragma: no cover (latin-1)


def _strict(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise LedgerError(f"{name}: the file starts as {encoding.upper()} but is not valid {encoding.upper()}") from err


def _bad_lines(raw: bytes, text: str) -> dict[int, str]:
    """The lines (1-based) of a mostly-UTF-8 file that hold invalid bytes, each with the first bad byte."""
    raw_lines = raw.split(b"\n")
    lines: dict[int, str] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if "\ufffd" not in line or number > len(raw_lines):
            continue
        try:
            raw_lines[number - 1].decode("utf-8-sig")
            continue  # a genuine U+FFFD character, not a bad byte
        except UnicodeDecodeError as err:
            byte = raw_lines[number - 1][err.start]
        lines[number] = f"byte 0x{byte:02X} is not valid UTF-8 (the file is read as UTF-8)"
    return lines


def _csv_grid(path: Path) -> tuple[Grid, int | None]:
    decoded = decode(path.read_bytes(), path.name)
    text = decoded.text
    if not text.strip():
        raise LedgerError(f"{path.name}: the file is empty")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    lines = text.count("\n")
    # the rows are read again from the file, as they are mapped: a million-row file held as one string
    # (and a StringIO's copy of it) would stay in memory beside every row mapped from it
    encoding = "utf-8-sig" if decoded.encoding == "utf-8" else decoded.encoding
    return _csv_file_records(path, encoding, dialect, decoded.bad_lines), lines


def _csv_file_records(path: Path, encoding: str, dialect: Any, bad_lines: dict[int, str]) -> Grid:
    """The file's rows, read line by line in the encoding ``decode`` found (its bad bytes replaced, as there)."""
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        yield from _csv_records(path.name, csv.reader(handle, dialect), bad_lines)


def _csv_records(name: str, reader: Any, bad_lines: dict[int, str]) -> Grid:
    first_line = 1
    previous: list[str] = []
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise LedgerError(f"{name}: line {reader.line_num}: the CSV cannot be read ({err})") from None
        last_line = reader.line_num
        span_start, first_line = first_line, last_line + 1
        cells = [v.strip() for v in values]
        if not any(cells):
            continue
        if len(cells) > MAX_COLUMNS:
            _check_width(name, len(cells))
        reason = None
        if bad_lines:
            reasons = [bad_lines[n] for n in range(span_start, last_line + 1) if n in bad_lines]
            reason = reasons[0] if reasons else None
        # a ledger lists a customer's rows together: a cell equal to the one above shares its string, so a
        # million rows keep one copy of each customer's name, email, country and currency, not ten
        if len(previous) == len(cells):
            cells = [above if cell == above else cell for cell, above in zip(cells, previous)]
        else:
            for index, (cell, above) in enumerate(zip(cells, previous)):
                if cell == above:
                    cells[index] = above
        previous = cells
        yield GridRow(last_line, cells, reason)


def _check_width(name: str, columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise LedgerError(f"{name}: more than {MAX_COLUMNS} columns; is this an aged-receivables export?")


# --------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------


def check_workbook_size(path: Path) -> None:
    """Refuse a workbook that is not a ZIP or would unpack beyond the limits, before openpyxl reads it."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            unpacked = sum(member.file_size for member in members)
            strings = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
            sheets = [m for m in members if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", m.filename)]
            dimensions = [_sheet_dimension(archive, m) for m in sheets]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as err:
        raise LedgerError(f"{path.name}: not a valid XLSX workbook (corrupt, or another format)") from err
    if unpacked > MAX_UNPACKED_BYTES or strings > MAX_SHARED_STRINGS_BYTES:
        raise LedgerError(
            f"{path.name}: the workbook unpacks to {unpacked // 2**20} MB ({strings // 2**20} MB of text); "
            f"at most {MAX_UNPACKED_BYTES // 2**20} MB ({MAX_SHARED_STRINGS_BYTES // 2**20} MB of text) are read"
        )
    for rows, columns in dimensions:
        _check_extent(path.name, rows, columns)


def _sheet_dimension(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[int, int]:
    """The rows and columns a sheet declares in its <dimension> element (0, 0 when it has none)."""
    with archive.open(member) as handle:
        head = handle.read(4096)
    found = _DIMENSION.search(head)
    if not found:
        return 0, 0
    last_column, last_row = found.group(3) or found.group(1) or b"A", found.group(4) or found.group(2) or b"1"
    return int(last_row), _column_number(last_column.decode("ascii"))


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _check_extent(name: str, rows: int, columns: int) -> None:
    if rows > MAX_ROWS + 1 or columns > MAX_COLUMNS:
        raise LedgerError(
            f"{name}: the sheet spans {rows:,} rows and {columns:,} columns; "
            f"at most {MAX_ROWS:,} rows and {MAX_COLUMNS} columns are read"
        )


def _xlsx_grid(path: Path, sheet: str | None) -> tuple[Grid, int | None]:
    """The cells of a workbook's sheet: read by python-calamine (Rust, many times quicker), else openpyxl."""
    check_workbook_size(path)
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        return _openpyxl_grid(path, sheet)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = list(workbook.sheet_names)
    except Exception as err:  # calamine raises its own errors (zip, XML...) for a damaged workbook
        raise LedgerError(f"{path.name}: not a valid XLSX workbook (corrupt, or another format)") from err
    if sheet is not None and sheet not in names:
        workbook.close()
        raise LedgerError(f"{path.name}: no sheet {sheet!r} (sheets: {', '.join(names)})")
    if not names:
        workbook.close()
        raise LedgerError(f"{path.name}: the sheet is empty")
    try:
        worksheet = workbook.get_sheet_by_name(sheet) if sheet else workbook.get_sheet_by_index(0)
        height = worksheet.total_height
        # the whole sheet from A1, as openpyxl gives it (line numbers are the sheet's)
        values = worksheet.to_python(skip_empty_area=False) if height <= MAX_ROWS + 1 else None
    except Exception as err:
        workbook.close()
        raise LedgerError(f"{path.name}: the sheet cannot be read (corrupt workbook)") from err
    if values is None:
        workbook.close()
        raise LedgerError(f"{path.name}: more than {MAX_ROWS:,} rows")
    return _xlsx_records(path.name, workbook, map(_calamine_cells, values)), height or None


def _calamine_cells(row: list[Any]) -> list[Any]:
    """A calamine row's cells as ``_cell`` makes openpyxl's: text trimmed, whole numbers int (Excel stores every
    number as a float), dates without a time of day; one pass, text (most cells) first."""
    return [value.strip() if type(value) is str else value if type(value) is date else _calamine_value(value)
            for value in row]


def _calamine_value(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        return int(value)
    return _cell(value)


def _openpyxl_grid(path: Path, sheet: str | None) -> tuple[Grid, int | None]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises KeyError, ValueError, XML errors... for a damaged workbook
        raise LedgerError(f"{path.name}: not a valid XLSX workbook (corrupt, or another format)") from err
    if sheet is not None and sheet not in workbook.sheetnames:
        workbook.close()
        raise LedgerError(f"{path.name}: no sheet {sheet!r} (sheets: {', '.join(workbook.sheetnames)})")
    worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
    iterator = worksheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1, max_row=MAX_ROWS + 2)
    cells = ([_cell(value) for value in values] for values in iterator)
    return _xlsx_records(path.name, workbook, cells), worksheet.max_row or None


def _xlsx_records(name: str, workbook: Any, rows: Iterator[list[Any]]) -> Grid:
    """The sheet's rows from its cells (each row's cells as ``_cell`` gives them: empty is '')."""
    number = 0
    seen = False
    try:
        for cells in rows:
            number += 1
            if number > MAX_ROWS + 1:
                raise LedgerError(f"{name}: more than {MAX_ROWS:,} rows")
            if len(cells) > MAX_COLUMNS and any(v != "" for v in cells[MAX_COLUMNS:]):
                _check_width(name, MAX_COLUMNS + 1)
            while cells and cells[-1] == "":
                cells.pop()
            if not cells:
                continue
            seen = True
            yield GridRow(number, cells)
    except LedgerError:
        raise
    except Exception as err:
        raise LedgerError(f"{name}: row {number} cannot be read (corrupt workbook)") from err
    finally:
        workbook.close()
    if not seen:
        raise LedgerError(f"{name}: the sheet is empty")


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, (date, int, float)):
        return value
    return "" if value is None else str(value).strip()
