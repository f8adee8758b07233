"""A local fake of Xero (Accounting API 2.0, OAuth 2.0 identity, connections) for tests and benchmarks.

The server speaks Xero's wire format closely enough that the official SDK (``xero-python``) talks to it
unmodified: JSON envelopes ``{"Id", "Status", "ProviderName", "DateTimeUTC", "pagination", "Invoices": [...]}``,
dates as ``/Date(1518685950940+0000)/``, the ``xero-tenant-id``, ``If-Modified-Since`` and ``Idempotency-Key``
headers, rotating single-use refresh tokens, and the rate limits with their headers. It binds 127.0.0.1 on a
free port and uses the standard library only.

Usage::

    with FakeXero(clock=clock) as fake:
        token = fake.token_set()                      # or the authorization-code grant on fake.token_url
        TokenApi.refresh_token_url = fake.token_url   # a class attribute of the SDK
        accounting = AccountingApi(api_client, base_url=fake.accounting_url)
        identity = IdentityApi(api_client, base_url=fake.url)

Records are kept per organisation in dicts keyed by id, with sorted indexes by ``(UpdatedDateUTC, sequence)``
(one for the whole collection and one per value of a few fields such as ``Type`` and ``Status``), so a page
of a default-ordered listing, filtered by ``If-Modified-Since`` and by equality on indexed fields, costs
O(log n + page). Any other filter or order is computed once and kept until the collection changes.

Deliberate simplifications, each one a place where real Xero may differ (checked against the OpenAPI spec
XeroAPI/Xero-OpenAPI ``xero_accounting.yaml`` and ``xero-identity.yaml`` where it says anything):

* listings are ordered by ``UpdatedDateUTC`` ascending (then by the order of the changes) unless ``order=``
  is given; ``If-Modified-Since`` keeps records with ``UpdatedDateUTC >= `` the given time;
* without ``page`` a listing returns every match (without line items for invoices and credit notes), with it
  ``pageSize`` records (100 by default, at most 1,000) and a ``pagination`` object;
* ``summaryOnly=true`` only leaves the line items out;
* adding a history note does not change an invoice's ``UpdatedDateUTC``; emailing it does (SentToContact);
* contact ``Balances`` are not served; only the writes a collections connector makes are served (seed the
  rest with the ``add_*`` helpers);
* ``where`` supports comparisons (``== != < <= > >=``) of fields with strings, numbers, booleans, ``null``,
  ``guid("...")`` and ``DateTime(y, m, d[, h, m, s])``, ``.Contains/.StartsWith/.EndsWith("...")``, ``!``,
  ``&&``/``AND``, ``||``/``OR`` and parentheses.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from tests.fakes.local_http import LocalServer, Request, Response

__all__ = ["FakeXero", "Fault", "Limits", "generate_ledger", "intent_to_receive", "sign_webhook",
           "webhook_delivery"]

_log = logging.getLogger(__name__)

CLIENT_ID = "FAKEXEROCLIENTID0000000000000001"
CLIENT_SECRET = "fakeXeroClientSecret-0000000000000000000000000001"
PROVIDER_NAME = "Odoo Collections Test App"
SCOPES = ("openid", "profile", "email", "offline_access", "accounting.transactions", "accounting.contacts",
          "accounting.settings.read")
ACCESS_TOKEN_TTL = 1800  # seconds: 30 minutes
REFRESH_GRACE = 1800  # seconds a used refresh token still works (Xero: 30 minutes)
REFRESH_TOKEN_TTL = timedelta(days=60)  # an unused refresh token expires
AUTH_CODE_TTL = timedelta(minutes=5)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_IDEMPOTENCY_KEY = 128
JSON_TYPE = "application/json; charset=utf-8"
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")

CURRENCIES = {"NZD": "New Zealand Dollar", "AUD": "Australian Dollar", "USD": "United States Dollar",
              "EUR": "Euro", "GBP": "British Pound", "CAD": "Canadian Dollar", "MXN": "Mexican Peso"}
# Xero's collection name -> (id field, indexed fields; a tuple of names is a composite index)
COLLECTIONS: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "Contacts": ("ContactID", (("ContactStatus",), ("IsCustomer",))),
    "Invoices": ("InvoiceID", (("Type",), ("Status",), ("Type", "Status"))),
    "CreditNotes": ("CreditNoteID", (("Type",), ("Status",), ("Type", "Status"))),
    "Payments": ("PaymentID", (("PaymentType",), ("Status",), ("PaymentType", "Status"))),
    "Overpayments": ("OverpaymentID", (("Type",), ("Status",), ("Type", "Status"))),
    "Prepayments": ("PrepaymentID", (("Type",), ("Status",), ("Type", "Status"))),
}
_DATE_FIELDS = ("Date", "DueDate", "FullyPaidOnDate", "ExpectedPaymentDate", "PlannedPaymentDate")

Amount = Decimal | float | int | str
DateLike = date | str


# --------------------------------------------------------------------------- limits and faults


@dataclass(frozen=True)
class Limits:
    """Xero's API limits (per organisation and app-wide); tests make them small."""

    per_minute: int = 60
    per_day: int = 5000
    concurrent: int = 5
    app_per_minute: int = 10_000


@dataclass(frozen=True)
class Fault:
    """A response served instead of the next accounting call (see ``FakeXero.inject``).

    ``problem`` is the ``X-Rate-Limit-Problem`` of a 429 (minute, day, concurrent, appminute).
    """

    status: int
    retry_after: int | None = None
    problem: str | None = None
    body: dict[str, Any] | str | None = None


class _XeroError(Exception):
    """An error response raised while serving a request."""

    def __init__(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {body}")
        self.status, self.body, self.headers = status, body, dict(headers or {})


def _problem(status: int, title: str, detail: str) -> _XeroError:
    """Xero's gateway error body (401, 403, 404, 429, 5xx), in the problem-details shape."""
    return _XeroError(status, {"Type": None, "Title": title, "Status": status, "Detail": detail,
                               "Instance": str(uuid.uuid4()), "Extensions": {}})


def _validation(message: str, element: dict[str, Any] | None = None) -> _XeroError:
    """A 400 ValidationException with one element carrying the message (Xero's accounting 400 shape)."""
    body = dict(element or {})
    body["ValidationErrors"] = [{"Message": message}]
    return _XeroError(400, {"ErrorNumber": 10, "Type": "ValidationException",
                            "Message": "A validation exception occurred", "Elements": [body]})


def _query_error(message: str) -> _XeroError:
    return _XeroError(400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message})


def _not_found() -> _XeroError:
    return _problem(404, "NotFound", "The resource you're looking for cannot be found")


# --------------------------------------------------------------------------- wire formats


def _ms(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds() * 1000) if moment.tzinfo else int(
        (moment.replace(tzinfo=timezone.utc) - _EPOCH).total_seconds() * 1000)


def ms_date(value: date | datetime) -> str:
    """A date or a time as Xero writes it: ``/Date(1518685950940+0000)/`` (dates at 00:00 UTC)."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=timezone.utc)
    return f"/Date({_ms(value)}+0000)/"


def parse_ms_date(text: str) -> datetime:
    """The time of a ``/Date(ms[+zzzz])/`` string, in UTC."""
    match = re.fullmatch(r"/Date\((-?\d+)([+-]\d{4})?\)/", text)
    if not match:
        raise ValueError(f"not a Xero date: {text!r}")
    return _EPOCH + timedelta(milliseconds=int(match.group(1)))


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(_CENT)
    except (InvalidOperation, ValueError) as exc:
        raise _validation(f"Invalid amount: {value!r}") from exc


def _as_date(value: DateLike) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _render(value: Any) -> Any:
    """Stored values as JSON-ready wire values."""
    if isinstance(value, dict):
        return {k: _render(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_render(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return ms_date(value)
    return value


def _render_record(record: dict[str, Any], *, line_items: bool) -> dict[str, Any]:
    out: dict[str, Any] = _render(record)
    for key in _DATE_FIELDS:
        if isinstance(record.get(key), date):
            out[f"{key}String"] = _as_date(record[key]).isoformat() + "T00:00:00"
    if not line_items and "LineItems" in out:
        out["LineItems"] = []
    return out


def _parse_since(text: str) -> datetime:
    """An ``If-Modified-Since`` value: ISO 8601 (the SDK sends ``datetime.isoformat()``) or an HTTP date."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError) as exc:
            raise _validation(f"Invalid If-Modified-Since header: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _mask(token: str | None) -> str | None:
    return None if not token else "****" + token[-4:]


def _lookup(record: dict[str, Any], path: str) -> Any:
    """A (dotted, case-insensitive) field of a record."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        if part in current:
            current = current[part]
            continue
        key = next((k for k in current if k.lower() == part.lower()), None)
        current = current.get(key) if key is not None else None
    return current


# --------------------------------------------------------------------------- the where language

_WHERE_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)'
                          r"|(?P<op>==|!=|>=|<=|&&|\|\||[<>!=])|(?P<punct>[(),.])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")
Predicate = Callable[[dict[str, Any]], bool]


def _comparable(stored: Any, wanted: Any) -> tuple[Any, Any]:
    if isinstance(wanted, datetime) or (isinstance(stored, datetime | date) and isinstance(wanted, date)):
        def as_time(value: Any) -> Any:
            if isinstance(value, datetime):
                return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            if isinstance(value, date):
                return datetime.combine(value, time(), tzinfo=timezone.utc)
            return value
        return as_time(stored), as_time(wanted)
    if isinstance(wanted, Decimal) and isinstance(stored, int | float | Decimal) and not isinstance(stored, bool):
        return Decimal(str(stored)), wanted
    if isinstance(wanted, str) and isinstance(stored, str) and _GUID_RE.match(wanted):
        return stored.lower(), wanted.lower()
    return stored, wanted


_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b), "!=": lambda a, b: bool(a != b), "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b), ">": lambda a, b: bool(a > b), ">=": lambda a, b: bool(a >= b),
}


def _compare(stored: Any, op: str, wanted: Any) -> bool:
    if stored is None or wanted is None:
        return (stored is None) == (wanted is None) if op == "==" else (
            (stored is None) != (wanted is None) if op == "!=" else False)
    left, right = _comparable(stored, wanted)
    try:
        return _OPS[op](left, right)
    except TypeError:
        return False


@dataclass
class _Where:
    """A parsed ``where``: a predicate, and its top-level ``field == value`` terms when it is a pure AND."""

    predicate: Predicate
    equalities: dict[str, Any] | None


def parse_where(text: str) -> _Where:
    """Parse the subset of Xero's ``where`` language this fake supports."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _WHERE_TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _query_error(f"Syntax error in where clause near '{text[pos:pos + 12].strip()}'")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    index = 0
    pure_and = [True]
    equalities: dict[str, Any] = {}

    def peek() -> tuple[str, str]:
        return tokens[index] if index < len(tokens) else ("eof", "")

    def take() -> tuple[str, str]:
        nonlocal index
        token = peek()
        if token[0] == "eof":
            raise _query_error("Unexpected end of where clause")
        index += 1
        return token

    def expect(value: str) -> None:
        if take()[1] != value:
            raise _query_error(f"Expected '{value}' in where clause")

    def literal() -> Any:
        kind, value = take()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", value[1:-1])
        if kind == "num":
            return Decimal(value)
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind == "word" and value.lower() == "null":
            return None
        if kind == "word" and value.lower() == "guid":
            expect("(")
            guid = literal()
            expect(")")
            return str(guid)
        if kind == "word" and value.lower() == "datetime":
            expect("(")
            parts = [int(literal())]
            while peek()[1] == ",":
                take()
                parts.append(int(literal()))
            expect(")")
            try:
                return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc,arg-type]
            except (TypeError, ValueError) as exc:
                raise _query_error(f"Invalid DateTime{tuple(parts)}") from exc
        raise _query_error(f"Unexpected '{value}' in where clause")

    def comparison() -> Predicate:
        kind, name = take()
        if kind != "word":
            raise _query_error(f"Unexpected '{name}' in where clause")
        path = [name]
        method = None
        while peek()[1] == ".":
            take()
            part = take()[1]
            if peek()[1] == "(":
                method = part.lower()
                break
            path.append(part)
        field_path = ".".join(path)
        if method is not None:
            pure_and[0] = False
            expect("(")
            argument = str(literal())
            expect(")")
            tests: dict[str, Callable[[str], bool]] = {
                "contains": lambda s: argument.lower() in s.lower(),
                "startswith": lambda s: s.lower().startswith(argument.lower()),
                "endswith": lambda s: s.lower().endswith(argument.lower())}
            if method not in tests:
                raise _query_error(f"Unsupported method {method} in where clause")
            test = tests[method]
            return lambda r: isinstance(_lookup(r, field_path), str) and test(_lookup(r, field_path))
        if peek()[0] != "op" or peek()[1] in ("&&", "||", "!"):
            op, value = "==", True
        else:
            op = take()[1]
            op = "==" if op == "=" else op
            value = literal()
        if op == "==" and not isinstance(value, datetime | Decimal) and value is not None:
            equalities[field_path] = value
        else:
            pure_and[0] = False
        return lambda r: _compare(_lookup(r, field_path), op, value)

    def unary() -> Predicate:
        if peek() == ("op", "!"):
            take()
            pure_and[0] = False
            inner = unary()
            return lambda r: not inner(r)
        if peek() == ("punct", "("):
            take()
            inner = disjunction()
            expect(")")
            return inner
        return comparison()

    def conjunction() -> Predicate:
        terms = [unary()]
        while peek()[1] == "&&" or peek()[1].upper() == "AND":
            take()
            terms.append(unary())
        return terms[0] if len(terms) == 1 else (lambda r: all(t(r) for t in terms))

    def disjunction() -> Predicate:
        terms = [conjunction()]
        while peek()[1] == "||" or peek()[1].upper() == "OR":
            take()
            pure_and[0] = False
            terms.append(conjunction())
        return terms[0] if len(terms) == 1 else (lambda r: any(t(r) for t in terms))

    predicate = disjunction()
    if peek()[0] != "eof":
        raise _query_error(f"Unexpected '{peek()[1]}' in where clause")
    return _Where(predicate, equalities if pure_and[0] else None)


