"""A local fake of QuickBooks Online (Accounting API v3 and Intuit OAuth 2.0) for tests and benchmarks.

The server speaks the wire format closely enough that the official SDKs (``python-quickbooks`` 0.9.x and
``intuit-oauth``) talk to it unmodified. It binds 127.0.0.1 on a free port and uses the standard library only.

Usage::

    with FakeQuickBooks() as fake:
        auth = AuthClient(fake.client_id, fake.client_secret, "http://localhost/cb", fake.discovery_url)
        qb = QuickBooks(auth_client=auth, refresh_token=fake.refresh_token(), company_id=fake.realm_id,
                        minorversion=75)
        qb.api_url_v3 = f"{fake.base_url}/v3"

Plain-http data calls need ``OAUTHLIB_INSECURE_TRANSPORT=1`` (the SDK's OAuth2Session refuses http otherwise).

Deliberate simplifications, each one a place where real QuickBooks may be stricter:

* incoming ``None`` and ``""`` values are ignored (the SDK serialises every default, e.g. ``DueDate: ""``);
* on a sparse update empty lists are ignored too, and ``CustomField`` entries are merged by ``DefinitionId``;
* a Customer cannot be deleted in QuickBooks: ``delete("Customer", id)`` makes it inactive, as QuickBooks does;
* there is no ``PrivateNote`` entity in QuickBooks (it is a field of transactions): notes attached to a
  transaction are ``Attachable`` objects with ``Note`` and ``AttachableRef``, which this fake serves.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import heapq
import itertools
import json
import logging
import re
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.fakes.local_http import LocalServer, Request, Response

__all__ = ["FakeQuickBooks", "Fault"]

_log = logging.getLogger(__name__)

try:
    COMPANY_TZ: Any = ZoneInfo("America/Los_Angeles")
except ZoneInfoNotFoundError:  # pragma: no cover - system without tz data
    COMPANY_TZ = timezone(timedelta(hours=-8))

DEFAULT_REALM = "9130350000000001"
CLIENT_ID = "ABfakeQBOclientId0000000000000000000000000000000001"
CLIENT_SECRET = "fakeQBOclientSecret00000000000000000001"
REFRESH_TOKEN_TTL = 8_726_400  # seconds (101 days), Intuit's x_refresh_token_expires_in
AUTH_CODE_TTL = timedelta(minutes=5)
CDC_LOOKBACK = timedelta(days=30)
CDC_CAP = 1000
BATCH_LIMIT = 30
DEFAULT_MAX_RESULTS = 100
JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"

ENTITIES = {"customer": "Customer", "invoice": "Invoice", "payment": "Payment", "creditmemo": "CreditMemo",
            "attachable": "Attachable"}
CDC_ENTITIES = ("Customer", "Invoice", "Payment", "CreditMemo")
_ID_SEQUENCE = {"Customer": "name", "Invoice": "txn", "Payment": "txn", "CreditMemo": "txn", "Attachable": "note"}
_READ_ONLY = frozenset({
    "Id", "SyncToken", "MetaData", "domain", "sparse", "status", "TotalAmt", "Balance", "HomeBalance",
    "HomeTotalAmt", "InvoiceLink", "DeliveryInfo", "BalanceWithJobs", "FullyQualifiedName", "UnappliedAmt",
    "RemainingCredit",
})
_CURRENCIES = {"USD": "United States Dollar", "EUR": "Euro", "GBP": "British Pound Sterling", "CAD": "Canadian Dollar",
               "AUD": "Australian Dollar", "MXN": "Mexican Peso", "JPY": "Japanese Yen"}
_EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_CENT = Decimal("0.01")

Amount = Decimal | float | int | str
DateLike = date | str


@dataclass(frozen=True)
class Fault:
    """A fault returned instead of serving the next data call (see ``FakeQuickBooks.inject``)."""

    status: int
    fmt: Literal["json", "xml"] = "json"
    code: str | None = None
    message: str | None = None
    detail: str | None = None
    retry_after: int | None = None
    fault_type: str | None = None


_FAULT_DEFAULTS: dict[int, tuple[str, str, str, str]] = {
    400: ("2020", "Required param missing, need to supply the required value for the API",
          "Required parameter is missing in the request", "ValidationFault"),
    401: ("3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", "Token expired",
          "AUTHENTICATION"),
    403: ("3100", "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403", "",
          "AUTHORIZATION"),
    429: ("3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429", "The request limit was reached.",
          "ValidationFault"),
    500: ("10000", "An application error has occurred while processing your request",
          "System Failure Error: An unexpected error occurred while accessing or saving your data. "
          "Please wait a few minutes and try again.", "SystemFault"),
    503: ("10000", "Service Unavailable", "The service is temporarily unavailable. Please retry later.",
          "SystemFault"),
}


class _QboError(ValueError):
    """A QuickBooks fault raised while serving a request (also raised by the seeding helpers)."""

    def __init__(self, status: int, code: str, message: str, detail: str = "", fault_type: str = "ValidationFault"):
        super().__init__(f"{code} {message}: {detail}")
        self.status, self.code, self.message, self.detail, self.fault_type = status, code, message, detail, fault_type

    def error(self) -> dict[str, Any]:
        """The ``Error`` entry of a JSON fault."""
        return {"Message": self.message, "Detail": self.detail, "code": self.code}

    def fault(self) -> dict[str, Any]:
        """The ``Fault`` object of a JSON fault."""
        return {"Error": [self.error()], "type": self.fault_type}


def _not_found(entity: str, obj_id: str) -> _QboError:
    return _QboError(400, "610", "Object Not Found",
                     f"Object Not Found : Something you're trying to use has been made inactive. "
                     f"Check the fields with accounts, customers, items, vendors or employees. ({entity} {obj_id})")


def _required(what: str) -> _QboError:
    return _QboError(400, "2020", "Required param missing, need to supply the required value for the API",
                     f"Required parameter {what} is missing in the request")


def _invalid_ref(what: str, value: Any) -> _QboError:
    return _QboError(400, "2500", "Invalid Reference Id", f"Invalid Reference Id : {what} {value} does not exist")


def _parse_error(detail: str) -> _QboError:
    return _QboError(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def _invalid_query(detail: str) -> _QboError:
    return _QboError(400, "4001", "Invalid query", f"QueryValidationError: {detail}")


def _money(value: Any) -> Decimal:
    """An amount as a Decimal rounded to cents."""
    try:
        return Decimal(str(value)).quantize(_CENT)
    except (InvalidOperation, ValueError) as exc:
        raise _QboError(400, "2010", "Request has invalid or unsupported property",
                        f"Invalid amount: {value!r}") from exc


def _date_str(value: DateLike) -> str:
    """A date as QuickBooks writes it (YYYY-MM-DD)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError as exc:
        raise _QboError(400, "2010", "Request has invalid or unsupported property", f"Invalid date: {value!r}") from exc


def _wire(value: Any) -> Any:
    """A deep copy of stored data as JSON-ready values (Decimals become JSON numbers)."""
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


def _clean(value: Any) -> Any:
    """Drop ``None`` and ``""`` values from an incoming body, recursively."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    return value


def _mask(token: str | None) -> str | None:
    """A token with everything but its last 4 characters masked."""
    return None if not token else "****" + token[-4:]


def _currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": _CURRENCIES.get(code, code)}


def _parse_time(text: str) -> datetime:
    """An ISO 8601 timestamp (or date); without an offset it is read in the company's time zone."""
    raw = re.sub(r" (\d{2}:\d{2})$", r"+\1", text.strip())  # an unencoded "+" in a URL reads as a space
    raw = raw.replace(" ", "T")
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=COMPANY_TZ)
    return parsed


def _insert(index: list[Any], key: Any) -> None:
    """Add a key to a sorted list of distinct keys (new keys usually go last)."""
    if not index or index[-1] < key:
        index.append(key)
        return
    position = bisect.bisect_left(index, key)
    if position == len(index) or index[position] != key:
        index.insert(position, key)


def _remove(index: list[Any], key: Any) -> None:
    """Remove a key from a sorted list, if there."""
    position = bisect.bisect_left(index, key)
    if position < len(index) and index[position] == key:
        del index[position]


