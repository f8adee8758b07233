"""The local QuickBooks Online fake, driven by the official SDKs (python-quickbooks and intuit-oauth)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("quickbooks", reason="python-quickbooks is not installed (pip install '.[quickbooks]')")
pytest.importorskip("intuitlib", reason="intuit-oauth is not installed (pip install '.[quickbooks]')")

import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.batch import batch_update
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import (
    AuthorizationException,
    GeneralException,
    ObjectNotFoundException,
    QuickbooksException,
    SevereException,
    UnsupportedException,
    ValidationException,
)
from quickbooks.objects.attachable import Attachable
from quickbooks.objects.base import AttachableRef, CustomerMemo, CustomField, Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # plain `pytest` leaves the repository root out
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes.quickbooks_server import FakeQuickBooks, Fault

REDIRECT = "http://localhost:8000/callback"
T0 = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)  # 10:00 in the company's time zone (-08:00)


class Clock:
    """A settable clock for the fake."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def _insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeQuickBooks]:
    with FakeQuickBooks(clock=clock) as server:
        yield server


def auth_client(fake: FakeQuickBooks, secret: str | None = None) -> AuthClient:
    return AuthClient(fake.client_id, secret or fake.client_secret, REDIRECT, fake.discovery_url)


def connect(fake: FakeQuickBooks, refresh_token: str | None = None) -> QuickBooks:
    """A python-quickbooks client on the fake, as production code builds one."""
    qb = QuickBooks(auth_client=auth_client(fake), refresh_token=refresh_token or fake.refresh_token(),
                    company_id=fake.realm_id, minorversion=75)
    qb.api_url_v3 = f"{fake.base_url}/v3"
    return qb


def raw(fake: FakeQuickBooks, qb: QuickBooks, method: str, resource: str, **kwargs: Any) -> requests.Response:
    """A data call made with plain requests, to look at the wire."""
    headers = {"Authorization": f"Bearer {qb.auth_client.access_token}", "Accept": "application/json",
               **kwargs.pop("headers", {})}
    url = f"{fake.base_url}/v3/company/{fake.realm_id}/{resource}"
    return requests.request(method, url, headers=headers, timeout=10, **kwargs)


def data_calls(fake: FakeQuickBooks, operation: str) -> list[dict[str, Any]]:
    return [c for c in fake.calls if c["path"].startswith("/v3/") and c["operation"] == operation]


def test_authorization_code_exchange_and_refresh_token_rotation(fake: FakeQuickBooks) -> None:
    auth = auth_client(fake)
    assert auth.token_endpoint.startswith(fake.base_url)
    location = requests.get(auth.get_authorization_url([Scopes.ACCOUNTING], state_token="s1"),
                            allow_redirects=False, timeout=10).headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(REDIRECT) and params["state"] == "s1" and params["realmId"] == fake.realm_id

    auth.get_bearer_token(params["code"], realm_id=params["realmId"])
    assert auth.access_token and auth.refresh_token and auth.id_token is None
    assert (auth.expires_in, auth.x_refresh_token_expires_in) == (3600, 8_726_400)
    with pytest.raises(AuthClientError) as reused:
        auth_client(fake).get_bearer_token(params["code"])
    assert reused.value.status_code == 400 and json.loads(reused.value.content) == {"error": "invalid_grant"}

    r0 = auth.refresh_token
    auth.refresh()
    r1 = auth.refresh_token
    assert r1 != r0
    other_worker = auth_client(fake)
    other_worker.refresh(refresh_token=r0)  # r1 not used yet: r0 still works and yields the same new token
    assert other_worker.refresh_token == r1
    auth.refresh()  # uses r1: from now on r0 is dead
    r2 = auth.refresh_token
    with pytest.raises(AuthClientError) as stale:
        auth_client(fake).refresh(refresh_token=r0)
    assert stale.value.status_code == 400 and b"invalid_grant" in stale.value.content
    with pytest.raises(AuthClientError):  # the SDK refreshes at construction
        connect(fake, refresh_token=r0)
    assert fake.refresh_token() == r2
    with pytest.raises(AuthClientError) as bad_client:
        auth_client(fake, secret="wrong").refresh(refresh_token=r2)
    assert bad_client.value.status_code == 401

    qb = connect(fake, refresh_token=r2)
    assert qb.refresh_token != r2  # rotated again: callers must store the newest one
    assert Customer.all(qb=qb) == []
    token_calls = [c for c in fake.calls if c["operation"] == "token"]
    assert [c["status"] for c in token_calls] == [200, 400, 200, 200, 200, 400, 400, 401, 200]


