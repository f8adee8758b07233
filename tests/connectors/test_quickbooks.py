"""The QuickBooks connector end to end: the real SDKs against the local QuickBooks server.

Full sync in pages, incremental sync through CDC, deletions and voids, throttling, server
errors, a token expiring mid-sync, a crash mid-sync, a malformed record, and the push back
(invoice reminders sent by QuickBooks, collection status in the private note), each checked for
nothing lost and nothing sent or stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("quickbooks", reason="python-quickbooks is not installed (pip install -e '.[test]')")
pytest.importorskip("intuitlib", reason="intuit-oauth is not installed (pip install -e '.[test]')")

from collections_engine.defaults import default_policy
from connectors.common.errors import AuthorizationError
from connectors.common.locks import FileLocks
from connectors.common.ratelimit import LocalRateLimiter
from connectors.common.runtime import Runtime
from connectors.common.secrets import Secret
from connectors.common.store import Store
from connectors.common.tokens import Cipher, OAuthToken, TokenStore
from connectors.pipeline import RunOptions, run_tenant, sync_tenant
from connectors.quickbooks.platform import QuickBooksPlatform
from connectors.quickbooks.settings import QuickBooksSettings
from tests.fakes.quickbooks_server import FakeQuickBooks, Fault

UTC = timezone.utc
TODAY = datetime.now(UTC).date()


class Harness:
    """A fake QuickBooks company, a store, and the connector pointed at both."""

    def __init__(self, qbo: FakeQuickBooks, store: Store, tmp_path: Path) -> None:
        self.qbo = qbo
        self.sleeps: list[float] = []
        self.runtime = Runtime(store=store, locks=FileLocks(tmp_path / "locks"), limiter=LocalRateLimiter(),
                               cipher_keys=Cipher.generate_key())
        self.settings = QuickBooksSettings(
            realm_id=qbo.realm_id,
            client_id=qbo.client_id,
            client_secret=Secret(qbo.client_secret),
            environment=qbo.discovery_url,
            api_base=qbo.base_url,
            page_size=1000,
        )
        store.tenants.save_tenant(self.settings.tenant, "quickbooks", self.settings.to_record())
        TokenStore(store, self.runtime.cipher).save(
            self.settings.tenant,
            OAuthToken("expired", qbo.refresh_token(), datetime.now(UTC) - timedelta(hours=2)),
        )
        self.platform = self.open()

    def open(self) -> QuickBooksPlatform:
        return QuickBooksPlatform(self.runtime, self.settings, sleep=self.sleeps.append)

    @property
    def store(self) -> Store:
        return self.runtime.store

    def sync(self, **options: Any) -> dict[str, Any]:
        return sync_tenant(self.runtime, self.platform, **options)

    def portfolio(self) -> Any:
        return self.store.ledger.load_portfolio(self.settings.tenant, "USD", {})

    def data_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.qbo.calls if "/v3/company/" in c["path"]]


def working_noon() -> tuple[date, datetime]:
    """The next working day from today, and its noon UTC (inside the default contact window)."""
    day = TODAY
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day, datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)


def plan_and_act(harness: Harness, policy: Any, as_of: datetime, **options: Any) -> dict[str, Any]:
    """What the daily task does: plan what the syncs stored and deliver the due actions."""
    outcome = run_tenant(harness.runtime, harness.platform, policy, as_of, options=RunOptions(sync=False, **options))
    return outcome.summary()


class ShiftedClock:
    """The QuickBooks server's clock, which a test can set back to seed history before the sync."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def qbo(clock: ShiftedClock) -> Iterator[FakeQuickBooks]:
    with FakeQuickBooks(clock=clock) as server:
        yield server


