"""The local Zoho Books server speaks Zoho's wire format: driven here with plain httpx, as a client would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

httpx = pytest.importorskip("httpx", reason="httpx is not installed (pip install '.[zoho]')")

from tests.fakes.zoho_server import FakeZoho, Fault, Limits, generate_ledger, zoho_time  # noqa: E402

UTC = timezone.utc
TODAY = datetime.now(UTC).date()


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeZoho]:
    with FakeZoho(clock=clock) as server:
        yield server


def api(fake: FakeZoho, token: str, method: str, path: str, **params: Any) -> httpx.Response:
    body = params.pop("json", None)
    query = {"organization_id": fake.organization_id, **params}
    return httpx.request(method, f"{fake.api_base}{path}", params=query, json=body,
                         headers={"Authorization": f"Zoho-oauthtoken {token}"})


def test_the_code_grant_gives_a_non_rotating_refresh_token_and_the_api_domain(fake: FakeZoho) -> None:
    redirect = "http://127.0.0.1:9/callback"
    answer = httpx.get(f"{fake.accounts_url}/oauth/v2/auth", params={
        "scope": "ZohoBooks.fullaccess.all", "client_id": fake.client_id, "response_type": "code",
        "redirect_uri": redirect, "access_type": "offline", "state": "s1"})
    assert answer.status_code == 302
    location = httpx.URL(answer.headers["location"])
    assert location.params["state"] == "s1" and location.params["location"] == "us"
    assert location.params["accounts-server"] == fake.accounts_url
    form = {"grant_type": "authorization_code", "client_id": fake.client_id, "client_secret": fake.client_secret,
            "redirect_uri": redirect, "code": location.params["code"]}
    first = httpx.post(f"{fake.accounts_url}/oauth/v2/token", data=form).json()
    assert first["api_domain"] == fake.url and first["expires_in"] == 3600 and first["refresh_token"]
    again = httpx.post(f"{fake.accounts_url}/oauth/v2/token", data=form).json()
    assert again == {"error": "invalid_code"}  # a code is single use
    refresh = {"grant_type": "refresh_token", "client_id": fake.client_id, "client_secret": fake.client_secret,
               "refresh_token": first["refresh_token"]}
    renewed = httpx.post(f"{fake.accounts_url}/oauth/v2/token", data=refresh).json()
    assert "refresh_token" not in renewed and renewed["access_token"] != first["access_token"]


def test_at_most_ten_access_tokens_per_refresh_token_in_ten_minutes(fake: FakeZoho, clock: Clock) -> None:
    refresh_token = fake.token_set()["refresh_token"]  # one issued already
    form = {"grant_type": "refresh_token", "client_id": fake.client_id, "client_secret": fake.client_secret,
            "refresh_token": refresh_token}
    answers = [httpx.post(f"{fake.accounts_url}/oauth/v2/token", data=form) for _ in range(10)]
    assert all(a.status_code == 200 for a in answers)
    assert sum("access_token" in a.json() for a in answers) == 9
    assert answers[-1].json()["error"] == "Access Denied"
    clock.offset = timedelta(minutes=11)
    assert "access_token" in httpx.post(f"{fake.accounts_url}/oauth/v2/token", data=form).json()
    fake.revoke(refresh_token)
    assert httpx.post(f"{fake.accounts_url}/oauth/v2/token", data=form).json() == {"error": "invalid_code"}


def test_every_call_needs_the_token_and_the_organization(fake: FakeZoho) -> None:
    token = fake.token_set()["access_token"]
    assert api(fake, "nope", "GET", "/contacts").json()["code"] == 57
    missing = httpx.get(f"{fake.api_base}/contacts", headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert missing.status_code == 400 and missing.json()["code"] == 2
    other = fake.token_set([fake.organization_ids[1]])["access_token"]
    refused = api(fake, other, "GET", "/contacts")
    assert refused.status_code == 401 and refused.json()["code"] == 6041
    organizations = httpx.get(f"{fake.api_base}/organizations",
                              headers={"Authorization": f"Zoho-oauthtoken {token}"}).json()
    assert [o["organization_id"] for o in organizations["organizations"]] == fake.organization_ids
    assert {o["currency_code"] for o in organizations["organizations"]} == {"USD", "EUR"}


def test_lists_page_by_200_with_has_more_page_and_filter_by_last_modified_time(fake: FakeZoho, clock: Clock) -> None:
    token = fake.token_set()["access_token"]
    clock.offset = -timedelta(days=2)
    made = generate_ledger(fake, contacts=30, invoices=450, seed=3, today=TODAY)
    clock.offset = timedelta(0)
    seen, page = [], 1
    while True:
        body = api(fake, token, "GET", "/invoices", page=page, per_page=200, sort_column="last_modified_time",
                   sort_order="A").json()
        assert body["code"] == 0 and body["page_context"]["per_page"] == 200
        seen += body["invoices"]
        if not body["page_context"]["has_more_page"]:
            break
        page += 1
    assert page == 3 and len(seen) == 450 and {i["invoice_id"] for i in seen} == set(made["invoices"])
    stamps = [i["last_modified_time"] for i in seen]
    assert stamps == sorted(stamps) and "custom_fields" not in seen[0]
    assert api(fake, token, "GET", "/invoices", per_page=201).json()["code"] == 2
    contact = fake.add_contact("Fresh Customer", email="ap@fresh.test", mobile="+15550001")
    since = zoho_time(datetime.now(UTC) - timedelta(minutes=1))
    fresh = api(fake, token, "GET", "/contacts", last_modified_time=since).json()["contacts"]
    assert [c["contact_id"] for c in fresh] == [contact["contact_id"]]
    assert fresh[0]["email"] == "ap@fresh.test" and "contact_persons" not in fresh[0]
    detail = api(fake, token, "GET", f"/contacts/{contact['contact_id']}").json()["contact"]
    assert detail["contact_persons"][0]["mobile"] == "+15550001"


def test_payments_list_invoice_numbers_and_detail_the_applied_amounts(fake: FakeZoho) -> None:
    token = fake.token_set()["access_token"]
    payer = fake.add_contact("Payer")
    first = fake.add_invoice(payer["contact_id"], total=100, date=TODAY, due_date=TODAY)
    second = fake.add_invoice(payer["contact_id"], total=50, date=TODAY, due_date=TODAY)
    payment = fake.add_payment({first["invoice_id"]: 100, second["invoice_id"]: 20}, TODAY)
    listed = api(fake, token, "GET", "/customerpayments").json()["customerpayments"][0]
    assert listed["invoice_numbers"] == f"{first['invoice_number']}, {second['invoice_number']}"
    assert "invoices" not in listed and listed["amount"] == 120
    detail = api(fake, token, "GET", f"/customerpayments/{payment['payment_id']}").json()["payment"]
    assert [i["amount_applied"] for i in detail["invoices"]] == [100, 20]
    statuses = {i["invoice_id"]: i["status"] for i in api(fake, token, "GET", "/invoices").json()["invoices"]}
    assert statuses == {first["invoice_id"]: "paid", second["invoice_id"]: "partially_paid"}


def test_writes_are_recorded_reminders_comments_and_custom_fields(fake: FakeZoho) -> None:
    token = fake.token_set()["access_token"]
    payer = fake.add_contact("Late", email="ap@late.test")
    invoice = fake.add_invoice(payer["contact_id"], total=100, date=TODAY - timedelta(days=40),
                               due_date=TODAY - timedelta(days=10))
    path = f"/invoices/{invoice['invoice_id']}"
    sent = api(fake, token, "POST", f"{path}/paymentreminder", json={"to_mail_ids": ["ap@late.test"]})
    assert sent.json() == {"code": 0, "message": "Your payment reminder has been sent."}
    added = api(fake, token, "POST", f"{path}/comments", json={"description": "level 1"})
    assert added.status_code == 201 and added.json()["comment"]["show_comment_to_clients"] is False
    updated = api(fake, token, "PUT", f"{path}/customfields",
                  json={"custom_fields": [{"api_name": "cf_collections", "value": "L1"}]})
    assert updated.json()["code"] == 0
    assert [c["description"] for c in fake.comments(invoice["invoice_id"])][-1] == "level 1"
    assert fake.record("invoices", invoice["invoice_id"])["custom_fields"][0]["value"] == "L1"
    assert fake.record("invoices", invoice["invoice_id"])["reminders_sent"] == 1
    assert len(fake.writes) == 3 and len(fake.reminders()) == 1
    fake.void_invoice(invoice["invoice_id"])
    refused = api(fake, token, "POST", f"{path}/paymentreminder", json={})
    assert refused.status_code == 400 and refused.json()["code"] == 1042


def test_faults_limits_and_headers(fake: FakeZoho) -> None:
    token = fake.token_set()["access_token"]
    fake.inject(Fault(200, 1000, "Internal error"), Fault(503, 1000, "Service unavailable"))
    soft = api(fake, token, "GET", "/contacts")
    assert soft.status_code == 200 and soft.json() == {"code": 1000, "message": "Internal error"}
    assert api(fake, token, "GET", "/contacts").status_code == 503
    fake.storm(1, retry_after=5)
    throttled = api(fake, token, "GET", "/contacts")
    assert throttled.status_code == 429 and throttled.json()["code"] == 44 and throttled.headers["retry-after"] == "5"
    ok = api(fake, token, "GET", "/contacts")
    assert ok.headers["x-rate-limit-limit"] == "10000" and int(ok.headers["x-rate-limit-remaining"]) < 10000
    fake.expire_access_tokens()
    assert api(fake, token, "GET", "/contacts").status_code == 401


def test_the_minute_and_the_day_are_counted_per_organization(clock: Clock) -> None:
    with FakeZoho(clock=clock, limits=Limits(per_minute=2, per_day=3)) as fake:
        token = fake.token_set()["access_token"]
        codes = [api(fake, token, "GET", "/contacts").json()["code"] for _ in range(3)]
        assert codes == [0, 0, 44]
        other = httpx.get(f"{fake.api_base}/contacts", params={"organization_id": fake.organization_ids[1]},
                          headers={"Authorization": f"Zoho-oauthtoken {token}"})
        assert other.json()["code"] == 0  # one organisation's limit never blocks another
        clock.offset = timedelta(minutes=2)
        api(fake, token, "GET", "/contacts")
        spent = api(fake, token, "GET", "/contacts")
        assert spent.status_code == 429 and spent.json()["code"] == 45
        assert spent.headers["x-rate-limit-remaining"] == "0" and int(spent.headers["x-rate-limit-reset"]) > 3600


def test_a_deleted_record_simply_disappears(fake: FakeZoho) -> None:
    token = fake.token_set()["access_token"]
    payer = fake.add_contact("Gone")
    invoice = fake.add_invoice(payer["contact_id"], total=10, date=TODAY, due_date=TODAY)
    fake.delete("invoices", invoice["invoice_id"])
    assert api(fake, token, "GET", "/invoices").json()["invoices"] == []
    assert api(fake, token, "GET", f"/invoices/{invoice['invoice_id']}").json()["code"] == 1002
