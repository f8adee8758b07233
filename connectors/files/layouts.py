"""Accounting reports as they are exported: recognise the layout, read it as ledger rows.

An aged-receivables export of QuickBooks, Xero, Zoho Books, Odoo, Sage or NetSuite is a report, not a
table: a title block (company, report name, "As of" date) above the header, bucket section rows,
customers on group rows, subtotals, a total row and a footer. ``recognise`` finds the header row by its
content and names the layout; ``read_report`` turns the rows below it into the same ``(line, {field:
value})`` rows a plain file gives, so validation, problems by line and closings are one code path.

A summary report has no invoices: it becomes one open item per customer and bucket (``customer/bucket``),
due on the bucket's first day overdue counted back from the report's date - never later than the report
says, so reminders never escalate beyond what it shows.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from ..common.errors import LedgerError
from .client import GridRow, UnreadableRow
from .mappers import ALIASES, ColumnMapping, decide_decimal_mark, parse_amount, printable

HEAD_ROWS = 60
"""Rows read before deciding where the header is (title blocks are a few lines)."""
MIN_HEADER_SCORE = 2
EXTRA_FIELDS = ("type", "age")
"""Columns a report has beyond the ledger fields: the transaction type (credit notes) and the age in days."""


# --------------------------------------------------------------------------------------
# Known layouts
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """What a known report looks like and how to read it."""

    key: str
    name: str
    summary: bool
    titles: tuple[str, ...] = ()
    """Regular expressions, any of which the title block matches."""
    signature: tuple[str, ...] = ()
    """Normalised headers that all appear in the header row."""
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Headers of this layout for a field, tried before the generic ones."""
    exclude: tuple[str, ...] = ()
    """Fields whose generic headers would be wrong here (Odoo's 'Account' is the ledger account)."""
    month_first: bool | None = None
    """The layout's date convention when the file gives no evidence (None: no convention)."""
    group_rows_have_amounts: bool = False
    """Group rows carry the customer's totals (Odoo), so a 'Total ...' label is not a subtotal there."""


_DETAIL_HEADERS = {
    "invoice_number": ("num", "transaction#", "transaction #", "transaction", "invoice number", "document number",
                       "reference", "ref", "invoice#"),
    "customer_id": ("customer full name", "customer name", "contact", "name"),
    "open_amount": ("open balance", "balance due", "outstanding", "amount due", "due"),
    "invoice_date": ("date", "invoice date", "transaction date"),
    "type": ("transaction type", "type"),
    "age": ("age", "past due", "days overdue", "age (days)"),
}
LAYOUTS: tuple[Layout, ...] = (
    Layout("quickbooks-ar-aging-detail", "QuickBooks A/R Aging Detail", False,
           (r"\ba/?r aging detail\b", r"accounts receivable aging detail"), ("transaction type", "num", "open balance"),
           _DETAIL_HEADERS, month_first=True),
    Layout("quickbooks-ar-aging-summary", "QuickBooks A/R Aging Summary", True,
           (r"\ba/?r aging summary\b", r"accounts receivable aging summary"),
           ("current", "1-30", "91 and over", "total"), month_first=True),
    Layout("netsuite-ar-aging-detail", "NetSuite A/R Aging Detail", False,
           (r"\ba/?r aging detail\b",), ("document number", "open balance", "age"), _DETAIL_HEADERS, month_first=True),
    Layout("netsuite-ar-aging-summary", "NetSuite A/R Aging Summary", True,
           (r"\ba/?r aging( summary)?$",), ("current", "1-30", "> 90", "total"), month_first=True),
    Layout("xero-aged-receivables-detail", "Xero Aged Receivables Detail", False,
           (r"aged receivables detail",), ("invoice number", "due date", "older", "total"), _DETAIL_HEADERS,
           month_first=False),
    Layout("xero-aged-receivables-summary", "Xero Aged Receivables Summary", True,
           (r"aged receivables summary",), ("contact", "older", "total"), month_first=False),
    Layout("zoho-ar-aging-details", "Zoho Books AR Aging Details", False,
           (r"\bar aging details?\b",), ("customer name", "balance due", "age"), _DETAIL_HEADERS),
    Layout("zoho-ar-aging-details-raw", "Zoho Books AR Aging Details (raw export)", False,
           (), ("customer_name", "balance_due"),
           {"invoice_number": ("transaction_number", "invoice_number", "transaction#"),
            "customer_id": ("customer_name",),
            "open_amount": ("balance_due", "bcy_balance_due"), "invoice_date": ("date", "invoice_date"),
            "due_date": ("due_date",), "type": ("type", "transaction_type"), "age": ("age",),
            "currency": ("currency_code",)}),
    Layout("zoho-ar-aging-summary", "Zoho Books AR Aging Summary", True,
           (r"\bar aging summary\b",), ("customer name", "current", "1-15 days", "> 45 days", "total")),
    Layout("odoo-aged-receivable", "Odoo Aged Receivable", False,
           (r"^aged receivables?$", r"aged partner balance"), ("due date", "61-90", "older", "total"),
           {"invoice_date": ("invoice date",)}, exclude=("customer_id", "currency", "open_amount", "amount"),
           group_rows_have_amounts=True),
    Layout("sage-aged-debtors-detail", "Sage Aged Debtors (detailed)", False,
           (r"aged debtors",), ("due date", "older"), _DETAIL_HEADERS, month_first=False),
    Layout("sage-aged-debtors", "Sage Aged Debtors (summary)", True,
           (r"aged debtors",), ("older", "total"), month_first=False),
)
GENERIC = Layout("report", "an aged-receivables report", False, columns=_DETAIL_HEADERS)
GENERIC_SUMMARY = Layout("report-summary", "an aged-receivables summary", True)
BY_KEY = {layout.key: layout for layout in (*LAYOUTS, GENERIC, GENERIC_SUMMARY)}


