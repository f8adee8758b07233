"""A local fake of Zoho Books (API v3) and of the Zoho accounts server, for tests and benchmarks.

The wire format follows the request and response examples of Zoho's API documentation
(zoho.com/books/api/v3): every answer is ``{"code": 0, "message": "success", ...}``; a failure is
``{"code": <non-zero>, "message": ...}`` - usually with a 4xx status, but some failures arrive with
HTTP 200 (``Fault(status=200, code=...)`` serves those); lists take ``page`` and ``per_page`` (at
most 200) and answer ``page_context`` with ``has_more_page``; every call carries
``organization_id`` and ``Authorization: Zoho-oauthtoken <token>``. Times are
``yyyy-mm-ddThh:mm:ss+hhmm`` (``last_modified_time``), dates ``yyyy-mm-dd``.

The accounts server (``/oauth/v2/auth``, ``/oauth/v2/token``) issues tokens for the
authorization-code and refresh-token grants. The token response carries ``api_domain`` (here the
fake's own root); refresh tokens do not rotate (a refresh answers a new access token only); at most
10 access tokens per refresh token in 10 minutes, then ``{"error": "Access Denied", ...}`` with HTTP
200, as Zoho answers; a revoked or unknown refresh token is ``{"error": "invalid_code"}``, HTTP 200.

Limits per organisation: requests a minute (100), a daily cap by plan, and requests at once. The
``X-Rate-Limit-Limit`` / ``X-Rate-Limit-Remaining`` / ``X-Rate-Limit-Reset`` headers tell the day's
cap, what is left of it and the seconds until it resets. Over a limit: HTTP 429 with code 44 (the
minute, with ``Retry-After``) or 45 (the day) or 43 (too many at once).

Deliberate simplifications, each a place where real Zoho may differ:

* error codes 43/44/45 (throttling: published lists disagree on which is the minute and which the
  day, so the connector reads the day from ``X-Rate-Limit-Remaining: 0`` or the message), 57 (token
  refused), 6041 (organisation not reachable with this token), 1000 (internal error), 1002 (not
  found), 2 (invalid argument) are the fake's choice where Zoho's documentation names no code;
* ``last_modified_time=<time>`` keeps records changed at or after that time (the connector reads
  from a little before its bookmark, so a strict comparison would lose nothing either);
* lists serve summaries as Zoho does: contacts carry their primary contact person's ``email``,
  ``phone`` and ``mobile`` (the persons themselves come with ``GET /contacts/{id}`` and
  ``GET /contacts/{id}/contactpersons``, each with its ``communication_preference``); customer
  payments carry ``invoice_numbers`` (the applied amounts come with ``GET /customerpayments/{id}``);
* deleted records disappear (Zoho has no deleted status): only a full read finds them gone.

Records are kept per organisation by id with a sorted index by ``(last_modified_time, sequence)``,
so a page ordered by ``last_modified_time`` from a given time costs O(log n + page).
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import random
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

from tests.fakes.local_http import LocalServer, Request, Response

__all__ = ["FakeZoho", "Fault", "Limits", "generate_ledger", "zoho_time"]

_log = logging.getLogger(__name__)

CLIENT_ID = "1000.FAKEZOHOCLIENTID0000000000001"
CLIENT_SECRET = "fakezohoclientsecret00000000000000000000001"
ACCESS_TOKEN_TTL = 3600
TOKENS_PER_WINDOW = 10  # access tokens per refresh token ...
TOKEN_WINDOW = timedelta(minutes=10)  # ... in this window
MAX_PER_PAGE = 200
JSON_TYPE = "application/json;charset=UTF-8"
_CENT = Decimal("0.01")
LOCATIONS = {"com": "us", "eu": "eu", "in": "in", "com.au": "au", "jp": "jp", "ca": "ca", "sa": "sa",
             "com.cn": "cn"}
# collection -> (id field, number field)
COLLECTIONS = {"contacts": ("contact_id", None), "invoices": ("invoice_id", "invoice_number"),
               "customerpayments": ("payment_id", "payment_number"), "creditnotes": ("creditnote_id",
                                                                                     "creditnote_number")}
SUMMARY_DROP = {"contacts": ("contact_persons", "custom_fields"), "invoices": ("custom_fields",),
                "customerpayments": ("invoices",), "creditnotes": ("invoices_credited",)}
Amount = Decimal | float | int | str


def zoho_time(moment: datetime) -> str:
    """Zoho's time stamp: ``2026-11-24T10:15:00+0000``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z")


def _parse_time(text: str) -> datetime:
    text = text.strip().replace(" ", "+")  # a '+' sent unescaped in a query string arrives as a space
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
        with contextlib.suppress(ValueError):
            moment = datetime.strptime(text, pattern)
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    raise _ZohoError(400, 2, "Invalid value passed for last_modified_time")


def _money(value: Amount) -> Decimal:
    return Decimal(str(value)).quantize(_CENT)


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class Limits:
    """Zoho's limits per organisation (tests make them small)."""

    per_minute: int = 100
    per_day: int = 10000
    concurrent: int = 10


