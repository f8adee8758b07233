"""The local Xero fake, driven by the official SDK (xero-python): it speaks what the SDK expects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("xero_python", reason="xero-python is not installed (pip install '.[xero]')")

import urllib3
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import (
    Contact,
    ContactGroup,
    ContactGroups,
    Contacts,
    HistoryRecord,
    HistoryRecords,
    RequestEmpty,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import (
    AccountingBadRequestException,
    HTTPStatusException,
    NotFoundException,
    RateLimitException,
)
from xero_python.identity import IdentityApi

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # plain `pytest` leaves the repository root out
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes.xero_server import (
    FakeXero,
    Fault,
    Limits,
    generate_ledger,
    intent_to_receive,
    ms_date,
    parse_ms_date,
    sign_webhook,
    webhook_delivery,
    webhook_event,
)

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)


class Clock:
    """A settable clock for the fake."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def fake(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeXero]:
    with FakeXero(clock=clock) as server:
        monkeypatch.setattr(TokenApi, "refresh_token_url", server.token_url)  # a class attribute of the SDK
        yield server


class Client:
    """The SDK as a connector builds it: one ApiClient per tenant's token set, no urllib3 retries."""

    def __init__(self, fake: FakeXero, token: dict[str, Any], *, retries: bool = False) -> None:
        self.token = token
        configuration = Configuration()
        # Configuration is a shared-default metaclass: give each instance its own OAuth2Token
        configuration.oauth2_token = OAuth2Token(client_id=fake.client_id, client_secret=fake.client_secret)
        self.api_client = ApiClient(configuration, oauth2_token_getter=lambda: self.token,
                                    oauth2_token_saver=self._save)
        if not retries:
            self.api_client.rest_client.pool_manager = urllib3.PoolManager(retries=False)
        self.accounting = AccountingApi(self.api_client, base_url=fake.accounting_url)
        self.identity = IdentityApi(self.api_client, base_url=fake.url)

    def _save(self, token: dict[str, Any]) -> None:
        self.token = token