# --------------------------------------------------------------------------------------
# Text, buckets, dates
# --------------------------------------------------------------------------------------


def normalise(value: Any) -> str:
    """A header or label compared loosely: lower case, single spaces, '1 - 30' as '1-30'."""
    text = "" if value is None else str(value)
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u00a0", " ").strip().lower().rstrip(":")
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s*-\s*(?=\d)", "-", text)


@dataclass(frozen=True)
class Bucket:
    """An aging bucket: its label and the fewest days (or months) overdue an amount in it can be."""

    label: str
    key: str
    days: int = 0
    months: int = 0

    def due_date(self, as_of: date) -> date:
        """The due date of an amount in this bucket on its first day overdue (not due yet: the report's date)."""
        due: date = as_of - relativedelta(months=self.months, days=self.days)
        return due


_CURRENT = {"current", "not due", "not due on", "not yet due", "at date", "future"}
_DAYS = r"(?: days?)?(?: past due| overdue| old)?"


def parse_buckets(labels: Sequence[str]) -> list[Bucket | None]:
    """Read bucket labels in the order of the report ('Older' follows the bucket before it); None: not a bucket."""
    buckets: list[Bucket | None] = []
    following = (0, 0)  # (days, months) where the next open-ended bucket starts
    for label in labels:
        text = normalise(label)
        bound = _bucket_bound(text, following)
        if bound is None:
            buckets.append(None)
            continue
        (days, months), following = bound
        key = re.sub(r"[^a-z0-9]+", "-", text.replace("<", "lt ").replace(">", "gt ").replace("+", " plus")).strip("-")
        buckets.append(Bucket(str(label).strip(), key or "bucket", days, months))
    return buckets