def test_query_pages_over_2500_invoices_in_three_calls(fake: FakeQuickBooks) -> None:
    customer = fake.add_customer(DisplayName="Big Customer")
    seeded = {fake.add_invoice(customer["Id"], amount=10 + i % 7, due_date="2026-12-01",
                               txn_date="2026-11-01")["Id"] for i in range(2500)}
    qb = connect(fake)
    seen: list[str] = []
    start = 1
    while True:
        page = Invoice.where("", start_position=start, max_results=1000, qb=qb)
        seen += [inv.Id for inv in page]
        if len(page) < 1000:
            break
        start += len(page)
    assert len(seen) == len(set(seen)) == 2500 and set(seen) == seeded
    assert len(data_calls(fake, "query")) == 3
    assert [int(i) for i in seen] == sorted(int(i) for i in seen)

    capped = qb.query("SELECT * FROM Invoice STARTPOSITION 2001 MAXRESULTS 5000")["QueryResponse"]
    assert (capped["startPosition"], capped["maxResults"], len(capped["Invoice"])) == (2001, 500, 500)


def test_count_filters_and_ordering(fake: FakeQuickBooks, clock: Clock) -> None:
    acme = fake.add_customer(DisplayName="Acme", PrimaryEmailAddr="ap@acme.test")
    fake.add_customer(DisplayName="Dormant", Active=False)
    ids = [fake.add_invoice(acme["Id"], amount=amount, due_date=f"2026-1{i}-01", txn_date="2026-09-01")["Id"]
           for i, amount in enumerate((100, 250, 75))]
    clock.advance(hours=1)
    fake.add_payment(acme["Id"], 100, "2026-11-24", applied_to=[(ids[0], 100)])
    qb = connect(fake)

    assert Invoice.count(qb=qb) == 3
    assert Invoice.count("Balance > '0'", qb=qb) == 2
    assert Invoice.count(f"CustomerRef = '{acme['Id']}' AND DueDate < '2026-12-01'", qb=qb) == 2
    assert [c.DisplayName for c in Customer.all(qb=qb)] == ["Acme"]  # inactive ones only when asked for
    assert len(Customer.where("Active IN (true, false)", qb=qb)) == 2
    by_amount = Invoice.where("Id IN ('1', '2', '3')", order_by="TotalAmt DESC", qb=qb)
    assert [inv.TotalAmt for inv in by_amount] == [250, 100, 75]
    changed = Invoice.where("MetaData.LastUpdatedTime >= '2026-11-24T10:30:00-08:00'", qb=qb)
    assert [inv.Id for inv in changed] == [ids[0]]  # the payment touched it
    assert changed[0].Balance == 0 and changed[0].LinkedTxn[0].TxnType == "Payment"
    assert qb.query("SELECT * FROM Invoice WHERE DocNumber = 'none'") == {"QueryResponse": {},
                                                                          "time": "2026-11-24T11:00:00.000-08:00"}
    with pytest.raises(ValidationException) as bad:
        qb.query("SELECT * FROM Invoice WHERE Balance >")
    assert bad.value.error_code == 4000