def raw(fake: FakeXero, method: str, path: str, token: str, tenant: str | None = None,
        **kwargs: Any) -> urllib3.BaseHTTPResponse:
    """A call made with plain urllib3, to look at the wire."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **kwargs.pop("headers", {})}
    if tenant:
        headers["xero-tenant-id"] = tenant
    return urllib3.PoolManager(retries=False).request(method, fake.url + path, headers=headers, **kwargs)


def seed_customer(fake: FakeXero, name: str = "Acme Ltd", **fields: Any) -> dict[str, Any]:
    return fake.add_contact(name, email="ap@acme.test", **fields)


# ----------------------------------------------------------------------------- identity


def test_authorization_code_then_rotating_single_use_refresh_tokens(fake: FakeXero, clock: Clock) -> None:
    http = urllib3.PoolManager(retries=False)
    code = fake.issue_authorization_code()
    basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/cb"}
    response = http.request("POST", fake.token_url, fields=form, encode_multipart=False,
                            headers={"Authorization": f"Basic {basic}"})
    first = json.loads(response.data)
    assert response.status == 200
    assert set(first) == {"access_token", "expires_in", "token_type", "refresh_token", "scope"}
    assert first["expires_in"] == 1800 and first["token_type"] == "Bearer"
    reused = http.request("POST", fake.token_url, fields=form, encode_multipart=False,
                          headers={"Authorization": f"Basic {basic}"})
    assert (reused.status, json.loads(reused.data)) == (400, {"error": "invalid_grant"})

    # the SDK's refresh: client id and secret in the form, scope a list; the saver gets the new set
    client = Client(fake, {**first, "scope": first["scope"].split(), "expires_at": 0})
    r0 = first["refresh_token"]
    second = client.api_client.refresh_oauth2_token()
    assert second is client.token and second["refresh_token"] != r0
    assert set(second) == {"access_token", "expires_in", "token_type", "refresh_token", "scope", "expires_at"}
    assert second["scope"] == first["scope"].split()

    # within the grace period the previous token still works and yields the same new refresh token
    clock.advance(minutes=29)
    retry = Client(fake, {**first, "scope": first["scope"].split()})
    assert retry.api_client.refresh_oauth2_token()["refresh_token"] == second["refresh_token"]
    clock.advance(minutes=2)
    stale = Client(fake, {**first, "scope": first["scope"].split()})
    with pytest.raises(HTTPStatusException) as refused:  # the token call is not translated: no OAuth2 error class
        stale.api_client.refresh_oauth2_token()
    assert refused.value.status == 400 and json.loads(refused.value.body) == {"error": "invalid_grant"}
    assert client.api_client.refresh_oauth2_token()["refresh_token"] != second["refresh_token"]

    wrong = http.request("POST", fake.token_url, encode_multipart=False, fields={
        "grant_type": "refresh_token", "refresh_token": client.token["refresh_token"], "client_id": fake.client_id,
        "client_secret": "nope"})
    assert (wrong.status, json.loads(wrong.data)) == (400, {"error": "invalid_client"})
    assert [c["status"] for c in fake.calls if c["operation"] == "token"] == [200, 400, 200, 200, 400, 200, 400]


def test_connections_list_every_organisation_of_the_token(fake: FakeXero) -> None:
    third = fake.add_organisation("Demo Company (AU)")
    client = Client(fake, fake.token_set())
    connections = client.identity.get_connections()
    assert [c.tenant_name for c in connections] == ["Demo Company (NZ)", "Demo Company (US)", "Demo Company (AU)"]
    assert {c.tenant_type for c in connections} == {"ORGANISATION"}
    assert [c.tenant_id for c in connections] == [fake.tenant_id, fake.tenant_ids[1], third]
    assert connections[0].created_date_utc == T0 and connections[0].updated_date_utc.tzinfo is not None
    assert len({c.id for c in connections}) == 3 and len({c.auth_event_id for c in connections}) == 1

    only_au = Client(fake, fake.token_set([third]))
    assert [c.tenant_id for c in only_au.identity.get_connections()] == [third]
    assert only_au.accounting.get_organisations(third).organisations[0].base_currency.value == "AUD"
    with pytest.raises(HTTPStatusException) as forbidden:
        only_au.accounting.get_organisations(fake.tenant_id)
    assert forbidden.value.status == 403
    assert json.loads(forbidden.value.body)["Title"] == "Forbidden"


# ----------------------------------------------------------------------------- reads


def test_invoices_pages_filters_and_if_modified_since(fake: FakeXero, clock: Clock) -> None:
    acme = seed_customer(fake)
    ids = [fake.add_invoice(acme["ContactID"], total=100 + n, date="2026-10-01", due_date="2026-10-31",
                            type="ACCPAY" if n % 10 == 9 else "ACCREC",
                            status="DRAFT" if n % 10 == 8 else "AUTHORISED")["InvoiceID"] for n in range(250)]
    client = Client(fake, fake.token_set())
    tenant = fake.tenant_id

    seen: list[str] = []
    page = 1
    while True:
        result = client.accounting.get_invoices(tenant, page=page, where='Type=="ACCREC"', statuses=["AUTHORISED"])
        seen += [invoice.invoice_id for invoice in result.invoices]
        if len(result.invoices) < 100:
            break
        page += 1
    assert page == 3 and seen == [i for n, i in enumerate(ids) if n % 10 < 8]  # UpdatedDateUTC order
    assert result.pagination.page == 3 and result.pagination.item_count == 200
    assert (result.pagination.page_size, result.pagination.page_count) == (100, 2)

    big = client.accounting.get_invoices(tenant, page=1, page_size=1000)
    assert len(big.invoices) == 250 and big.pagination.page_count == 1
    assert client.accounting.get_invoices(tenant, page=2, page_size=5000).invoices == []  # at most 1,000 a page
    assert len(client.accounting.get_invoices(tenant, where='Type=="ACCPAY" AND Total>=200').invoices) == 15
    drafts_or_bills = client.accounting.get_invoices(tenant, where='Status=="DRAFT" || Type=="ACCPAY"')
    assert len(drafts_or_bills.invoices) == 50
    by_total = client.accounting.get_invoices(tenant, order="Total DESC", page=1, page_size=3)
    assert [inv.total for inv in by_total.invoices] == [Decimal("349"), Decimal("348"), Decimal("347")]
    newest_first = client.accounting.get_invoices(tenant, order="UpdatedDateUTC DESC", page=1, page_size=2)
    assert [inv.invoice_id for inv in newest_first.invoices] == [ids[-1], ids[-2]]

    clock.advance(minutes=20)  # the access token lasts 30 minutes
    changed_at = clock.now
    fake.add_payment(ids[3], 50, "2026-11-24")
    fake.update("Invoices", ids[0], DueDate=date(2026, 12, 15))
    since = client.accounting.get_invoices(tenant, if_modified_since=changed_at - timedelta(minutes=1))
    assert [inv.invoice_id for inv in since.invoices] == [ids[3], ids[0]]
    assert since.invoices[0].amount_paid == 50 and since.invoices[0].payments[0].amount == 50
    assert since.invoices[1].due_date == date(2026, 12, 15)
    assert since.invoices[1].updated_date_utc == changed_at
    assert since.pagination is None  # no page asked: every match, without line items
    assert since.invoices[0].line_items == []
    sent = next(c for c in reversed(fake.calls) if c["if_modified_since"])
    assert sent["if_modified_since"] == "2026-11-24T18:19:00+00:00"  # the SDK sends datetime.isoformat()
    assert client.accounting.get_invoices(tenant, if_modified_since=changed_at + timedelta(seconds=1)).invoices == []

    with pytest.raises(AccountingBadRequestException) as bad:
        client.accounting.get_invoices(tenant, where='Type=="ACCREC" AND')
    assert json.loads(bad.value.body)["Type"] == "QueryParseException"


def test_invoice_wire_format_dates_and_summaries(fake: FakeXero) -> None:
    acme = seed_customer(fake, currency="USD")
    invoice = fake.add_invoice(acme["ContactID"], total="1150.00", tax="150.00", date="2026-10-20",
                               due_date="2026-11-19", currency="USD", rate="1.650000", reference="PO-77")
    fake.add_payment(invoice["InvoiceID"], "200.00", "2026-11-01")
    fake.add_credit_note(acme["ContactID"], "100.00", "2026-11-02", allocate_to=[(invoice["InvoiceID"], "100.00")])
    fake.add_overpayment(acme["ContactID"], "80.00", "2026-11-03", allocate_to=[(invoice["InvoiceID"], "50.00")])
    fake.add_prepayment(acme["ContactID"], "30.00", "2026-11-04", allocate_to=[(invoice["InvoiceID"], "30.00")])
    token = fake.token_set()

    response = raw(fake, "GET", f"/api.xro/2.0/Invoices/{invoice['InvoiceID']}", token["access_token"],
                   fake.tenant_id)
    body = json.loads(response.data)
    assert list(body)[:4] == ["Id", "Status", "ProviderName", "DateTimeUTC"] and body["Status"] == "OK"
    assert body["DateTimeUTC"] == f"/Date({int(T0.timestamp() * 1000)})/"
    wire = body["Invoices"][0]
    assert wire["Date"] == "/Date(1792454400000+0000)/" and wire["DateString"] == "2026-10-20T00:00:00"
    assert parse_ms_date(wire["UpdatedDateUTC"]) == T0 and wire["UpdatedDateUTC"] == ms_date(T0)
    assert (wire["Total"], wire["AmountPaid"], wire["AmountCredited"], wire["AmountDue"]) == (1150, 200, 180, 770)
    assert response.headers["Content-Type"].startswith("application/json")
    assert int(response.headers["X-MinLimit-Remaining"]) == 59

    sdk = Client(fake, token).accounting.get_invoice(fake.tenant_id, invoice["InvoiceID"]).invoices[0]
    assert (sdk.type, sdk.status, sdk.currency_code.value, sdk.currency_rate) == ("ACCREC", "AUTHORISED", "USD",
                                                                                   Decimal("1.65"))
    assert (sdk.date, sdk.due_date, sdk.reference) == (date(2026, 10, 20), date(2026, 11, 19), "PO-77")
    assert (sdk.sub_total, sdk.total_tax, sdk.amount_due) == (Decimal("1000"), Decimal("150"), Decimal("770"))
    assert [p.amount for p in sdk.payments] == [Decimal("200")] and sdk.payments[0].date == date(2026, 11, 1)
    assert [c.applied_amount for c in sdk.credit_notes] == [Decimal("100")]
    assert sdk.credit_notes[0].credit_note_number == "CN-0001"
    assert [o.applied_amount for o in sdk.overpayments] == [Decimal("50")]
    assert [p.applied_amount for p in sdk.prepayments] == [Decimal("30")]
    assert sdk.line_items[0].line_amount == 1000 and sdk.has_attachments is False
    assert sdk.contact.contact_id == acme["ContactID"] and sdk.contact.name == "Acme Ltd"
    assert Client(fake, token).accounting.get_invoice(fake.tenant_id, invoice["InvoiceNumber"]).invoices[0] \
        .invoice_id == invoice["InvoiceID"]
    with pytest.raises(NotFoundException):
        Client(fake, token).accounting.get_invoice(fake.tenant_id, "00000000-0000-0000-0000-000000000000")


def test_contacts_credit_notes_payments_overpayments_prepayments(fake: FakeXero, clock: Clock) -> None:
    acme = fake.add_contact("Acme Ltd", email="ap@acme.test", first_name="Ana", last_name="Ruiz", currency="EUR",
                            persons=[{"FirstName": "Bo", "LastName": "Li", "EmailAddress": "bo@acme.test",
                                      "IncludeInEmails": True}],
                            phones=[{"PhoneType": "MOBILE", "PhoneNumber": "555 1234", "PhoneAreaCode": "21",
                                     "PhoneCountryCode": "64"}])
    fake.add_contact("Old Customer", status="ARCHIVED")
    fake.add_contact("Paper Supplies", is_customer=False, IsSupplier=True)
    first = fake.add_invoice(acme["ContactID"], total=500, date="2026-09-01", due_date="2026-10-01")
    second = fake.add_invoice(acme["ContactID"], total=300, date="2026-09-05", due_date="2026-10-05")
    fake.add_payment(first["InvoiceID"], 500, "2026-10-02")
    note = fake.add_credit_note(acme["ContactID"], 120, "2026-10-03", allocate_to=[(second["InvoiceID"], 100)])
    over = fake.add_overpayment(acme["ContactID"], 90, "2026-10-04", allocate_to=[(second["InvoiceID"], 40)])
    pre = fake.add_prepayment(acme["ContactID"], 60, "2026-10-05")
    client = Client(fake, fake.token_set())
    tenant = fake.tenant_id

    contacts = client.accounting.get_contacts(tenant, page=1).contacts
    assert [c.name for c in contacts] == ["Acme Ltd", "Paper Supplies"]  # archived ones only when asked for
    assert len(client.accounting.get_contacts(tenant, include_archived=True).contacts) == 3
    assert [c.name for c in client.accounting.get_contacts(tenant, where="IsCustomer==true").contacts] == ["Acme Ltd"]
    contact = contacts[0]
    assert (contact.contact_status, contact.is_customer, contact.default_currency.value) == ("ACTIVE", True, "EUR")
    assert contact.contact_persons[0].email_address == "bo@acme.test" and contact.contact_persons[0].include_in_emails
    assert contact.phones[0].phone_type == "MOBILE" and contact.addresses[1].address_type == "POBOX"
    assert contact.updated_date_utc == T0
    assert [c.name for c in client.accounting.get_contacts(tenant, search_term="acme").contacts] == ["Acme Ltd"]

    credit = client.accounting.get_credit_notes(tenant, page=1).credit_notes[0]
    assert (credit.credit_note_id, credit.type, credit.status) == (note["CreditNoteID"], "ACCRECCREDIT", "AUTHORISED")
    assert (credit.total, credit.remaining_credit) == (Decimal("120"), Decimal("20"))
    assert credit.allocations[0].amount == 100 and credit.allocations[0].invoice.invoice_id == second["InvoiceID"]
    assert credit.allocations[0].date == date(2026, 10, 3)
    payment = client.accounting.get_payments(tenant, where='Status=="AUTHORISED"').payments[0]
    assert (payment.amount, payment.payment_type, payment.invoice.invoice_id) == (Decimal("500"), "ACCRECPAYMENT",
                                                                                   first["InvoiceID"])
    overpayment = client.accounting.get_overpayments(tenant, page=1).overpayments[0]
    assert (overpayment.overpayment_id, overpayment.type) == (over["OverpaymentID"], "RECEIVE-OVERPAYMENT")
    assert overpayment.remaining_credit == 50 and overpayment.allocations[0].amount == 40
    prepayment = client.accounting.get_prepayments(tenant, page=1).prepayments[0]
    assert (prepayment.prepayment_id, prepayment.remaining_credit, prepayment.allocations) == (
        pre["PrepaymentID"], Decimal("60"), [])
    paid = client.accounting.get_invoice(tenant, first["InvoiceID"]).invoices[0]
    assert (paid.status, paid.amount_due, paid.fully_paid_on_date) == ("PAID", 0, date(2026, 10, 2))
    currencies = [c.code.value for c in client.accounting.get_currencies(tenant).currencies]
    assert "NZD" in currencies and "EUR" in currencies
    organisation = client.accounting.get_organisations(tenant).organisations[0]
    assert (organisation.name, organisation.base_currency.value, organisation.organisation_id) == (
        "Demo Company (NZ)", "NZD", tenant)


# ----------------------------------------------------------------------------- writes


def test_email_history_and_online_invoice(fake: FakeXero, clock: Clock) -> None:
    acme = seed_customer(fake)
    invoice = fake.add_invoice(acme["ContactID"], total=250, date="2026-10-01", due_date="2026-10-31")
    draft = fake.add_invoice(acme["ContactID"], total=90, date="2026-11-01", due_date="2026-12-01", status="DRAFT")
    client = Client(fake, fake.token_set())
    tenant, invoice_id = fake.tenant_id, invoice["InvoiceID"]
    clock.advance(minutes=5)

    assert client.accounting.email_invoice(tenant, invoice_id, RequestEmpty()) is None
    assert fake.calls[-1]["status"] == 204 and fake.calls[-1]["operation"] == "email invoice"
    assert fake.emails() == [{"InvoiceID": invoice_id, "InvoiceNumber": invoice["InvoiceNumber"],
                              "to": ["ap@acme.test"], "at": clock.now}]
    assert client.accounting.get_invoice(tenant, invoice_id).invoices[0].sent_to_contact is True
    with pytest.raises(AccountingBadRequestException) as not_sendable:
        client.accounting.email_invoice(tenant, draft["InvoiceID"], RequestEmpty())
    error = json.loads(not_sendable.value.body)
    assert error["Type"] == "ValidationException"
    assert error["Elements"][0]["ValidationErrors"][0]["Message"] == "Invoice not of valid status for sending by email"
    assert not_sendable.value.reason == "Invoice not of valid status for sending by email"

    notes = HistoryRecords(history_records=[HistoryRecord(details="Reminder 1 sent by email")])
    created = client.accounting.create_invoice_history(tenant, invoice_id, notes, idempotency_key="note-1")
    assert created.history_records[0].details == "Reminder 1 sent by email"
    assert created.history_records[0].date_utc == clock.now
    client.accounting.create_invoice_history(tenant, invoice_id, notes, idempotency_key="note-1")  # a retry
    history = client.accounting.get_invoice_history(tenant, invoice_id).history_records
    assert [h.changes for h in history][:2] == ["Note", "Sent"] and len(history) == 3  # Created, Sent, Note
    assert history[0].user == "API"

    online = client.accounting.get_online_invoice(tenant, invoice_id).online_invoices[0]
    assert online.online_invoice_url.startswith("https://in.xero.com/")
    with pytest.raises(AccountingBadRequestException):
        client.accounting.get_online_invoice(tenant, draft["InvoiceID"])
    assert [w["operation"] for w in fake.writes] == ["email invoice", "email invoice", "create invoice history",
                                                     "replay"]


def test_contact_groups_idempotency_and_recorded_writes(fake: FakeXero) -> None:
    acme = seed_customer(fake)
    globex = fake.add_contact("Globex")
    client = Client(fake, fake.token_set())
    tenant = fake.tenant_id
    client.accounting.get_invoices(tenant)
    client.accounting.get_contact_groups(tenant)
    assert fake.writes == []  # reads are not writes: a dry run can assert this

    group = ContactGroups(contact_groups=[ContactGroup(name="Collections: high risk")])
    first = client.accounting.create_contact_group(tenant, group, idempotency_key="group-high")
    again = client.accounting.create_contact_group(tenant, group, idempotency_key="group-high")
    assert first.contact_groups[0].contact_group_id == again.contact_groups[0].contact_group_id
    assert len(fake.contact_groups()) == 1
    with pytest.raises(AccountingBadRequestException) as duplicate:
        client.accounting.create_contact_group(tenant, group, idempotency_key="group-high-2")
    assert "already exists" in duplicate.value.reason
    group_id = first.contact_groups[0].contact_group_id

    members = Contacts(contacts=[Contact(contact_id=acme["ContactID"]), Contact(contact_id=globex["ContactID"])])
    added = client.accounting.create_contact_group_contacts(tenant, group_id, members, idempotency_key="members-1")
    assert [c.contact_id for c in added.contacts] == [acme["ContactID"], globex["ContactID"]]
    read = client.accounting.get_contact_group(tenant, group_id).contact_groups[0]
    assert (read.name, read.status, sorted(c.name for c in read.contacts)) == (
        "Collections: high risk", "ACTIVE", ["Acme Ltd", "Globex"])
    contact = client.accounting.get_contact(tenant, acme["ContactID"]).contacts[0]
    assert [g.name for g in contact.contact_groups] == ["Collections: high risk"]
    client.accounting.delete_contact_group_contact(tenant, group_id, globex["ContactID"])
    assert list(fake.contact_groups()[0]["Contacts"]) == [acme["ContactID"]]
    assert [(w["method"], w["operation"], w["status"]) for w in fake.writes] == [
        ("PUT", "create ContactGroups", 200), ("PUT", "replay", 200), ("PUT", "create ContactGroups", 400),
        ("PUT", "add ContactGroup contacts", 200), ("DELETE", "remove ContactGroup contacts", 204)]
    assert fake.writes[0]["idempotency_key"] == "group-high" and "Collections: high risk" in fake.writes[0]["body"]
    assert len(fake.calls) == 9 and fake.calls[0]["token"].startswith("****")


# ----------------------------------------------------------------------------- errors and limits


def test_invalid_and_expired_tokens_get_401(fake: FakeXero) -> None:
    seed_customer(fake)
    client = Client(fake, fake.token_set())
    tenant = fake.tenant_id
    assert len(client.accounting.get_contacts(tenant).contacts) == 1
    bogus = raw(fake, "GET", "/api.xro/2.0/Contacts", "not-a-token", tenant)
    assert bogus.status == 401 and json.loads(bogus.data)["Detail"] == "AuthenticationUnsuccessful"

    fake.expire_access_tokens(after_calls=2)  # the token dies in the middle of a sync
    client.accounting.get_contacts(tenant)
    with pytest.raises(HTTPStatusException) as expired:
        client.accounting.get_contacts(tenant)
    assert type(expired.value) is HTTPStatusException and expired.value.status == 401  # no 401 class in the SDK
    assert json.loads(expired.value.body)["Detail"].startswith("TokenExpired")
    assert "invalid_token" in expired.value.headers["WWW-Authenticate"]
    client.api_client.refresh_oauth2_token()  # the SDK never refreshes on a 401 itself: the caller does
    assert len(client.accounting.get_contacts(tenant).contacts) == 1
    with pytest.raises(HTTPStatusException) as forbidden:
        client.accounting.get_contacts("00000000-0000-0000-0000-000000000000")
    assert forbidden.value.status == 403


def test_minute_day_and_app_limits_with_headers(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    limits = Limits(per_minute=3, per_day=5, concurrent=5, app_per_minute=4)
    with FakeXero(clock=clock, limits=limits) as fake:
        client = Client(fake, fake.token_set())
        nz, us = fake.tenant_ids
        for expected in (2, 1, 0):
            _, status, headers = client.accounting.get_contacts(nz, _return_http_data_only=False)
            assert (status, headers["X-MinLimit-Remaining"]) == (200, str(expected))
        assert headers["X-DayLimit-Remaining"] == "2" and headers["X-AppMinLimit-Remaining"] == "1"
        clock.advance(seconds=20)
        with pytest.raises(RateLimitException) as minute:
            client.accounting.get_contacts(nz)
        assert minute.value.status == 429 and minute.value.rate_limit == "minute"
        assert minute.value.headers["Retry-After"] == "40"
        assert str(minute.value).startswith("You've exceeded the per minute rate limit")

        clock.advance(seconds=41)
        client.accounting.get_contacts(nz)
        client.accounting.get_contacts(nz)
        with pytest.raises(RateLimitException) as day:
            client.accounting.get_contacts(nz)
        assert day.value.rate_limit == "day" and int(day.value.headers["Retry-After"]) > 86000

        client.accounting.get_contacts(us)
        client.accounting.get_contacts(us)
        with pytest.raises(RateLimitException) as app:
            client.accounting.get_contacts(us)  # 4 calls this minute across the app
        assert app.value.rate_limit == "appminute" and app.value.headers["X-MinLimit-Remaining"] == "1"
        assert [c["status"] for c in fake.calls] == [200] * 3 + [429] + [200] * 2 + [429] + [200] * 2 + [429]


def test_concurrent_limit(clock: Clock) -> None:
    with FakeXero(clock=clock, limits=Limits(concurrent=2)) as fake:
        token = fake.token_set()
        fake.gate = threading.Event()
        nz, us = fake.tenant_ids
        statuses: list[tuple[str, int]] = []

        def call(tenant: str) -> None:
            statuses.append((tenant, raw(fake, "GET", "/api.xro/2.0/Contacts", token["access_token"], tenant).status))

        workers = [threading.Thread(target=call, args=(tenant,)) for tenant in (nz, nz, us)]
        for worker in workers:
            worker.start()
        for _ in range(500):
            if (fake.in_flight(nz), fake.in_flight(us)) == (2, 1):  # the limit is per organisation
                break
            threading.Event().wait(0.01)
        third = raw(fake, "GET", "/api.xro/2.0/Contacts", token["access_token"], nz)
        fake.gate.set()
        for worker in workers:
            worker.join(10)
        assert third.status == 429 and third.headers["X-Rate-Limit-Problem"] == "concurrent"
        assert sorted(statuses) == sorted([(nz, 200), (nz, 200), (us, 200)])
        assert fake.in_flight(nz) == fake.in_flight(us) == 0


def test_injected_faults_and_a_malformed_record(fake: FakeXero) -> None:
    acme = seed_customer(fake)
    ids = [fake.add_invoice(acme["ContactID"], total=10, date="2026-11-01", due_date="2026-12-01")["InvoiceID"]
           for _ in range(3)]
    client = Client(fake, fake.token_set())
    tenant = fake.tenant_id
    fake.storm(2, retry_after=7)
    for _ in range(2):
        with pytest.raises(RateLimitException) as storm:
            client.accounting.get_invoices(tenant, page=1)
        assert storm.value.headers["Retry-After"] == "7" and storm.value.rate_limit == "minute"
    fake.inject(Fault(503), Fault(500))
    for status in (503, 500):
        with pytest.raises(HTTPStatusException) as server_error:
            client.accounting.get_invoices(tenant, page=1)
        assert server_error.value.status == status
    assert len(client.accounting.get_invoices(tenant, page=1).invoices) == 3

    fake.corrupt("Invoices", ids[1], {"InvoiceID": ids[1], "Type": "ACCREC", "Status": "LOST", "Total": 10})
    with pytest.raises(ValueError, match="Invalid value for `status`"):  # the SDK rejects the whole page
        client.accounting.get_invoices(tenant, page=1)
    wire = json.loads(raw(fake, "GET", "/api.xro/2.0/Invoices?page=1", client.token["access_token"], tenant).data)
    assert [inv["Status"] for inv in wire["Invoices"]] == ["AUTHORISED", "LOST", "AUTHORISED"]
    fake.update("Invoices", ids[1], Reference="fixed")  # a change serves the real record again
    assert len(client.accounting.get_invoices(tenant, page=1).invoices) == 3


def test_the_default_pool_manager_retries_429_itself(fake: FakeXero) -> None:
    client = Client(fake, fake.token_set(), retries=True)
    fake.storm(2, retry_after=0)
    assert client.accounting.get_contacts(fake.tenant_id).contacts == []  # urllib3 honoured Retry-After
    assert [c["status"] for c in fake.calls] == [429, 429, 200]


# ----------------------------------------------------------------------------- generator and webhooks


def test_generated_ledger_has_a_realistic_mix_and_pages_completely(clock: Clock) -> None:
    with FakeXero(clock=clock, limits=Limits(per_minute=1000)) as fake:
        made = generate_ledger(fake, contacts=60, invoices=1500, seed=7)
        again = FakeXero(clock=clock)
        assert len(generate_ledger(again, contacts=60, invoices=1500, seed=7)["Payments"]) == len(made["Payments"])
        client = Client(fake, fake.token_set())
        tenant = fake.tenant_id
        invoices = []
        page = 1
        while True:
            batch = client.accounting.get_invoices(tenant, page=page, page_size=400).invoices
            invoices += batch
            if len(batch) < 400:
                break
            page += 1
        assert len({i.invoice_id for i in invoices}) == len(invoices) == 1500
        updated = [i.updated_date_utc for i in invoices]
        assert updated == sorted(updated) and updated[0] < T0 - timedelta(days=300)  # history, oldest first
        statuses = {s: sum(1 for i in invoices if i.status == s) for s in
                    ("AUTHORISED", "PAID", "VOIDED", "DRAFT", "SUBMITTED", "DELETED")}
        assert all(statuses.values()) and statuses["AUTHORISED"] > statuses["PAID"] > statuses["VOIDED"]
        assert any(i.amount_paid and i.amount_due for i in invoices)  # part paid
        assert any(i.credit_notes for i in invoices) and any(i.overpayments for i in invoices)
        assert {i.type for i in invoices} == {"ACCREC", "ACCPAY"}
        assert len({i.currency_code for i in invoices}) > 1
        assert all(i.currency_rate == 1 for i in invoices if i.currency_code.value == "NZD")
        assert all(i.amount_due == i.total - i.amount_paid - i.amount_credited for i in invoices
                   if i.status in ("AUTHORISED", "PAID"))
        recent = client.accounting.get_invoices(tenant, if_modified_since=T0 - timedelta(days=30))
        assert 0 < len(recent.invoices) < 300
        assert len(made["Contacts"]) == 60 and made["CreditNotes"] and made["Overpayments"]


def test_webhook_signature_helpers() -> None:
    key = "fake-webhook-key-0001"
    body, headers = intent_to_receive(key)
    payload = json.loads(body)
    assert payload["events"] == [] and payload["firstEventSequence"] == payload["lastEventSequence"] == 0
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["x-xero-signature"] == expected == sign_webhook(body, key)
    bad_body, bad_headers = intent_to_receive(key, valid=False)
    assert bad_headers["x-xero-signature"] != sign_webhook(bad_body, key)

    event = webhook_event("tenant-1", "inv-1", when=T0)
    delivery, delivery_headers = webhook_delivery(key, [event, webhook_event("tenant-2", "c-1", category="CONTACT")],
                                                  first_sequence=41)
    events = json.loads(delivery)
    assert (events["firstEventSequence"], events["lastEventSequence"]) == (41, 42)
    assert events["events"][0] == {
        "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/inv-1", "resourceId": "inv-1",
        "eventDateUtc": "2026-11-24T18:00:00.000", "eventType": "UPDATE", "eventCategory": "INVOICE",
        "tenantId": "tenant-1", "tenantType": "ORGANISATION"}
    assert delivery_headers["x-xero-signature"] == sign_webhook(delivery, key)