@dataclass(frozen=True)
class Fault:
    """A response served instead of the next API call (see ``FakeZoho.inject``)."""

    status: int
    code: int = 1000
    message: str = "Internal error"
    retry_after: int | None = None


class _ZohoError(Exception):
    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.headers = status, code, message, dict(headers or {})


class _Collection:
    """Records of one kind by id, with an index by (last_modified_time, sequence)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.id_field, self.number_field = COLLECTIONS[name]
        self.records: dict[str, dict[str, Any]] = {}
        self.entries: dict[str, tuple[float, int, str]] = {}
        self.by_modified: list[tuple[float, int, str]] = []
        self.by_number: dict[str, str] = {}
        self.corrupt: dict[str, Any] = {}
        self.rendered: dict[str, tuple[int, str]] = {}

    def put(self, record: dict[str, Any], sequence: int) -> None:
        record_id = record[self.id_field]
        old = self.entries.get(record_id)
        if old is not None:
            self.by_modified.pop(bisect.bisect_left(self.by_modified, old))
        entry = (record["_modified"].timestamp(), sequence, record_id)
        self.records[record_id], self.entries[record_id] = record, entry
        if not self.by_modified or self.by_modified[-1] < entry:
            self.by_modified.append(entry)
        else:
            bisect.insort(self.by_modified, entry)
        if self.number_field:
            self.by_number[str(record[self.number_field])] = record_id
        self.corrupt.pop(record_id, None)

    def remove(self, record_id: str) -> None:
        entry = self.entries.pop(record_id)
        self.by_modified.pop(bisect.bisect_left(self.by_modified, entry))
        record = self.records.pop(record_id)
        if self.number_field:
            self.by_number.pop(str(record[self.number_field]), None)

    def backdate(self, moments: dict[str, datetime]) -> None:
        """Give records an earlier change time (seeding history); rebuild the index in one sort."""
        for record_id, moment in moments.items():
            record = self.records[record_id]
            record["_modified"] = record["last_modified_time"] = min(moment, record["_modified"])
            self.entries[record_id] = (record["_modified"].timestamp(), self.entries[record_id][1], record_id)
        self.by_modified = sorted(self.entries.values())
        self.rendered.clear()

    def text(self, record_id: str, *, summary: bool) -> str:
        if record_id in self.corrupt:
            return json.dumps(self.corrupt[record_id])
        if not summary:
            return json.dumps(_render(self.records[record_id], ()))
        sequence = self.entries[record_id][1]
        cached = self.rendered.get(record_id)
        if cached is not None and cached[0] == sequence:
            return cached[1]
        text = json.dumps(_render(self.records[record_id], SUMMARY_DROP[self.name]), separators=(",", ":"))
        self.rendered[record_id] = (sequence, text)
        return text


def _render(record: dict[str, Any], drop: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key.startswith("_") or key in drop:
            continue
        if isinstance(value, Decimal):
            out[key] = _number(value)
        elif isinstance(value, datetime):
            out[key] = zoho_time(value)
        elif isinstance(value, date):
            out[key] = value.isoformat()
        elif isinstance(value, list):
            out[key] = [_render(v, ()) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


@dataclass
class _Organization:
    organization_id: str
    name: str
    currency_code: str
    collections: dict[str, _Collection] = field(default_factory=lambda: {n: _Collection(n) for n in COLLECTIONS})
    currencies: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reminders: list[dict[str, Any]] = field(default_factory=list)
    minute: deque[datetime] = field(default_factory=deque)
    day: deque[datetime] = field(default_factory=deque)
    in_flight: int = 0


@dataclass
class _Refresh:
    organizations: list[str]
    issued: deque[datetime] = field(default_factory=deque)
    revoked: bool = False


@dataclass
class _Access:
    refresh: str
    expires: datetime
    expired: bool = False


class FakeZoho(LocalServer):
    """In-memory Zoho Books organisations behind a local HTTP server (accounts server included)."""

    server_name = "FakeZoho"

    def __init__(self, organizations: Iterable[tuple[str, str]] = (("Zylker Inc", "USD"), ("Zylker GmbH", "EUR")),
                 *, limits: Limits | None = None, data_centre: str = "com",
                 clock: Callable[[], datetime] | None = None) -> None:
        """``organizations``: (name, base currency) pairs; ``clock`` gives the current time."""
        self.limits = limits or Limits()
        self.data_centre = data_centre
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.calls: list[dict[str, Any]] = []
        self.writes: list[dict[str, Any]] = []
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._lock = threading.RLock()
        self._sequence = 0
        self._ids = 460000000000000
        self._organizations: dict[str, _Organization] = {}
        self._faults: deque[Fault] = deque()
        self._expire_after: int | None = None
        self._codes: dict[str, list[str]] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, _Access] = {}
        self._init_server()
        for name, currency in organizations:
            self.add_organization(name, currency)

    @property
    def url(self) -> str:
        """The root: the accounts server and the ``api_domain`` at once."""
        return self.root_url

    @property
    def accounts_url(self) -> str:
        """The accounts server of the data centre (``https://accounts.zoho.<dc>`` for real)."""
        return self.url

    @property
    def api_base(self) -> str:
        """``{api_domain}/books/v3``."""
        return f"{self.url}/books/v3"

    @property
    def organization_ids(self) -> list[str]:
        """Every organisation, in creation order."""
        return list(self._organizations)

    @property
    def organization_id(self) -> str:
        """The first organisation."""
        return next(iter(self._organizations))

    # ----------------------------------------------------------------- seeding

    def _now(self) -> datetime:
        now = self._clock()
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    def _new_id(self) -> str:
        self._ids += random.randint(1, 999)
        return str(self._ids)

    def _org(self, organization_id: str | None) -> _Organization:
        return self._organizations[organization_id or self.organization_id]

    def add_organization(self, name: str, currency: str = "USD") -> str:
        """Add an organisation; return its id."""
        with self._lock:
            org_id = str(10234695 + len(self._organizations) * 1111)
            org = _Organization(org_id, name, currency)
            org.currencies.append({"currency_id": self._new_id(), "currency_code": currency, "currency_name": currency,
                                   "currency_symbol": "", "price_precision": 2, "is_base_currency": True,
                                   "exchange_rate": 1.0, "effective_date": ""})
            self._organizations[org_id] = org
            return org_id

    def _touch(self, org: _Organization, collection: str, record: dict[str, Any]) -> None:
        self._sequence += 1
        record["_modified"] = self._now()
        record["last_modified_time"] = record["_modified"]
        record.setdefault("created_time", record["_modified"])
        org.collections[collection].put(record, self._sequence)

    def add_currency(self, code: str, rate: Amount, effective: date, *, organization: str | None = None) -> None:
        """A foreign currency with its exchange rate (units of the base currency per unit)."""
        with self._lock:
            self._org(organization).currencies.append({
                "currency_id": self._new_id(), "currency_code": code, "currency_name": code, "currency_symbol": "",
                "price_precision": 2, "is_base_currency": False, "exchange_rate": float(rate),
                "effective_date": effective.isoformat()})

    def add_contact(self, name: str, *, email: str | None = None, mobile: str | None = None,
                    phone: str | None = None, currency: str | None = None, status: str = "active",
                    persons: list[dict[str, Any]] | None = None, email_enabled: bool = True,
                    organization: str | None = None) -> dict[str, Any]:
        """A customer with its primary contact person (``email_enabled``: whether that person takes email)
        and any other ``persons``."""
        with self._lock:
            org = self._org(organization)
            primary = {"contact_person_id": self._new_id(), "first_name": name.split()[0], "last_name": "",
                       "email": email or "", "phone": phone or "", "mobile": mobile or "", "is_primary_contact": True,
                       "communication_preference": {"is_email_enabled": email_enabled, "is_sms_enabled": bool(mobile),
                                                    "is_whatsapp_enabled": False}}
            contact = {"contact_id": self._new_id(), "contact_name": name, "company_name": name,
                       "contact_type": "customer", "status": status, "currency_code": currency or org.currency_code,
                       "email": primary["email"], "phone": primary["phone"], "mobile": primary["mobile"],
                       "billing_address": {"address": "1 Main St", "city": "Springfield", "country": "U.S.A"},
                       "contact_persons": [primary, *(persons or [])]}
            self._touch(org, "contacts", contact)
            return dict(contact)

    def add_invoice(self, customer_id: str, *, total: Amount, date: date, due_date: date, status: str = "sent",
                    currency: str | None = None, exchange_rate: Amount = 1, number: str | None = None,
                    organization: str | None = None, emailed: bool | None = None) -> dict[str, Any]:
        """An invoice (``sent`` by default; ``draft`` or ``void`` otherwise), emailed unless a draft or
        ``emailed=False`` (marked as sent)."""
        with self._lock:
            org = self._org(organization)
            contact = org.collections["contacts"].records[customer_id]
            seq = len(org.collections["invoices"].records) + 1
            invoice_id = self._new_id()
            invoice = {"invoice_id": invoice_id, "invoice_number": number or f"INV-{seq:06d}",
                       "customer_id": customer_id, "customer_name": contact["contact_name"], "status": status,
                       "date": date, "due_date": due_date, "currency_code": currency or org.currency_code,
                       "exchange_rate": float(exchange_rate), "total": _money(total), "balance": _money(total),
                       "reference_number": "", "reminders_sent": 0,
                       "is_emailed": status != "draft" if emailed is None else emailed,
                       "last_reminder_sent_date": "",
                       "invoice_url": f"{self.url}/books/portal/zylker/secure?CInvoiceID={invoice_id}",
                       "custom_fields": []}
            if status == "void":
                invoice["balance"] = _money(0)
            self._status(invoice)
            self._touch(org, "invoices", invoice)
            return dict(invoice)

    def _status(self, invoice: dict[str, Any]) -> None:
        if invoice["status"] in ("draft", "void"):
            return
        if invoice["balance"] == 0:
            invoice["status"] = "paid"
        elif invoice["balance"] < invoice["total"]:
            invoice["status"] = "partially_paid"
        elif invoice["due_date"] < self._now().date():
            invoice["status"] = "overdue"
        else:
            invoice["status"] = "sent"

    def add_payment(self, applied: dict[str, Amount], date: date, *, unused: Amount = 0,
                    organization: str | None = None) -> dict[str, Any]:
        """A customer payment applied to invoices (``{invoice_id: amount}``), plus any unused amount."""
        with self._lock:
            org = self._org(organization)
            invoices = org.collections["invoices"]
            lines, customer_id, currency = [], "", org.currency_code
            for invoice_id, amount in applied.items():
                invoice = invoices.records[invoice_id]
                invoice["balance"] -= _money(amount)
                invoice["last_payment_date"] = max(date, invoice.get("last_payment_date") or date)
                self._status(invoice)
                self._touch(org, "invoices", invoice)
                customer_id, currency = invoice["customer_id"], invoice["currency_code"]
                lines.append({"invoice_id": invoice_id, "invoice_number": invoice["invoice_number"], "date":
                              invoice["date"], "invoice_amount": invoice["total"], "amount_applied": _money(amount),
                              "balance_amount": invoice["balance"]})
            total = sum((line["amount_applied"] for line in lines), _money(unused))
            seq = len(org.collections["customerpayments"].records) + 1
            payment = {"payment_id": self._new_id(), "payment_number": str(seq), "customer_id": customer_id,
                       "customer_name": "", "payment_mode": "banktransfer", "date": date, "amount": total,
                       "unused_amount": _money(unused), "currency_code": currency,
                       "invoice_numbers": ", ".join(line["invoice_number"] for line in lines), "invoices": lines}
            self._touch(org, "customerpayments", payment)
            return dict(payment)

    def add_credit_note(self, customer_id: str, total: Amount, date: date, *, apply_to: dict[str, Amount] | None = None,
                        organization: str | None = None) -> dict[str, Any]:
        """A credit note, optionally applied to invoices (its balance is the credit left)."""
        with self._lock:
            org = self._org(organization)
            seq = len(org.collections["creditnotes"].records) + 1
            note = {"creditnote_id": self._new_id(), "creditnote_number": f"CN-{seq:05d}", "customer_id": customer_id,
                    "status": "open", "date": date, "total": _money(total), "balance": _money(total),
                    "currency_code": org.collections["contacts"].records[customer_id]["currency_code"],
                    "exchange_rate": 1.0, "invoices_credited": []}
            for invoice_id, amount in (apply_to or {}).items():
                invoice = org.collections["invoices"].records[invoice_id]
                invoice["balance"] -= _money(amount)
                note["balance"] -= _money(amount)
                self._status(invoice)
                self._touch(org, "invoices", invoice)
                note["invoices_credited"].append({"invoice_id": invoice_id, "invoice_number": invoice["invoice_number"],
                                                  "amount_applied": _money(amount)})
            if note["balance"] == 0:
                note["status"] = "closed"
            self._touch(org, "creditnotes", note)
            return dict(note)

    def clear_persons(self, contact_id: str, *, organization: str | None = None) -> None:
        """Remove every contact person of a contact (its own email, phone and mobile stay)."""
        with self._lock:
            org = self._org(organization)
            contact = org.collections["contacts"].records[contact_id]
            contact["contact_persons"] = []
            self._touch(org, "contacts", contact)

    def void_invoice(self, invoice_id: str, *, organization: str | None = None) -> None:
        """Void an invoice (status ``void``, balance 0)."""
        with self._lock:
            org = self._org(organization)
            invoice = org.collections["invoices"].records[invoice_id]
            invoice["status"], invoice["balance"] = "void", _money(0)
            self._touch(org, "invoices", invoice)

    def delete(self, collection: str, record_id: str, *, organization: str | None = None) -> None:
        """Delete a record: it simply disappears, as in Zoho."""
        with self._lock:
            self._org(organization).collections[collection].remove(record_id)

    def corrupt(self, collection: str, record_id: str, raw: Any, *, organization: str | None = None) -> None:
        """Serve ``raw`` instead of a record (and mark it changed)."""
        with self._lock:
            org = self._org(organization)
            record = org.collections[collection].records[record_id]
            self._touch(org, collection, record)
            org.collections[collection].corrupt[record_id] = raw

    def record(self, collection: str, record_id: str, *, organization: str | None = None) -> dict[str, Any]:
        """A record as the detail endpoint serves it."""
        with self._lock:
            return dict(json.loads(self._org(organization).collections[collection].text(record_id, summary=False)))

    def backdate(self, moments: dict[str, dict[str, datetime]], *, organization: str | None = None) -> None:
        """Move change times back (seeding history): ``{collection: {id: moment}}``."""
        with self._lock:
            org = self._org(organization)
            for collection, by_id in moments.items():
                org.collections[collection].backdate(by_id)

    def comments(self, invoice_id: str, *, organization: str | None = None) -> list[dict[str, Any]]:
        """The comments and history of an invoice."""
        with self._lock:
            return list(self._org(organization).comments.get(invoice_id, []))

    def reminders(self, *, organization: str | None = None) -> list[dict[str, Any]]:
        """Payment reminders sent."""
        with self._lock:
            return list(self._org(organization).reminders)

    # ----------------------------------------------------------------- faults and tokens

    def inject(self, *faults: Fault) -> None:
        """Each of the next API calls gets the next fault."""
        with self._lock:
            self._faults.extend(faults)

    def storm(self, count: int, *, retry_after: int = 1) -> None:
        """The next ``count`` API calls are throttled for the minute."""
        self.inject(*[Fault(429, 44, "You have made too many requests. Please try again after some time.",
                            retry_after)] * count)

    def expire_access_tokens(self, *, after_calls: int = 0) -> None:
        """Expire every access token, now or after ``after_calls`` more API calls."""
        with self._lock:
            if after_calls:
                self._expire_after = after_calls
                return
            for token in self._access.values():
                token.expired = True

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token."""
        with self._lock:
            self._refresh[refresh_token].revoked = True

    def token_set(self, organizations: Iterable[str] | None = None) -> dict[str, Any]:
        """A refresh token and an access token, skipping the consent."""
        with self._lock:
            refresh = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
            self._refresh[refresh] = _Refresh(list(organizations or self._organizations))
            return {**self._issue(refresh), "refresh_token": refresh}

    def _issue(self, refresh: str) -> dict[str, Any]:
        access = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self._access[access] = _Access(refresh, self._now() + timedelta(seconds=ACCESS_TOKEN_TTL))
        self._refresh[refresh].issued.append(self._now())
        return {"access_token": access, "api_domain": self.url, "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_TTL}

    # ----------------------------------------------------------------- dispatch

    def _handle(self, req: Request) -> Response:
        call: dict[str, Any] = {"method": req.method, "path": req.path, "query": dict(req.query), "status": None,
                                "operation": None, "organization_id": req.query.get("organization_id"),
                                "body": req.body.decode("utf-8", "replace")}
        org: _Organization | None = None
        try:
            with self._lock:
                self.calls.append(call)
                if req.path.startswith("/oauth/v2/"):
                    response = self._accounts(req, call)
                else:
                    if req.method != "GET":
                        self.writes.append(call)
                    org = self._admit(req, call)
                    response = self._api(req, call, org)
        except _ZohoError as error:
            response = self._json(error.status, {"code": error.code, "message": error.message}, error.headers)
        except Exception as exc:  # a bug of the fake must not hang the client
            _log.exception("FakeZoho failed on %s %s", req.method, req.path)
            response = self._json(500, {"code": 1000, "message": f"Internal error {exc!r}"})
        finally:
            if org is not None:
                with self._lock:
                    org.in_flight -= 1
        if org is not None or call["organization_id"] in self._organizations:
            with self._lock:
                response.headers.update(self._remaining(org or self._organizations[call["organization_id"]]))
        call["status"] = response.status
        return response

    @staticmethod
    def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(status, json.dumps(payload).encode(), JSON_TYPE, dict(headers or {}))

    def _remaining(self, org: _Organization) -> dict[str, str]:
        reset = 86400 if not org.day else max(1, int((org.day[0] + timedelta(days=1) - self._now()).total_seconds()))
        return {"X-Rate-Limit-Limit": str(self.limits.per_day),
                "X-Rate-Limit-Remaining": str(max(0, self.limits.per_day - len(org.day))),
                "X-Rate-Limit-Reset": str(reset)}

    def _form(self, req: Request) -> dict[str, str]:
        form = dict(req.query)
        if req.body:
            form.update({k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()})
        return form

    def _accounts(self, req: Request, call: dict[str, Any]) -> Response:
        if req.path == "/oauth/v2/auth" and req.method == "GET":
            call["operation"] = "authorize"
            code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
            self._codes[code] = list(self._organizations)
            params = {"code": code, "state": req.query.get("state", ""), "location": LOCATIONS[self.data_centre],
                      "accounts-server": self.accounts_url}
            return Response(302, headers={"Location": f"{req.query.get('redirect_uri', '')}?{urlencode(params)}"})
        if req.path != "/oauth/v2/token" or req.method != "POST":
            raise _ZohoError(404, 5, "Invalid URL Passed")
        call["operation"] = "token"
        form = self._form(req)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._json(200, {"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            organizations = self._codes.pop(form.get("code", ""), None)
            if organizations is None:
                return self._json(200, {"error": "invalid_code"})
            refresh = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
            self._refresh[refresh] = _Refresh(organizations)
            return self._json(200, {**self._issue(refresh), "refresh_token": refresh})
        if form.get("grant_type") == "refresh_token":
            state = self._refresh.get(form.get("refresh_token", ""))
            if state is None or state.revoked:
                return self._json(200, {"error": "invalid_code"})
            while state.issued and state.issued[0] <= self._now() - TOKEN_WINDOW:
                state.issued.popleft()
            if len(state.issued) >= TOKENS_PER_WINDOW:
                return self._json(200, {"error_description": "You have made too many requests continuously. "
                                        "Please try again after some time.", "error": "Access Denied",
                                        "status": "failure"})
            return self._json(200, self._issue(form["refresh_token"]))
        return self._json(200, {"error": "unsupported_grant_type"})

    def _admit(self, req: Request, call: dict[str, Any]) -> _Organization:
        if self._faults:
            fault = self._faults.popleft()
            call["operation"] = "fault"
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            raise _ZohoError(fault.status, fault.code, fault.message, headers)
        if self._expire_after is not None:
            self._expire_after -= 1
            if self._expire_after <= 0:
                self._expire_after = None
                self.expire_access_tokens()
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        access = self._access.get(token.strip()) if scheme == "Zoho-oauthtoken" else None
        if access is None or access.expired or self._now() >= access.expires:
            raise _ZohoError(401, 57, "You are not authorized to perform this operation")
        if req.path.rstrip("/") == "/books/v3/organizations":
            org = _Organization("", "", "")
            org.in_flight = 1
            return org
        org_id = req.query.get("organization_id", "")
        org = self._organizations.get(org_id)
        if not org_id:
            raise _ZohoError(400, 2, "Invalid value passed for organization_id")
        if org is None or org_id not in self._refresh[access.refresh].organizations:
            raise _ZohoError(401, 6041, f"This user is not associated with the CompanyID/CompanyName:{org_id}.")
        self._throttle(org)
        org.in_flight += 1
        return org

    def _throttle(self, org: _Organization) -> None:
        now = self._now()
        while org.minute and org.minute[0] <= now - timedelta(minutes=1):
            org.minute.popleft()
        while org.day and org.day[0] <= now - timedelta(days=1):
            org.day.popleft()
        if len(org.day) >= self.limits.per_day:
            raise _ZohoError(429, 45, "You have reached the maximum number of API calls allowed for the day.",
                             self._remaining(org))
        if len(org.minute) >= self.limits.per_minute:
            wait = max(1, int((org.minute[0] + timedelta(minutes=1) - now).total_seconds() + 0.999))
            raise _ZohoError(429, 44, "You have made too many requests. Please try again after some time.",
                             {"Retry-After": str(wait)})
        if org.in_flight >= self.limits.concurrent:
            raise _ZohoError(429, 43, "Too many requests are being processed at once.", {"Retry-After": "1"})
        org.minute.append(now)
        org.day.append(now)

    # ----------------------------------------------------------------- the API

    def _api(self, req: Request, call: dict[str, Any], org: _Organization) -> Response:
        parts = [p for p in req.path.split("/")[3:] if p]
        if parts == ["organizations"]:
            call["operation"] = "organizations"
            return self._ok({"organizations": [
                {"organization_id": o.organization_id, "name": o.name, "currency_code": o.currency_code,
                 "is_default_org": n == 0, "time_zone": "UTC", "plan_name": "Professional"}
                for n, o in enumerate(self._organizations.values())
                if o.organization_id in self._refresh[self._access[self._token(req)].refresh].organizations]})
        if parts == ["settings", "currencies"] and req.method == "GET":
            call["operation"] = "currencies"
            return self._ok({"currencies": org.currencies,
                             "page_context": {"page": 1, "per_page": 200, "has_more_page": False}})
        if len(parts) == 1 and parts[0] in COLLECTIONS and req.method == "GET":
            call["operation"] = f"list {parts[0]}"
            return self._list(org, parts[0], req.query)
        if len(parts) == 3 and parts[0] == "contacts" and parts[2] == "contactpersons" and req.method == "GET":
            call["operation"] = "list contactpersons"
            contact = org.collections["contacts"].records.get(parts[1])
            if contact is None:
                raise _ZohoError(404, 1002, "Contact does not exist.")
            persons = [{"contact_id": contact["contact_id"], **p} for p in contact.get("contact_persons") or []]
            return self._ok({"contact_persons": persons,
                             "page_context": {"page": 1, "per_page": 200, "has_more_page": False}})
        if len(parts) == 2 and parts[0] in COLLECTIONS and req.method == "GET":
            call["operation"] = f"get {parts[0]}"
            return self._detail(org, parts[0], parts[1])
        if len(parts) == 3 and parts[0] == "invoices":
            invoice = org.collections["invoices"].records.get(parts[1])
            if invoice is None:
                raise _ZohoError(404, 1002, "Invoice does not exist.")
            call["operation"] = f"{req.method.lower()} {parts[2]}"
            if parts[2] == "paymentreminder" and req.method == "POST":
                return self._remind(org, invoice, req)
            if parts[2] == "comments" and req.method == "POST":
                return self._comment(org, invoice, req)
            if parts[2] == "comments" and req.method == "GET":
                return self._ok({"comments": org.comments.get(invoice["invoice_id"], [])})
            if parts[2] == "customfields" and req.method == "PUT":
                return self._custom_fields(invoice, req)
        raise _ZohoError(404, 5, "Invalid URL Passed")

    def _token(self, req: Request) -> str:
        return req.headers.get("authorization", "").partition(" ")[2].strip()

    @staticmethod
    def _ok(payload: dict[str, Any], message: str = "success") -> Response:
        return FakeZoho._json(200, {"code": 0, "message": message, **payload})

    def _list(self, org: _Organization, name: str, query: dict[str, str]) -> Response:
        try:
            page, per_page = int(query.get("page") or 1), int(query.get("per_page") or MAX_PER_PAGE)
        except ValueError:
            raise _ZohoError(400, 2, "Invalid value passed for page") from None
        if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
            raise _ZohoError(400, 2, f"Invalid value passed for per_page (at most {MAX_PER_PAGE})")
        collection = org.collections[name]
        column, order = query.get("sort_column") or "last_modified_time", query.get("sort_order") or "A"
        entries: list[Any] = collection.by_modified
        if "last_modified_time" in query:
            since = _parse_time(query["last_modified_time"]).timestamp()
            entries = entries[bisect.bisect_left(entries, (since, -1, "")):]
        if column == "last_modified_time":
            ids = [e[2] for e in (entries if order == "A" else entries[::-1])]
        elif column in ("date", "due_date", "created_time", "invoice_number", "contact_name", "total"):
            ids = sorted((e[2] for e in entries), key=lambda i: str(collection.records[i].get(column, "")),
                         reverse=order == "D")
        else:
            raise _ZohoError(400, 2, "Invalid value passed for sort_column")
        chunk = ids[(page - 1) * per_page:page * per_page]
        body = ",".join(collection.text(i, summary=True) for i in chunk)
        context = {"page": page, "per_page": per_page, "has_more_page": page * per_page < len(ids),
                   "report_name": name.capitalize(), "sort_column": column, "sort_order": order}
        head = json.dumps({"code": 0, "message": "success"})[:-1]
        text = f'{head},"{name}":[{body}],"page_context":{json.dumps(context)}}}'
        return Response(200, text.encode())

    def _detail(self, org: _Organization, name: str, record_id: str) -> Response:
        collection = org.collections[name]
        if record_id not in collection.records:
            raise _ZohoError(404, 1002, f"{name[:-1].capitalize()} does not exist.")
        key = {"contacts": "contact", "invoices": "invoice", "customerpayments": "payment",
               "creditnotes": "creditnote"}[name]
        return Response(200, f'{{"code":0,"message":"success","{key}":{collection.text(record_id, summary=False)}}}'
                         .encode())

    def _payload(self, req: Request) -> dict[str, Any]:
        text = req.body.decode("utf-8", "replace")
        if text.startswith("JSONString="):
            text = parse_qs(text)["JSONString"][0]
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            raise _ZohoError(400, 2, "Invalid JSON") from None
        if not isinstance(data, (dict, list)):
            raise _ZohoError(400, 2, "Invalid JSON")
        return data if isinstance(data, dict) else {"custom_fields": data}

    def _remind(self, org: _Organization, invoice: dict[str, Any], req: Request) -> Response:
        if invoice["status"] not in ("sent", "overdue", "partially_paid"):
            raise _ZohoError(400, 1042, "Payment reminders can be sent only for unpaid invoices that were sent.")
        data = self._payload(req)
        contact = org.collections["contacts"].records.get(invoice["customer_id"], {})
        to = data.get("to_mail_ids") or [contact.get("email")]
        org.reminders.append({"invoice_id": invoice["invoice_id"], "to_mail_ids": to, "at": self._now()})
        invoice["reminders_sent"] += 1
        invoice["last_reminder_sent_date"] = self._now().date().isoformat()
        org.comments.setdefault(invoice["invoice_id"], []).append(
            {"comment_id": self._new_id(), "comment_type": "system", "date": self._now().date().isoformat(),
             "description": f"Payment reminder sent to {', '.join(str(t) for t in to)}"})
        return self._ok({}, "Your payment reminder has been sent.")

    def _comment(self, org: _Organization, invoice: dict[str, Any], req: Request) -> Response:
        data = self._payload(req)
        if not data.get("description"):
            raise _ZohoError(400, 2, "Comment description cannot be empty")
        comment = {"comment_id": self._new_id(), "invoice_id": invoice["invoice_id"], "comment_type": "internal",
                   "description": str(data["description"]),
                   "show_comment_to_clients": bool(data.get("show_comment_to_clients", False)),
                   "date": self._now().date().isoformat()}
        org.comments.setdefault(invoice["invoice_id"], []).append(comment)
        return self._json(201, {"code": 0, "message": "Comments added.", "comment": comment})

    def _custom_fields(self, invoice: dict[str, Any], req: Request) -> Response:
        fields = self._payload(req).get("custom_fields")
        if not isinstance(fields, list):
            raise _ZohoError(400, 2, "Invalid value passed for custom_fields")
        current = {f.get("customfield_id") or f.get("api_name"): f for f in invoice["custom_fields"]}
        for item in fields:
            key = item.get("customfield_id") or item.get("api_name")
            if not key:
                raise _ZohoError(400, 2, "customfield_id is required")
            current[key] = {**current.get(key, {}), **item}
        invoice["custom_fields"] = list(current.values())  # no change to last_modified_time, as for comments
        return self._ok({}, "Custom Fields Updated Successfully")


_NAMES = ("Bowman", "Zylker", "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell")


def generate_ledger(fake: FakeZoho, *, contacts: int, invoices: int, seed: int = 0, today: date | None = None,
                    organization: str | None = None) -> dict[str, list[str]]:
    """Seed an organisation with a receivables ledger; return the ids made, by collection.

    Of the invoices about 3% are drafts and 4% void; of the others a third are paid in full and a
    fifth in part (one payment each, applied to that invoice), 5% get a credit note applied. A tenth of
    the contacts invoice in EUR at a rate near the organisation's. Change times spread over the last
    540 days, as a real history.
    """
    rng = random.Random(seed)
    today = today or fake._now().date()
    made: dict[str, list[str]] = {name: [] for name in COLLECTIONS}
    moments: dict[str, dict[str, datetime]] = {name: {} for name in COLLECTIONS}

    def at(day: date, name: str, record_id: str) -> None:
        moment = datetime.combine(min(day, today), time(), tzinfo=timezone.utc) + timedelta(
            seconds=rng.randint(28800, 64800))
        moments[name][record_id] = max(moment, moments[name].get(record_id, moment))

    with fake._lock:
        org = fake._org(organization)
        fake.add_currency("EUR", "1.085", today - timedelta(days=1), organization=org.organization_id)
        customers = []
        for n in range(contacts):
            foreign = rng.random() < 0.1
            name = f"{rng.choice(_NAMES)} {n}"
            record = fake.add_contact(name, email=f"ap{n}@customer{n}.test" if rng.random() > 0.05 else None,
                                      mobile=f"+1555{rng.randint(1000000, 9999999)}" if rng.random() < 0.5 else None,
                                      currency="EUR" if foreign else None, organization=org.organization_id,
                                      status="inactive" if rng.random() < 0.02 else "active")
            made["contacts"].append(record["contact_id"])
            customers.append((record["contact_id"], "EUR" if foreign else org.currency_code))
            at(today - timedelta(days=rng.randint(200, 720)), "contacts", record["contact_id"])
        for _ in range(invoices):
            contact_id, currency = customers[rng.randrange(len(customers))]
            issued = today - timedelta(days=rng.randint(0, 540))
            due = issued + timedelta(days=rng.choice((15, 30, 30, 45, 60)))
            roll = rng.random()
            status = "draft" if roll < 0.03 else "void" if roll < 0.07 else "sent"
            rate = Decimal(str(round(rng.uniform(1.05, 1.12), 6))) if currency != org.currency_code else 1
            invoice = fake.add_invoice(contact_id, total=Decimal(rng.randint(5000, 500000)) / 100, date=issued,
                                       due_date=due, status=status, currency=currency, exchange_rate=rate,
                                       organization=org.organization_id)
            made["invoices"].append(invoice["invoice_id"])
            at(issued, "invoices", invoice["invoice_id"])
            if status != "sent":
                continue
            paid = rng.random()
            if paid < 0.53:
                amount = invoice["balance"] if paid < 0.33 else (invoice["balance"] * Decimal(
                    str(round(rng.uniform(0.1, 0.9), 2)))).quantize(_CENT)
                day = min(today, due + timedelta(days=rng.randint(-10, 40)))
                payment = fake.add_payment({invoice["invoice_id"]: amount}, day, organization=org.organization_id)
                made["customerpayments"].append(payment["payment_id"])
                at(day, "customerpayments", payment["payment_id"])
                at(day, "invoices", invoice["invoice_id"])
            elif paid < 0.58:
                day = min(today, issued + timedelta(days=rng.randint(1, 30)))
                note = fake.add_credit_note(contact_id, invoice["balance"] / 2 + 10, day,
                                            apply_to={invoice["invoice_id"]: invoice["balance"] / 2},
                                            organization=org.organization_id)
                made["creditnotes"].append(note["creditnote_id"])
                at(day, "creditnotes", note["creditnote_id"])
                at(day, "invoices", invoice["invoice_id"])
        for invoice in org.collections["invoices"].records.values():
            fake._status(invoice)
        fake.backdate(moments, organization=org.organization_id)
    return made