def test_cdc_reports_changes_and_deletions(fake: FakeQuickBooks, clock: Clock) -> None:
    acme = fake.add_customer(DisplayName="Acme")
    kept = fake.add_invoice(acme["Id"], amount=120, due_date="2026-12-01", txn_date="2026-11-01")
    gone = fake.add_invoice(acme["Id"], amount=80, due_date="2026-12-01", txn_date="2026-11-01")
    untouched = fake.add_invoice(acme["Id"], amount=50, due_date="2026-12-01", txn_date="2026-11-01")
    clock.advance(hours=2)
    fake.update("Invoice", kept["Id"], PrivateNote="called")
    fake.delete("Invoice", gone["Id"])
    payment = fake.add_payment(acme["Id"], 20, "2026-11-24", applied_to=[(untouched["Id"], 20)])
    qb = connect(fake)

    cdc = change_data_capture([Invoice, Customer, Payment], "2026-11-24T11:00:00-08:00", qb=qb)
    invoices = {inv.Id: inv for inv in cdc.Invoice}
    assert set(invoices) == {kept["Id"], gone["Id"], untouched["Id"]}
    assert invoices[kept["Id"]].PrivateNote == "called" and invoices[kept["Id"]].SyncToken == "1"
    assert invoices[gone["Id"]].status == "Deleted"
    assert [p.Id for p in cdc.Payment] == [payment["Id"]]
    assert not hasattr(cdc, "Customer")  # nothing changed

    envelope = qb.change_data_capture("Invoice,Customer", "2026-11-24T11:00:00-08:00")
    blocks = envelope["CDCResponse"][0]["QueryResponse"]
    assert blocks[0]["startPosition"] == 1 and blocks[0]["maxResults"] == 3
    deleted = next(o for o in blocks[0]["Invoice"] if o.get("status") == "Deleted")
    assert deleted == {"domain": "QBO", "status": "Deleted", "Id": gone["Id"],
                       "MetaData": {"LastUpdatedTime": "2026-11-24T12:00:00-08:00"}}

    for _ in range(1005):
        fake.add_invoice(acme["Id"], amount=1, due_date="2026-12-01", txn_date="2026-11-24")
    capped = change_data_capture([Invoice], "2026-11-24T11:00:00-08:00", qb=qb)
    assert len(capped.Invoice) == 1000
    with pytest.raises(ValidationException) as too_old:
        change_data_capture([Invoice], (T0 - timedelta(days=31)).isoformat(), qb=qb)
    assert "older than fixed days" in too_old.value.detail


def test_read_with_invoice_link_and_corrupted_object(fake: FakeQuickBooks) -> None:
    acme = fake.add_customer(DisplayName="Acme", PrimaryEmailAddr="ap@acme.test")
    inv = fake.add_invoice(acme["Id"], amount="1234.56", due_date="2026-12-01", txn_date="2026-11-01",
                           currency="EUR", exchange_rate="1.08", doc_number="INV-7")
    qb = connect(fake)
    plain = Invoice.get(inv["Id"], qb=qb)
    assert plain.InvoiceLink == "" and plain.DocNumber == "INV-7" and plain.BillEmail.Address == "ap@acme.test"
    assert plain.CurrencyRef.value == "EUR" and plain.HomeTotalAmt == 1333.32
    offline = Invoice.get(inv["Id"], qb=qb, params={"include": "invoiceLink"})
    assert offline.InvoiceLink == ""  # no online payment on this invoice: QuickBooks gives no link
    fake.update("Invoice", inv["Id"], AllowOnlineCreditCardPayment=True)
    linked = Invoice.get(inv["Id"], qb=qb, params={"include": "invoiceLink"})
    assert linked.InvoiceLink.startswith("https://")
    queried = qb.query("SELECT * FROM Invoice", params={"include": "invoiceLink"})["QueryResponse"]["Invoice"]
    assert [i["InvoiceLink"] for i in queried] == [linked.InvoiceLink]  # a query asking for links gets them too

    response = raw(fake, qb, "GET", f"invoice/{inv['Id']}", params={"minorversion": 75})
    assert response.headers["Content-Type"].startswith("application/json") and response.headers["intuit_tid"]
    body = response.json()
    assert body["Invoice"]["TotalAmt"] == 1234.56 and body["Invoice"]["DueDate"] == "2026-12-01"
    assert body["Invoice"]["MetaData"]["CreateTime"] == "2026-11-24T10:00:00-08:00"
    assert body["time"].endswith("-08:00")

    fake.corrupt("Invoice", inv["Id"], {"Id": inv["Id"], "Balance": "lots", "Line": "oops"})
    with pytest.raises(TypeError):  # the SDK itself chokes on a malformed Line
        Invoice.get(inv["Id"], qb=qb)
    assert qb.query("SELECT * FROM Invoice")["QueryResponse"]["Invoice"][0]["Balance"] == "lots"
    with pytest.raises(ObjectNotFoundException):
        Invoice.get("999", qb=qb)