def _bucket_bound(text: str, following: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """(first day or month overdue, where the next bucket starts) of one label."""
    if text in _CURRENT:
        return (0, 0), (1, 0)
    if match := re.fullmatch(rf"(\d+)-(\d+){_DAYS}", text):
        return (int(match[1]), 0), (int(match[2]) + 1, 0)
    if match := re.fullmatch(rf"(\d+) ?(?:\+|or more|and over|or older|and older|or over){_DAYS}", text):
        return (int(match[1]), 0), (int(match[1]) + 1, 0)
    if match := re.fullmatch(rf"(?:>|over|more than|older than) ?(\d+){_DAYS}", text):
        return (int(match[1]) + 1, 0), (int(match[1]) + 2, 0)
    if match := re.fullmatch(rf"< ?(\d+){_DAYS}", text):  # Sage: '< 30 days', '< 60 days', ... (age by date)
        return following, (int(match[1]), 0)
    if text in ("< 1 month", "less than 1 month"):
        return following, (0, 1)
    if match := re.fullmatch(r"(\d+) months?", text):
        return (0, int(match[1])), (0, int(match[1]) + 1)
    if match := re.fullmatch(r"period (\d)", text):  # Sage 50: periods of 30 days (assumed)
        return (30 * int(match[1]), 0), (30 * int(match[1]) + 30, 0)
    if text in ("older", "over", "older than"):
        return following, following
    return None


def bucket_label(text: str) -> Bucket | None:
    """The bucket a section row ('1 - 30 days past due', 'CURRENT') names, if it names one."""
    return parse_buckets([text])[0]


_DATE_FORMATS = (
    ("%Y-%m-%d", None), ("%Y/%m/%d", None), ("%m/%d/%Y", True), ("%d/%m/%Y", False), ("%m/%d/%y", True),
    ("%d/%m/%y", False), ("%d.%m.%Y", False), ("%m-%d-%Y", True), ("%d-%m-%Y", False),
    ("%d %b %Y", None), ("%d %B %Y", None), ("%b %d, %Y", None), ("%B %d, %Y", None), ("%d-%b-%Y", None),
    ("%d-%b-%y", None), ("%b %d %Y", None), ("%d %b %y", None),
)


def _parses(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def infer_date_format(texts: Iterable[str], month_first: bool | None) -> tuple[str | None, str | None]:
    """The format every date text of a file is written in, decided from all of them (a day above 12 tells
    day from month); the layout's convention settles a file without evidence. Returns (format, why not)."""
    values = sorted({t.strip() for t in texts if t and t.strip()})
    if not values:
        return None, None
    fitting = [(fmt, order) for fmt, order in _DATE_FORMATS if all(_parses(v, fmt) for v in values)]
    if not fitting:
        counts = [(sum(_parses(v, fmt) for v in values), fmt) for fmt, _ in _DATE_FORMATS]
        best, fmt = max(counts)
        return (fmt, None) if best else (None, f"dates such as {printable(values[0])!r} are in no known format")
    orders = {order for _, order in fitting}
    if len(fitting) == 1 or orders != {True, False}:
        return fitting[0][0], None
    if month_first is not None:
        return next(fmt for fmt, order in fitting if order is month_first), None
    return None, (
        f"dates such as {printable(values[0])!r} read as day/month or month/day and no date tells which: "
        "set date_format in a mapping file"
    )


def parse_report_date(text: str, fmt: str | None, month_first: bool | None) -> date | None:
    """A date written in a title block ('As of June 30, 2026', 'As at 30 June 2026', 'As of 06/30/2026')."""
    text = re.sub(r"\s+", " ", text.strip().rstrip(".")).replace(" ,", ",")
    candidates = [fmt] if fmt else []
    candidates += [f for f, order in _DATE_FORMATS if order is None or order is month_first or month_first is None]
    for candidate in candidates:
        try:
            return datetime.strptime(text, candidate).date()
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------------------
# Recognition
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recognition:
    """Where the header of a report is, what its columns hold and which layout it is."""

    layout: Layout
    header_index: int
    header_line: int
    headers: list[str]
    columns: dict[str, int]
    buckets: list[tuple[int, Bucket]]
    total_column: int | None
    title: list[str]
    customer_from_group_rows: bool
    date_format: str | None = None
    decimal_separator: str | None = None


_KNOWN_HEADERS = {normalise(a) for aliases in ALIASES.values() for a in aliases} | {
    normalise(h) for layout in LAYOUTS for headers in layout.columns.values() for h in headers
} | {"total", "contact", "transaction type", "type", "age"}
_MAPPING_LAYOUT_KEYS = ("layout", "header_row", "skip_rows", "customer_from_group_rows")


def header_score(cells: Sequence[Any]) -> int:
    """How many cells of a row read as known headers or bucket labels."""
    texts = [normalise(c) for c in cells if isinstance(c, str) and c.strip()]
    buckets = parse_buckets(texts)
    return sum(1 for text, bucket in zip(texts, buckets) if text in _KNOWN_HEADERS or bucket is not None)


def _text_cells(row: GridRow) -> list[str]:
    return [c.strip() for c in row.cells if isinstance(c, str) and c.strip()]


def recognise(name: str, head: Sequence[GridRow], document: Mapping[str, Any] | None) -> Recognition | None:
    """Recognise a report from its first rows; None for a plain table (first row the header, no known layout)."""
    document = document or {}
    forced = any(key in document for key in _MAPPING_LAYOUT_KEYS)
    index = _header_index(name, head, document)
    if index is None:
        return None
    header = head[index]
    title = [" ".join(_text_cells(row)) for row in head[:index]]
    headers = ["" if c is None else str(c).strip() for c in header.cells]
    layout = _layout(name, title, headers, document)
    if layout is None and not title and not forced:
        return None
    layout = layout or (GENERIC_SUMMARY if _looks_summary(headers) else GENERIC)
    return _resolve_columns(name, layout, index, header.line, headers, title, document)


def _header_index(name: str, head: Sequence[GridRow], document: Mapping[str, Any]) -> int | None:
    if "header_row" in document:
        line = document["header_row"]
        for index, row in enumerate(head):
            if row.line == line:
                return index
        raise LedgerError(f"header_row: line {line} of {name} is blank, skipped or beyond the first {HEAD_ROWS} lines")
    named = {normalise(h) for h in dict(document.get("columns", {})).values()}
    scores = [header_score(row.cells) + sum(normalise(c) in named for c in row.cells if c) for row in head]
    if not scores:
        return None
    best = max(scores)
    if best < MIN_HEADER_SCORE:
        return 0 if any(key in document for key in _MAPPING_LAYOUT_KEYS) else None
    return scores.index(best)


def _layout(name: str, title: list[str], headers: list[str], document: Mapping[str, Any]) -> Layout | None:
    if "layout" in document:
        return BY_KEY[document["layout"]]
    title_text = "\n".join(normalise(t) for t in title)
    present = {normalise(h) for h in headers}
    best: tuple[int, int] = (0, 0)
    chosen = None
    for order, layout in enumerate(LAYOUTS):
        by_title = any(re.search(p, line) for p in layout.titles for line in title_text.splitlines())
        by_headers = bool(layout.signature) and set(layout.signature) <= present
        score = (3 if by_title else 0) + (2 if by_headers else 0)
        if score and (score, -order) > best:
            best, chosen = (score, -order), layout
    if chosen is not None and chosen.summary and not _looks_summary(headers):
        return None
    return chosen


def _looks_summary(headers: list[str]) -> bool:
    """A header of buckets and no date column: one row per customer."""
    present = {normalise(h) for h in headers}
    dates = present & {"date", "due date", "invoice date", "transaction date", "due_date", "date_due"}
    return not dates and sum(b is not None for b in parse_buckets(headers)) >= 2


def _resolve_columns(
    name: str, layout: Layout, index: int, line: int, headers: list[str], title: list[str],
    document: Mapping[str, Any],
) -> Recognition:
    positions = {normalise(h): i for i, h in reversed(list(enumerate(headers))) if h}
    columns: dict[str, int] = {}
    for target, header in dict(document.get("columns", {})).items():
        if normalise(header) not in positions:
            raise LedgerError(f"columns.{target}: header {printable(header)!r} is not in the header row (line {line})")
        columns[target] = positions[normalise(header)]
    buckets = [(i, b) for i, b in enumerate(parse_buckets(headers)) if b is not None and headers[i]]
    bucket_columns = {i for i, _ in buckets}
    for target in (*ALIASES, *EXTRA_FIELDS):
        if target in columns:
            continue
        generic = () if target in layout.exclude else ALIASES.get(target, (target,))
        for alias in (*layout.columns.get(target, ()), *generic):
            at = positions.get(normalise(alias))
            if at is not None and at not in columns.values() and at not in bucket_columns:
                columns[target] = at
                break
    total = positions.get("total")
    if total is not None and columns.get("amount") == total and layout.summary:
        del columns["amount"]
    return _finish(name, layout, index, line, headers, title, document, columns, buckets, total)


def _finish(
    name: str, layout: Layout, index: int, line: int, headers: list[str], title: list[str],
    document: Mapping[str, Any], columns: dict[str, int], buckets: list[tuple[int, Bucket]], total: int | None,
) -> Recognition:
    if "customer_id" not in columns and "customer_name" in columns:
        columns["customer_id"] = columns["customer_name"]
    first_blank = 0 if headers and not headers[0] and 0 not in columns.values() else None
    group = bool(document.get("customer_from_group_rows", False))
    if layout.summary:
        if "customer_id" not in columns:
            columns["customer_id"] = first_blank if first_blank is not None else 0
        if not buckets:
            raise LedgerError(f"{name}: {layout.name}: no aging bucket columns in the header (line {line})")
        return Recognition(layout, index, line, headers, columns, buckets, total, title, False)
    if "customer_id" not in columns:
        group = True
    if group and "invoice_number" not in columns and first_blank is not None:
        columns["invoice_number"] = first_blank
    if "open_amount" not in columns and "amount" not in columns and total is not None:
        columns["open_amount"] = total
    missing = [t for t in ("invoice_number", "open_amount") if t not in columns]
    if "open_amount" in missing and "amount" in columns:
        missing.remove("open_amount")
    if "due_date" not in columns and "invoice_date" not in columns:
        missing.append("due_date")
    if missing:
        shown = ", ".join(printable(h) for h in headers[:20] if h)
        raise LedgerError(
            f"{name}: {layout.name} (header on line {line}): no column for {', '.join(missing)} "
            f"(headers: {shown}); give a mapping file with --mapping (odoo-collections mapping suggest {name})"
        )
    return Recognition(layout, index, line, headers, columns, buckets, total, title, group)


# --------------------------------------------------------------------------------------
# Reading a recognised report
# --------------------------------------------------------------------------------------


@dataclass
class ReportInfo:
    """What was recognised in a report, for the output: layout, date, counts and the cross-check."""

    layout: str
    name: str
    summary: bool
    header_line: int
    as_of: date | None
    as_of_from_report: bool
    date_format: str | None
    file_total: Decimal
    total_row: Decimal | None
    items: int = 0
    customers: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def total_mismatch(self) -> Decimal | None:
        """Report total minus the sum of the rows read (loaded and rejected), when they differ."""
        if self.total_row is None or abs(self.total_row - self.file_total) < Decimal("0.005"):
            return None
        return self.total_row - self.file_total

    def describe(self) -> str:
        """'Xero Aged Receivables Detail, as of 2026-06-30, 212 items, 48 customers, total 181,420.10'."""
        when = f"as of {self.as_of}" if self.as_of_from_report else "no 'As of' date in the report"
        return (
            f"{self.name}, {when}, {self.items} items, {self.customers} customers, total {self.file_total:,.2f}"
        )

    def to_json(self) -> dict[str, Any]:
        """The machine-readable form (amounts as text)."""
        mismatch = self.total_mismatch
        return {
            "layout": self.layout,
            "name": self.name,
            "summary": self.summary,
            "as_of": self.as_of.isoformat() if self.as_of and self.as_of_from_report else None,
            "header_line": self.header_line,
            "date_format": self.date_format,
            "items": self.items,
            "customers": self.customers,
            "total": str(self.file_total),
            "total_row": None if self.total_row is None else str(self.total_row),
            "total_mismatch": None if mismatch is None else str(mismatch),
            "notes": list(self.notes),
        }


_GRAND_TOTAL = re.compile(
    r"(grand )?totals?( aged receivables?| receivables?| accounts receivable| outstanding| debtors)?( \(\w+\))?"
)
_SUBTOTAL = re.compile(r"(sub-?)?total\b.*")
_GROUP_TOTAL = re.compile(r"(sub-?total|total for|total -|total:).*")
"""A subtotal in a summary ('Total for Parent'); 'Total Fitness Ltd' there is a customer."""
_FOOTER = re.compile(
    r"((accrual|cash) basis\b.*|.*\b\d{1,2}:\d{2}( ?[ap]m)?\b.*(gmt|utc|[ap]m).*|percentage of total|page \d+.*)"
)
_AS_OF = re.compile(r"\bas (?:of|at)(?: date)?\s*:?\s*(.*)$", re.IGNORECASE)
_CREDIT_TYPES = re.compile(r"credit|payment|overpayment|prepayment|unapplied", re.IGNORECASE)


@dataclass
class _Reading:
    """State while the rows of a report are read."""

    customer: str = ""
    section: Bucket | None = None
    total_row: Decimal | None = None
    ended: bool = False
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    ages: dict[int, int] = field(default_factory=dict)
    aged: int = 0
    """Rows dated by their age or section because the report gives no due date."""


def read_report(
    recognition: Recognition, grid: Iterable[GridRow], document: Mapping[str, Any] | None, default_as_of: date
) -> tuple[list[tuple[int, dict[str, Any]]], ColumnMapping, ReportInfo]:
    """The ledger rows of a recognised report, the mapping that reads them and what was recognised."""
    document = document or {}
    reading = _Reading()
    for row in grid:
        if row.line > recognition.header_line:
            _read_row(recognition, row, reading)
    date_format, date_problem = _date_format(recognition, reading.rows, document)
    as_of = _as_of(recognition, date_format)
    on = as_of or default_as_of
    if recognition.layout.summary:
        rows = _summary_items(recognition, reading.rows, on)
    else:
        rows = _dated(reading, on, date_format)
    fields = sorted({key for _, values in rows for key in values} | {"customer_id", "invoice_number", "due_date",
                                                                     "amount"})
    mapping = ColumnMapping({f: f for f in fields}, date_format, document.get("decimal_separator"),
                            document.get("currency"))
    info = ReportInfo(
        recognition.layout.key, recognition.layout.name, recognition.layout.summary, recognition.header_line, on,
        as_of is not None, date_format, _file_total(rows, mapping), reading.total_row,
    )
    info.notes += _notes(recognition, info, date_problem, reading.aged)
    if date_problem and not date_format:
        rows = [(line, _undated(values, date_problem)) for line, values in rows]
    return rows, mapping, info


def _undated(values: dict[str, Any], problem: str) -> dict[str, Any]:
    """A row whose text dates cannot be read without knowing the file's date format is rejected with why."""
    for key in ("due_date", "invoice_date"):
        value = values.get(key)
        if isinstance(value, str) and value.strip():
            try:
                date.fromisoformat(value.strip()[:10])
            except ValueError:
                return UnreadableRow(values, f"{key}: {problem}")
    return values


def _cell(row: GridRow, column: int | None) -> Any:
    if column is None or column >= len(row.cells):
        return ""
    value = row.cells[column]
    return "" if value is None else value


_DATE_LIKE = re.compile(
    r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{2,4}|[A-Za-z]{3,9} \d{1,2},? \d{4}"
)


def _looks_date(value: Any) -> bool:
    """Whether a cell holds a date (a date cell, or text such as '06/30/2026', '30 Jun 2026', 'Jun 30, 2026')."""
    if isinstance(value, (date, datetime)):
        return True
    return isinstance(value, str) and bool(_DATE_LIKE.search(value))


def _is_amount(value: Any) -> bool:
    """Whether a cell holds money (a number, or text such as '$1,234.56' or '(12.00)'; not a date)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, Decimal)):
        return True
    if not isinstance(value, str) or not re.search(r"\d", value) or re.search(r"[/:]", value):
        return False
    try:
        parse_amount(value, None)
    except ValueError:
        return False
    return True


def _is_zero(value: Any) -> bool:
    if value in ("", None):
        return True
    try:
        return parse_amount(value, None) == 0
    except ValueError:
        return False


def _read_row(recognition: Recognition, row: GridRow, reading: _Reading) -> None:
    if reading.ended:
        return
    texts = _text_cells(row)
    first = normalise(texts[0]) if texts else ""
    cols = recognition.columns
    if recognition.layout.summary:
        _read_summary_row(recognition, row, reading, first)
        return
    dated = any(_looks_date(_cell(row, cols.get(f))) for f in ("due_date", "invoice_date"))
    invoice = cols.get("invoice_number")
    text_column = next((i for i, c in enumerate(row.cells) if isinstance(c, str) and c.strip()), None)
    numbered = invoice is not None and invoice != text_column and _cell(row, invoice) not in ("", None)
    if row.unreadable is None and not dated and not numbered and first:
        _read_label_row(recognition, row, reading, first, texts[0])
        return
    values = {f: _cell(row, c) for f, c in cols.items()}
    if recognition.customer_from_group_rows and not values.get("customer_id"):
        values["customer_id"] = reading.customer
    if reading.section is not None and values.get("age") in ("", None):
        reading.ages[row.line] = reading.section.days
    reading.rows.append((row.line, _signed(values)))


def _read_label_row(recognition: Recognition, row: GridRow, reading: _Reading, first: str, label: str) -> None:
    """A row without dates: a total, subtotal, footer, bucket section or customer group row."""
    has_amounts = any(_is_amount(c) and not _is_zero(c) for c in row.cells[1:])
    if _GRAND_TOTAL.fullmatch(first):
        reading.total_row = _total_value(recognition, row)
        reading.ended = True
    elif _FOOTER.fullmatch(first):
        return
    elif _SUBTOTAL.fullmatch(first) and (has_amounts or not recognition.customer_from_group_rows) and not (
        recognition.layout.group_rows_have_amounts
    ):
        if recognition.customer_from_group_rows:
            reading.customer = ""
    elif (bucket := bucket_label(first)) is not None and not has_amounts:
        reading.section = bucket
    elif recognition.customer_from_group_rows:
        reading.customer = label


def _read_summary_row(recognition: Recognition, row: GridRow, reading: _Reading, first: str) -> None:
    name = _cell(row, recognition.columns["customer_id"])
    label = normalise(name)
    if _GRAND_TOTAL.fullmatch(label or first):
        reading.total_row = _total_value(recognition, row)
        reading.ended = True
        return
    if not label or _FOOTER.fullmatch(label) or _GROUP_TOTAL.fullmatch(label):
        return
    values = {f: _cell(row, c) for f, c in recognition.columns.items()}
    values["_buckets"] = {i: _cell(row, i) for i, _ in recognition.buckets}
    if not all(_is_zero(v) for v in values["_buckets"].values()):
        reading.rows.append((row.line, values))


def _total_value(recognition: Recognition, row: GridRow) -> Decimal | None:
    cols = recognition.columns
    for column in (recognition.total_column, cols.get("open_amount"), cols.get("amount")):
        value = _cell(row, column)
        if value not in ("", None):
            try:
                return parse_amount(value, None)
            except ValueError:
                return None
    amounts = [c for c in row.cells if _is_amount(c)]
    try:
        return parse_amount(amounts[-1], None) if amounts else None
    except ValueError:
        return None


def _signed(values: dict[str, Any]) -> dict[str, Any]:
    """Credit notes and unapplied payments as negative open items, whatever sign the report prints."""
    kind = str(values.get("type") or "")
    if not _CREDIT_TYPES.search(kind):
        return values
    for key in ("amount", "open_amount"):
        value = values.get(key)
        if isinstance(value, (int, float)) and value > 0:
            values[key] = -value
        elif isinstance(value, str) and value.strip() and not value.strip().startswith(("-", "(")):
            values[key] = "-" + value.strip()
    return values


def _date_format(
    recognition: Recognition, rows: list[tuple[int, dict[str, Any]]], document: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    if document.get("date_format"):
        return document["date_format"], None
    texts = [v for _, values in rows for k in ("due_date", "invoice_date") if isinstance(v := values.get(k), str)]
    return infer_date_format(texts, recognition.layout.month_first)


def _as_of(recognition: Recognition, date_format: str | None) -> date | None:
    for text in recognition.title:
        match = _AS_OF.search(text)
        if match:
            found = parse_report_date(match[1], date_format, recognition.layout.month_first)
            if found is not None:
                return found
    return None


def _dated(reading: _Reading, as_of: date, date_format: str | None) -> list[tuple[int, dict[str, Any]]]:
    """Detail rows with a due date: the report's, else the age or section counted back, else the invoice date."""
    rows = []
    for line, values in reading.rows:
        if values.get("due_date") in ("", None):
            age = _age(values.get("age"), reading.ages.get(line))
            if age is not None:
                values["due_date"] = as_of - relativedelta(days=age)
                reading.aged += 1
            elif values.get("invoice_date") not in ("", None):
                values["due_date"] = values["invoice_date"]
        if values.get("invoice_number") in ("", None) and values.get("open_amount", values.get("amount")):
            values["invoice_number"] = _anonymous_id(values, date_format)
        if values.get("amount") in ("", None):
            values["amount"] = values.get("open_amount", "")
        values.pop("age", None)
        values.pop("type", None)
        rows.append((line, values))
    return rows


def _age(value: Any, section_days: int | None) -> int | None:
    match = re.match(r"\s*(-?\d+)", str(value or ""))
    return int(match[1]) if match else section_days


def _anonymous_id(values: Mapping[str, Any], date_format: str | None) -> str:
    """An unapplied payment has no number: name it by type, date and amount ('Payment 2026-06-18 -500.00'),
    the same in a CSV or an XLSX export and stable while it stays open."""
    day: Any = values.get("invoice_date") or values.get("due_date") or ""
    if isinstance(day, str) and date_format:
        with contextlib.suppress(ValueError):
            day = datetime.strptime(day.strip(), date_format).date()
    amount: Any = values.get("open_amount") or values.get("amount") or ""
    with contextlib.suppress(ValueError):
        amount = f"{parse_amount(amount, None):.2f}"
    kind = str(values.get("type") or "item").strip()
    return " ".join(str(part).strip() for part in (kind, day.isoformat() if isinstance(day, date) else day, amount))


def _summary_items(
    recognition: Recognition, rows: list[tuple[int, dict[str, Any]]], as_of: date
) -> list[tuple[int, dict[str, Any]]]:
    """One open item per customer and bucket, due on the bucket's first day overdue."""
    buckets = dict(recognition.buckets)
    items = []
    for line, values in rows:
        customer = str(values.get("customer_id") or "").strip()
        for column, amount in values["_buckets"].items():
            if _is_zero(amount):
                continue
            bucket = buckets[column]
            item = {k: v for k, v in values.items() if k != "_buckets"}
            item.update(customer_id=customer, invoice_number=f"{customer}/{bucket.key}",
                        due_date=bucket.due_date(as_of), amount=amount)
            item.setdefault("customer_name", customer)
            items.append((line, item))
    return items


def _file_total(rows: list[tuple[int, dict[str, Any]]], mapping: ColumnMapping) -> Decimal:
    separator = mapping.decimal_separator or decide_decimal_mark(rows, mapping)
    total = Decimal(0)
    for _, values in rows:
        value = values.get("open_amount") if values.get("open_amount") not in ("", None) else values.get("amount")
        try:
            total += parse_amount(value, separator)
        except (ValueError, TypeError):
            continue
    return total


def _notes(recognition: Recognition, info: ReportInfo, date_problem: str | None, aged: int) -> list[str]:
    notes = []
    if recognition.layout.summary:
        notes.append(
            "a summary report has no invoices: one open item per customer and bucket, due on the bucket's "
            f"first day overdue counted back from {info.as_of}"
        )
    if not info.as_of_from_report and (recognition.layout.summary or aged):
        notes.append(f"the report gives no 'As of' date: ages are counted back from the planning date {info.as_of}")
    if date_problem:
        notes.append(date_problem)
    mismatch = info.total_mismatch
    if mismatch is not None:
        notes.append(
            f"the report's total row says {info.total_row:,.2f} but its rows add up to {info.file_total:,.2f} "
            f"(difference {mismatch:,.2f})"
        )
    return notes


def skip_rows(grid: Iterator[GridRow], document: Mapping[str, Any] | None) -> Iterator[GridRow]:
    """The grid without the lines a mapping skips (``skip_rows``: the first N lines, or a list of lines)."""
    skip = (document or {}).get("skip_rows")
    if skip is None:
        return grid
    if isinstance(skip, int):
        return (row for row in grid if row.line > skip)
    lines = set(skip)
    return (row for row in grid if row.line not in lines)
