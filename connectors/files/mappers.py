"""Ledger rows -> engine types: column mapping, value parsing, instalments, problems by line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from collections_engine.types import Allocation, Customer, Payment, ReceivableItem

from ..common.errors import LedgerError
from .client import UnreadableRow

REQUIRED = ("customer_id", "invoice_number", "due_date", "amount")
AMOUNT_FIELDS = ("amount", "open_amount", "paid_amount", "credit_limit")
MAX_AMOUNT = Decimal(10) ** 15
MAX_DECIMALS = 6
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2199, 12, 31)
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customer_id",
        "customer id",
        "customer",
        "customer code",
        "account",
        "cliente",
        "código cliente",
        "codigo cliente",
        "id cliente",
        "nif",
        "rfc",
    ),
    "customer_name": (
        "customer_name",
        "customer name",
        "name",
        "company",
        "razón social",
        "razon social",
        "nombre",
        "nombre cliente",
    ),
    "invoice_number": (
        "invoice_number",
        "invoice",
        "invoice no",
        "invoice no.",
        "invoice #",
        "num",
        "document",
        "document number",
        "factura",
        "número",
        "numero",
        "nº factura",
        "folio",
    ),
    "invoice_date": (
        "invoice_date",
        "invoice date",
        "date",
        "issue date",
        "fecha",
        "fecha factura",
        "fecha emisión",
        "fecha emision",
    ),
    "due_date": ("due_date", "due date", "due", "vencimiento", "fecha vencimiento", "fecha de vencimiento"),
    "amount": ("amount", "total", "invoice amount", "original amount", "importe", "importe total", "monto"),
    "open_amount": (
        "open_amount",
        "open amount",
        "open balance",
        "balance",
        "balance due",
        "amount due",
        "residual",
        "saldo",
        "pendiente",
        "importe pendiente",
        "saldo pendiente",
    ),
    "paid_amount": ("paid_amount", "paid", "amount paid", "pagado", "cobrado", "importe cobrado"),
    "currency": ("currency", "moneda", "divisa", "curr"),
    "settled_date": (
        "settled_date",
        "settled date",
        "paid date",
        "paid_date",
        "payment date",
        "fecha pago",
        "fecha cobro",
        "fecha de pago",
    ),
    "disputed": ("disputed", "dispute", "in dispute", "en disputa", "disputa", "litigio"),
    "delivery": (
        "delivery",
        "invoice delivery",
        "sent by",
        "paperlessbill",
        "paperless bill",
        "billing method",
        "envío",
        "envio",
        "forma de envío",
        "forma de envio",
    ),
    "email": ("email", "e-mail", "correo", "correo electrónico", "correo electronico"),
    "phone": ("phone", "telephone", "teléfono", "telefono"),
    "mobile": ("mobile", "cell", "móvil", "movil", "celular"),
    "country": ("country", "país", "pais", "country code"),
    "language": ("language", "lang", "idioma"),
    "credit_limit": ("credit_limit", "credit limit", "límite de crédito", "limite de credito", "límite crédito"),
    "collector": ("collector", "salesperson", "gestor", "cobrador", "responsable"),
    "timezone": ("timezone", "time zone", "zona horaria"),
}
TARGETS = tuple(ALIASES)
_DELIVERY = {
    "paper": "paper",
    "post": "paper",
    "mail": "paper",
    "letter": "paper",
    "papel": "paper",
    "correo postal": "paper",
    "electronic": "electronic",
    "paperless": "electronic",
    "email": "electronic",
    "e-mail": "electronic",
    "edi": "electronic",
    "portal": "electronic",
    "electrónica": "electronic",
    "electronica": "electronic",
    "electrónico": "electronic",
    "electronico": "electronic",
}
_TRUE = {"yes", "y", "true", "1", "x", "sí", "si", "s"}
_FALSE = {"no", "n", "false", "0", ""}
# Amounts that need no cleaning: digits and a decimal point (at most 15 digits before it, 6 after); without a
# known decimal mark only those that cannot be read the other way (no point, or 1-2 decimals).
_PLAIN_POINT = re.compile(r"-?\d{1,15}(\.\d{1,6})?")
_PLAIN_UNAMBIGUOUS = re.compile(r"-?\d{1,15}(\.\d{1,2})?")
_SYMBOLS = re.compile(r"[€$£¥\s\u00a0']|[A-Z]{3}")


@dataclass(frozen=True)
class ColumnMapping:
    """Which header feeds each field, and how values are written."""

    columns: Mapping[str, str]
    date_format: str | None = None
    decimal_separator: str | None = None
    currency: str | None = None
    guess_decimal_mark: bool = True


@dataclass(frozen=True)
class RowProblem:
    """A ledger row that could not be loaded."""

    line: int
    reason: str
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class MappedLedger:
    """The engine records a ledger maps to, and the rows it could not."""

    customers: list[Customer]
    items: list[ReceivableItem]
    payments: list[Payment]
    problems: list[RowProblem]
    rows_read: int
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """(customer id, invoice number) of every rejected row, '' where the row does not say."""
    report: Any = None
    """What was recognised when the file is an accounting report (``layouts.ReportInfo``), else None."""

    @property
    def fully_identified(self) -> bool:
        """Whether every rejected row names at least its customer or its invoice."""
        return all(customer or invoice for customer, invoice in self.rejected)


def load_mapping(path: Path) -> dict[str, Any]:
    """Read a mapping file (JSON) and check it names only known fields, headers as text and a usable date format."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise LedgerError(f"{path}: cannot read the mapping: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise LedgerError(f"{path}: the mapping is not UTF-8 text") from err
    except json.JSONDecodeError as err:
        raise LedgerError(f"{path}: the mapping is not valid JSON ({err.msg}, line {err.lineno})") from err
    if not isinstance(document, dict):
        raise LedgerError(f"{path}: the mapping must be a JSON object with a \"columns\" object")
    allowed = {"columns", "date_format", "decimal_separator", "currency", *REPORT_KEYS}
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise LedgerError(f"{path}: unknown mapping keys: {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    columns = document.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) and v for v in columns.values()):
        raise LedgerError(f"{path}: columns: must map field names to header names (text)")
    bad = sorted(set(columns) - set(TARGETS))
    if bad:
        raise LedgerError(f"{path}: columns: unknown target fields: {', '.join(bad)} (known: {', '.join(TARGETS)})")
    if document.get("decimal_separator") not in (None, ".", ","):
        raise LedgerError(f"{path}: decimal_separator: must be '.' or ','")
    currency = document.get("currency")
    if currency is not None and not (isinstance(currency, str) and re.fullmatch(r"[A-Za-z]{3}", currency)):
        raise LedgerError(f"{path}: currency: must be an ISO 4217 code such as EUR")
    _check_date_format(path, document.get("date_format"))
    _check_report_keys(path, document)
    return dict(document)


REPORT_KEYS = ("header_row", "skip_rows", "sheet", "customer_from_group_rows", "layout")
"""Mapping keys for an accounting report that detection cannot guess (see ``layouts``)."""


def _check_report_keys(path: Path, document: Mapping[str, Any]) -> None:
    """Each report key has one type; the message names the key."""
    from .layouts import BY_KEY

    header_row, skip = document.get("header_row"), document.get("skip_rows")
    if header_row is not None and (type(header_row) is not int or header_row < 1):
        raise LedgerError(f"{path}: header_row: must be the line number of the header (1 for the first line)")
    lines = skip if isinstance(skip, list) else [skip]
    if skip is not None and not all(type(n) is int and n >= (0 if skip is n else 1) for n in lines):
        raise LedgerError(f"{path}: skip_rows: must be a number of lines (e.g. 4) or a list of line numbers")
    if "sheet" in document and not (isinstance(document["sheet"], str) and document["sheet"].strip()):
        raise LedgerError(f"{path}: sheet: must be the name of a sheet of the workbook")
    if "customer_from_group_rows" in document and not isinstance(document["customer_from_group_rows"], bool):
        raise LedgerError(f"{path}: customer_from_group_rows: must be true or false")
    layout = document.get("layout")
    if layout is not None and layout not in BY_KEY:
        shown = str(layout)[:40] if isinstance(layout, str) else type(layout).__name__
        raise LedgerError(f"{path}: layout: {shown!r} is not a known layout (known: {', '.join(BY_KEY)})")


def _check_date_format(path: Path, fmt: Any) -> None:
    """A date format must read back day, month and year (``%d/%m/%Y``), or it would load wrong dates."""
    if fmt is None:
        return
    sample = date(2026, 1, 31)
    try:
        ok = isinstance(fmt, str) and datetime.strptime(sample.strftime(fmt), fmt).date() == sample
    except ValueError:
        ok = False
    if not ok:
        raise LedgerError(f"{path}: date_format: {str(fmt)[:40]!r} must give day, month and year, e.g. '%d/%m/%Y'")


def printable(text: str, limit: int = 40) -> str:
    """A header or value fit for a message: control characters and undecodable bytes shown as '?', cut short."""
    clean = "".join(c if c.isprintable() and c != "\ufffd" else "?" for c in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def resolve_mapping(headers: Iterable[str], document: Mapping[str, Any] | None) -> ColumnMapping:
    """Match headers to fields: the mapping file first, then the known aliases (case-insensitive)."""
    document = document or {}
    explicit: dict[str, str] = dict(document.get("columns", {}))
    for target, header in explicit.items():
        if header not in headers:
            raise LedgerError(f"columns.{target}: header {printable(header)!r} is not in the file")
    columns = guess_columns(headers, explicit)
    missing = [target for target in REQUIRED if target not in columns]
    if missing:
        shown = [printable(h) for h in list(headers)[:20]]
        raise LedgerError(
            f"no column for {', '.join(missing)} (headers: {', '.join(shown)}); give a mapping file with --mapping"
        )
    return ColumnMapping(
        columns, document.get("date_format"), document.get("decimal_separator"), document.get("currency")
    )


def guess_columns(headers: Iterable[str], explicit: Mapping[str, str] | None = None) -> dict[str, str]:
    """The header of each field: the explicit ones, then the known aliases (case-insensitive), each header once."""
    explicit = explicit or {}
    by_lower = {h.strip().lower(): h for h in headers if h}
    columns: dict[str, str] = {}
    for target in TARGETS:
        if target in explicit:
            columns[target] = explicit[target]
            continue
        for alias in ALIASES[target]:
            if alias in by_lower and by_lower[alias] not in columns.values():
                columns[target] = by_lower[alias]
                break
    return columns


def decide_decimal_mark(rows: Iterable[tuple[int, Mapping[str, Any]]], mapping: ColumnMapping) -> str | None:
    """The decimal mark the amounts of the whole file agree on ('.' or ','), None without evidence or when they
    disagree: '1.234' alone could be either, '1.234,56' or '12,5' settles it for every row."""
    headers = [mapping.columns[t] for t in AMOUNT_FIELDS if t in mapping.columns]
    votes: set[str] = set()
    # what an amount shows depends on its shape only ('1.234,56' as '0.000,00'): each shape is judged once
    shapes: dict[str, str | None] = {}
    for _number, raw in rows:
        for header in headers:
            value = raw.get(header)
            if isinstance(value, str) and value:
                shape = value.translate(_ZERO_DIGITS)
                if shape in shapes:
                    mark = shapes[shape]
                else:
                    mark = _mark_evidence(_SYMBOLS.sub("", shape))
                    if len(shapes) < _MAX_SHAPES:
                        shapes[shape] = mark
                if mark is not None:
                    votes.add(mark)
        if len(votes) > 1:
            return None
    return votes.pop() if votes else None


_ZERO_DIGITS = str.maketrans("123456789", "000000000")
_MAX_SHAPES = 10_000


def _mark_evidence(text: str) -> str | None:
    """Which decimal mark one amount shows, or None when it shows none ('12') or could be either ('1.234')."""
    text = text.strip("()+-")
    if "," in text and "." in text:
        return "," if text.rfind(",") > text.rfind(".") else "."
    for mark, other in ((",", "."), (".", ",")):
        if mark not in text:
            continue
        if text.count(mark) > 1:
            return other if re.fullmatch(rf"\d{{1,3}}(\{mark}\d{{3}})+", text) else None
        if re.fullmatch(rf"\d*\{mark}(\d{{1,2}}|\d{{4,}})", text):
            return mark
    return None


def parse_date(value: Any, fmt: str | None) -> date:
    """Parse a date cell: a real date, ISO text, or text in the mapping's format."""
    if isinstance(value, datetime):
        return _plausible(value.date())
    if isinstance(value, date):
        return _plausible(value)
    text = str(value).strip()
    if not text:
        raise ValueError("missing")
    return _parse_date_text(text, fmt)


@lru_cache(maxsize=8192)
def _parse_date_text(text: str, fmt: str | None) -> date:
    """A date in text (a ledger repeats few distinct dates: each is parsed once)."""
    try:
        parsed = datetime.strptime(text, fmt).date() if fmt else date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{printable(text)!r} is not a date (expected {fmt or 'YYYY-MM-DD'})") from None
    return _plausible(parsed)


def _plausible(day: date) -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"{day.isoformat()} is outside {EARLIEST_DATE.year}-{LATEST_DATE.year}")
    return day


def parse_amount(value: Any, separator: str | None, *, guess: bool = True) -> Decimal:
    """Parse an amount: numbers, '1.234,56', '1,234.56', '(12.00)', currency symbols stripped.

    Without a ``separator`` the mark is guessed per value, or (``guess=False``) a value that could be read
    either way ('1.234') is refused. Amounts beyond 10^15 or with more than 6 decimals are refused.
    """
    if type(value) is float:
        text = repr(value)
        if _PLAIN_POINT.fullmatch(text):
            return Decimal(text)  # the common spreadsheet float, '4979.54': within every limit by its shape
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _sane(Decimal(str(round(value, MAX_DECIMALS))), value)  # a spreadsheet float: drop binary noise
    if isinstance(value, str) and ((separator == "." and _PLAIN_POINT.fullmatch(value))
                                   or (separator is None and _PLAIN_UNAMBIGUOUS.fullmatch(value))):
        return Decimal(value)  # the common case, '-1234.56': within every limit by its shape
    text = _SYMBOLS.sub("", str(value))
    if not text:
        raise ValueError("missing")
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()")
    if separator is None and not guess and _mark_evidence(text) is None and ("," in text or "." in text):
        raise ValueError(
            f"{printable(str(value))!r} is ambiguous (decimal mark or thousands separator?): "
            "set decimal_separator in a mapping file"
        )
    decimal_mark = separator or _guess_decimal_mark(text)
    thousands = "," if decimal_mark == "." else "."
    text = text.replace(thousands, "").replace(decimal_mark, ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{printable(str(value))!r} is not an amount") from None
    return -_sane(amount, value) if negative else _sane(amount, value)


def _sane(amount: Decimal, value: Any) -> Decimal:
    if not amount.is_finite():
        raise ValueError(f"{printable(str(value))!r} is not an amount")
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"{printable(str(value))!r} is too large (at most 15 digits before the decimal mark)")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise ValueError(f"{printable(str(value))!r} has more than {MAX_DECIMALS} decimals")
    return amount


def _guess_decimal_mark(text: str) -> str:
    if "," in text and "." in text:
        return "," if text.rfind(",") > text.rfind(".") else "."
    if "," in text:
        return "," if re.search(r",\d{1,2}$", text) else "."
    return "."


def parse_flag(value: Any) -> bool:
    """Parse yes/no, true/false, 1/0, sí/no."""
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not yes or no")


def parse_delivery(value: Any) -> str:
    """Parse how an invoice was sent: 'paper' (paper, post, mail, letter, papel) or 'electronic' (electronic,
    paperless, email, EDI, portal, electrónica); empty is unknown."""
    text = str(value).strip().lower()
    if not text:
        return ""
    if text in _DELIVERY:
        return _DELIVERY[text]
    raise ValueError(f"{printable(str(value))!r} is not paper or electronic")


@dataclass(slots=True)
class _Line:
    number: int
    raw: Mapping[str, Any] | None
    """The row, kept only while it may be needed (the first line of each customer): ``map_rows``."""
    customer_id: str
    invoice: str
    issue: date
    due: date
    amount: Decimal
    residual: Decimal
    currency: str
    settled: date | None
    disputed: bool
    delivery: str


def _value(raw: Mapping[str, Any], mapping: ColumnMapping, target: str) -> Any:
    header = mapping.columns.get(target)
    return raw.get(header, "") if header else ""


def _text(raw: Mapping[str, Any], mapping: ColumnMapping, target: str) -> str:
    value = _value(raw, mapping, target)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _present(value: Any) -> bool:
    """Whether a cell holds anything (what ``_LineParser.text`` would make non-empty), without making text of
    a date or a number."""
    return bool(value.strip()) if type(value) is str else value is not None and value != ""


def _same_cell(value: Any, other: Any) -> bool:
    """Whether two cells hold the same value as written ('12.50' and ' 12.50', or the same number)."""
    if value == other:
        return True
    return type(value) is str and type(other) is str and value.strip() == other.strip()


class _LineParser:
    """Parses the rows of one mapping: the headers of each field are looked up once, not per row."""

    def __init__(self, mapping: ColumnMapping, default_currency: str) -> None:
        self.mapping = mapping
        self.default_currency = default_currency
        self.headers = {target: mapping.columns.get(target) or None for target in TARGETS}
        self._currencies: set[str] = set()

    def text(self, raw: Mapping[str, Any], target: str) -> str:
        """A field's cell as trimmed text ('' when the field has no column or the cell is empty)."""
        header = self.headers[target]
        if not header:
            return ""
        value = raw.get(header, "")
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    def parse(self, number: int, raw: Mapping[str, Any]) -> _Line:
        """Parse one row; raise ValueError('field: reason') when it cannot be loaded."""
        if isinstance(raw, UnreadableRow):
            raise ValueError(raw.reason)
        mapping, text, headers = self.mapping, self.text, self.headers
        get: Callable[[str | None, Any], Any] = raw.get  # type: ignore[assignment]  # None: no column
        customer_id, invoice = text(raw, "customer_id"), text(raw, "invoice_number")
        if not customer_id or len(customer_id) > 120:
            raise ValueError("customer_id: missing" if not customer_id else "customer_id: longer than 120 characters")
        if not invoice or len(invoice) > 190:
            raise ValueError("invoice_number: missing" if not invoice else "invoice_number: longer than 190 characters")
        fmt, separator, guess = mapping.date_format, mapping.decimal_separator, mapping.guess_decimal_mark
        # each field's cell is read with raw.get(header or None, ''): a row's keys are its headers, never None
        field = "due_date"
        try:
            due = parse_date(get(headers["due_date"], ""), fmt)
            field = "invoice_date"
            issued = get(headers["invoice_date"], "")
            issue = parse_date(issued, fmt) if _present(issued) else due
            field = "amount"
            amount_value = get(headers["amount"], "")
            amount = parse_amount(amount_value, separator, guess=guess)
        except ValueError as err:
            raise ValueError(f"{field}: {err}") from None
        if amount == 0:
            raise ValueError("amount: is zero")
        try:
            field = "settled_date"
            settled_value = get(headers["settled_date"], "")
            settled = parse_date(settled_value, fmt) if _present(settled_value) else None
            open_value, paid_value = get(headers["open_amount"], ""), get(headers["paid_amount"], "")
            if _present(open_value):  # an unpaid row's open amount is its amount: one Decimal for both
                field = "open_amount"
                residual = (amount if _same_cell(open_value, amount_value)
                            else parse_amount(open_value, separator, guess=guess))
            elif _present(paid_value):
                field = "paid_amount"
                residual = amount - parse_amount(paid_value, separator, guess=guess)
            else:
                residual = Decimal(0) if settled else amount
        except ValueError as err:
            raise ValueError(f"{field}: {err}") from None
        if abs(residual) > abs(amount) or (residual != 0 and (residual < 0) != (amount < 0)):
            raise ValueError(f"open amount {residual} does not fit the amount {amount} (paid more than invoiced?)")
        currency = (text(raw, "currency") or mapping.currency or self.default_currency).upper()
        if currency not in self._currencies:
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise ValueError(f"currency: {currency!r} is not an ISO 4217 code")
            self._currencies.add(currency)
        try:
            field = "disputed"
            disputed_value = get(headers["disputed"], "")
            disputed = parse_flag(disputed_value) if _present(disputed_value) else False
            field = "delivery"
            delivery = parse_delivery(get(headers["delivery"], "")) if headers["delivery"] else ""
        except ValueError as err:
            raise ValueError(f"{field}: {err}") from None
        if issue > due:
            raise ValueError(f"due_date: {due} is before the invoice date {issue}")
        return _Line(number, raw, customer_id, invoice, issue, due, amount, residual, currency, settled, disputed,
                     delivery)


def _identity(raw: Mapping[str, Any], mapping: ColumnMapping) -> tuple[str, str]:
    """The customer id and invoice number a row names ('' when it names none)."""
    return _text(raw, mapping, "customer_id"), _text(raw, mapping, "invoice_number")


def _customer(line: _Line, mapping: ColumnMapping) -> Customer:
    raw = line.raw
    assert raw is not None, "map_rows keeps or reads again the first row of every customer"
    text = {target: _text(raw, mapping, target) or None for target in ALIASES}
    limit = None
    if text["credit_limit"]:
        try:
            limit = parse_amount(text["credit_limit"], mapping.decimal_separator, guess=mapping.guess_decimal_mark)
        except ValueError:
            limit = None
    country = text["country"].upper() if text["country"] and re.fullmatch(r"[A-Za-z]{2}", text["country"]) else None
    return Customer(
        id=line.customer_id,
        name=text["customer_name"] or line.customer_id,
        country=country,
        timezone=text["timezone"],
        email=text["email"],
        phone=text["phone"],
        mobile=text["mobile"],
        language=text["language"],
        credit_limit=limit,
        collector=text["collector"],
    )


def map_rows(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    mapping: ColumnMapping,
    default_currency: str,
    *,
    reread: Callable[[], Iterable[tuple[int, Mapping[str, Any]]]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> MappedLedger:
    """Map every row; bad rows become problems with their line number and the good ones still load.

    Without a decimal separator in the mapping, the whole file's amounts decide it (``decide_decimal_mark``).
    The other rows of an invoice with a rejected row are held back too: its instalments are numbered by
    due date, so loading only some of them would renumber them.

    ``reread`` gives the same rows again from the start (the file read anew): then no row is kept once mapped
    - the amounts are decided on ``rows`` and mapped from a second reading, and the few rows a problem or a
    customer needs again are looked up in a third - so memory holds the ledger, not the file. Without it
    ``rows`` is read once and kept. ``progress`` is called with the number of rows mapped so far.
    """
    listed: list[tuple[int, Mapping[str, Any]]] | None = None
    if mapping.decimal_separator is None:
        if reread is None:
            rows = listed = list(rows)
        decided = decide_decimal_mark(rows, mapping)
        mapping = replace(mapping, decimal_separator=decided, guess_decimal_mark=False)
        if reread is not None:
            rows = reread()
    elif reread is None:
        rows = listed = list(rows)
    source = _Source(listed, reread)
    problems: list[RowProblem] = []
    lines: list[_Line] = []
    parse = _LineParser(mapping, default_currency).parse
    first_lines: set[str] = set()
    read = 0
    for number, raw in rows:
        read += 1
        if progress is not None and read % 500 == 0:
            progress(read)
        try:
            line = parse(number, raw)
        except ValueError as err:
            problems.append(RowProblem(number, str(err), dict(raw)))
            continue
        if line.customer_id in first_lines:
            line.raw = None  # looked up again only if a problem or the customer needs it
        else:
            first_lines.add(line.customer_id)
        lines.append(line)
    lines = _hold_back_invoices_with_rejected_rows(lines, problems, mapping, source)
    founders: dict[str, _Line] = {}
    for line in lines:
        founders.setdefault(line.customer_id, line)
    missing = [line for line in founders.values() if line.raw is None]  # its first line was held back
    if missing:
        found = source.rows_at({line.number for line in missing})
        for line in missing:
            line.raw = found[line.number]
    customers = [_customer(line, mapping) for line in founders.values()]
    items, payments = _items_and_payments(lines, problems, source)
    problems.sort(key=lambda p: p.line)
    rejected = [_identity(p.raw, mapping) for p in problems]
    return MappedLedger(customers, items, payments, problems, read, rejected)


@dataclass(frozen=True)
class _Source:
    """Where the rows a mapped line no longer keeps can be read again: the rows kept in memory, or the file."""

    listed: list[tuple[int, Mapping[str, Any]]] | None
    reread: Callable[[], Iterable[tuple[int, Mapping[str, Any]]]] | None

    def rows_at(self, numbers: set[int]) -> dict[int, Mapping[str, Any]]:
        """The rows at these line numbers (one more reading of the file, when it is not in memory)."""
        rows = self.listed if self.listed is not None else self.reread() if self.reread is not None else ()
        return {number: raw for number, raw in rows if number in numbers}

    def raws(self, lines: list[_Line]) -> dict[int, dict[str, Any]]:
        """A copy of each line's row, for a problem that shows it."""
        kept = {line.number: dict(line.raw) for line in lines if line.raw is not None}
        wanted = {line.number for line in lines if line.raw is None}
        if wanted:
            kept |= {number: dict(raw) for number, raw in self.rows_at(wanted).items()}
        return kept


def _hold_back_invoices_with_rejected_rows(
    lines: list[_Line], problems: list[RowProblem], mapping: ColumnMapping, source: _Source
) -> list[_Line]:
    rejected = {_identity(p.raw, mapping)[1]: p.line for p in problems}
    rejected.pop("", None)
    if not rejected:
        return lines
    kept: list[_Line] = []
    held: list[_Line] = []
    for line in lines:
        (held if line.invoice in rejected else kept).append(line)
    raws = source.raws(held)
    for line in held:
        reason = f"not loaded: line {rejected[line.invoice]} of the same invoice {line.invoice!r} was rejected"
        problems.append(RowProblem(line.number, reason, raws[line.number]))
    return kept


def _items_and_payments(
    lines: list[_Line], problems: list[RowProblem], source: _Source
) -> tuple[list[ReceivableItem], list[Payment]]:
    """Turn lines into items; an invoice listed with several due dates becomes one item per instalment."""
    first: dict[tuple[str, str], _Line] = {}
    repeated: dict[tuple[str, str], list[_Line]] = {}  # invoices listed on several rows: instalments
    for line in lines:
        key = (line.customer_id, line.invoice)
        if key in first:
            repeated.setdefault(key, [first[key]]).append(line)
        else:
            first[key] = line
    items: list[ReceivableItem] = []
    payments: list[Payment] = []
    seen_ids: set[str] = set()
    refused: list[tuple[_Line, str]] = []
    for key, line in first.items():
        invoice = key[1]
        if key not in repeated:
            kept = [line]
        else:  # instalments: in due date order, one per due date
            group = repeated[key]
            group.sort(key=lambda line: (line.due, line.number))
            kept = []
            for line in group:
                if kept and line.due == kept[-1].due:
                    refused.append((line, f"duplicate invoice {invoice!r} with the same due date"))
                else:
                    kept.append(line)
        for index, line in enumerate(kept, start=1):
            item_id = invoice if len(kept) == 1 else f"{invoice}/{index}"
            if item_id in seen_ids:
                refused.append((line, f"invoice {invoice!r} is listed for two customers"))
                continue
            seen_ids.add(item_id)
            item, payment = _item(line, item_id)
            items.append(item)
            if payment is not None:
                payments.append(payment)
    if refused:
        raws = source.raws([line for line, _reason in refused])
        problems.extend(RowProblem(line.number, reason, raws[line.number]) for line, reason in refused)
    return items, payments


def _item(line: _Line, item_id: str) -> tuple[ReceivableItem, Payment | None]:
    credit = line.amount < 0
    # abs() of a positive Decimal is a new object: keep the parsed one (a million items, 200 MB less)
    amount = -line.amount if credit else line.amount
    residual = -line.residual if line.residual < 0 else line.residual
    settled = line.settled
    item = ReceivableItem(  # positionally: the fields' order (a million items)
        item_id, line.customer_id, line.invoice, line.currency, amount, residual, line.issue, line.due,
        line.disputed, settled if not residual else None, credit, "", line.delivery,
    )
    if credit or settled is None:
        return item, None
    paid = amount - residual
    if paid <= 0:
        return item, None
    payment = Payment(
        id=f"settle:{item_id}",
        customer_id=line.customer_id,
        date=settled,
        amount=paid,
        currency=line.currency,
        allocations=(Allocation(item_id, paid),),
    )
    return item, payment