def test_sparse_update_and_stale_sync_token(fake: FakeQuickBooks) -> None:
    acme = fake.add_customer(DisplayName="Acme")
    inv = fake.add_invoice(acme["Id"], amount=300, due_date="2026-12-01", txn_date="2026-11-01")
    qb = connect(fake)

    change = Invoice()
    change.Id, change.SyncToken, change.sparse = inv["Id"], "0", True
    change.PrivateNote = "Promise to pay 2026-12-05"
    change.CustomerMemo = CustomerMemo()
    change.CustomerMemo.value = "Reminder 1 sent"
    field = CustomField()
    field.DefinitionId, field.Name, field.Type, field.StringValue = "1", "Dunning", "StringType", "L1"
    change.CustomField = [field]
    saved = change.save(qb=qb)
    assert saved.SyncToken == "1" and saved.PrivateNote == "Promise to pay 2026-12-05"
    assert saved.TotalAmt == 300 and saved.Balance == 300 and len(saved.Line) == 2  # untouched by a sparse update
    assert saved.CustomerMemo.value == "Reminder 1 sent" and saved.CustomField[0].StringValue == "L1"

    with pytest.raises(QuickbooksException) as stale:
        change.save(qb=qb)  # still SyncToken "0"
    assert type(stale.value) is QuickbooksException  # 5010 is outside every range the SDK maps
    assert stale.value.error_code == 5010 and stale.value.message == "Stale Object Error"


def test_invoice_send_is_recorded(fake: FakeQuickBooks) -> None:
    acme = fake.add_customer(DisplayName="Acme", PrimaryEmailAddr="ap@acme.test")
    inv = fake.add_invoice(acme["Id"], amount=300, due_date="2026-12-01", txn_date="2026-11-01")
    qb = connect(fake)
    invoice = Invoice.get(inv["Id"], qb=qb)
    result = invoice.send(qb=qb, send_to="billing+ar@acme.test")
    assert result["Invoice"]["EmailStatus"] == "EmailSent"
    assert result["Invoice"]["DeliveryInfo"] == {"DeliveryType": "Email", "DeliveryTime": "2026-11-24T10:00:00-08:00"}
    assert result["Invoice"]["BillEmail"] == {"Address": "billing+ar@acme.test"}
    assert fake.sent == [{"id": inv["Id"], "sendTo": "billing+ar@acme.test", "at": "2026-11-24T10:00:00-08:00"}]
    assert Invoice.get(inv["Id"], qb=qb).email_sent
    with pytest.raises(ValidationException) as bad:
        invoice.send(qb=qb, send_to="not-an-address")
    assert bad.value.error_code == 2210 and len(fake.sent) == 1


def test_batch_update_query_and_limit(fake: FakeQuickBooks) -> None:
    acme = fake.add_customer(DisplayName="Acme")
    ids = [fake.add_invoice(acme["Id"], amount=100, due_date="2026-12-01", txn_date="2026-11-01")["Id"]
           for _ in range(3)]
    qb = connect(fake)
    invoices = Invoice.choose(ids, qb=qb)
    for inv in invoices:
        inv.PrivateNote = f"batch {inv.Id}"
    fake.update("Invoice", ids[2], Memo="changed meanwhile")  # its SyncToken is now stale
    result = batch_update(invoices, qb=qb)
    assert sorted(i.Id for i in result.successes) == ids[:2]
    assert [f.Error[0].code for f in result.faults] == ["5010"]
    assert Invoice.get(ids[0], qb=qb).PrivateNote == f"batch {ids[0]}"

    body = {"BatchItemRequest": [
        {"bId": "q1", "Query": "SELECT * FROM Invoice WHERE Balance > '0' MAXRESULTS 2"},
        {"bId": "c1", "operation": "create", "Customer": {"DisplayName": "Initech"}},
        {"bId": "c2", "operation": "create", "Customer": {"DisplayName": "Initech"}},
    ]}
    items = {item["bId"]: item for item in qb.batch_operation(json.dumps(body))["BatchItemResponse"]}
    assert len(items["q1"]["QueryResponse"]["Invoice"]) == 2
    assert items["c1"]["Customer"]["DisplayName"] == "Initech"
    assert items["c2"]["Fault"]["Error"][0]["code"] == "6240"
    too_many = {"BatchItemRequest": [{"bId": str(i), "Query": "SELECT * FROM Customer"} for i in range(31)]}
    with pytest.raises(GeneralException) as limit:
        qb.batch_operation(json.dumps(too_many))
    assert limit.value.error_code == 1040