# --------------------------------------------------------------------------- indexed collections

_Entry = tuple[int, int, str]  # (UpdatedDateUTC in ms, change sequence, id)


@dataclass
class _View:
    """The ids of a listing from ``start`` on, without copying the list they are in."""

    items: list[_Entry] | list[str]
    start: int = 0

    def __len__(self) -> int:
        return len(self.items) - self.start

    def ids(self) -> list[str]:
        """Every id, in order."""
        return [i if isinstance(i, str) else i[2] for i in self.items[self.start:]]

    def window(self, first: int, stop: int, *, reverse: bool = False) -> list[str]:
        """Ids from position ``first`` to ``stop`` (counted from the end when ``reverse``)."""
        size = len(self)
        first, stop = max(0, min(first, size)), max(0, min(stop, size))
        if reverse:
            chunk = self.items[self.start + size - stop:self.start + size - first][::-1]
        else:
            chunk = self.items[self.start + first:self.start + stop]
        return [i if isinstance(i, str) else i[2] for i in chunk]


@dataclass
class _Plan:
    """How a listing is read: from one sorted index, with a residual filter or none."""

    entries: list[_Entry]
    residual: Predicate | None
    signature: tuple[Any, ...]


class _Collection:
    """Records of one kind, by id, with sorted indexes by (UpdatedDateUTC, sequence)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.id_field, self.index_fields = COLLECTIONS[name]
        self.records: dict[str, dict[str, Any]] = {}
        self.entries: dict[str, _Entry] = {}
        self.by_updated: list[_Entry] = []
        self.partitions: dict[tuple[str, ...], dict[tuple[Any, ...], list[_Entry]]] = {
            fields: {} for fields in self.index_fields}
        self.version = 0
        self.rendered: dict[tuple[str, bool], tuple[int, str]] = {}
        self.corrupt: dict[str, Any] = {}
        self.materialized: dict[tuple[Any, ...], tuple[int, list[str]]] = {}

    @staticmethod
    def _insert(entries: list[_Entry], entry: _Entry) -> None:
        if not entries or entries[-1] < entry:
            entries.append(entry)
        else:
            bisect.insort(entries, entry)

    @staticmethod
    def _remove(entries: list[_Entry], entry: _Entry) -> None:
        position = bisect.bisect_left(entries, entry)
        if position < len(entries) and entries[position] == entry:
            del entries[position]

    def _keys(self, record: dict[str, Any]) -> list[tuple[tuple[str, ...], tuple[Any, ...]]]:
        return [(fields, tuple(record.get(f) for f in fields)) for fields in self.index_fields]

    def put(self, record: dict[str, Any], sequence: int) -> None:
        """Store or re-index a record after a change (its UpdatedDateUTC is already set)."""
        record_id = record[self.id_field]
        old = self.entries.get(record_id)
        if old is not None:
            self._remove(self.by_updated, old)
            for fields, values in record.pop("_indexed", []):
                self._remove(self.partitions[fields][values], old)
        entry = (_ms(record["UpdatedDateUTC"]), sequence, record_id)
        self.records[record_id] = record
        self.entries[record_id] = entry
        self._insert(self.by_updated, entry)
        keys = self._keys(record)
        for fields, values in keys:
            self._insert(self.partitions[fields].setdefault(values, []), entry)
        record["_indexed"] = keys
        self.version += 1
        self.corrupt.pop(record_id, None)

    def backdate(self, moments: dict[str, datetime]) -> None:
        """Give records an earlier UpdatedDateUTC (seeding history) and rebuild the indexes in one sort."""
        for record_id, moment in moments.items():
            record = self.records[record_id]
            record["UpdatedDateUTC"] = min(moment, record["UpdatedDateUTC"])
            self.entries[record_id] = (_ms(record["UpdatedDateUTC"]), self.entries[record_id][1], record_id)
        self.by_updated = sorted(self.entries.values())
        self.partitions = {fields: {} for fields in self.index_fields}
        for entry in self.by_updated:
            for fields, values in self._keys(self.records[entry[2]]):
                self.partitions[fields].setdefault(values, []).append(entry)
        self.rendered.clear()
        self.version += 1

    def plan(self, equalities: dict[str, Any], residual: Predicate | None, signature: tuple[Any, ...]) -> _Plan:
        """The narrowest index that answers the equalities; what it does not answer stays a residual filter."""
        lowered = {k.lower(): (k, v) for k, v in equalities.items()}
        best: tuple[str, ...] = ()
        for fields in self.index_fields:
            if all(f.lower() in lowered for f in fields) and len(fields) > len(best):
                best = fields
        entries = self.by_updated
        if best:
            entries = self.partitions[best].get(tuple(lowered[f.lower()][1] for f in best), [])
        left = {k: v for k, v in lowered.items() if k not in {f.lower() for f in best}}
        if left:
            extra = [(path, value) for path, value in left.values()]
            previous = residual

            def residual_filter(record: dict[str, Any]) -> bool:
                if previous is not None and not previous(record):
                    return False
                return all(_compare(_lookup(record, p), "==", v) for p, v in extra)
            residual = residual_filter
        return _Plan(entries, residual, signature)

    def matching(self, plan: _Plan, since: datetime | None) -> _View:
        """Entries (no residual) or ids (residual, computed once per version) matching a plan, oldest first."""
        start = bisect.bisect_left(plan.entries, (_ms(since), -1, "")) if since is not None else 0
        if plan.residual is None:
            return _View(plan.entries, start)
        key = (*plan.signature, _ms(since) if since else None)
        cached = self.materialized.get(key)
        if cached is not None and cached[0] == self.version:
            return _View(cached[1])
        ids = [entry[2] for entry in plan.entries[start:] if plan.residual(self.records[entry[2]])]
        self.remember(key, ids)
        return _View(ids)

    def remember(self, key: tuple[Any, ...], ids: list[str]) -> None:
        """Keep a computed listing until the collection changes (a few of them)."""
        if len(self.materialized) > 16:
            self.materialized.clear()
        self.materialized[key] = (self.version, ids)

    def text(self, record_id: str, *, line_items: bool) -> str:
        """The wire JSON of one record (cached until it changes), or its corrupted replacement."""
        if record_id in self.corrupt:
            return json.dumps(self.corrupt[record_id], separators=(",", ":"))
        sequence = self.entries[record_id][1]
        cached = self.rendered.get((record_id, line_items))
        if cached is not None and cached[0] == sequence:
            return cached[1]
        text = json.dumps(_render_record(self.records[record_id], line_items=line_items), separators=(",", ":"))
        self.rendered[(record_id, line_items)] = (sequence, text)
        return text


# --------------------------------------------------------------------------- organisations and tokens


@dataclass
class _Organisation:
    tenant_id: str
    name: str
    base_currency: str
    country: str
    created: datetime
    short_code: str
    collections: dict[str, _Collection] = field(default_factory=lambda: {n: _Collection(n) for n in COLLECTIONS})
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=lambda: {"INV": 0, "BILL": 0, "CN": 0})
    invoice_by_number: dict[str, str] = field(default_factory=dict)
    replies: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    minute: deque[datetime] = field(default_factory=deque)
    day: deque[datetime] = field(default_factory=deque)
    in_flight: int = 0


@dataclass
class _Grant:
    """One user's authorisation of the app: the organisations it connects."""

    tenant_ids: list[str]
    auth_event_id: str
    created: datetime


@dataclass
class _RefreshToken:
    grant: _Grant
    expires: datetime
    used_at: datetime | None = None
    child: str | None = None
    revoked: bool = False


@dataclass
class _AccessToken:
    grant: _Grant
    expires: datetime
    expired: bool = False


# --------------------------------------------------------------------------- the fake