# --------------------------------------------------------------------------- query language

_TOKEN_RE = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),*])"
                       r"|(?P<word>[A-Za-z0-9_.:+\-]+))")


@dataclass
class _Query:
    entity: str
    count: bool = False
    fields: list[str] | None = None
    conditions: list[tuple[str, str, Any]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip().rstrip(";")
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            raise _parse_error(f'Encountered "{text[pos:pos + 10].strip()}" at line 1, column {pos + 1}.')
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _parse_query(text: str, queryable: Iterable[str]) -> _Query:
    """Parse the subset of the QuickBooks query language this fake supports."""
    tokens = _tokenize(text)
    pos = 0

    def peek(offset: int = 0) -> tuple[str, str]:
        return tokens[pos + offset] if pos + offset < len(tokens) else ("eof", "")

    def take() -> tuple[str, str]:
        nonlocal pos
        token = peek()
        if token[0] == "eof":
            raise _parse_error("Encountered \"<EOF>\" at line 1.")
        pos += 1
        return token

    def keyword(word: str) -> bool:
        kind, value = peek()
        return kind == "word" and value.upper() == word

    def expect(word: str) -> None:
        kind, value = take()
        if kind != "word" or value.upper() != word:
            raise _parse_error(f'Encountered "{value}" at line 1; was expecting {word}.')

    def literal() -> Any:
        kind, value = take()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", value[1:-1])
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind == "word":
            try:
                return Decimal(value)
            except InvalidOperation:
                pass
        raise _parse_error(f'Encountered "{value}" at line 1; was expecting a value.')

    def integer() -> int:
        kind, value = take()
        if kind != "word" or not value.isdigit():
            raise _parse_error(f'Encountered "{value}" at line 1; was expecting a number.')
        return int(value)

    expect("SELECT")
    query_fields: list[str] | None = None
    count = False
    if peek()[0] == "punct" and peek()[1] == "*":
        take()
    elif keyword("COUNT"):
        take()
        if [take()[1] for _ in range(3)] != ["(", "*", ")"]:
            raise _parse_error("COUNT takes (*) only.")
        count = True
    else:
        query_fields = []
        while True:
            kind, value = take()
            if kind != "word":
                raise _parse_error(f'Encountered "{value}" at line 1; was expecting a field.')
            query_fields.append(value)
            if peek() == ("punct", ","):
                take()
                continue
            break
    expect("FROM")
    kind, name = take()
    entity = next((e for e in queryable if e.lower() == name.lower()), None)
    if kind != "word" or entity is None:
        raise _invalid_query(f"Invalid entity name: {name}")
    query = _Query(entity=entity, count=count, fields=query_fields)
    if keyword("WHERE"):
        take()
        while True:
            fkind, fname = take()
            if fkind != "word":
                raise _parse_error(f'Encountered "{fname}" at line 1; was expecting a field.')
            okind, op = take()
            if okind == "word" and op.upper() == "IN":
                if take() != ("punct", "("):
                    raise _parse_error("IN needs a list in parentheses.")
                values = [literal()]
                while peek() == ("punct", ","):
                    take()
                    values.append(literal())
                if take() != ("punct", ")"):
                    raise _parse_error("Unclosed IN list.")
                query.conditions.append((fname, "IN", values))
            elif okind == "word" and op.upper() == "LIKE":
                query.conditions.append((fname, "LIKE", literal()))
            elif okind == "op":
                query.conditions.append((fname, "!=" if op == "<>" else op, literal()))
            else:
                raise _parse_error(f'Encountered "{op}" at line 1; was expecting an operator.')
            if keyword("AND"):
                take()
                continue
            if keyword("OR"):
                raise _parse_error('Encountered "OR" at line 1: OR is not supported.')
            break
    if keyword("ORDERBY") or (keyword("ORDER") and peek(1)[1].upper() == "BY"):
        if take()[1].upper() == "ORDER":
            take()
        while True:
            fkind, fname = take()
            if fkind != "word":
                raise _parse_error(f'Encountered "{fname}" at line 1; was expecting a field.')
            desc = False
            if keyword("ASC") or keyword("DESC"):
                desc = take()[1].upper() == "DESC"
            query.order.append((fname, desc))
            if peek() == ("punct", ","):
                take()
                continue
            break
    while keyword("STARTPOSITION") or keyword("MAXRESULTS"):
        word = take()[1].upper()
        number = integer()
        if word == "STARTPOSITION":
            query.start = max(number, 1)
        else:
            if number < 1:
                raise _invalid_query("MAXRESULTS must be at least 1")
            query.max_results = number
    if peek()[0] != "eof":
        raise _parse_error(f'Encountered "{peek()[1]}" at line 1.')
    return query


def _lookup(obj: dict[str, Any], path: str) -> Any:
    """A field of an object by (dotted, case-insensitive) name; references yield their value."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        key = next((k for k in current if k.lower() == part.lower()), None)
        current = current.get(key) if key is not None else None
    if isinstance(current, dict):
        if "value" in current:
            return current["value"]
        if "Address" in current:
            return current["Address"]
        if "FreeFormNumber" in current:
            return current["FreeFormNumber"]
    return current


def _id_like(path: str) -> bool:
    """Whether a field holds an id (compared as a number)."""
    last = path.lower().split(".")[-1]
    return last in ("id", "value", "txnid") or last.endswith("ref")


def _sort_key(path: str, value: Any) -> tuple[int, Any]:
    """A sortable, comparable form of a field value."""
    if value is None:
        return (1, 0)
    if path.lower().endswith("time") and isinstance(value, str):
        return (0, _parse_time(value).timestamp())
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float | Decimal):
        return (0, Decimal(str(value)))
    if isinstance(value, str) and value.isdigit() and _id_like(path):
        return (0, Decimal(value))
    return (0, str(value))


def _compare(stored: Any, op: str, wanted: Any, path: str) -> bool:
    if stored is None:
        return op == "!=" and wanted is not None
    if op == "IN":
        return any(_compare(stored, "=", one, path) for one in wanted)
    if op == "LIKE":
        pattern = "^" + ".*".join(re.escape(p) for p in str(wanted).split("%")) + "$"
        return re.match(pattern, str(stored), re.IGNORECASE | re.DOTALL) is not None
    if isinstance(stored, bool):
        left: Any = stored
        right: Any = wanted if isinstance(wanted, bool) else str(wanted).lower() == "true"
    elif path.lower().endswith("time") and isinstance(stored, str):
        left, right = _parse_time(stored), _parse_time(str(wanted))
    elif isinstance(stored, int | float | Decimal) or (
            _id_like(path) and isinstance(stored, str) and stored.isdigit() and str(wanted).isdigit()):
        try:
            left, right = Decimal(str(stored)), Decimal(str(wanted))
        except InvalidOperation:
            return False
    else:
        left, right = str(stored), str(wanted)
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    raise _parse_error(f"Unsupported operator {op}")


# --------------------------------------------------------------------------- HTTP plumbing


@dataclass
class _RefreshToken:
    chain: str
    expires: datetime
    child: str | None = None
    used: bool = False
    revoked: bool = False


@dataclass
class _AccessToken:
    chain: str
    expires: datetime
    expired: bool = False


# --------------------------------------------------------------------------- the fake


class FakeQuickBooks(LocalServer):
    """An in-memory QuickBooks Online company behind a local HTTP server."""

    server_name = "FakeQuickBooks"

    def __init__(self, realm_id: str = DEFAULT_REALM, *, access_token_ttl: int = 3600, page_cap: int = 1000,
                 clock: Callable[[], datetime] | None = None) -> None:
        """Create the fake (not started); ``clock`` returns the current time (naive means UTC)."""
        self.realm_id = realm_id
        self.access_token_ttl = access_token_ttl
        self.page_cap = page_cap
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self.calls: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._lock = threading.RLock()
        self._objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITIES.values()}
        self._deleted: dict[str, dict[str, datetime]] = {name: {} for name in ENTITIES.values()}
        self._changed: dict[tuple[str, str], datetime] = {}
        # Indexes, so that a page of a query or a CDC call costs O(log n + page), not a scan of everything:
        # ids in Id order per entity, active customers' ids, (change time, id) per entity including deletions;
        # any other query is computed once and kept until the data changes (``_version``).
        self._ids: dict[str, list[int]] = {name: [] for name in ENTITIES.values()}
        self._active_customers: list[int] = []
        self._customer_names: dict[str, set[str]] = {}  # DisplayName in lower case -> customer ids
        self._customer_name_of: dict[str, str] = {}
        self._change_index: dict[str, list[tuple[datetime, int]]] = {name: [] for name in ENTITIES.values()}
        self._version = 0
        self._query_cache: dict[tuple[str, str, str], tuple[int, list[dict[str, Any]]]] = {}
        self._counters = {"name": 0, "txn": 0, "note": 0}
        self._doc_number = 1000
        self._faults: deque[Fault] = deque()
        self._corrupt: dict[tuple[str, str], dict[str, Any]] = {}
        self._codes: dict[str, datetime] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._newest_refresh: str | None = None
        self._replies: dict[str, Response] = {}
        self._init_server()

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """The server's root, e.g. ``http://127.0.0.1:PORT``; the data API is under ``/v3/company/{realm}``."""
        return self.root_url

    @property
    def discovery_url(self) -> str:
        """The OpenID discovery document (pass it as ``AuthClient(environment=...)``)."""
        return f"{self.base_url}/.well-known/openid_configuration"

    # ----------------------------------------------------------------- time and ids

    def _now(self) -> datetime:
        now = self._clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)

    def _ts(self, moment: datetime | None = None) -> str:
        """A timestamp as QuickBooks writes it, in the company's time zone."""
        return (moment or self._now()).astimezone(COMPANY_TZ).isoformat(timespec="seconds")

    def _response_time(self) -> str:
        return self._now().astimezone(COMPANY_TZ).isoformat(timespec="milliseconds")

    def _today(self) -> str:
        return self._now().astimezone(COMPANY_TZ).date().isoformat()

    def _next_id(self, entity: str) -> str:
        sequence = _ID_SEQUENCE[entity]
        self._counters[sequence] += 1
        return str(self._counters[sequence])

    def _entity(self, name: str) -> str:
        canonical = ENTITIES.get(name.lower())
        if canonical is None:
            raise KeyError(f"unsupported entity {name!r}; known: {', '.join(ENTITIES.values())}")
        return canonical

    def _store(self, entity: str, obj: dict[str, Any]) -> dict[str, Any]:
        now = self._now()
        obj.setdefault("domain", "QBO")
        obj.setdefault("sparse", False)
        obj["SyncToken"] = "0"
        obj["MetaData"] = {"CreateTime": self._ts(now), "LastUpdatedTime": self._ts(now)}
        self._objects[entity][obj["Id"]] = obj
        _insert(self._ids[entity], int(obj["Id"]))
        self._mark_changed(entity, obj["Id"], now)
        self._index_customer(entity, obj)
        return obj

    def _bump(self, entity: str, obj: dict[str, Any]) -> None:
        now = self._now()
        obj["SyncToken"] = str(int(obj.get("SyncToken") or 0) + 1)
        obj.setdefault("MetaData", {})["LastUpdatedTime"] = self._ts(now)
        self._mark_changed(entity, obj["Id"], now)
        self._index_customer(entity, obj)
        self._corrupt.pop((entity, obj["Id"]), None)

    def _get(self, entity: str, obj_id: str) -> dict[str, Any]:
        obj = self._objects[entity].get(str(obj_id))
        if obj is None:
            raise _not_found(entity, str(obj_id))
        return obj

    def _out(self, entity: str, obj: dict[str, Any]) -> dict[str, Any]:
        """The wire form of a stored object, or its corrupted replacement."""
        raw = self._corrupt.get((entity, obj["Id"]))
        return copy.deepcopy(raw) if raw is not None else _wire(obj)

    def _mark_changed(self, entity: str, obj_id: str, moment: datetime) -> None:
        """Note a change (or deletion) of an object at ``moment``, in the dict and in the CDC index."""
        index = self._change_index[entity]
        old = self._changed.get((entity, obj_id))
        if old is not None:
            _remove(index, (old, int(obj_id)))
        self._changed[(entity, obj_id)] = moment
        _insert(index, (moment, int(obj_id)))
        self._version += 1

    def _index_customer(self, entity: str, obj: dict[str, Any]) -> None:
        """Keep the customers' indexes: names, and the ones a query without an ``Active`` condition returns."""
        if entity != "Customer":
            return
        old_name = self._customer_name_of.pop(obj["Id"], None)
        if old_name is not None:
            self._customer_names[old_name].discard(obj["Id"])
        if isinstance(obj.get("DisplayName"), str):
            self._customer_name_of[obj["Id"]] = obj["DisplayName"].lower()
            self._customer_names.setdefault(obj["DisplayName"].lower(), set()).add(obj["Id"])
        if _compare(_lookup(obj, "Active"), "=", True, "Active"):
            _insert(self._active_customers, int(obj["Id"]))
        else:
            _remove(self._active_customers, int(obj["Id"]))

    def _customer_balance(self, customer_id: str, delta: Decimal) -> None:
        self._version += 1
        customer = self._objects["Customer"].get(customer_id)
        if customer is not None:
            customer["Balance"] = _money(customer.get("Balance", 0)) + delta
            customer["BalanceWithJobs"] = customer["Balance"]

    # ----------------------------------------------------------------- seeding

    def add_customer(self, **fields: Any) -> dict[str, Any]:
        """Create a customer (DisplayName, PrimaryEmailAddr, PrimaryPhone, CurrencyRef, Active, BillAddr, ...)."""
        with self._lock:
            return _wire(self._new_customer(fields))

    def add_invoice(self, customer_id: str, *, amount: Amount, due_date: DateLike, txn_date: DateLike,
                    balance: Amount | None = None, currency: str = "USD", exchange_rate: Amount | None = None,
                    doc_number: str | None = None, **fields: Any) -> dict[str, Any]:
        """Create an invoice of one service line; ``balance`` below ``amount`` means partly paid already."""
        with self._lock:
            customer = self._objects["Customer"].get(str(customer_id))
            if customer is None:
                raise _invalid_ref("Customer", customer_id)
            total = _money(amount)
            lines = fields.pop("Line", None) or [{"Amount": total, "DetailType": "SalesItemLineDetail",
                                                  "SalesItemLineDetail": {"ItemRef": {"value": "1",
                                                                                      "name": "Services"},
                                                                          "Qty": 1, "UnitPrice": total}}]
            obj = self._build_invoice(customer, lines, total=total, txn_date=_date_str(txn_date),
                                      due_date=_date_str(due_date), currency=currency, exchange_rate=exchange_rate,
                                      doc_number=doc_number, extra=fields)
            if balance is not None:
                obj["Balance"] = _money(balance)
                self._customer_balance(customer["Id"], obj["Balance"] - total)
                self._home_amounts(obj)
            return _wire(obj)

    def add_payment(self, customer_id: str, amount: Amount, txn_date: DateLike,
                    applied_to: list[tuple[str, Amount]]) -> dict[str, Any]:
        """Create a payment applied to invoices (each gets a LinkedTxn and a lower Balance)."""
        with self._lock:
            lines = [{"Amount": _money(a), "LinkedTxn": [{"TxnId": str(i), "TxnType": "Invoice"}]}
                     for i, a in applied_to]
            return _wire(self._new_payment({"CustomerRef": {"value": str(customer_id)}, "TotalAmt": _money(amount),
                                            "TxnDate": _date_str(txn_date), "Line": lines}))

    def add_credit_memo(self, customer_id: str, amount: Amount, txn_date: DateLike, **fields: Any) -> dict[str, Any]:
        """Create a credit memo of one service line for a customer."""
        with self._lock:
            total = _money(amount)
            body = {"CustomerRef": {"value": str(customer_id)}, "TxnDate": _date_str(txn_date),
                    "Line": [{"Amount": total, "DetailType": "SalesItemLineDetail",
                              "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"},
                                                      "Qty": 1, "UnitPrice": total}}]}
            body.update(fields)
            return _wire(self._new_credit_memo(body))

    def update(self, entity: str, id: str, **fields: Any) -> dict[str, Any]:
        """Change top-level fields of an object, bumping SyncToken and LastUpdatedTime."""
        with self._lock:
            name = self._entity(entity)
            obj = self._get(name, id)
            for key, value in fields.items():
                obj[key] = _money(value) if key in ("Balance", "TotalAmt") else value
            self._bump(name, obj)
            return _wire(obj)

    def delete(self, entity: str, id: str) -> None:
        """Delete an object (CDC then reports it as Deleted); a Customer is made inactive, as QuickBooks does."""
        with self._lock:
            self._delete(self._entity(entity), str(id))

    def void_invoice(self, id: str) -> None:
        """Void an invoice as QuickBooks does: amounts and Balance 0, PrivateNote "Voided"."""
        with self._lock:
            self._void(self._get("Invoice", str(id)))

    def issue_authorization_code(self) -> str:
        """An authorization code for the authorization-code grant (single use, valid 5 minutes)."""
        with self._lock:
            code = "AB11" + secrets.token_urlsafe(30)
            self._codes[code] = self._now() + AUTH_CODE_TTL
            return code

    def refresh_token(self) -> str:
        """The newest valid refresh token (one is issued if there is none)."""
        with self._lock:
            newest = self._newest_refresh
            if newest is None or not self._refresh_valid(newest):
                newest = self._new_refresh(chain=uuid.uuid4().hex)
            return newest

    def expire_access_tokens(self) -> None:
        """Expire every access token issued so far: the next data call with one gets a 401."""
        with self._lock:
            for token in self._access.values():
                token.expired = True

    def inject(self, *faults: Fault) -> None:
        """Queue faults: each of the next data calls gets the next fault instead of being served."""
        with self._lock:
            self._faults.extend(faults)

    def corrupt(self, entity: str, id: str, raw: dict[str, Any]) -> None:
        """Serve ``raw`` instead of the object in reads, queries and CDC until the object changes."""
        with self._lock:
            self._corrupt[(self._entity(entity), str(id))] = copy.deepcopy(raw)

    # ----------------------------------------------------------------- object builders

    def _new_customer(self, fields: dict[str, Any]) -> dict[str, Any]:
        fields = dict(_clean(fields))
        names = [fields.get(k) for k in ("GivenName", "FamilyName")]
        display = fields.pop("DisplayName", None) or " ".join(n for n in names if n) or fields.get("CompanyName")
        if not display:
            raise _QboError(400, "6080", "No Name Provided",
                            "Title, GivenName, MiddleName, FamilyName, DisplayName, Suffix - one of these must be "
                            "non-empty")
        self._check_unique_name(display, None)
        for key in _READ_ONLY - {"Balance"}:
            fields.pop(key, None)
        obj: dict[str, Any] = {
            "Id": self._next_id("Customer"), "Taxable": False, "Job": False, "BillWithParent": False,
            "Balance": Decimal("0.00"), "BalanceWithJobs": Decimal("0.00"), "CurrencyRef": _currency_ref("USD"),
            "PreferredDeliveryMethod": "Email", "IsProject": False, "Active": True,
            "DisplayName": display, "PrintOnCheckName": display, "FullyQualifiedName": display,
        }
        obj.update(self._normalize_contact(fields))
        if "Balance" in fields:
            obj["Balance"] = obj["BalanceWithJobs"] = _money(fields["Balance"])
        return self._store("Customer", obj)

    @staticmethod
    def _normalize_contact(fields: dict[str, Any]) -> dict[str, Any]:
        out = dict(fields)
        if isinstance(out.get("PrimaryEmailAddr"), str):
            out["PrimaryEmailAddr"] = {"Address": out["PrimaryEmailAddr"]}
        for key in ("PrimaryPhone", "Mobile"):
            if isinstance(out.get(key), str):
                out[key] = {"FreeFormNumber": out[key]}
        if isinstance(out.get("CurrencyRef"), str):
            out["CurrencyRef"] = _currency_ref(out["CurrencyRef"])
        return out

    def _check_unique_name(self, display: str, own_id: str | None) -> None:
        if self._customer_names.get(display.lower(), set()) - {own_id}:
            raise _QboError(400, "6240", "Duplicate Name Exists Error",
                            f"The name supplied already exists. : Another customer, vendor or employee is "
                            f"already using this name ({display}). Please use a different name.")

    def _customer_of(self, body: dict[str, Any]) -> dict[str, Any]:
        ref = body.get("CustomerRef")
        value = ref.get("value") if isinstance(ref, dict) else ref
        if not value:
            raise _required("CustomerRef")
        customer = self._objects["Customer"].get(str(value))
        if customer is None:
            raise _invalid_ref("Customer", value)
        return customer

    def _number_lines(self, lines: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Decimal]:
        """Lines with Id/LineNum assigned and a trailing subtotal; the sum of the sales lines."""
        out: list[dict[str, Any]] = []
        total = Decimal("0.00")
        for line in lines:
            if line.get("DetailType") == "SubTotalLineDetail":
                continue
            line = dict(line)
            if "Amount" not in line:
                raise _required("Line.Amount")
            line["Amount"] = _money(line["Amount"])
            line.setdefault("DetailType", "SalesItemLineDetail")
            number = len(out) + 1
            line["Id"], line["LineNum"] = str(number), number
            if line["DetailType"] == "DiscountLineDetail":
                total -= line["Amount"]
            elif line["DetailType"] != "DescriptionOnly":
                total += line["Amount"]
            out.append(line)
        out.append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        return out, total

    @staticmethod
    def _home_amounts(obj: dict[str, Any]) -> None:
        rate = obj.get("ExchangeRate")
        if rate is not None and Decimal(str(rate)) != 1:
            obj["HomeTotalAmt"] = (obj["TotalAmt"] * Decimal(str(rate))).quantize(_CENT)
            obj["HomeBalance"] = (obj["Balance"] * Decimal(str(rate))).quantize(_CENT)

    def _build_invoice(self, customer: dict[str, Any], lines: list[dict[str, Any]], *, total: Decimal | None,
                       txn_date: str, due_date: str, currency: str | None, exchange_rate: Amount | None,
                       doc_number: str | None, extra: dict[str, Any]) -> dict[str, Any]:
        numbered, line_total = self._number_lines(lines)
        tax = _money(extra.get("TxnTaxDetail", {}).get("TotalTax", 0)) if isinstance(
            extra.get("TxnTaxDetail"), dict) else Decimal("0.00")
        amount = total if total is not None else line_total + tax
        if doc_number is None:
            self._doc_number += 1
            doc_number = str(self._doc_number)
        code = currency or customer.get("CurrencyRef", {}).get("value", "USD")
        obj: dict[str, Any] = {
            "Id": self._next_id("Invoice"), "AllowIPNPayment": False, "AllowOnlinePayment": False,
            "AllowOnlineCreditCardPayment": False, "AllowOnlineACHPayment": False, "CustomField": [],
            "DocNumber": doc_number, "TxnDate": txn_date, "CurrencyRef": _currency_ref(code), "LinkedTxn": [],
            "Line": numbered, "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "DueDate": due_date, "TotalAmt": amount, "ApplyTaxAfterDiscount": False, "PrintStatus": "NeedToPrint",
            "EmailStatus": "NotSet", "Balance": amount,
        }
        if isinstance(customer.get("PrimaryEmailAddr"), dict):
            obj["BillEmail"] = {"Address": customer["PrimaryEmailAddr"].get("Address", "")}
        if isinstance(customer.get("BillAddr"), dict):
            obj["BillAddr"] = copy.deepcopy(customer["BillAddr"])
        if exchange_rate is not None:
            obj["ExchangeRate"] = Decimal(str(exchange_rate))
        for key, value in extra.items():
            if key not in _READ_ONLY and key not in ("Line", "LinkedTxn"):
                obj[key] = value
        if isinstance(obj.get("CurrencyRef"), str):
            obj["CurrencyRef"] = _currency_ref(obj["CurrencyRef"])
        self._home_amounts(obj)
        self._store("Invoice", obj)
        self._customer_balance(customer["Id"], amount)
        return obj

    def _new_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = self._customer_of(body)
        lines = body.get("Line") or []
        if not [line for line in lines if line.get("DetailType") != "SubTotalLineDetail"]:
            raise _required("Line")
        txn_date = _date_str(body["TxnDate"]) if body.get("TxnDate") else self._today()
        currency = body.get("CurrencyRef", {}).get("value") if isinstance(body.get("CurrencyRef"), dict) else None
        extra = {k: v for k, v in body.items()
                 if k not in ("CustomerRef", "Line", "TxnDate", "DueDate", "DocNumber", "CurrencyRef",
                              "ExchangeRate")}
        return self._build_invoice(customer, lines, total=None, txn_date=txn_date,
                                   due_date=_date_str(body["DueDate"]) if body.get("DueDate") else txn_date,
                                   currency=currency, exchange_rate=body.get("ExchangeRate"),
                                   doc_number=body.get("DocNumber"), extra=extra)

    def _new_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = self._customer_of(body)
        if "TotalAmt" not in body:
            raise _required("TotalAmt")
        total = _money(body["TotalAmt"])
        applications: list[tuple[dict[str, Any], Decimal]] = []
        lines = []
        for line in body.get("Line") or []:
            amount = _money(line.get("Amount", 0))
            for linked in line.get("LinkedTxn") or []:
                if linked.get("TxnType") != "Invoice":
                    raise _QboError(400, "500", "Unsupported Operation",
                                    f"Operation Payment applied to {linked.get('TxnType')} is not supported by "
                                    "the fake")
                invoice = self._objects["Invoice"].get(str(linked.get("TxnId")))
                if invoice is None:
                    raise _invalid_ref("Invoice", linked.get("TxnId"))
                if invoice["CustomerRef"]["value"] != customer["Id"]:
                    raise _QboError(400, "620", "Transaction ID Cannot Be Linked",
                                    f"TxnId {invoice['Id']} belongs to another customer")
                if amount > invoice["Balance"]:
                    raise _QboError(400, "6000", "A business validation error has occurred while processing your "
                                    "request", f"Business Validation Error: the payment applied to invoice "
                                    f"{invoice['Id']} ({amount}) is more than its balance ({invoice['Balance']})")
                applications.append((invoice, amount))
            lines.append({"Amount": amount, "LinkedTxn": [{"TxnId": str(t.get("TxnId")), "TxnType": t.get("TxnType")}
                                                          for t in line.get("LinkedTxn") or []]})
        applied = sum((a for _, a in applications), Decimal("0.00"))
        if applied > total:
            raise _QboError(400, "6000", "A business validation error has occurred while processing your request",
                            "Business Validation Error: the amounts applied are more than the payment's total")
        obj: dict[str, Any] = {
            "Id": self._next_id("Payment"), "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "TotalAmt": total, "UnappliedAmt": total - applied, "ProcessPayment": False,
            "TxnDate": _date_str(body["TxnDate"]) if body.get("TxnDate") else self._today(),
            "CurrencyRef": copy.deepcopy(customer.get("CurrencyRef") or _currency_ref("USD")), "Line": lines,
        }
        for key, value in body.items():
            if key not in _READ_ONLY and key not in obj and key != "Line":
                obj[key] = value
        self._store("Payment", obj)
        for invoice, amount in applications:
            invoice["Balance"] -= amount
            invoice.setdefault("LinkedTxn", []).append({"TxnId": obj["Id"], "TxnType": "Payment"})
            self._home_amounts(invoice)
            self._bump("Invoice", invoice)
        self._customer_balance(customer["Id"], -applied)
        return obj

    def _new_credit_memo(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = self._customer_of(body)
        if not body.get("Line"):
            raise _required("Line")
        numbered, total = self._number_lines(body["Line"])
        obj: dict[str, Any] = {
            "Id": self._next_id("CreditMemo"), "CustomerRef": {"value": customer["Id"],
                                                               "name": customer["DisplayName"]},
            "TxnDate": _date_str(body["TxnDate"]) if body.get("TxnDate") else self._today(), "Line": numbered,
            "TotalAmt": total, "Balance": total, "RemainingCredit": total, "CustomField": [],
            "CurrencyRef": copy.deepcopy(customer.get("CurrencyRef") or _currency_ref("USD")),
            "PrintStatus": "NeedToPrint", "EmailStatus": "NotSet",
        }
        self._doc_number += 1
        obj["DocNumber"] = str(body.get("DocNumber") or self._doc_number)
        for key, value in body.items():
            if key not in _READ_ONLY and key not in obj and key != "Line":
                obj[key] = value
        self._store("CreditMemo", obj)
        self._customer_balance(customer["Id"], -total)
        return obj

    def _new_attachable(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("Note") and not body.get("FileName"):
            raise _required("Note")
        refs = []
        for ref in body.get("AttachableRef") or []:
            entity_ref = ref.get("EntityRef") or {}
            target = ENTITIES.get(str(entity_ref.get("type", "")).lower())
            if target is None or str(entity_ref.get("value")) not in self._objects[target]:
                raise _invalid_ref(str(entity_ref.get("type")), entity_ref.get("value"))
            refs.append({"IncludeOnSend": bool(ref.get("IncludeOnSend", False)),
                         "EntityRef": {"type": target, "value": str(entity_ref["value"])}})
        obj: dict[str, Any] = {"Id": self._next_id("Attachable"), "AttachableRef": refs}
        for key, value in body.items():
            if key not in _READ_ONLY and key != "AttachableRef":
                obj[key] = value
        return self._store("Attachable", obj)

    def _create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        if entity == "Customer":
            return self._new_customer(body)
        if entity == "Invoice":
            return self._new_invoice(body)
        if entity == "Payment":
            return self._new_payment(body)
        if entity == "CreditMemo":
            return self._new_credit_memo(body)
        return self._new_attachable(body)

    # ----------------------------------------------------------------- changes

    def _check_sync(self, obj: dict[str, Any], body: dict[str, Any], entity: str) -> None:
        if "SyncToken" not in body:
            raise _required("SyncToken")
        if str(body["SyncToken"]) != obj["SyncToken"]:
            raise _QboError(400, "5010", "Stale Object Error",
                            f"Stale Object Error : You and Fake User were working on this at the same time. "
                            f"Fake User finished before you did, so your work was not saved. "
                            f"({entity} {obj['Id']} is at SyncToken {obj['SyncToken']}, "
                            f"the request had {body['SyncToken']})")

    def _update_op(self, entity: str, raw: dict[str, Any]) -> dict[str, Any]:
        sparse = raw.get("sparse") in (True, "true")
        body = _clean(raw)
        obj = self._get(entity, str(body.get("Id")))
        self._check_sync(obj, body, entity)
        changes = {k: v for k, v in body.items() if k not in _READ_ONLY and (not sparse or v != [])}
        if entity == "Invoice":
            changes.pop("LinkedTxn", None)
        if not sparse:
            if entity in ("Invoice", "CreditMemo", "Payment") and "CustomerRef" not in changes:
                raise _required("CustomerRef")
            if entity in ("Invoice", "CreditMemo") and not changes.get("Line"):
                raise _required("Line")
        if entity == "Payment" and "Line" in changes and changes["Line"] != obj.get("Line"):
            raise _QboError(400, "500", "Unsupported Operation",
                            "Operation changing the Lines of a Payment is not supported by the fake")
        if entity == "Customer" and "DisplayName" in changes:
            self._check_unique_name(changes["DisplayName"], obj["Id"])
            changes["FullyQualifiedName"] = changes["DisplayName"]
        if "CustomerRef" in changes and entity != "Customer":
            new_customer = self._customer_of(changes)
            changes["CustomerRef"] = {"value": new_customer["Id"], "name": new_customer["DisplayName"]}
        if sparse and isinstance(changes.get("CustomField"), list):
            merged = {str(f.get("DefinitionId")): f for f in obj.get("CustomField", [])}
            for item in changes["CustomField"]:
                merged[str(item.get("DefinitionId"))] = {**merged.get(str(item.get("DefinitionId")), {}), **item}
            changes["CustomField"] = list(merged.values())
        for key, limit in (("PrivateNote", 4000), ("Note", 4000)):
            if isinstance(changes.get(key), str) and len(changes[key]) > limit:
                raise _QboError(400, "2050", "String length is either shorter or longer than supported by "
                                "specification", f"{key}: Min:0 Max:{limit} supported. Supplied "
                                f"length:{len(changes[key])}")
        if sparse:
            new = copy.deepcopy(obj)
        else:
            new = {k: copy.deepcopy(v) for k, v in obj.items()
                   if k in _READ_ONLY or (entity == "Invoice" and k == "LinkedTxn")}
        new.update(copy.deepcopy(changes))
        if entity in ("Invoice", "CreditMemo") and "Line" in changes:
            new["Line"], total = self._number_lines(changes["Line"])
            paid = _money(obj["TotalAmt"]) - _money(obj["Balance"])
            if total < paid:
                raise _QboError(400, "6000", "A business validation error has occurred while processing your "
                                "request", "Business Validation Error: the new total is less than the amount paid")
            new["TotalAmt"], new["Balance"] = total, total - paid
            if entity == "CreditMemo":
                new["RemainingCredit"] = new["Balance"]
        if entity == "Invoice":
            self._home_amounts(new)
        if entity in ("Invoice", "CreditMemo"):
            sign = 1 if entity == "Invoice" else -1
            self._customer_balance(obj["CustomerRef"]["value"], -sign * _money(obj["Balance"]))
            self._customer_balance(new["CustomerRef"]["value"], sign * _money(new["Balance"]))
        obj.clear()
        obj.update(new)
        self._bump(entity, obj)
        return obj

    def _delete(self, entity: str, obj_id: str) -> None:
        obj = self._get(entity, obj_id)
        if entity == "Customer":
            obj["Active"] = False
            obj["DisplayName"] = obj["FullyQualifiedName"] = f"{obj['DisplayName']} (deleted)"
            self._bump(entity, obj)
            return
        if entity == "Invoice":
            self._customer_balance(obj["CustomerRef"]["value"], -_money(obj["Balance"]))
        elif entity == "CreditMemo":
            self._customer_balance(obj["CustomerRef"]["value"], _money(obj["Balance"]))
        elif entity == "Payment":
            for line in obj.get("Line", []):
                for linked in line.get("LinkedTxn", []):
                    invoice = self._objects["Invoice"].get(linked["TxnId"])
                    if invoice is None:
                        continue
                    invoice["Balance"] += _money(line["Amount"])
                    invoice["LinkedTxn"] = [t for t in invoice.get("LinkedTxn", []) if t.get("TxnId") != obj_id]
                    self._home_amounts(invoice)
                    self._bump("Invoice", invoice)
                    self._customer_balance(invoice["CustomerRef"]["value"], _money(line["Amount"]))
        del self._objects[entity][obj_id]
        _remove(self._ids[entity], int(obj_id))
        now = self._now()
        self._deleted[entity][obj_id] = now
        self._mark_changed(entity, obj_id, now)
        self._corrupt.pop((entity, obj_id), None)

    def _void(self, invoice: dict[str, Any]) -> None:
        self._customer_balance(invoice["CustomerRef"]["value"], -_money(invoice["Balance"]))
        invoice["Balance"] = invoice["TotalAmt"] = Decimal("0.00")
        for line in invoice.get("Line", []):
            line["Amount"] = Decimal("0.00")
            detail = line.get("SalesItemLineDetail")
            if isinstance(detail, dict):
                detail["Qty"], detail["UnitPrice"] = 0, 0
        invoice["PrivateNote"] = "Voided"
        self._home_amounts(invoice)
        self._bump("Invoice", invoice)

    # ----------------------------------------------------------------- OAuth

    def _new_refresh(self, chain: str) -> str:
        token = "AB11" + secrets.token_urlsafe(36)[:46]
        self._refresh[token] = _RefreshToken(chain=chain, expires=self._now() + timedelta(seconds=REFRESH_TOKEN_TTL))
        self._newest_refresh = token
        return token

    def _refresh_valid(self, token: str) -> bool:
        state = self._refresh.get(token)
        if state is None or state.revoked or self._now() >= state.expires:
            return False
        child = self._refresh.get(state.child) if state.child else None
        return child is None or not child.used

    def _new_access(self, chain: str) -> str:
        token = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(48)
        self._access[token] = _AccessToken(chain=chain, expires=self._now() + timedelta(seconds=self.access_token_ttl))
        return token

    def _token_reply(self, access: str, refresh: str) -> Response:
        return self._json(200, {"x_refresh_token_expires_in": REFRESH_TOKEN_TTL, "refresh_token": refresh,
                                "access_token": access, "token_type": "bearer",
                                "expires_in": self.access_token_ttl}, with_time=False)

    def _oauth_error(self, status: int, error: str) -> Response:
        return self._json(status, {"error": error}, with_time=False)

    def _token_endpoint(self, req: Request) -> Response:
        try:
            scheme, _, encoded = req.headers.get("authorization", "").partition(" ")
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            scheme, client_id, secret = "", "", ""
        if scheme.lower() != "basic" or client_id != self.client_id or secret != self.client_secret:
            return self._oauth_error(401, "invalid_client")
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            expires = self._codes.pop(form.get("code", ""), None)
            if not form.get("redirect_uri"):
                return self._oauth_error(400, "invalid_request")
            if expires is None or self._now() >= expires:
                return self._oauth_error(400, "invalid_grant")
            chain = uuid.uuid4().hex
            return self._token_reply(self._new_access(chain), self._new_refresh(chain))
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            if not self._refresh_valid(token):
                return self._oauth_error(400, "invalid_grant")
            state = self._refresh[token]
            state.used = True
            child = state.child
            if child is None:
                child = self._new_refresh(state.chain)
                state.child = child
            return self._token_reply(self._new_access(state.chain), child)
        return self._oauth_error(400, "unsupported_grant_type")

    def _revoke_endpoint(self, req: Request) -> Response:
        try:
            token = json.loads(req.body or b"{}").get("token", "")
        except (ValueError, AttributeError):
            return self._oauth_error(400, "invalid_request")
        chain = None
        if token in self._refresh:
            chain = self._refresh[token].chain
        elif token in self._access:
            chain = self._access[token].chain
        if chain is not None:
            for state in self._refresh.values():
                if state.chain == chain:
                    state.revoked = True
            for access in self._access.values():
                if access.chain == chain:
                    access.expired = True
        return Response(200)

    def _bearer(self, req: Request) -> str | None:
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def _access_valid(self, token: str | None) -> bool:
        state = self._access.get(token or "")
        return state is not None and not state.expired and self._now() < state.expires

    def _discovery(self) -> dict[str, Any]:
        base = self.base_url
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{base}/oauth2/v1/tokens/revoke",
            "jwks_uri": f"{base}/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone",
                                 "com.intuit.quickbooks.accounting", "com.intuit.quickbooks.payment"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }

    # ----------------------------------------------------------------- responses

    def _json(self, status: int, payload: dict[str, Any], *, with_time: bool = True) -> Response:
        if with_time:
            payload = {**payload, "time": self._response_time()}
        return Response(status, json.dumps(payload, separators=(",", ":")).encode(), JSON_TYPE)

    def _error_response(self, error: _QboError, fmt: str = "json", retry_after: int | None = None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if fmt == "xml":
            body = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
                    f'time={quoteattr(self._response_time())}><Fault type={quoteattr(error.fault_type)}>'
                    f'<Error code={quoteattr(error.code)}><Message>{escape(error.message)}</Message>'
                    f'<Detail>{escape(error.detail)}</Detail></Error></Fault></IntuitResponse>')
            return Response(error.status, body.encode(), XML_TYPE, headers)
        if error.status in (401, 403):
            # the gateway's own faults are lower-case (the SDK does not parse them)
            payload = {"fault": {"error": [{"message": error.message, "detail": error.detail, "code": error.code}],
                                 "type": error.fault_type}}
            if error.status == 401:
                headers["WWW-Authenticate"] = 'Bearer realm="Intuit", error="invalid_token"'
        else:
            payload = {"Fault": error.fault()}
        response = self._json(error.status, payload)
        response.headers.update(headers)
        return response

    def _injected(self, fault: Fault) -> Response:
        defaults = _FAULT_DEFAULTS.get(fault.status) or _FAULT_DEFAULTS[500 if fault.status >= 500 else 400]
        error = _QboError(fault.status, fault.code or defaults[0], fault.message or defaults[1],
                          fault.detail if fault.detail is not None else defaults[2], fault.fault_type or defaults[3])
        return self._error_response(error, fault.fmt, fault.retry_after)

    # ----------------------------------------------------------------- dispatch

    def _handle(self, req: Request) -> Response:
        """Serve one request and record it in ``calls``."""
        record: dict[str, Any] = {"method": req.method, "path": req.path, "query": dict(req.query),
                                  "entity": None, "operation": None, "token": _mask(self._bearer(req)),
                                  "request_id": req.query.get("requestid"), "status": None}
        with self._lock:
            try:
                response = self._route(req, record)
            except _QboError as error:
                response = self._error_response(error)
            except Exception as exc:  # a bug of the fake must not hang the client
                _log.exception("FakeQuickBooks failed on %s %s", req.method, req.path)
                response = self._error_response(_QboError(500, "10000", _FAULT_DEFAULTS[500][1], repr(exc),
                                                          "SystemFault"))
            response.headers.setdefault("intuit_tid", f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}")
            record["status"] = response.status
            self.calls.append(record)
        return response

    def _route(self, req: Request, record: dict[str, Any]) -> Response:
        path = req.path.rstrip("/") or "/"
        if path == "/.well-known/openid_configuration" and req.method == "GET":
            record["operation"] = "discovery"
            return self._json(200, self._discovery(), with_time=False)
        if path == "/connect/oauth2" and req.method == "GET":
            record["operation"] = "authorize"
            params = {"code": self.issue_authorization_code(), "state": req.query.get("state", ""),
                      "realmId": self.realm_id}
            target = req.query.get("redirect_uri", "")
            separator = "&" if "?" in target else "?"
            return Response(302, headers={"Location": f"{target}{separator}{urlencode(params)}"})
        if path == "/oauth2/v1/tokens/bearer" and req.method == "POST":
            record["operation"] = "token"
            return self._token_endpoint(req)
        if path == "/oauth2/v1/tokens/revoke" and req.method == "POST":
            record["operation"] = "revoke"
            return self._revoke_endpoint(req)
        if path == "/v1/openid_connect/userinfo" and req.method == "GET":
            record["operation"] = "userinfo"
            if not self._access_valid(self._bearer(req)):
                return self._oauth_error(401, "invalid_token")
            return self._json(200, {"sub": f"fake-user-{self.realm_id}", "email": "owner@example.com",
                                    "emailVerified": True, "givenName": "Fake", "familyName": "Owner"},
                              with_time=False)
        if path == "/op/v1/jwks" and req.method == "GET":
            record["operation"] = "jwks"
            return self._json(200, {"keys": []}, with_time=False)
        if path.startswith("/v3/company/"):
            return self._data(req, record, path)
        return self._json(404, {"error": "not_found", "path": req.path}, with_time=False)

    def _unsupported(self, req: Request) -> _QboError:
        return _QboError(400, "500", "Unsupported Operation",
                         f"Operation Could not find resource for relative : {req.path} of full path: "
                         f"{self.base_url}{req.path} is not supported.")

    def _data(self, req: Request, record: dict[str, Any], path: str) -> Response:
        parts = path.split("/")[3:]  # realm, resource, ...
        record["entity"] = self._entity_of(req, parts[1:])
        if self._faults:
            record["operation"] = "fault"
            return self._injected(self._faults.popleft())
        token = self._bearer(req)
        if not self._access_valid(token):
            state = self._access.get(token or "")
            detail = f"Token expired: {_mask(token)}" if state is not None else "Token invalid"
            raise _QboError(401, "3200", _FAULT_DEFAULTS[401][1], detail, "AUTHENTICATION")
        if not parts or parts[0] != self.realm_id:
            raise _QboError(403, "3100", _FAULT_DEFAULTS[403][1], "", "AUTHORIZATION")
        request_id = req.query.get("requestid")
        if req.method == "POST" and request_id and request_id in self._replies:
            record["operation"] = "replay"
            cached = self._replies[request_id]
            headers = {k: v for k, v in cached.headers.items() if k != "intuit_tid"}
            return Response(cached.status, cached.body, cached.content_type, headers)
        response = self._data_route(req, record, parts[1:])
        if req.method == "POST" and request_id and response.status == 200:
            self._replies[request_id] = response
        return response

    @staticmethod
    def _entity_of(req: Request, parts: list[str]) -> str | None:
        """The entity a data call is about, as far as can be told before serving it."""
        if parts and parts[0].lower() in ENTITIES:
            return ENTITIES[parts[0].lower()]
        if parts == ["query"]:
            text = req.query.get("query") or req.body.decode("utf-8", "replace")
            match = re.search(r"\bFROM\s+(\w+)", text, re.IGNORECASE)
            return next((e for e in ENTITIES.values() if match and e.lower() == match.group(1).lower()), None)
        if parts == ["cdc"]:
            return req.query.get("entities")
        return None

    def _data_route(self, req: Request, record: dict[str, Any], parts: list[str]) -> Response:
        if parts == ["query"] and req.method in ("GET", "POST"):
            text = req.query.get("query") if req.method == "GET" else req.body.decode("utf-8", "replace")
            if not text:
                raise _parse_error("Encountered \"<EOF>\" at line 1.")
            query = _parse_query(text, ENTITIES.values())
            record.update(operation="query", sql=text)
            result = self._run_query(query)
            if query.entity == "Invoice" and "invoicelink" in req.query.get("include", "").lower():
                for invoice in result.get("Invoice", []):
                    self._with_link(invoice)
            return self._json(200, {"QueryResponse": result})
        if parts == ["cdc"] and req.method == "GET":
            record["operation"] = "cdc"
            return self._json(200, self._cdc(req.query.get("entities", ""), req.query.get("changedSince", "")))
        if parts == ["batch"] and req.method == "POST":
            record["operation"] = "batch"
            return self._json(200, self._batch(self._body_json(req)))
        if not parts or parts[0].lower() not in ENTITIES:
            raise self._unsupported(req)
        entity = ENTITIES[parts[0].lower()]
        if len(parts) == 1 and req.method == "POST":
            body = self._body_json(req)
            operation = req.query.get("operation", "update" if body.get("Id") else "create")
            record["operation"] = operation
            return self._json(200, self._write(entity, operation, body))
        if len(parts) == 2 and req.method == "GET":
            record["operation"] = "read"
            obj = self._out(entity, self._get(entity, parts[1]))
            if entity == "Invoice" and "invoicelink" in req.query.get("include", "").lower():
                self._with_link(obj)
            return self._json(200, {entity: obj})
        if len(parts) == 3 and parts[2] == "send" and req.method == "POST" and entity == "Invoice":
            record["operation"] = "send"
            return self._json(200, {entity: self._send(parts[1], req.query.get("sendTo"))})
        if len(parts) == 3 and parts[2] == "pdf" and req.method == "GET" and entity == "Invoice":
            record["operation"] = "pdf"
            invoice = self._get(entity, parts[1])
            pdf = (f"%PDF-1.4\n% fake invoice {invoice['DocNumber']}\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
            return Response(200, pdf.encode(), "application/pdf")
        raise self._unsupported(req)

    @staticmethod
    def _body_json(req: Request) -> dict[str, Any]:
        try:
            body = json.loads(req.body or b"{}", parse_float=Decimal)
        except ValueError as exc:
            raise _QboError(400, "2010", "Request has invalid or unsupported property",
                            f"Error parsing request body: {exc}") from exc
        if not isinstance(body, dict):
            raise _QboError(400, "2010", "Request has invalid or unsupported property", "The body is not an object")
        return body

    def _with_link(self, invoice: dict[str, Any]) -> None:
        """Add the customer's pay-online link as Intuit does: only to an invoice that takes online payment (card or
        bank transfer through QuickBooks Payments) and has an email to send it to; otherwise it is empty."""
        online = invoice.get("AllowOnlineCreditCardPayment") or invoice.get("AllowOnlineACHPayment")
        email = (invoice.get("BillEmail") or {}).get("Address")
        invoice["InvoiceLink"] = self._invoice_link(str(invoice["Id"])) if online and email else ""

    def _invoice_link(self, invoice_id: str) -> str:
        digest = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.realm_id}/{invoice_id}").hex
        return f"https://connect.intuit.com/portal/app/CommerceNetwork/view/scs-v1-{digest}?locale=en_US"

    def _write(self, entity: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Serve a create, update, delete or void; the response body without ``time``."""
        if operation == "create":
            return {entity: self._out(entity, self._create(entity, _clean(body)))}
        if operation == "update" and body.get("Id"):
            return {entity: self._out(entity, self._update_op(entity, body))}
        if operation == "delete" and body.get("Id"):
            obj = self._get(entity, str(body["Id"]))
            self._check_sync(obj, body, entity)
            if entity == "Customer":
                raise _QboError(400, "500", "Unsupported Operation",
                                "Operation Delete is not supported for Customer: make it inactive instead")
            self._delete(entity, obj["Id"])
            return {entity: {"domain": "QBO", "status": "Deleted", "Id": obj["Id"]}}
        if operation == "void" and entity == "Invoice" and body.get("Id"):
            obj = self._get(entity, str(body["Id"]))
            self._check_sync(obj, body, entity)
            self._void(obj)
            return {entity: self._out(entity, obj)}
        raise _QboError(400, "500", "Unsupported Operation", f"Operation {operation} is not supported for {entity}.")

    def _send(self, invoice_id: str, send_to: str | None) -> dict[str, Any]:
        invoice = self._get("Invoice", invoice_id)
        address = send_to or (invoice.get("BillEmail") or {}).get("Address")
        if not address:
            raise _required("BillEmail.Address or sendTo")
        if not all(_EMAIL_RE.match(a.strip()) for a in address.split(",")):
            raise _QboError(400, "2210", "Invalid email address format",
                            "Email Address does not conform to the syntax rules of RFC 822.")
        now = self._now()
        invoice["EmailStatus"] = "EmailSent"
        invoice["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": self._ts(now)}
        if send_to:
            invoice["BillEmail"] = {"Address": send_to}
        self._bump("Invoice", invoice)
        self.sent.append({"id": invoice_id, "sendTo": address, "at": self._ts(now)})
        return self._out("Invoice", invoice)

    # ----------------------------------------------------------------- query, CDC and batch

    def _run_query(self, query: _Query) -> dict[str, Any]:
        size = min(query.max_results, self.page_cap)
        ordered = self._ordered_ids(query)
        if ordered is not None:
            if query.count:
                return {"totalCount": len(ordered)}
            objects = self._objects[query.entity]
            page = [objects[str(i)] for i in ordered[query.start - 1:query.start - 1 + size]]
        else:
            rows = self._matching_rows(query)
            if query.count:
                return {"totalCount": len(rows)}
            page = rows[query.start - 1:query.start - 1 + size]
        if not page:
            return {}
        out = [self._out(query.entity, r) for r in page]
        if query.fields:
            wanted = {f.lower() for f in query.fields}
            out = [{k: v for k, v in o.items() if k.lower() in wanted} for o in out]
        return {query.entity: out, "startPosition": query.start, "maxResults": len(out)}

    def _ordered_ids(self, query: _Query) -> list[int] | None:
        """The index answering a query by itself: no conditions (customers: the active ones), Id order."""
        if query.conditions or any(path.lower() != "id" or desc for path, desc in query.order):
            return None
        return self._active_customers if query.entity == "Customer" else self._ids[query.entity]

    def _matching_rows(self, query: _Query) -> list[dict[str, Any]]:
        """Every object a query matches, in its order; computed once until the data changes."""
        key = (query.entity, repr(query.conditions), repr(query.order))
        cached = self._query_cache.get(key)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        rows = list(self._objects[query.entity].values())
        conditions = list(query.conditions)
        if query.entity == "Customer" and not any(f.lower() == "active" for f, _, _ in conditions):
            conditions.append(("Active", "=", True))
        rows = [r for r in rows if all(_compare(_lookup(r, f), op, v, f) for f, op, v in conditions)]
        rows.sort(key=lambda r: int(r["Id"]))
        for path, desc in reversed(query.order):
            rows.sort(key=lambda r, p=path: _sort_key(p, _lookup(r, p)), reverse=desc)
        if len(self._query_cache) >= 32:
            self._query_cache.clear()
        self._query_cache[key] = (self._version, rows)
        return rows

    def _changes_since(self, entity: str, since: datetime) -> Iterator[tuple[datetime, str, int]]:
        """(time, entity, Id) of the changes of an entity from ``since`` on, oldest first."""
        index = self._change_index[entity]
        for position in range(bisect.bisect_left(index, (since,)), len(index)):
            moment, obj_id = index[position]
            yield moment, entity, obj_id

    def _cdc(self, entities: str, changed_since: str) -> dict[str, Any]:
        names = [n.strip() for n in entities.split(",") if n.strip()]
        if not names:
            raise _required("entities")
        if not changed_since:
            raise _required("changedSince")
        wanted = []
        for name in names:
            canonical = next((e for e in CDC_ENTITIES if e.lower() == name.lower()), None)
            if canonical is None:
                raise _invalid_query(f"Operation cdc is not supported for entity {name}")
            wanted.append(canonical)
        try:
            since = _parse_time(changed_since)
        except ValueError as exc:
            raise _invalid_query(f"Invalid changedSince: {changed_since}") from exc
        if since < self._now() - CDC_LOOKBACK:
            raise _invalid_query(f"Operation cdc with changedSince date {changed_since} which is older than "
                                 f"fixed days is not supported.")
        # the oldest changes first, by (time, entity, Id), from each entity's index: O(log n + CDC_CAP)
        streams = [self._changes_since(entity, since) for entity in wanted]
        changes = [(moment, entity, str(obj_id))
                   for moment, entity, obj_id in itertools.islice(heapq.merge(*streams), CDC_CAP)]
        blocks = []
        for entity in wanted:
            objs = []
            for moment, name, obj_id in changes:
                if name != entity:
                    continue
                if obj_id in self._deleted[entity]:
                    objs.append({"domain": "QBO", "status": "Deleted", "Id": obj_id,
                                 "MetaData": {"LastUpdatedTime": self._ts(moment)}})
                else:
                    objs.append(self._out(entity, self._objects[entity][obj_id]))
            block: dict[str, Any] = {entity: objs} if objs else {}
            block.update(startPosition=1, maxResults=len(objs))
            blocks.append(block)
        return {"CDCResponse": [{"QueryResponse": blocks}]}

    def _batch(self, body: dict[str, Any]) -> dict[str, Any]:
        items = body.get("BatchItemRequest")
        if not isinstance(items, list) or not items:
            raise _required("BatchItemRequest")
        if len(items) > BATCH_LIMIT:
            raise _QboError(400, "1040", "Batch size exceeds allowed limit",
                            f"The batch request has {len(items)} BatchItemRequest objects: the limit is "
                            f"{BATCH_LIMIT}.")
        responses = []
        for item in items:
            bid = item.get("bId")
            try:
                if "Query" in item:
                    query = _parse_query(str(item["Query"]), ENTITIES.values())
                    responses.append({"bId": bid, "QueryResponse": self._run_query(query)})
                    continue
                entity = next((ENTITIES[k.lower()] for k in item if k.lower() in ENTITIES), None)
                if entity is None:
                    raise _QboError(400, "2010", "Request has invalid or unsupported property",
                                    "The BatchItemRequest names no supported entity")
                payload = item[next(k for k in item if k.lower() == entity.lower())]
                result = self._write(entity, str(item.get("operation") or "create"), dict(payload))
                responses.append({"bId": bid, **result})
            except _QboError as error:
                responses.append({"bId": bid, "Fault": error.fault()})
        return {"BatchItemResponse": responses}