def test_throttling_and_server_faults_as_the_sdk_raises_them(fake: FakeQuickBooks) -> None:
    qb = connect(fake)
    fake.inject(Fault(status=429, fmt="xml", retry_after=7))
    with pytest.raises(QuickbooksException) as xml_fault:
        Customer.all(qb=qb)
    # the SDK cannot parse XML: a plain QuickbooksException with its own code 10000, 3001 only in the text
    assert type(xml_fault.value) is QuickbooksException and xml_fault.value.error_code == 10000
    assert "errorCode=003001" in xml_fault.value.message and 'code="3001"' in xml_fault.value.message

    fake.inject(Fault(status=429, fmt="json"))
    with pytest.raises(ValidationException) as json_fault:
        Customer.all(qb=qb)
    assert json_fault.value.error_code == 3001 and "ThrottleExceeded" in json_fault.value.message

    fake.inject(Fault(status=503), Fault(status=500, fmt="xml"), Fault(status=400, code="2020", message="Nope"))
    with pytest.raises(SevereException):
        Customer.all(qb=qb)
    with pytest.raises(QuickbooksException) as xml_500:
        Customer.all(qb=qb)
    assert xml_500.value.error_code == 10000
    with pytest.raises(ValidationException) as custom:
        Customer.all(qb=qb)
    assert (custom.value.error_code, custom.value.message) == (2020, "Nope")
    assert [c["status"] for c in fake.calls if c["path"].endswith("/query")] == [429, 429, 503, 500, 400]

    fake.inject(Fault(status=429, fmt="xml", retry_after=7))
    response = raw(fake, qb, "GET", "query", params={"query": "SELECT * FROM Customer"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.headers["Content-Type"].startswith("application/xml")
    assert Customer.all(qb=qb) == []  # faults are consumed


def test_expired_access_token_raises_authorization_exception(fake: FakeQuickBooks) -> None:
    qb = connect(fake)
    fake.expire_access_tokens()
    with pytest.raises(AuthorizationException) as expired:
        Customer.all(qb=qb)
    assert expired.value.error_code == 401  # the HTTP status: the SDK does not parse the 401 body
    assert json.loads(expired.value.detail)["fault"]["error"][0]["code"] == "3200"
    assert fake.calls[-1]["status"] == 401 and fake.calls[-1]["token"].startswith("****")
    assert Customer.all(qb=connect(fake, refresh_token=qb.refresh_token)) == []


def test_request_id_makes_creates_idempotent(fake: FakeQuickBooks) -> None:
    qb = connect(fake)
    first = Customer()
    first.DisplayName = "Globex"
    created = first.save(qb=qb, request_id="req-0001")
    retry = Customer()
    retry.DisplayName = "Globex"
    replayed = retry.save(qb=qb, request_id="req-0001")
    assert replayed.Id == created.Id and Customer.count(qb=qb) == 1
    assert [c["operation"] for c in fake.calls if c["request_id"] == "req-0001"] == ["create", "replay"]
    assert retry.Id == created.Id  # save() writes the Id back: saving it again would be an update
    again = Customer()
    again.DisplayName = "Globex"
    with pytest.raises(QuickbooksException) as duplicate:
        again.save(qb=qb, request_id="req-0002")  # a new request id is a new create
    assert duplicate.value.error_code == 6240


def test_notes_are_attachables_not_a_private_note_entity(fake: FakeQuickBooks) -> None:
    acme = fake.add_customer(DisplayName="Acme")
    inv = fake.add_invoice(acme["Id"], amount=100, due_date="2026-12-01", txn_date="2026-11-01")
    qb = connect(fake)
    note = Attachable()
    note.Note = "Customer disputes line 2"
    ref = AttachableRef()
    ref.EntityRef = Ref()
    ref.EntityRef.type, ref.EntityRef.value = "Invoice", inv["Id"]
    note.AttachableRef = [ref]
    saved = note.save(qb=qb)
    assert saved.Note == "Customer disputes line 2"
    assert [a.Id for a in Attachable.all(qb=qb)] == [saved.Id]
    with pytest.raises(UnsupportedException):  # QuickBooks has no such resource (the SDK refuses the name too)
        qb.post(f"{qb.api_url}/company/{fake.realm_id}/privatenote", json.dumps({"Note": "x"}))
    with pytest.raises(Exception, match="not a valid QBO Business Object"):
        qb.create_object("PrivateNote", json.dumps({"Note": "x"}))