class FakeXero(LocalServer):
    """In-memory Xero organisations behind a local HTTP server."""

    server_name = "FakeXero"

    def __init__(self, organisations: Iterable[str] = ("Demo Company (NZ)", "Demo Company (US)"), *,
                 limits: Limits | None = None, access_token_ttl: int = ACCESS_TOKEN_TTL,
                 refresh_grace: int = REFRESH_GRACE, clock: Callable[[], datetime] | None = None) -> None:
        """Create the fake (not started); ``clock`` returns the current time (naive means UTC)."""
        self.limits = limits or Limits()
        self.access_token_ttl = access_token_ttl
        self.refresh_grace = refresh_grace
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self.calls: list[dict[str, Any]] = []
        self.writes: list[dict[str, Any]] = []
        self.gate: threading.Event | None = None
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._lock = threading.RLock()
        self._sequence = 0
        self._organisations: dict[str, _Organisation] = {}
        self._app_minute: deque[datetime] = deque()
        self._faults: deque[Fault] = deque()
        self._expire_after: int | None = None
        self._codes: dict[str, tuple[_Grant, datetime]] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._init_server()
        for name in organisations:
            self.add_organisation(name)

    # ----------------------------------------------------------------- lifecycle

    def _before_stop(self) -> None:
        if self.gate is not None:
            self.gate.set()

    @property
    def url(self) -> str:
        """The server's root, e.g. ``http://127.0.0.1:PORT`` (the identity API's base URL)."""
        return self.root_url

    @property
    def accounting_url(self) -> str:
        """The accounting API's base URL (``AccountingApi(api_client, base_url=...)``)."""
        return f"{self.url}/api.xro/2.0"

    @property
    def token_url(self) -> str:
        """The token endpoint (``TokenApi.refresh_token_url``)."""
        return f"{self.url}/connect/token"

    @property
    def tenant_ids(self) -> list[str]:
        """The organisations' tenant ids, in creation order."""
        return list(self._organisations)

    @property
    def tenant_id(self) -> str:
        """The first organisation's tenant id."""
        return next(iter(self._organisations))

    # ----------------------------------------------------------------- time, ids, organisations

    def _now(self) -> datetime:
        now = self._clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)

    def _today(self) -> date:
        return self._now().date()

    def _org(self, tenant: str | None) -> _Organisation:
        organisation = self._organisations.get(tenant or self.tenant_id)
        if organisation is None:
            raise KeyError(f"unknown tenant {tenant!r}")
        return organisation

    def add_organisation(self, name: str, *, base_currency: str = "", country: str = "") -> str:
        """Add an organisation; return its tenant id (currency and country follow the name's "(NZ)" etc.)."""
        code = re.search(r"\((\w\w)\)\s*$", name)
        country = country or (code.group(1) if code else "NZ")
        currency = base_currency or {"NZ": "NZD", "US": "USD", "AU": "AUD", "GB": "GBP", "UK": "GBP",
                                     "CA": "CAD", "MX": "MXN"}.get(country, "NZD")
        with self._lock:
            tenant_id = str(uuid.uuid4())
            self._organisations[tenant_id] = _Organisation(
                tenant_id=tenant_id, name=name, base_currency=currency, country=country, created=self._now(),
                short_code="!" + secrets.token_hex(3)[:5])
            return tenant_id

    def _touch(self, organisation: _Organisation, collection: str, record: dict[str, Any]) -> None:
        """Record a change: UpdatedDateUTC is now, and the indexes follow."""
        self._sequence += 1
        record["UpdatedDateUTC"] = self._now()
        organisation.collections[collection].put(record, self._sequence)

    def _get(self, organisation: _Organisation, collection: str, record_id: str) -> dict[str, Any]:
        record = organisation.collections[collection].records.get(str(record_id).lower())
        if record is None:
            record = organisation.collections[collection].records.get(str(record_id))
        if record is None and collection == "Invoices":
            record_id = organisation.invoice_by_number.get(str(record_id), "")
            record = organisation.collections[collection].records.get(record_id)
        if record is None:
            raise _not_found()
        return record

    # ----------------------------------------------------------------- seeding

    def add_contact(self, name: str, *, tenant: str | None = None, email: str | None = None,
                    first_name: str | None = None, last_name: str | None = None, is_customer: bool = True,
                    currency: str | None = None, persons: Iterable[dict[str, Any]] = (),
                    phones: Iterable[dict[str, Any]] = (), addresses: Iterable[dict[str, Any]] = (),
                    status: str = "ACTIVE", **fields: Any) -> dict[str, Any]:
        """Create a contact (ContactPersons, Phones, Addresses as Xero dicts); return its wire form."""
        with self._lock:
            organisation = self._org(tenant)
            record = self._new_contact(organisation, name, email=email, first_name=first_name,
                                       last_name=last_name, is_customer=is_customer,
                                       currency=currency or organisation.base_currency, persons=list(persons),
                                       phones=list(phones), addresses=list(addresses), status=status, extra=fields)
            return self._wire(organisation, "Contacts", record["ContactID"])

    def _new_contact(self, organisation: _Organisation, name: str, *, email: str | None, first_name: str | None,
                     last_name: str | None, is_customer: bool, currency: str, persons: list[dict[str, Any]],
                     phones: list[dict[str, Any]], addresses: list[dict[str, Any]], status: str,
                     extra: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "ContactID": str(uuid.uuid4()), "ContactStatus": status, "Name": name,
            "FirstName": first_name or "", "LastName": last_name or "", "EmailAddress": email or "",
            "BankAccountDetails": "", "Addresses": addresses or [
                {"AddressType": "STREET", "City": "", "Region": "", "PostalCode": "", "Country": ""},
                {"AddressType": "POBOX", "AddressLine1": "", "City": "", "Region": "", "PostalCode": "",
                 "Country": ""}],
            "Phones": phones or [{"PhoneType": t, "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""}
                                 for t in ("DEFAULT", "DDI", "FAX", "MOBILE")],
            "ContactGroups": [], "IsSupplier": False, "IsCustomer": is_customer, "DefaultCurrency": currency,
            "ContactPersons": persons, "HasAttachments": False, "HasValidationErrors": False,
        }
        record.update(extra)
        self._touch(organisation, "Contacts", record)
        return record

    def add_invoice(self, contact_id: str, *, total: Amount | None = None, date: DateLike, due_date: DateLike,
                    tenant: str | None = None, type: str = "ACCREC", status: str = "AUTHORISED",
                    currency: str | None = None, rate: Amount | None = None, number: str | None = None,
                    reference: str = "", lines: list[dict[str, Any]] | None = None, tax: Amount = 0,
                    **fields: Any) -> dict[str, Any]:
        """Create an invoice (one line of ``total`` less ``tax``, or ``lines``); return its wire form."""
        with self._lock:
            organisation = self._org(tenant)
            record = self._new_invoice(organisation, contact_id, total=total, issued=_as_date(date),
                                       due=_as_date(due_date), kind=type, status=status, currency=currency,
                                       rate=rate, number=number, reference=reference, lines=lines, tax=tax,
                                       extra=fields)
            return self._wire(organisation, "Invoices", record["InvoiceID"])

    def _contact_ref(self, organisation: _Organisation, contact_id: str) -> dict[str, Any]:
        contact = organisation.collections["Contacts"].records.get(str(contact_id))
        if contact is None:
            raise _validation(f"The contact {contact_id} does not exist")
        return {"ContactID": contact["ContactID"], "Name": contact["Name"], "Addresses": [], "Phones": [],
                "ContactGroups": [], "ContactPersons": [], "HasValidationErrors": False}

    @staticmethod
    def _lines(total: Decimal, tax: Decimal, description: str) -> list[dict[str, Any]]:
        net = total - tax
        return [{"LineItemID": str(uuid.uuid4()), "Description": description, "Quantity": Decimal("1.0000"),
                 "UnitAmount": net, "AccountCode": "200", "TaxType": "OUTPUT2" if tax else "NONE",
                 "TaxAmount": tax, "LineAmount": net, "Tracking": []}]

    def _new_invoice(self, organisation: _Organisation, contact_id: str, *, total: Amount | None, issued: date,
                     due: date, kind: str, status: str, currency: str | None, rate: Amount | None,
                     number: str | None, reference: str, lines: list[dict[str, Any]] | None, tax: Amount,
                     extra: dict[str, Any]) -> dict[str, Any]:
        contact = self._contact_ref(organisation, contact_id)
        code = currency or organisation.collections["Contacts"].records[contact["ContactID"]]["DefaultCurrency"]
        tax_amount = _money(tax)
        if lines is None:
            lines = self._lines(_money(total or 0), tax_amount, "Consulting services")
        else:
            lines = [{"LineItemID": str(uuid.uuid4()), "Tracking": [], **line} for line in lines]
            for line in lines:
                line["LineAmount"] = _money(line.get("LineAmount", Decimal(str(line.get("Quantity", 1))) *
                                                     _money(line.get("UnitAmount", 0))))
                line["TaxAmount"] = _money(line.get("TaxAmount", 0))
        sub_total = sum((line["LineAmount"] for line in lines), _ZERO)
        tax_total = sum((line["TaxAmount"] for line in lines), _ZERO)
        if number is None:
            prefix = "INV" if kind == "ACCREC" else "BILL"
            organisation.numbers[prefix] += 1
            number = f"{prefix}-{organisation.numbers[prefix]:04d}"
        record: dict[str, Any] = {
            "Type": kind, "InvoiceID": str(uuid.uuid4()), "InvoiceNumber": number, "Reference": reference,
            "Payments": [], "CreditNotes": [], "Prepayments": [], "Overpayments": [],
            "AmountDue": sub_total + tax_total, "AmountPaid": _ZERO, "AmountCredited": _ZERO,
            "SentToContact": False, "CurrencyRate": Decimal(str(rate)) if rate is not None else Decimal("1.000000"),
            "IsDiscounted": False, "HasAttachments": False, "HasErrors": False, "Contact": contact,
            "Date": issued, "DueDate": due, "Status": status, "LineAmountTypes": "Exclusive", "LineItems": lines,
            "SubTotal": sub_total, "TotalTax": tax_total, "Total": sub_total + tax_total, "CurrencyCode": code,
            "BrandingThemeID": "5d4dd402-c851-497e-aae1-9ff265c0d15a",
        }
        if status in ("DELETED", "VOIDED"):
            record["AmountDue"] = _ZERO
        record.update(extra)
        organisation.invoice_by_number[number] = record["InvoiceID"]
        self._touch(organisation, "Invoices", record)
        self._history(organisation, record["InvoiceID"], "Created", f"INV {number} to {contact['Name']} for "
                      f"{record['Total']:.2f}.", user="System Generated")
        return record

    def add_payment(self, invoice_id: str, amount: Amount, date: DateLike, *, tenant: str | None = None,
                    reference: str = "") -> dict[str, Any]:
        """Pay (part of) an invoice: a Payment, and the invoice's Payments, AmountPaid and AmountDue."""
        with self._lock:
            organisation = self._org(tenant)
            payment = self._pay(organisation, self._get(organisation, "Invoices", invoice_id), _money(amount),
                                _as_date(date), reference)
            return self._wire(organisation, "Payments", payment["PaymentID"])

    def _pay(self, organisation: _Organisation, invoice: dict[str, Any], amount: Decimal, paid: date,
             reference: str) -> dict[str, Any]:
        if invoice["Status"] not in ("AUTHORISED",):
            raise _validation("Payment can only be applied to an AUTHORISED invoice")
        if amount > invoice["AmountDue"]:
            raise _validation("Payment amount exceeds the amount outstanding on this document")
        payment: dict[str, Any] = {
            "PaymentID": str(uuid.uuid4()), "Date": paid, "BankAmount": amount, "Amount": amount,
            "Reference": reference, "CurrencyRate": invoice["CurrencyRate"],
            "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
            "Status": "AUTHORISED", "IsReconciled": False, "HasAccount": True, "HasValidationErrors": False,
            "Account": {"AccountID": "ac993f75-035b-433c-82e0-7b7a2d40802c", "Code": "090"},
            "Invoice": {"Type": invoice["Type"], "InvoiceID": invoice["InvoiceID"],
                        "InvoiceNumber": invoice["InvoiceNumber"], "Contact": dict(invoice["Contact"]),
                        "CurrencyCode": invoice["CurrencyCode"], "Payments": [], "CreditNotes": [],
                        "Prepayments": [], "Overpayments": [], "HasErrors": False, "IsDiscounted": False,
                        "LineItems": []},
        }
        self._touch(organisation, "Payments", payment)
        invoice["Payments"].append({"PaymentID": payment["PaymentID"], "Date": paid, "Amount": amount,
                                    "Reference": reference, "CurrencyRate": invoice["CurrencyRate"],
                                    "HasAccount": False, "HasValidationErrors": False})
        invoice["AmountPaid"] += amount
        self._settle(organisation, invoice, paid)
        return payment

    def _settle(self, organisation: _Organisation, invoice: dict[str, Any], moment: date) -> None:
        invoice["AmountDue"] = invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"]
        if invoice["AmountDue"] <= 0 and invoice["Status"] == "AUTHORISED":
            invoice["Status"] = "PAID"
            invoice["FullyPaidOnDate"] = moment
        self._touch(organisation, "Invoices", invoice)

    def add_credit_note(self, contact_id: str, total: Amount, date: DateLike, *, tenant: str | None = None,
                        allocate_to: Iterable[tuple[str, Amount]] = (), status: str = "AUTHORISED",
                        currency: str | None = None, rate: Amount | None = None) -> dict[str, Any]:
        """Create a credit note, allocated to invoices (invoice id, amount) if asked."""
        with self._lock:
            organisation = self._org(tenant)
            record = self._new_credit(organisation, "CreditNotes", contact_id, _money(total), _as_date(date),
                                      status=status, currency=currency, rate=rate)
            for invoice_id, amount in allocate_to:
                self._allocate(organisation, "CreditNotes", record, self._get(organisation, "Invoices", invoice_id),
                               _money(amount), _as_date(date))
            return self._wire(organisation, "CreditNotes", record["CreditNoteID"])

    def add_overpayment(self, contact_id: str, total: Amount, date: DateLike, *, tenant: str | None = None,
                        allocate_to: Iterable[tuple[str, Amount]] = (), currency: str | None = None,
                        rate: Amount | None = None) -> dict[str, Any]:
        """Create a received overpayment (RECEIVE-OVERPAYMENT), allocated to invoices if asked."""
        with self._lock:
            organisation = self._org(tenant)
            record = self._new_credit(organisation, "Overpayments", contact_id, _money(total), _as_date(date),
                                      status="AUTHORISED", currency=currency, rate=rate)
            for invoice_id, amount in allocate_to:
                self._allocate(organisation, "Overpayments", record,
                               self._get(organisation, "Invoices", invoice_id), _money(amount), _as_date(date))
            return self._wire(organisation, "Overpayments", record["OverpaymentID"])

    def add_prepayment(self, contact_id: str, total: Amount, date: DateLike, *, tenant: str | None = None,
                       allocate_to: Iterable[tuple[str, Amount]] = (), currency: str | None = None,
                       rate: Amount | None = None) -> dict[str, Any]:
        """Create a received prepayment (RECEIVE-PREPAYMENT), allocated to invoices if asked."""
        with self._lock:
            organisation = self._org(tenant)
            record = self._new_credit(organisation, "Prepayments", contact_id, _money(total), _as_date(date),
                                      status="AUTHORISED", currency=currency, rate=rate)
            for invoice_id, amount in allocate_to:
                self._allocate(organisation, "Prepayments", record,
                               self._get(organisation, "Invoices", invoice_id), _money(amount), _as_date(date))
            return self._wire(organisation, "Prepayments", record["PrepaymentID"])

    def _new_credit(self, organisation: _Organisation, collection: str, contact_id: str, total: Decimal,
                    issued: date, *, status: str, currency: str | None, rate: Amount | None) -> dict[str, Any]:
        contact = self._contact_ref(organisation, contact_id)
        code = currency or organisation.collections["Contacts"].records[contact["ContactID"]]["DefaultCurrency"]
        id_field = COLLECTIONS[collection][0]
        record: dict[str, Any] = {
            id_field: str(uuid.uuid4()), "Contact": contact, "Date": issued, "Status": status,
            "LineAmountTypes": "Exclusive" if collection == "CreditNotes" else "NoTax",
            "LineItems": self._lines(total, _ZERO, "Credit" if collection == "CreditNotes" else "Received"),
            "SubTotal": total, "TotalTax": _ZERO, "Total": total, "CurrencyCode": code,
            "CurrencyRate": Decimal(str(rate)) if rate is not None else Decimal("1.000000"),
            "RemainingCredit": total if status == "AUTHORISED" else _ZERO, "Allocations": [], "Payments": [],
            "HasAttachments": False,
        }
        if collection == "CreditNotes":
            organisation.numbers["CN"] += 1
            record.update(Type="ACCRECCREDIT", CreditNoteNumber=f"CN-{organisation.numbers['CN']:04d}",
                          Reference="", SentToContact=False, AppliedAmount=_ZERO, HasErrors=False)
        elif collection == "Overpayments":
            record.update(Type="RECEIVE-OVERPAYMENT", AppliedAmount=_ZERO)
        else:
            record.update(Type="RECEIVE-PREPAYMENT", Reference="", AppliedAmount=_ZERO)
        self._touch(organisation, collection, record)
        return record

    def _allocate(self, organisation: _Organisation, collection: str, source: dict[str, Any],
                  invoice: dict[str, Any], amount: Decimal, when: date) -> None:
        id_field = COLLECTIONS[collection][0]
        if source["Status"] != "AUTHORISED" or amount > source["RemainingCredit"]:
            raise _validation("The amount allocated is more than the remaining credit")
        if invoice["Status"] != "AUTHORISED" or amount > invoice["AmountDue"]:
            raise _validation("The amount allocated is more than the amount due on the invoice")
        if invoice["Contact"]["ContactID"] != source["Contact"]["ContactID"]:
            raise _validation("The invoice belongs to another contact")
        source["Allocations"].append({
            "AllocationID": str(uuid.uuid4()), "Amount": amount, "Date": when, "IsDeleted": False,
            "Invoice": {"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"],
                        "Payments": [], "CreditNotes": [], "Prepayments": [], "Overpayments": [],
                        "HasErrors": False, "IsDiscounted": False, "LineItems": []},
        })
        source["RemainingCredit"] -= amount
        source["AppliedAmount"] = source.get("AppliedAmount", _ZERO) + amount
        if source["RemainingCredit"] == 0:
            source["Status"] = "PAID"
            if collection == "CreditNotes":
                source["FullyPaidOnDate"] = when
        self._touch(organisation, collection, source)
        summary: dict[str, Any] = {id_field: source[id_field], "ID": source[id_field], "AppliedAmount": amount,
                                   "Date": when, "Total": source["Total"], "LineItems": []}
        if collection == "CreditNotes":
            summary["CreditNoteNumber"] = source["CreditNoteNumber"]
        invoice[collection].append(summary)
        invoice["AmountCredited"] += amount
        self._settle(organisation, invoice, when)

    def void_invoice(self, invoice_id: str, *, tenant: str | None = None) -> dict[str, Any]:
        """Void an authorised invoice without payments (AmountDue becomes 0)."""
        with self._lock:
            organisation = self._org(tenant)
            invoice = self._get(organisation, "Invoices", invoice_id)
            if invoice["Payments"] or invoice["AmountCredited"]:
                raise _validation("Invoice has payments or credits applied: remove them before voiding")
            invoice["Status"], invoice["AmountDue"] = "VOIDED", _ZERO
            self._touch(organisation, "Invoices", invoice)
            self._history(organisation, invoice["InvoiceID"], "Voided", "Invoice voided", user="System Generated")
            return self._wire(organisation, "Invoices", invoice["InvoiceID"])

    def delete_invoice(self, invoice_id: str, *, tenant: str | None = None) -> dict[str, Any]:
        """Delete a draft or submitted invoice (it stays listed with Status DELETED)."""
        with self._lock:
            organisation = self._org(tenant)
            invoice = self._get(organisation, "Invoices", invoice_id)
            if invoice["Status"] not in ("DRAFT", "SUBMITTED"):
                raise _validation("Only DRAFT or SUBMITTED invoices can be deleted")
            invoice["Status"], invoice["AmountDue"] = "DELETED", _ZERO
            self._touch(organisation, "Invoices", invoice)
            return self._wire(organisation, "Invoices", invoice["InvoiceID"])

    def update(self, collection: str, record_id: str, *, tenant: str | None = None, **fields: Any) -> dict[str, Any]:
        """Change fields of a record (dates as ``date``, amounts as numbers); UpdatedDateUTC moves on."""
        with self._lock:
            organisation = self._org(tenant)
            record = self._get(organisation, collection, record_id)
            for key, value in fields.items():
                record[key] = _money(value) if isinstance(value, float | int) and not isinstance(value, bool) \
                    and key not in ("CurrencyRate",) else value
            if collection == "Contacts" and "Name" in fields:
                self._rename_contact(organisation, record)
            self._touch(organisation, collection, record)
            return self._wire(organisation, collection, record[COLLECTIONS[collection][0]])

    def _rename_contact(self, organisation: _Organisation, contact: dict[str, Any]) -> None:
        for name in ("Invoices", "CreditNotes", "Overpayments", "Prepayments"):
            documents = organisation.collections[name]
            for record in documents.records.values():
                if record["Contact"]["ContactID"] == contact["ContactID"]:
                    record["Contact"]["Name"] = contact["Name"]
                    documents.rendered.pop((record[documents.id_field], True), None)
                    documents.rendered.pop((record[documents.id_field], False), None)

    def corrupt(self, collection: str, record_id: str, raw: Any, *, tenant: str | None = None) -> None:
        """Serve ``raw`` instead of the record in listings and reads until the record changes."""
        with self._lock:
            organisation = self._org(tenant)
            self._get(organisation, collection, record_id)
            organisation.collections[collection].corrupt[record_id] = raw

    def record(self, collection: str, record_id: str, *, tenant: str | None = None) -> dict[str, Any]:
        """The wire form of a record."""
        with self._lock:
            organisation = self._org(tenant)
            record = self._get(organisation, collection, record_id)
            return self._wire(organisation, collection, record[COLLECTIONS[collection][0]])

    def _wire(self, organisation: _Organisation, collection: str, record_id: str) -> dict[str, Any]:
        return json.loads(organisation.collections[collection].text(record_id, line_items=True))  # type: ignore[no-any-return]

    def warm(self, tenant: str | None = None) -> None:
        """Render every record's wire form now (so that a benchmark of a client does not time the fake)."""
        with self._lock:
            for documents in self._org(tenant).collections.values():
                for record_id in documents.records:
                    documents.text(record_id, line_items=True)

    def emails(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """The invoice emails sent through ``POST /Invoices/{id}/Email``."""
        with self._lock:
            return [dict(e) for e in self._org(tenant).emails]

    def history(self, invoice_id: str, tenant: str | None = None) -> list[dict[str, Any]]:
        """The history records of an invoice (wire form)."""
        with self._lock:
            return _render(self._org(tenant).history.get(invoice_id, []))  # type: ignore[no-any-return]

    def contact_groups(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """The contact groups with their contact ids."""
        with self._lock:
            return [{**g, "Contacts": list(g["Contacts"])} for g in self._org(tenant).groups.values()]

    def in_flight(self, tenant: str | None = None) -> int:
        """Accounting requests of an organisation being served now."""
        with self._lock:
            return self._org(tenant).in_flight

    # ----------------------------------------------------------------- faults and tokens

    def inject(self, *faults: Fault) -> None:
        """Queue faults: each of the next accounting calls gets the next fault instead of being served."""
        with self._lock:
            self._faults.extend(faults)

    def storm(self, count: int, *, retry_after: int = 1, problem: str = "minute") -> None:
        """A 429 storm: the next ``count`` accounting calls are throttled."""
        self.inject(*[Fault(429, retry_after=retry_after, problem=problem)] * count)

    def expire_access_tokens(self, *, after_calls: int = 0) -> None:
        """Expire every access token issued so far, now or after ``after_calls`` more accounting calls."""
        with self._lock:
            if after_calls > 0:
                self._expire_after = after_calls
                return
            for token in self._access.values():
                token.expired = True

    def _grant(self, tenant_ids: Iterable[str] | None) -> _Grant:
        ids = list(tenant_ids) if tenant_ids is not None else self.tenant_ids
        for tenant_id in ids:
            self._org(tenant_id)
        return _Grant(ids, str(uuid.uuid4()), self._now())

    def issue_authorization_code(self, tenant_ids: Iterable[str] | None = None) -> str:
        """An authorization code for the connected organisations (all by default): single use, 5 minutes."""
        with self._lock:
            code = secrets.token_hex(32)
            self._codes[code] = (self._grant(tenant_ids), self._now() + AUTH_CODE_TTL)
            return code

    def token_set(self, tenant_ids: Iterable[str] | None = None) -> dict[str, Any]:
        """A new token set (as the token endpoint returns it, plus ``expires_at``), skipping the consent."""
        with self._lock:
            grant = self._grant(tenant_ids)
            payload = self._token_payload(self._new_access(grant), self._new_refresh(grant))
        payload["expires_at"] = datetime.now(timezone.utc).timestamp() + self.access_token_ttl
        payload["scope"] = payload["scope"].split()
        return payload

    def _new_access(self, grant: _Grant) -> str:
        token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IkZBS0UiLCJ0eXAiOiJKV1QifQ." + secrets.token_urlsafe(96)
        self._access[token] = _AccessToken(grant, self._now() + timedelta(seconds=self.access_token_ttl))
        return token

    def _new_refresh(self, grant: _Grant) -> str:
        token = secrets.token_hex(32)
        self._refresh[token] = _RefreshToken(grant, self._now() + REFRESH_TOKEN_TTL)
        return token

    def _token_payload(self, access: str, refresh: str) -> dict[str, Any]:
        return {"access_token": access, "expires_in": self.access_token_ttl,
                "token_type": "Bearer", "refresh_token": refresh, "scope": " ".join(SCOPES)}

    # ----------------------------------------------------------------- dispatch

    def _handle(self, req: Request) -> Response:
        """Serve one request and record it in ``calls`` (and in ``writes`` when it is a write)."""
        record: dict[str, Any] = {"method": req.method, "path": req.path, "query": dict(req.query),
                                  "tenant": req.headers.get("xero-tenant-id"), "operation": None,
                                  "token": _mask(self._bearer(req)), "status": None,
                                  "idempotency_key": req.headers.get("idempotency-key"),
                                  "if_modified_since": req.headers.get("if-modified-since"),
                                  "body": req.body.decode("utf-8", "replace") if req.body else ""}
        accounting = req.path.lower().startswith("/api.xro/2.0/")
        organisation: _Organisation | None = None
        try:
            with self._lock:
                self.calls.append(record)
                if accounting and req.method != "GET":
                    self.writes.append(record)
                if not accounting:
                    response = self._identity(req, record)
                else:
                    organisation = self._admit(req, record)
            if accounting and organisation is not None:
                gate = self.gate
                if gate is not None:
                    gate.wait(10)
                with self._lock:
                    response = self._accounting(req, record, organisation)
        except _XeroError as error:
            response = self._error(error)
        except Exception as exc:  # a bug of the fake must not hang the client
            _log.exception("FakeXero failed on %s %s", req.method, req.path)
            response = self._error(_problem(500, "InternalServerError", repr(exc)))
        finally:
            if organisation is not None:
                with self._lock:
                    organisation.in_flight -= 1
        if organisation is not None:
            with self._lock:
                for name, value in self._remaining(organisation).items():
                    response.headers.setdefault(name, value)
        record["status"] = response.status
        response.headers.setdefault("Xero-Correlation-Id", str(uuid.uuid4()))
        return response

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(status, json.dumps(payload, separators=(",", ":")).encode(), JSON_TYPE, headers or {})

    def _error(self, error: _XeroError) -> Response:
        if isinstance(error.body, str):
            return Response(error.status, error.body.encode(), "text/plain; charset=utf-8", error.headers)
        return self._json(error.status, error.body, error.headers)

    @staticmethod
    def _bearer(req: Request) -> str | None:
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def _access_grant(self, req: Request) -> _Grant:
        token = self._bearer(req)
        state = self._access.get(token or "")
        if state is None:
            raise _problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        if state.expired or self._now() >= state.expires:
            stamp = state.expires.strftime("%m/%d/%Y %H:%M:%S")
            error = _problem(401, "Unauthorized", f"TokenExpired: token expired at {stamp}")
            error.headers["WWW-Authenticate"] = 'Bearer error="invalid_token", error_description="The token expired"'
            raise error
        return state.grant

    # ----------------------------------------------------------------- identity

    def _identity(self, req: Request, record: dict[str, Any]) -> Response:
        path = req.path.rstrip("/").lower()
        if path == "/connect/token" and req.method == "POST":
            record["operation"] = "token"
            return self._token_endpoint(req)
        if path == "/connect/revocation" and req.method == "POST":
            record["operation"] = "revoke"
            form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
            state = self._refresh.get(form.get("token", ""))
            if state is not None:
                state.revoked = True
            return Response(200)
        if path == "/identity/connect/authorize" and req.method == "GET":
            record["operation"] = "authorize"
            params = {"code": self.issue_authorization_code(), "state": req.query.get("state", ""),
                      "scope": req.query.get("scope", "")}
            target = req.query.get("redirect_uri", "")
            separator = "&" if "?" in target else "?"
            return Response(302, headers={"Location": f"{target}{separator}{urlencode(params)}"})
        if path == "/connections" and req.method == "GET":
            record["operation"] = "connections"
            grant = self._access_grant(req)
            return self._json(200, [self._connection(grant, t) for t in grant.tenant_ids if t in self._organisations])
        if path.startswith("/connections/") and req.method == "DELETE":
            record["operation"] = "disconnect"
            grant = self._access_grant(req)
            connection_id = path.rsplit("/", 1)[1]
            for tenant_id in list(grant.tenant_ids):
                if self._connection_id(grant, tenant_id) == connection_id:
                    grant.tenant_ids.remove(tenant_id)
                    return Response(204)
            raise _not_found()
        raise _not_found()

    @staticmethod
    def _connection_id(grant: _Grant, tenant_id: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{grant.auth_event_id}/{tenant_id}"))

    def _connection(self, grant: _Grant, tenant_id: str) -> dict[str, Any]:
        organisation = self._organisations[tenant_id]
        stamp = grant.created.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
        return {"id": self._connection_id(grant, tenant_id), "authEventId": grant.auth_event_id,
                "tenantId": tenant_id, "tenantType": "ORGANISATION", "tenantName": organisation.name,
                "createdDateUtc": stamp + "0", "updatedDateUtc": stamp + "0"}

    def _client_ok(self, req: Request, form: dict[str, str]) -> bool:
        scheme, _, encoded = req.headers.get("authorization", "").partition(" ")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        return client_id == self.client_id and secret == self.client_secret

    def _token_endpoint(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        if not self._client_ok(req, form):
            return self._json(400, {"error": "invalid_client"})
        grant_type = form.get("grant_type")
        now = self._now()
        if grant_type == "authorization_code":
            grant_and_expiry = self._codes.pop(form.get("code", ""), None)
            if grant_and_expiry is None or now >= grant_and_expiry[1]:
                return self._json(400, {"error": "invalid_grant"})
            grant = grant_and_expiry[0]
            return self._json(200, self._token_payload(self._new_access(grant), self._new_refresh(grant)))
        if grant_type == "refresh_token":
            token = form.get("refresh_token", "")
            state = self._refresh.get(token)
            if state is None or state.revoked or now >= state.expires:
                return self._json(400, {"error": "invalid_grant"})
            if state.used_at is not None:
                if now >= state.used_at + timedelta(seconds=self.refresh_grace) or state.child is None:
                    return self._json(400, {"error": "invalid_grant"})
                # within the grace period the previous token still works and gives the same new one
                return self._json(200, self._token_payload(self._new_access(state.grant), state.child))
            state.used_at = now
            state.child = self._new_refresh(state.grant)
            return self._json(200, self._token_payload(self._new_access(state.grant), state.child))
        return self._json(400, {"error": "unsupported_grant_type"})

    # ----------------------------------------------------------------- admission: auth, tenant, limits

    def _admit(self, req: Request, record: dict[str, Any]) -> _Organisation:
        """Check a call against faults, the token, the tenant and the limits; count it in flight."""
        if self._faults:
            record["operation"] = "fault"
            raise self._fault(self._faults.popleft())
        if self._expire_after is not None:
            self._expire_after -= 1
            if self._expire_after <= 0:
                self._expire_after = None
                self.expire_access_tokens()
        grant = self._access_grant(req)
        tenant_id = req.headers.get("xero-tenant-id", "")
        organisation = self._organisations.get(tenant_id)
        if organisation is None or tenant_id not in grant.tenant_ids:
            raise _problem(403, "Forbidden", "AuthenticationUnsuccessful")
        self._throttle(organisation)
        organisation.in_flight += 1
        return organisation

    def _fault(self, fault: Fault) -> _XeroError:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.status == 429:
            headers["X-Rate-Limit-Problem"] = fault.problem or "minute"
            headers.setdefault("Retry-After", "1")
        if fault.body is not None:
            return _XeroError(fault.status, fault.body, headers)
        titles = {429: "Too Many Requests", 500: "InternalServerError", 502: "BadGateway",
                  503: "ServiceUnavailable", 504: "GatewayTimeout", 400: "BadRequest"}
        error = _problem(fault.status, titles.get(fault.status, "Error"),
                         "Rate limit exceeded" if fault.status == 429 else "An error occurred")
        error.headers.update(headers)
        return error

    @staticmethod
    def _expire(window: deque[datetime], horizon: datetime) -> None:
        while window and window[0] <= horizon:
            window.popleft()

    def _throttle(self, organisation: _Organisation) -> None:
        now = self._now()
        minute_ago, day_ago = now - timedelta(minutes=1), now - timedelta(days=1)
        self._expire(organisation.minute, minute_ago)
        self._expire(organisation.day, day_ago)
        self._expire(self._app_minute, minute_ago)
        limits = self.limits
        problem, retry = None, 1
        if len(organisation.day) >= limits.per_day:
            problem, retry = "day", self._seconds_until(organisation.day[0] + timedelta(days=1), now)
        elif len(organisation.minute) >= limits.per_minute:
            problem, retry = "minute", self._seconds_until(organisation.minute[0] + timedelta(minutes=1), now)
        elif organisation.in_flight >= limits.concurrent:
            problem = "concurrent"
        elif len(self._app_minute) >= limits.app_per_minute:
            problem, retry = "appminute", self._seconds_until(self._app_minute[0] + timedelta(minutes=1), now)
        if problem is not None:
            error = _problem(429, "Too Many Requests", f"You've exceeded the per {problem} rate limit")
            error.headers.update({"Retry-After": str(retry), "X-Rate-Limit-Problem": problem,
                                  **self._remaining(organisation)})
            raise error
        organisation.minute.append(now)
        organisation.day.append(now)
        self._app_minute.append(now)

    @staticmethod
    def _seconds_until(moment: datetime, now: datetime) -> int:
        return max(1, int((moment - now).total_seconds() + 0.999))

    def _remaining(self, organisation: _Organisation) -> dict[str, str]:
        return {"X-DayLimit-Remaining": str(max(0, self.limits.per_day - len(organisation.day))),
                "X-MinLimit-Remaining": str(max(0, self.limits.per_minute - len(organisation.minute))),
                "X-AppMinLimit-Remaining": str(max(0, self.limits.app_per_minute - len(self._app_minute)))}

    # ----------------------------------------------------------------- accounting

    def _envelope(self, name: str, items: str, pagination: dict[str, int] | None = None) -> Response:
        head: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": PROVIDER_NAME,
                "DateTimeUTC": f"/Date({_ms(self._now())})/"}
        if pagination is not None:
            head["pagination"] = pagination
        text = json.dumps(head, separators=(",", ":"))[:-1] + f',"{name}":[{items}]}}'
        return Response(200, text.encode())

    def _accounting(self, req: Request, record: dict[str, Any], organisation: _Organisation) -> Response:
        parts = [p for p in req.path.split("/")[3:] if p]
        key = req.headers.get("idempotency-key")
        if key is not None and req.method != "GET":
            if len(key) > MAX_IDEMPOTENCY_KEY:
                raise _validation(f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters")
            scoped = f"{req.method} {req.path} {key}"
            if scoped in organisation.replies:
                record["operation"] = "replay"
                status, body, headers = organisation.replies[scoped]
                return Response(status, body, headers=dict(headers))
        response = self._route(req, record, organisation, parts)
        if key is not None and req.method != "GET" and response.status < 300:
            organisation.replies[f"{req.method} {req.path} {key}"] = (response.status, response.body,
                                                                       dict(response.headers))
        return response

    def _route(self, req: Request, record: dict[str, Any], organisation: _Organisation,
               parts: list[str]) -> Response:
        if not parts:
            raise _not_found()
        name = next((c for c in COLLECTIONS if c.lower() == parts[0].lower()), None)
        resource = parts[0].lower()
        method = req.method
        if name is not None and len(parts) == 1 and method == "GET":
            record["operation"] = f"list {name}"
            return self._list(req, organisation, name)
        if name is not None and len(parts) == 2 and method == "GET":
            record["operation"] = f"get {name}"
            found = self._get(organisation, name, parts[1])
            return self._envelope(name, organisation.collections[name].text(found[COLLECTIONS[name][0]],
                                                                             line_items=True))
        if resource == "invoices" and len(parts) == 3:
            invoice = self._get(organisation, "Invoices", parts[1])
            action = parts[2].lower()
            if action == "email" and method == "POST":
                record["operation"] = "email invoice"
                return self._email(organisation, invoice)
            if action == "history" and method == "PUT":
                record["operation"] = "create invoice history"
                return self._add_history(req, organisation, invoice)
            if action == "history" and method == "GET":
                record["operation"] = "get invoice history"
                return self._history_response(organisation, invoice["InvoiceID"])
            if action == "onlineinvoice" and method == "GET":
                record["operation"] = "get online invoice"
                return self._online_invoice(invoice)
        if resource == "contactgroups":
            return self._contact_groups(req, record, organisation, parts)
        if resource == "currencies" and len(parts) == 1 and method == "GET":
            record["operation"] = "list Currencies"
            codes = sorted({organisation.base_currency} | {c for c in CURRENCIES if c != organisation.base_currency})
            items = ",".join(json.dumps({"Code": c, "Description": CURRENCIES[c]}) for c in codes)
            return self._envelope("Currencies", items)
        if resource == "organisation" and len(parts) == 1 and method == "GET":
            record["operation"] = "get Organisation"
            return self._envelope("Organisations", json.dumps(self._organisation(organisation)))
        raise _not_found()

    def _organisation(self, organisation: _Organisation) -> dict[str, Any]:
        return {
            "OrganisationID": organisation.tenant_id, "APIKey": "", "Name": organisation.name,
            "LegalName": organisation.name, "PaysTax": True, "Version": organisation.country,
            "OrganisationType": "COMPANY", "BaseCurrency": organisation.base_currency,
            "CountryCode": organisation.country, "IsDemoCompany": False, "OrganisationStatus": "ACTIVE",
            "FinancialYearEndDay": 31, "FinancialYearEndMonth": 3, "SalesTaxBasis": "PAYMENTS",
            "SalesTaxPeriod": "TWOMONTHS", "DefaultSalesTax": "Tax Exclusive", "DefaultPurchasesTax": "Tax Inclusive",
            "CreatedDateUTC": ms_date(organisation.created), "OrganisationEntityType": "COMPANY",
            "Timezone": "NEWZEALANDSTANDARDTIME", "ShortCode": organisation.short_code, "Class": "PREMIUM",
            "Edition": "BUSINESS", "LineOfBusiness": "Consulting", "Addresses": [], "Phones": [],
            "ExternalLinks": [], "PaymentTerms": {},
        }

    # ----------------------------------------------------------------- listings

    def _list(self, req: Request, organisation: _Organisation, name: str) -> Response:
        query = {k.lower(): v for k, v in req.query.items()}
        documents = organisation.collections[name]
        where = parse_where(query["where"]) if query.get("where", "").strip() else None
        equalities: dict[str, Any] = dict(where.equalities or {}) if where is not None else {}
        residual: list[Predicate] = []
        if where is not None and where.equalities is None:
            residual.append(where.predicate)
        statuses = [s.strip() for s in query.get("statuses", "").split(",") if s.strip()]
        if len(statuses) == 1:
            equalities.setdefault("Status", statuses[0])
        elif statuses:
            wanted_statuses = set(statuses)
            residual.append(lambda r: r.get("Status") in wanted_statuses)
        for param, path in (("ids", documents.id_field), ("contactids", "Contact.ContactID"),
                            ("invoicenumbers", "InvoiceNumber"), ("references", "Reference")):
            values = {v.strip().lower() for v in query.get(param, "").split(",") if v.strip()}
            if values:
                residual.append(_member_of(path, values))
        archived = query.get("includearchived", "").lower() == "true"
        if name == "Contacts" and not archived and "ContactStatus" not in equalities:
            residual.append(lambda r: r.get("ContactStatus") != "ARCHIVED")
        search = query.get("searchterm", "").strip().lower()
        if search:
            fields = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress") if name == "Contacts" \
                else ("InvoiceNumber", "Reference")
            residual.append(lambda r: any(search in str(r.get(f) or "").lower() for f in fields))
        signature = (query.get("where", ""), query.get("statuses", ""), query.get("ids", ""),
                     query.get("contactids", ""), query.get("invoicenumbers", ""), query.get("references", ""),
                     archived, search)
        combined: Predicate | None = None
        if residual:
            checks = list(residual)
            combined = lambda r: all(check(r) for check in checks)  # noqa: E731
        plan = documents.plan(equalities, combined, signature)
        since = _parse_since(req.headers["if-modified-since"]) if req.headers.get("if-modified-since") else None
        matches, reverse = self._ordered(documents, documents.matching(plan, since), query.get("order", ""),
                                         plan.signature, since)
        page_text = query.get("page", "").strip()
        line_items = bool(page_text) and query.get("summaryonly", "").lower() != "true"
        pagination = None
        if page_text:
            try:
                page = max(1, int(page_text))
                size = int(query.get("pagesize") or DEFAULT_PAGE_SIZE)
            except ValueError as exc:
                raise _validation("page and pageSize must be numbers") from exc
            size = max(1, min(size, MAX_PAGE_SIZE))
            total = len(matches)
            ids = matches.window((page - 1) * size, page * size, reverse=reverse)
            pagination = {"page": page, "pageSize": size, "pageCount": (total + size - 1) // size,
                          "itemCount": total}
        else:
            ids = matches.window(0, len(matches), reverse=reverse)
        items = ",".join(documents.text(i, line_items=line_items) for i in ids)
        return self._envelope(name, items, pagination)

    @staticmethod
    def _ordered(documents: _Collection, matches: _View, order: str, signature: tuple[Any, ...],
                 since: datetime | None) -> tuple[_View, bool]:
        """Matches in the asked order: the index order as is (or reversed), any other order sorted once."""
        terms = [t.split() for t in order.split(",") if t.strip()]
        if not terms or (len(terms) == 1 and terms[0][0].lower() == "updateddateutc"):
            return matches, bool(terms) and len(terms[0]) > 1 and terms[0][1].upper() == "DESC"
        key = ("order", order, *signature, _ms(since) if since else None)
        cached = documents.materialized.get(key)
        if cached is not None and cached[0] == documents.version:
            return _View(cached[1]), False
        ids = matches.ids()
        for term in reversed(terms):
            path, descending = term[0], len(term) > 1 and term[1].upper() == "DESC"
            ids.sort(key=_sort_key(documents, path), reverse=descending)
        documents.remember(key, ids)
        return _View(ids), False

    # ----------------------------------------------------------------- writes

    def _body(self, req: Request) -> dict[str, Any]:
        try:
            body = json.loads(req.body or b"{}", parse_float=Decimal)
        except ValueError as exc:
            raise _validation(f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise _validation("The request body must be an object")
        return body

    def _email(self, organisation: _Organisation, invoice: dict[str, Any]) -> Response:
        element = {"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"]}
        if invoice["Type"] != "ACCREC" or invoice["Status"] not in ("SUBMITTED", "AUTHORISED", "PAID"):
            raise _validation("Invoice not of valid status for sending by email", element)
        contact = organisation.collections["Contacts"].records[invoice["Contact"]["ContactID"]]
        recipients = [contact.get("EmailAddress") or ""] + [
            p.get("EmailAddress", "") for p in contact.get("ContactPersons", []) if p.get("IncludeInEmails")]
        recipients = [r for r in recipients if r]
        if not recipients or not all(_EMAIL_RE.match(r) for r in recipients):
            raise _validation("The contact does not have a valid email address", element)
        now = self._now()
        organisation.emails.append({"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"],
                                    "to": recipients, "at": now})
        invoice["SentToContact"] = True
        self._touch(organisation, "Invoices", invoice)
        self._history(organisation, invoice["InvoiceID"], "Sent",
                      f"This invoice has been sent to {', '.join(recipients)}.", user="API")
        return Response(204)

    def _history(self, organisation: _Organisation, invoice_id: str, changes: str, details: str,
                 user: str = "API") -> dict[str, Any]:
        now = self._now()
        entry = {"Changes": changes, "DateUTCString": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                 "DateUTC": now, "User": user, "Details": details}
        organisation.history.setdefault(invoice_id, []).append(entry)
        return entry

    def _add_history(self, req: Request, organisation: _Organisation, invoice: dict[str, Any]) -> Response:
        records = self._body(req).get("HistoryRecords")
        if not isinstance(records, list) or not records:
            raise _validation("HistoryRecords are required")
        created = []
        for item in records:
            details = str((item or {}).get("Details") or "").strip()
            if not details:
                raise _validation("The Details of a history record are required")
            if len(details) > 2500:
                raise _validation("The Details of a history record must be at most 2500 characters")
            entry = self._history(organisation, invoice["InvoiceID"], "Note", details, user="API")
            created.append({"DateUTCString": entry["DateUTCString"], "DateUTC": ms_date(entry["DateUTC"]),
                            "Details": details, "ValidationErrors": []})
        return self._envelope("HistoryRecords", ",".join(json.dumps(c) for c in created))

    def _history_response(self, organisation: _Organisation, invoice_id: str) -> Response:
        newest_first = list(reversed(organisation.history.get(invoice_id, [])))
        entries = sorted(newest_first, key=lambda e: e["DateUTC"], reverse=True)
        return self._envelope("HistoryRecords", ",".join(json.dumps(_render(e)) for e in entries))

    def _online_invoice(self, invoice: dict[str, Any]) -> Response:
        if invoice["Type"] != "ACCREC" or invoice["Status"] in ("DRAFT", "DELETED"):
            raise _validation("Online invoice is not available for this invoice",
                              {"InvoiceID": invoice["InvoiceID"]})
        digest = base64.urlsafe_b64encode(hashlib.sha256(invoice["InvoiceID"].encode()).digest()).decode()[:40]
        return self._envelope("OnlineInvoices", json.dumps({"OnlineInvoiceUrl": f"https://in.xero.com/{digest}"}))

    def _group_wire(self, group: dict[str, Any], *, contacts: bool) -> dict[str, Any]:
        out = {"ContactGroupID": group["ContactGroupID"], "Name": group["Name"], "Status": group["Status"],
               "Contacts": [], "HasValidationErrors": False}
        if contacts:
            out["Contacts"] = [{"ContactID": c, "Name": n, "Addresses": [], "Phones": [], "ContactGroups": [],
                                "ContactPersons": [], "HasValidationErrors": False}
                               for c, n in group["Contacts"].items()]
        return out

    def _contact_groups(self, req: Request, record: dict[str, Any], organisation: _Organisation,
                        parts: list[str]) -> Response:
        method = req.method
        if len(parts) == 1 and method == "GET":
            record["operation"] = "list ContactGroups"
            groups = [self._group_wire(g, contacts=False) for g in organisation.groups.values()
                      if g["Status"] == "ACTIVE"]
            where = req.query.get("where", "").strip()
            if where:
                predicate = parse_where(where).predicate
                groups = [g for g in groups if predicate(g)]
            return self._envelope("ContactGroups", ",".join(json.dumps(g) for g in groups))
        if len(parts) == 1 and method == "PUT":
            record["operation"] = "create ContactGroups"
            created = [self._new_group(organisation, item) for item in self._body(req).get("ContactGroups") or []]
            if not created:
                raise _validation("ContactGroups are required")
            return self._envelope("ContactGroups", ",".join(json.dumps(self._group_wire(g, contacts=False))
                                                            for g in created))
        group = organisation.groups.get(parts[1].lower()) if len(parts) > 1 else None
        if group is None:
            raise _not_found()
        if len(parts) == 2 and method == "GET":
            record["operation"] = "get ContactGroup"
            return self._envelope("ContactGroups", json.dumps(self._group_wire(group, contacts=True)))
        if len(parts) == 2 and method == "POST":
            record["operation"] = "update ContactGroup"
            for item in self._body(req).get("ContactGroups") or []:
                if item.get("Name"):
                    self._check_group_name(organisation, str(item["Name"]), group["ContactGroupID"])
                    group["Name"] = str(item["Name"]).strip()
                if item.get("Status") in ("ACTIVE", "DELETED"):
                    group["Status"] = item["Status"]
                    if item["Status"] == "DELETED":
                        for contact_id in list(group["Contacts"]):
                            self._ungroup(organisation, group, contact_id)
            return self._envelope("ContactGroups", json.dumps(self._group_wire(group, contacts=False)))
        if len(parts) == 3 and parts[2].lower() == "contacts" and method == "PUT":
            record["operation"] = "add ContactGroup contacts"
            added = []
            for item in self._body(req).get("Contacts") or []:
                contact = organisation.collections["Contacts"].records.get(str((item or {}).get("ContactID", "")))
                if contact is None:
                    raise _validation(f"Contact {item.get('ContactID')!r} was not found",
                                      {"ContactID": (item or {}).get("ContactID")})
                if contact["ContactID"] not in group["Contacts"]:
                    group["Contacts"][contact["ContactID"]] = contact["Name"]
                    contact["ContactGroups"].append({"ContactGroupID": group["ContactGroupID"],
                                                     "Name": group["Name"], "Status": "ACTIVE", "Contacts": []})
                    self._touch(organisation, "Contacts", contact)
                added.append({"ContactID": contact["ContactID"], "Addresses": [], "Phones": [], "ContactGroups": [],
                              "ContactPersons": [], "HasValidationErrors": False, "ValidationErrors": []})
            return self._envelope("Contacts", ",".join(json.dumps(a) for a in added))
        if len(parts) in (3, 4) and parts[2].lower() == "contacts" and method == "DELETE":
            record["operation"] = "remove ContactGroup contacts"
            targets = list(group["Contacts"]) if len(parts) == 3 else [parts[3].lower()]
            for contact_id in targets:
                if contact_id not in group["Contacts"]:
                    raise _validation(f"Contact {contact_id} is not in the group")
                self._ungroup(organisation, group, contact_id)
            return Response(204)
        raise _not_found()

    def _check_group_name(self, organisation: _Organisation, name: str, own_id: str | None) -> None:
        if not name.strip():
            raise _validation("The name of a contact group is required")
        for other in organisation.groups.values():
            if other["ContactGroupID"] != own_id and other["Status"] == "ACTIVE" and \
                    other["Name"].lower() == name.strip().lower():
                raise _validation(f"A contact group with the name '{name}' already exists",
                                  {"Name": name, "ContactGroupID": "00000000-0000-0000-0000-000000000000"})

    def _new_group(self, organisation: _Organisation, item: dict[str, Any]) -> dict[str, Any]:
        name = str((item or {}).get("Name") or "")
        self._check_group_name(organisation, name, None)
        if sum(1 for g in organisation.groups.values() if g["Status"] == "ACTIVE") >= 100:
            raise _validation("You’ve reached the limit of 100 contact groups.", {"Name": name})
        group: dict[str, Any] = {"ContactGroupID": str(uuid.uuid4()), "Name": name.strip(), "Status": "ACTIVE",
                                 "Contacts": {}}
        organisation.groups[group["ContactGroupID"]] = group
        return group

    def _ungroup(self, organisation: _Organisation, group: dict[str, Any], contact_id: str) -> None:
        group["Contacts"].pop(contact_id, None)
        contact = organisation.collections["Contacts"].records.get(contact_id)
        if contact is not None:
            contact["ContactGroups"] = [g for g in contact["ContactGroups"]
                                        if g["ContactGroupID"] != group["ContactGroupID"]]
            self._touch(organisation, "Contacts", contact)


def _member_of(path: str, values: set[str]) -> Predicate:
    return lambda record: str(_lookup(record, path) or "").lower() in values


def _sort_key(documents: _Collection, path: str) -> Callable[[str], tuple[int, Any]]:
    return lambda record_id: _sort_value(_lookup(documents.records[record_id], path))


def _sort_value(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, "")
    if isinstance(value, datetime):
        return (0, _ms(value))
    if isinstance(value, date):
        return (0, _ms(datetime.combine(value, time(), tzinfo=timezone.utc)))
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float | Decimal):
        return (0, Decimal(str(value)))
    return (0, str(value).lower())


# --------------------------------------------------------------------------- data generator


def generate_ledger(fake: FakeXero, *, contacts: int, invoices: int, seed: int = 0, tenant: str | None = None,
                    today: date | None = None) -> dict[str, list[str]]:
    """Seed an organisation with a realistic receivables ledger; return the ids made, by collection.

    About 4% of invoices are bills (ACCPAY); of sales invoices about 55% are open (a third of them part
    paid), 30% paid, 4% voided, 3% drafts, 2% submitted, 1% deleted; 5% of open ones get a credit note
    allocated, 1% an overpayment (with credit left), 0.5% a prepayment. A fifth of the contacts invoice
    in a foreign currency (with a CurrencyRate), some are suppliers only, some archived.
    """
    rng = random.Random(seed)
    today = today or fake._today()
    made: dict[str, list[str]] = {"Contacts": [], "Invoices": [], "Payments": [], "CreditNotes": [],
                                  "Overpayments": [], "Prepayments": []}
    with fake._lock:
        organisation = fake._org(tenant)
        now = fake._now()
        moments: dict[str, dict[str, datetime]] = {name: {} for name in made}

        def at(day: date, collection: str, record_id: str) -> None:
            moment = datetime.combine(day, time(), tzinfo=timezone.utc) + timedelta(seconds=rng.randint(28800, 64800))
            moments[collection][record_id] = max(moment, moments[collection].get(record_id, moment))
        foreign = [c for c in ("USD", "EUR", "GBP", "AUD") if c != organisation.base_currency]
        rates = {"USD": Decimal("1.650000"), "EUR": Decimal("1.780000"), "GBP": Decimal("2.080000"),
                 "AUD": Decimal("1.090000"), "NZD": Decimal("1.000000")}
        customers: list[tuple[str, str]] = []
        for n in range(contacts):
            currency = rng.choice(foreign) if rng.random() < 0.2 else organisation.base_currency
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            persons = [{"FirstName": rng.choice(_FIRST), "LastName": last, "EmailAddress": f"ar{n}@customer{n}.test",
                        "IncludeInEmails": True}] if rng.random() < 0.3 else []
            phones = [{"PhoneType": "DEFAULT", "PhoneNumber": f"{rng.randint(2000000, 9999999)}",
                       "PhoneAreaCode": f"0{rng.randint(2, 9)}", "PhoneCountryCode": "64"},
                      {"PhoneType": "MOBILE", "PhoneNumber": f"21{rng.randint(100000, 999999)}", "PhoneAreaCode": "",
                       "PhoneCountryCode": "64"}]
            addresses = [{"AddressType": "POBOX", "AddressLine1": f"PO Box {rng.randint(1, 9999)}",
                          "City": rng.choice(_CITIES), "Region": "", "PostalCode": f"{rng.randint(1000, 9999)}",
                          "Country": "New Zealand", "AttentionTo": "Accounts Payable"},
                         {"AddressType": "STREET", "AddressLine1": f"{rng.randint(1, 400)} {rng.choice(_LAST)} Street",
                          "City": rng.choice(_CITIES), "Region": "", "PostalCode": "", "Country": ""}]
            status = "ARCHIVED" if rng.random() < 0.02 else "ACTIVE"
            record = fake._new_contact(
                organisation, f"{rng.choice(_COMPANY)} {last} {n}", email=f"accounts{n}@customer{n}.test",
                first_name=first, last_name=last, is_customer=rng.random() > 0.03, currency=currency,
                persons=persons, phones=phones, addresses=addresses, status=status,
                extra={"AccountNumber": f"C{n:05d}", "ContactNumber": f"CN{n:05d}"})
            made["Contacts"].append(record["ContactID"])
            customers.append((record["ContactID"], currency))
            at(today - timedelta(days=rng.randint(0, 720)), "Contacts", record["ContactID"])
        for _ in range(invoices):
            contact_id, currency = customers[rng.randrange(len(customers))] if customers else ("", "")
            issued = today - timedelta(days=rng.randint(0, 540))
            due = issued + timedelta(days=rng.choice((7, 14, 20, 30, 30, 30, 45, 60)))
            total = Decimal(rng.randint(5000, 500000)) / 100
            tax = (total * Decimal("0.15") / Decimal("1.15")).quantize(_CENT)
            kind = "ACCPAY" if rng.random() < 0.04 else "ACCREC"
            roll = rng.random()
            status = ("DRAFT" if roll < 0.03 else "SUBMITTED" if roll < 0.05 else "DELETED" if roll < 0.06
                      else "VOIDED" if roll < 0.10 else "AUTHORISED")
            rate = None if currency == organisation.base_currency else \
                (rates[currency] * Decimal(str(rng.uniform(0.95, 1.05)))).quantize(Decimal("0.000001"))
            invoice = fake._new_invoice(organisation, contact_id, total=total, issued=issued, due=due, kind=kind,
                                        status=status, currency=currency, rate=rate, number=None,
                                        reference=f"PO-{rng.randint(1000, 99999)}" if rng.random() < 0.4 else "",
                                        lines=None, tax=tax, extra={})
            made["Invoices"].append(invoice["InvoiceID"])
            at(min(today, issued + timedelta(days=rng.randint(0, 3))), "Invoices", invoice["InvoiceID"])
            if status != "AUTHORISED":
                continue
            paid_roll = rng.random()
            if paid_roll < 0.33:
                payment = fake._pay(organisation, invoice, invoice["AmountDue"], min(today, due + timedelta(
                    days=rng.randint(-10, 40))), "")
                made["Payments"].append(payment["PaymentID"])
                at(payment["Date"], "Payments", payment["PaymentID"])
                at(payment["Date"], "Invoices", invoice["InvoiceID"])
            elif paid_roll < 0.51:
                amount = (invoice["AmountDue"] * Decimal(str(rng.uniform(0.1, 0.9)))).quantize(_CENT)
                payment = fake._pay(organisation, invoice, amount, min(today, issued + timedelta(
                    days=rng.randint(0, 60))), "Part payment")
                made["Payments"].append(payment["PaymentID"])
                at(payment["Date"], "Payments", payment["PaymentID"])
                at(payment["Date"], "Invoices", invoice["InvoiceID"])
            if invoice["Status"] != "AUTHORISED" or kind != "ACCREC":
                continue
            credit_roll = rng.random()
            if credit_roll < 0.05:
                amount = (invoice["AmountDue"] * Decimal(str(rng.uniform(0.05, 1)))).quantize(_CENT)
                note = fake._new_credit(organisation, "CreditNotes", contact_id, amount, issued, status="AUTHORISED",
                                        currency=currency, rate=rate)
                fake._allocate(organisation, "CreditNotes", note, invoice, amount, issued + timedelta(days=1))
                made["CreditNotes"].append(note["CreditNoteID"])
                at(min(today, issued + timedelta(days=1)), "CreditNotes", note["CreditNoteID"])
                at(min(today, issued + timedelta(days=1)), "Invoices", invoice["InvoiceID"])
            elif credit_roll < 0.06:
                amount = (invoice["AmountDue"] * Decimal(str(rng.uniform(0.2, 0.8)))).quantize(_CENT)
                over = fake._new_credit(organisation, "Overpayments", contact_id, amount * 2, issued,
                                        status="AUTHORISED", currency=currency, rate=rate)
                fake._allocate(organisation, "Overpayments", over, invoice, amount, issued + timedelta(days=2))
                made["Overpayments"].append(over["OverpaymentID"])
                at(min(today, issued + timedelta(days=2)), "Overpayments", over["OverpaymentID"])
                at(min(today, issued + timedelta(days=2)), "Invoices", invoice["InvoiceID"])
            elif credit_roll < 0.065:
                amount = (invoice["AmountDue"] * Decimal(str(rng.uniform(0.2, 1)))).quantize(_CENT)
                pre = fake._new_credit(organisation, "Prepayments", contact_id, amount, issued - timedelta(days=5),
                                       status="AUTHORISED", currency=currency, rate=rate)
                fake._allocate(organisation, "Prepayments", pre, invoice, amount, issued)
                made["Prepayments"].append(pre["PrepaymentID"])
                at(issued, "Prepayments", pre["PrepaymentID"])
                at(issued, "Invoices", invoice["InvoiceID"])
        for name, collection_moments in moments.items():
            organisation.collections[name].backdate({k: min(v, now) for k, v in collection_moments.items()})
    return made


_FIRST = ("Aroha", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hemi", "Isla", "Jack", "Kiri", "Liam", "Mia",
          "Noah", "Olivia", "Priya", "Quinn", "Ruby", "Sam", "Tama")
_LAST = ("Smith", "Wilson", "Ngata", "Brown", "Taylor", "Patel", "Walker", "Harris", "Tane", "Martin", "Cooper",
         "Singh", "King", "Wright", "Parata", "Clarke")
_COMPANY = ("Kauri", "Harbour", "Southern", "Alpine", "Pacific", "Coastal", "Summit", "Tasman", "Rimu", "Ridge")
_CITIES = ("Auckland", "Wellington", "Christchurch", "Hamilton", "Dunedin", "Tauranga", "Nelson", "Napier")


# --------------------------------------------------------------------------- webhooks


def sign_webhook(body: bytes, webhook_key: str) -> str:
    """Xero's ``x-xero-signature``: base64 of the HMAC-SHA256 of the raw body with the webhook key."""
    return base64.b64encode(hmac.new(webhook_key.encode(), body, hashlib.sha256).digest()).decode()


def webhook_delivery(webhook_key: str, events: Iterable[dict[str, Any]], *, first_sequence: int = 1,
                     valid: bool = True) -> tuple[bytes, dict[str, str]]:
    """A signed delivery: the raw body and its headers (``valid=False`` signs with another key)."""
    items = list(events)
    payload = {"events": items, "firstEventSequence": first_sequence if items else 0,
               "lastEventSequence": first_sequence + len(items) - 1 if items else 0,
               "entropy": secrets.token_hex(10).upper()}
    body = json.dumps(payload, separators=(",", ":")).encode()
    key = webhook_key if valid else webhook_key + "-wrong"
    return body, {"Content-Type": "application/json; charset=utf-8", "x-xero-signature": sign_webhook(body, key)}


def intent_to_receive(webhook_key: str, *, valid: bool = True) -> tuple[bytes, dict[str, str]]:
    """Xero's intent-to-receive check: no events; the receiver must answer 200 if valid, 401 otherwise."""
    return webhook_delivery(webhook_key, [], valid=valid)


def webhook_event(tenant_id: str, resource_id: str, *, category: str = "INVOICE", event_type: str = "UPDATE",
                  when: datetime | None = None) -> dict[str, Any]:
    """One webhook event (``category`` INVOICE or CONTACT; ``event_type`` CREATE or UPDATE)."""
    collection = {"INVOICE": "Invoices", "CONTACT": "Contacts"}.get(category, category.title() + "s")
    moment = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {"resourceUrl": f"https://api.xero.com/api.xro/2.0/{collection}/{resource_id}",
            "resourceId": resource_id, "eventDateUtc": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
            "eventType": event_type, "eventCategory": category, "tenantId": tenant_id,
            "tenantType": "ORGANISATION"}


def iter_pages(fetch: Callable[[int], list[Any]], page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[Any]:
    """Every item of a paged listing: ``fetch(page)`` until a short page (a helper for tests)."""
    page = 1
    while True:
        items = fetch(page)
        yield from items
        if len(items) < page_size:
            return
        page += 1