@pytest.fixture
def harness(qbo: FakeQuickBooks, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    return Harness(qbo, store, tmp_path)


def seed(qbo: FakeQuickBooks, customers: int = 3, invoices: int = 12) -> list[dict[str, Any]]:
    people = [
        qbo.add_customer(DisplayName=f"Customer {n}", PrimaryEmailAddr={"Address": f"ap{n}@example.com"},
                         BillAddr={"Line1": "1 Main St", "Country": "US"})
        for n in range(customers)
    ]
    created = []
    for n in range(invoices):
        issued = TODAY - timedelta(days=90 - n)
        created.append(
            qbo.add_invoice(people[n % customers]["Id"], amount=100 + n, txn_date=issued,
                            due_date=issued + timedelta(days=30))
        )
    return created


def test_full_sync_reads_every_entity_in_pages_and_derives_settlement(harness: Harness, clock: ShiftedClock) -> None:
    qbo = harness.qbo
    clock.offset = -timedelta(days=2)  # a company with history
    invoices = seed(qbo, customers=4, invoices=2500)
    qbo.add_payment(invoices[0]["CustomerRef"]["value"], 100, TODAY - timedelta(days=50), [(invoices[0]["Id"], 100)])
    qbo.add_payment(invoices[1]["CustomerRef"]["value"], 40, TODAY - timedelta(days=45), [(invoices[1]["Id"], 40)])
    qbo.add_credit_memo(invoices[2]["CustomerRef"]["value"], 30, TODAY - timedelta(days=10))
    clock.offset = timedelta(0)
    figures = harness.sync()
    portfolio = harness.portfolio()
    items = {i.id: i for i in portfolio.items}
    assert len(portfolio.customers) == 4
    assert len([i for i in items.values() if not i.is_credit]) == 2500
    assert items[f"inv:{invoices[0]['Id']}"].residual == 0
    assert items[f"inv:{invoices[0]['Id']}"].settled_on == TODAY - timedelta(days=50)
    assert items[f"inv:{invoices[1]['Id']}"].residual == Decimal(61)
    credit = next(i for i in items.values() if i.is_credit)
    assert (credit.residual, credit.customer_id) == (Decimal(30), invoices[2]["CustomerRef"]["value"])
    assert {p.id for p in portfolio.payments} == {"pay:" + p for p in _payment_ids(qbo)}
    # 3 invoice pages + 1 page each of customers, payments and credit memos; changes wait for the next sync
    assert figures["api_calls"] == 6
    assert "changes" not in figures["streams"]
    assert figures["streams"]["invoices"]["pages"] == 3
    assert json.loads(harness.store.sync.get_bookmark(harness.settings.tenant, "changes") or "{}")["since"]


def _payment_ids(qbo: FakeQuickBooks) -> set[str]:
    return {c["Id"] for c in qbo.query_all("Payment")} if hasattr(qbo, "query_all") else {
        str(obj["Id"]) for obj in qbo._objects["Payment"].values()
    }


def test_incremental_sync_takes_one_call_and_applies_changes_deletions_and_voids(harness: Harness) -> None:
    qbo = harness.qbo
    invoices = seed(qbo, invoices=20)
    harness.sync()
    qbo.add_payment(invoices[3]["CustomerRef"]["value"], 103, TODAY, [(invoices[3]["Id"], 103)])
    qbo.update("Invoice", invoices[4]["Id"], DueDate=str(TODAY + timedelta(days=10)))
    qbo.delete("Invoice", invoices[5]["Id"])
    qbo.void_invoice(invoices[6]["Id"])
    qbo.add_invoice(invoices[0]["CustomerRef"]["value"], amount=999, txn_date=TODAY, due_date=TODAY)
    before = len(harness.data_calls())
    figures = harness.sync()
    assert figures["api_calls"] == 1 and len(harness.data_calls()) - before == 1
    items = {i.id: i for i in harness.portfolio().items}
    assert items[f"inv:{invoices[3]['Id']}"].residual == 0
    assert items[f"inv:{invoices[3]['Id']}"].settled_on == TODAY
    assert items[f"inv:{invoices[4]['Id']}"].due_date == TODAY + timedelta(days=10)
    assert f"inv:{invoices[5]['Id']}" not in items
    assert f"inv:{invoices[6]['Id']}" not in items
    assert len(items) == 20 - 2 + 1


def test_a_malformed_record_is_quarantined_and_the_rest_synced(harness: Harness) -> None:
    invoices = seed(harness.qbo, invoices=10)
    bad = dict(invoices[2], Balance="lots", TotalAmt="lots")
    harness.qbo.corrupt("Invoice", invoices[2]["Id"], bad)
    figures = harness.sync()
    assert figures["streams"]["invoices"]["quarantined"] == 1
    assert len(harness.portfolio().items) == 9
    (entry,) = harness.store.sync.quarantined(harness.settings.tenant)
    assert entry["record"] == f"Invoice {invoices[2]['Id']}"
    assert "TotalAmt is not a number" in entry["reason"]


def test_a_429_storm_and_5xx_bursts_are_retried_without_loss_or_duplicates(harness: Harness) -> None:
    seed(harness.qbo, invoices=30)
    harness.qbo.inject(
        Fault(429, "xml", retry_after=2), Fault(429, "json"), Fault(429, "xml"), Fault(503, "json"), Fault(500, "xml"),
    )
    figures = harness.sync()
    assert len(harness.portfolio().items) == 30
    assert len({i.id for i in harness.portfolio().items}) == 30
    assert harness.sleeps[0] == 2  # Retry-After honoured although the SDK hides the status
    assert len(harness.sleeps) == 5
    assert figures["api_calls"] == 4 + 5  # four pages, five retries


def test_a_token_expiring_mid_sync_is_refreshed_once_and_the_rotated_token_saved(harness: Harness) -> None:
    seed(harness.qbo, invoices=2100)
    tokens = TokenStore(harness.store, harness.runtime.cipher)

    def expire(stream: str, records: int, _total: int | None) -> None:
        if stream == "invoices" and records == 1000:  # after the first page
            harness.qbo.expire_access_tokens()

    harness.sync(on_progress=expire)
    assert len(harness.portfolio().items) == 2100
    stored, version = tokens.load(harness.settings.tenant)  # type: ignore[misc]
    assert version == 3  # seeded, refreshed at start (expired), refreshed after the 401
    assert stored.refresh_token == harness.qbo.refresh_token()


def test_a_refused_refresh_token_asks_to_connect_again(harness: Harness) -> None:
    TokenStore(harness.store, harness.runtime.cipher).save(
        harness.settings.tenant, OAuthToken("x", "revoked-refresh-token", datetime.now(UTC) - timedelta(hours=1))
    )
    with pytest.raises(AuthorizationError, match="connect the company again"):
        harness.open().client.query("SELECT * FROM Customer")


def test_a_crash_mid_sync_resumes_on_the_page_it_was_on(harness: Harness) -> None:
    seed(harness.qbo, invoices=3500)

    class Killed(Exception):
        pass

    def kill(stream: str, records: int, _total: int | None) -> None:
        if stream == "invoices" and records == 2000:  # after the second page
            raise Killed

    with pytest.raises(Killed):
        harness.sync(on_progress=kill)
    assert len(harness.portfolio().items) == 2000
    before = len(harness.data_calls())
    harness.platform = harness.open()  # a new worker
    harness.sync()
    invoice_queries = [c for c in harness.data_calls()[before:] if "Invoice" in json.dumps(c)]
    assert len(invoice_queries) >= 2
    assert len(harness.portfolio().items) == 3500


def test_reminders_are_sent_by_quickbooks_once_and_the_status_noted(harness: Harness) -> None:
    qbo = harness.qbo
    customer = qbo.add_customer(DisplayName="Late Payer", PrimaryEmailAddr={"Address": "ap@late.example.com"})
    day, as_of = working_noon()  # inside the contact window
    issued = day - timedelta(days=35)  # due 5 days ago: the first reminder, by email (no mobile number)
    invoice = qbo.add_invoice(customer["Id"], amount=500, txn_date=issued, due_date=issued + timedelta(days=30))
    harness.sync()
    policy = default_policy()
    result = plan_and_act(harness, policy, as_of)
    assert result["delivered"] >= 1 and result["failed"] == 0, result
    stored = qbo._objects["Invoice"][invoice["Id"]]
    assert "[Collections]" in stored["PrivateNote"]
    assert "risk" in stored["PrivateNote"]
    sends = [s for s in qbo.sent if str(s["id"]) == invoice["Id"]]
    assert [s.get("sendTo") for s in sends] == ["ap@late.example.com"]
    assert harness.store.outbox.claim_actions(harness.settings.tenant, due_by=as_of) == []
    again = plan_and_act(harness, policy, as_of)
    assert again["actions_new"] == 0 and again["delivered"] == 0
    assert len([s for s in qbo.sent if str(s["id"]) == invoice["Id"]]) == len(sends)
    assert stored["PrivateNote"].count("[Collections]") == result["delivered"]


def test_a_dry_run_syncs_and_plans_but_makes_no_write_request(harness: Harness) -> None:
    qbo = harness.qbo
    customer = qbo.add_customer(DisplayName="Late Payer", PrimaryEmailAddr={"Address": "ap@late.example.com"})
    day, as_of = working_noon()
    issued = day - timedelta(days=35)
    invoice = qbo.add_invoice(customer["Id"], amount=500, txn_date=issued, due_date=issued + timedelta(days=30))
    before = len(harness.data_calls())
    preview = run_tenant(harness.runtime, harness.platform, default_policy(), as_of, options=RunOptions(dry_run=True))
    calls = harness.data_calls()[before:]
    reads = {"query", "cdc", "read"}  # QuickBooks queries are POSTed: what a call does is its operation
    assert calls and all(call["operation"] in reads for call in calls), [c["operation"] for c in calls]
    assert qbo.sent == [] and "PrivateNote" not in qbo._objects["Invoice"][invoice["Id"]]
    assert preview.delivery.dry_run and preview.delivery.due >= 1 and preview.delivery.delivered == 0
    assert preview.new_action_keys == [] and harness.store.outbox.outbox_counts(harness.settings.tenant) == {}
    real = run_tenant(harness.runtime, harness.platform, default_policy(), as_of)
    assert real.delivery.delivered == preview.delivery.due and len(qbo.sent) == 1


def test_an_action_sent_by_a_worker_that_died_is_not_sent_again(harness: Harness) -> None:
    from connectors.common.planning import plan_tenant

    qbo = harness.qbo
    customer = qbo.add_customer(DisplayName="Late Payer", PrimaryEmailAddr={"Address": "ap@late.example.com"})
    as_of = datetime.now(UTC).replace(microsecond=0)
    issued = as_of.date() - timedelta(days=35)
    invoice = qbo.add_invoice(customer["Id"], amount=500, txn_date=issued, due_date=issued + timedelta(days=30))
    harness.sync()
    plan_tenant(harness.store, harness.settings.tenant, default_policy(), as_of - timedelta(days=1), "USD", {})
    tenant = harness.settings.tenant
    (entry,) = harness.store.outbox.claim_actions(tenant, due_by=as_of + timedelta(days=2))
    assert entry["channel"] == "email"  # 5 days overdue, no mobile: the first reminder goes by email
    harness.platform.deliverer(harness.runtime).deliver(entry)  # worker A sends, then dies before marking it sent
    assert len(qbo.sent) == 1
    (again,) = harness.store.outbox.claim_actions(tenant, due_by=as_of + timedelta(days=2), lease=timedelta(seconds=-1))
    assert again["reclaimed"]
    harness.open().deliverer(harness.runtime).deliver(again)  # worker B takes the claim over
    assert len(qbo.sent) == 1
    assert qbo._objects["Invoice"][invoice["Id"]]["PrivateNote"].count("[Collections]") == 1


def test_more_changes_than_cdc_returns_are_read_by_query(harness: Harness) -> None:
    invoices = seed(harness.qbo, invoices=1200)
    harness.sync()
    for invoice in invoices[:1100]:
        harness.qbo.update("Invoice", invoice["Id"], DueDate=str(TODAY + timedelta(days=5)))
    figures = harness.sync()
    # CDC (capped at 1,000 objects), then by query: customers 1 page, invoices 2, payments 1, credit memos 1
    assert figures["api_calls"] == 1 + 5
    items = {i.id: i for i in harness.portfolio().items}
    assert sum(1 for i in items.values() if i.due_date == TODAY + timedelta(days=5)) == 1100


def test_no_token_or_secret_reaches_the_logs(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    seed(harness.qbo, invoices=5)
    harness.qbo.inject(Fault(429, "json"), Fault(401, "json"), Fault(503, "xml"))
    with caplog.at_level(logging.DEBUG):
        harness.sync()
    token, _version = TokenStore(harness.store, harness.runtime.cipher).load(harness.settings.tenant)  # type: ignore[misc]
    text = caplog.text + repr(harness.settings) + repr(token)
    assert "throttled" in caplog.text  # the retries were logged...
    for secret in (token.access_token, token.refresh_token, harness.qbo.client_secret):
        assert secret not in text  # ...without a credential


def test_foreign_currency_invoices_are_planned_at_the_rate_quickbooks_used(harness: Harness) -> None:
    from connectors.common.planning import plan_tenant

    qbo = harness.qbo
    customer = qbo.add_customer(DisplayName="Cliente Europeo", CurrencyRef={"value": "EUR"})
    issued = TODAY - timedelta(days=50)
    qbo.add_invoice(customer["Id"], amount=1000, currency="EUR", exchange_rate="1.10", txn_date=issued,
                    due_date=issued + timedelta(days=30))
    earlier = issued - timedelta(days=9)
    qbo.add_invoice(customer["Id"], amount=500, currency="EUR", exchange_rate="1.08", txn_date=earlier,
                    due_date=earlier + timedelta(days=30))
    harness.sync()
    assert harness.store.ledger.exchange_rates(harness.settings.tenant) == {"EUR": Decimal("1.10")}  # the newest
    rates = harness.store.ledger.exchange_rates(harness.settings.tenant)
    outcome = plan_tenant(harness.store, harness.settings.tenant, default_policy(), datetime.now(UTC), "USD", rates)
    (decision,) = outcome.decisions.customers
    assert decision.overdue_amount == Decimal("1650.00")  # (1000 + 500) EUR at 1.10


def test_the_collection_status_goes_into_the_configured_custom_field(harness: Harness) -> None:
    from dataclasses import replace

    qbo = harness.qbo
    customer = qbo.add_customer(DisplayName="Late Payer", Mobile={"FreeFormNumber": "+1 555 0100"})
    issued = TODAY - timedelta(days=70)
    invoice = qbo.add_invoice(customer["Id"], amount=900, txn_date=issued, due_date=issued + timedelta(days=30))
    harness.settings = replace(harness.settings, collections_custom_field="1", send_reminders=False)
    harness.platform = harness.open()
    harness.sync()
    _day, as_of = working_noon()  # inside the contact window
    result = plan_and_act(harness, default_policy(), as_of)
    assert result["delivered"] >= 1 and result["failed"] == 0, result
    stored = qbo._objects["Invoice"][invoice["Id"]]
    fields = {f["DefinitionId"]: f for f in stored.get("CustomField") or []}
    assert fields["1"]["StringValue"].startswith(("first", "second", "call", "final"))
    assert len(fields["1"]["StringValue"]) <= 31
    assert qbo.sent == []  # send_reminders off: notes and fields only


def test_pay_links_come_where_quickbooks_payments_takes_the_invoice_online(harness: Harness) -> None:
    from connectors.cli_output import how_to_pay

    qbo, tenant = harness.qbo, harness.settings.tenant
    customer = qbo.add_customer(DisplayName="Late Payer", PrimaryEmailAddr={"Address": "ap@late.example.com"})
    day, as_of = working_noon()
    issued = day - timedelta(days=35)  # due five days ago: the first reminder
    online = qbo.add_invoice(customer["Id"], amount=500, txn_date=issued, due_date=issued + timedelta(days=30),
                             AllowOnlineCreditCardPayment=True)
    offline = qbo.add_invoice(customer["Id"], amount=300, txn_date=issued, due_date=issued + timedelta(days=30))
    harness.sync()  # full sync: invoices are queried with include=invoiceLink, so links come at no extra call
    queries = [c for c in harness.data_calls() if c["operation"] == "query" and c.get("entity") == "Invoice"]
    assert queries and all(c["query"].get("include") == "invoiceLink" for c in queries)
    ids = [f"inv:{online['Id']}", f"inv:{offline['Id']}"]
    links = harness.store.ledger.pay_links(tenant, ids)
    assert list(links) == [ids[0]] and links[ids[0]].startswith("https://connect.intuit.com/")  # none for offline

    other = qbo.add_customer(DisplayName="New Payer", PrimaryEmailAddr={"Address": "ap@new.example.com"})
    later = qbo.add_invoice(other["Id"], amount=200, txn_date=issued, due_date=issued + timedelta(days=30),
                            AllowOnlineACHPayment=True)
    harness.sync()  # through CDC, which takes no include: the link waits for the delivery's read
    assert harness.store.ledger.pay_links(tenant, [f"inv:{later['Id']}"]) == {}
    outcome = run_tenant(harness.runtime, harness.platform, default_policy(), as_of, options=RunOptions(sync=False))
    assert outcome.delivery.delivered == 2 and len(qbo.sent) == 3  # the reminders went out, one per invoice
    assert outcome.pay_links[f"inv:{later['Id']}"].startswith("https://")  # read with the invoice it reminds of
    (action,) = [a for a in outcome.decisions.actions() if a.customer_id == customer["Id"]]
    shown = how_to_pay(outcome, action.item_ids, action.currency).to_json()
    numbers = sorted([online["DocNumber"], offline["DocNumber"]])
    assert shown["pay_links"] == [links[ids[0]]] and sorted(shown["invoice_numbers"]) == numbers


def test_emailed_and_printed_invoices_tell_payment_prediction_how_they_were_delivered(harness: Harness) -> None:
    qbo = harness.qbo
    customer = qbo.add_customer(DisplayName="Mixed Ltd", PrimaryEmailAddr={"Address": "ap@mixed.example.com"})
    issued = TODAY - timedelta(days=40)
    made = {
        kind: qbo.add_invoice(customer["Id"], amount=100, txn_date=issued, due_date=issued + timedelta(days=30),
                              **fields)
        for kind, fields in {
            "emailed": {"EmailStatus": "EmailSent"},
            "queued": {"EmailStatus": "NeedToSend"},
            "printed": {"PrintStatus": "PrintComplete"},
            "api_default": {},  # PrintStatus NeedToPrint, EmailStatus NotSet: what any invoice made by API reads
        }.items()
    }
    harness.sync()
    tenant = harness.settings.tenant
    items = {i.id: i.delivery for i in harness.store.ledger.load_portfolio(tenant, "USD", {}).items}
    assert {kind: items[f"inv:{invoice['Id']}"] for kind, invoice in made.items()} == {
        "emailed": "electronic", "queued": "electronic", "printed": "paper", "api_default": "",
    }
