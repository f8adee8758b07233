"""The Xero connector against a local server that speaks Xero's wire format, through the official SDK."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("xero_python", reason="xero-python is not installed (pip install '.[xero]')")

from collections_engine.defaults import default_policy
from connectors.common.contract import SyncRequest
from connectors.common.errors import AuthorizationError, QuotaExhaustedError
from connectors.common.locks import FileLocks
from connectors.common.ratelimit import LocalRateLimiter
from connectors.common.runtime import Runtime
from connectors.common.secrets import Secret
from connectors.common.store import Store
from connectors.common.tokens import Cipher, OAuthToken, TokenStore
from connectors.pipeline import RunOptions, run_tenant, sync_tenant
from connectors.xero.platform import XeroPlatform
from connectors.xero.settings import XeroSettings
from tests.fakes.xero_server import FakeXero, Fault, Limits, generate_ledger

UTC = timezone.utc
TODAY = datetime.now(UTC).date()


class Harness:
    """A fake Xero with two organisations, a store, and the connector pointed at the first."""

    def __init__(self, fake: FakeXero, store: Store, tmp_path: Path) -> None:
        self.fake = fake
        self.sleeps: list[float] = []
        self.runtime = Runtime(store=store, locks=FileLocks(tmp_path / "locks"), limiter=LocalRateLimiter(),
                               cipher_keys=Cipher.generate_key())
        self.settings = XeroSettings(
            tenant_id=fake.tenant_id, connection="c1", client_id=fake.client_id,
            client_secret=Secret(fake.client_secret), home_currency="NZD", api_base=fake.accounting_url,
            connections_base=fake.url, token_url=fake.token_url, page_size=100,
        )
        store.tenants.save_tenant(self.settings.tenant, "xero", self.settings.to_record())
        issued = fake.token_set()
        self.tokens = TokenStore(store, self.runtime.cipher)
        self.tokens.save(self.settings.token_key, OAuthToken(
            issued["access_token"], issued["refresh_token"], datetime.now(UTC) + timedelta(minutes=30)))
        self.platform = self.open()

    def open(self, settings: XeroSettings | None = None) -> XeroPlatform:
        return XeroPlatform(self.runtime, settings or self.settings, sleep=self.sleeps.append)

    @property
    def store(self) -> Store:
        return self.runtime.store

    def sync(self, **options: Any) -> dict[str, Any]:
        return sync_tenant(self.runtime, self.platform, **options)

    def portfolio(self) -> Any:
        return self.store.ledger.load_portfolio(self.settings.tenant, "NZD", {})

    def accounting_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.fake.calls if c["path"].lower().startswith("/api.xro/2.0/")]


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeXero]:
    with FakeXero(clock=clock) as server:
        yield server


@pytest.fixture
def harness(fake: FakeXero, store: Store, tmp_path: Path) -> Harness:
    return Harness(fake, store, tmp_path)


def working_noon() -> tuple[date, datetime]:
    day = TODAY
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day, datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)


def customer(fake: FakeXero, name: str = "Late Payer Ltd", **fields: Any) -> dict[str, Any]:
    return fake.add_contact(name, email=f"ap@{name.split()[0].lower()}.test", **fields)


# --------------------------------------------------------------------------------------
# Sync
# --------------------------------------------------------------------------------------


def test_a_full_sync_reads_every_collection_in_pages_within_five_percent_of_the_minimum(
    harness: Harness, clock: Clock
) -> None:
    clock.offset = -timedelta(days=3)  # an organisation with history
    made = generate_ledger(harness.fake, contacts=120, invoices=900, seed=7, today=TODAY)
    clock.offset = timedelta(0)
    figures = harness.sync()
    counts = {name: len(ids) for name, ids in made.items()}
    minimum = sum(max(1, -(-n // 100)) for n in counts.values())
    assert figures["api_calls"] <= minimum * 1.05 + 1, (figures["api_calls"], minimum, counts)
    assert figures["quarantined"] == 0
    portfolio = harness.portfolio()
    invoices = {i.id: i for i in portfolio.items if not i.is_credit}
    wire = {i: harness.fake.record("Invoices", i) for i in made["Invoices"]}
    receivable = {i for i, r in wire.items() if r["Type"] == "ACCREC" and r["Status"] in ("AUTHORISED", "PAID")}
    assert set(invoices) == receivable  # bills, drafts, submitted, voided and deleted stay out
    for invoice_id in receivable:
        assert invoices[invoice_id].residual == Decimal(str(wire[invoice_id]["AmountDue"])).quantize(Decimal("0.01"))
    credits = [i for i in portfolio.items if i.is_credit]
    assert credits and all(i.id.split(":")[0] in ("cn", "op", "pp") for i in credits)
    assert {p.id for p in portfolio.payments} >= {f"pay:{p}" for p in made["Payments"]
                                                  if harness.fake.record("Payments", p)["PaymentType"]
                                                  == "ACCRECPAYMENT"}


def test_an_incremental_sync_reads_only_what_changed_and_applies_payments_and_voids(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    first = fake.add_invoice(payer["ContactID"], total=500, date=TODAY - timedelta(days=40),
                             due_date=TODAY - timedelta(days=10))
    second = fake.add_invoice(payer["ContactID"], total=300, date=TODAY - timedelta(days=20),
                              due_date=TODAY + timedelta(days=10))
    harness.sync()
    before = len(harness.accounting_calls())
    fake.add_payment(first["InvoiceID"], 200, TODAY)
    fake.void_invoice(second["InvoiceID"])
    figures = harness.sync()
    calls = harness.accounting_calls()[before:]
    assert figures["api_calls"] == len(calls) == 6  # one page per collection, If-Modified-Since each
    assert all(c["if_modified_since"] for c in calls)
    items = {i.id: i for i in harness.portfolio().items}
    assert items[first["InvoiceID"]].residual == Decimal("300.00") and second["InvoiceID"] not in items
    assert any(p.allocations[0].item_id == first["InvoiceID"] for p in harness.portfolio().payments)


def test_a_worker_killed_mid_sync_resumes_after_the_last_page_it_stored(harness: Harness, clock: Clock) -> None:
    fake = harness.fake
    payer = customer(fake)
    for n in range(350):  # changes spread over time, as an organisation's history is
        clock.offset = -timedelta(hours=350 - n)
        fake.add_invoice(payer["ContactID"], total=10 + n, date=TODAY - timedelta(days=5), due_date=TODAY)
    clock.offset = timedelta(0)

    class Killed(Exception):
        pass

    def kill(stream: str, records: int, _total: int | None) -> None:
        if stream == "invoices" and records == 200:  # after the second page
            raise Killed

    with pytest.raises(Killed):
        harness.sync(on_progress=kill)
    # each page asks from the newest change stored (>=): the one record at that instant is read twice
    assert len(harness.portfolio().items) == 199
    before = len(harness.accounting_calls())
    harness.platform = harness.open()  # a new worker
    harness.sync()
    pages = [c for c in harness.accounting_calls()[before:] if c["path"].lower().endswith("/invoices")]
    assert len(pages) == 2  # the third and fourth pages (from the last change stored), not the first two again
    assert len(harness.portfolio().items) == 350


def test_a_malformed_record_is_quarantined_and_the_rest_synced(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    good = fake.add_invoice(payer["ContactID"], total=100, date=TODAY - timedelta(days=5), due_date=TODAY)
    bad = fake.add_invoice(payer["ContactID"], total=100, date=TODAY - timedelta(days=5), due_date=TODAY)
    fake.corrupt("Invoices", bad["InvoiceID"], {**fake.record("Invoices", bad["InvoiceID"]), "AmountDue": "lots"})
    figures = harness.sync()
    assert figures["quarantined"] == 1
    (entry,) = harness.store.sync.quarantined(harness.settings.tenant)
    assert bad["InvoiceID"] in entry["record"] and "AmountDue" in entry["reason"]
    assert good["InvoiceID"] in {i.id for i in harness.portfolio().items}


def test_a_429_storm_is_retried_after_retry_after_without_loss(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    fake.add_invoice(payer["ContactID"], total=100, date=TODAY - timedelta(days=5), due_date=TODAY)
    fake.storm(4, retry_after=3)
    figures = harness.sync()
    assert harness.sleeps.count(3) == 4 and figures["api_calls"] == 6 + 4
    assert len(harness.portfolio().items) == 1


def test_a_spent_daily_quota_is_not_waited_for_in_process(harness: Harness) -> None:
    harness.fake.inject(Fault(429, retry_after=7200, problem="day"))
    with pytest.raises(QuotaExhaustedError) as raised:
        harness.sync()
    assert raised.value.retry_after == 7200 and 7200 not in harness.sleeps


def test_a_token_expiring_mid_sync_is_refreshed_once_and_the_rotated_token_saved(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    for n in range(250):
        fake.add_invoice(payer["ContactID"], total=10 + n, date=TODAY - timedelta(days=5), due_date=TODAY)
    stored_before, _ = harness.tokens.load(harness.settings.token_key)  # type: ignore[misc]
    fake.expire_access_tokens(after_calls=2)
    harness.sync()
    stored_after, version = harness.tokens.load(harness.settings.token_key)  # type: ignore[misc]
    assert stored_after.refresh_token != stored_before.refresh_token and version == 2
    assert len([i for i in harness.portfolio().items if not i.is_credit]) == 250
    assert [c["operation"] for c in fake.calls].count("token") == 1


def test_two_workers_refreshing_at_once_use_the_single_use_refresh_token_once(harness: Harness) -> None:
    fake = harness.fake
    customer(fake)
    fake.expire_access_tokens()
    other = harness.open()
    errors: list[BaseException] = []

    def sync(platform: XeroPlatform) -> None:
        try:
            platform.client.list_page("Contacts", 1, None)
        except BaseException as err:  # a failure must reach the test
            errors.append(err)

    threads = [threading.Thread(target=sync, args=(p,)) for p in (harness.platform, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and [c["operation"] for c in fake.calls].count("token") == 1


def test_a_refused_refresh_token_asks_to_connect_again(harness: Harness) -> None:
    token, _version = harness.tokens.load(harness.settings.token_key)  # type: ignore[misc]
    harness.tokens.save(harness.settings.token_key, OAuthToken(token.access_token, "revoked", token.expires_at))
    harness.fake.expire_access_tokens()
    with pytest.raises(AuthorizationError, match="connect the organisation again"):
        harness.sync()


def test_organisations_of_one_authorization_share_one_token_set(harness: Harness) -> None:
    fake = harness.fake
    second = XeroSettings(**{**harness.settings.to_record(), "tenant_id": fake.tenant_ids[1]},
                          client_secret=Secret(fake.client_secret))
    assert second.token_key == harness.settings.token_key
    harness.store.tenants.save_tenant(second.tenant, "xero", second.to_record())
    fake.add_contact("Other Org Customer", tenant=fake.tenant_ids[1])
    fake.expire_access_tokens()
    sync_tenant(harness.runtime, harness.open(second))
    harness.sync()  # the first organisation uses the token the second one refreshed
    assert [c["operation"] for c in fake.calls].count("token") == 1
    names = {c.name for c in harness.store.ledger.load_portfolio(second.tenant, "USD", {}).customers}
    assert names == {"Other Org Customer"}


# --------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------


def overdue_customer(harness: Harness) -> tuple[dict[str, Any], dict[str, Any], datetime]:
    fake = harness.fake
    payer = customer(fake)
    day, as_of = working_noon()
    issued = day - timedelta(days=35)  # due five days ago: the first reminder, by email
    invoice = fake.add_invoice(payer["ContactID"], total=500, date=issued, due_date=issued + timedelta(days=30))
    return payer, invoice, as_of


def test_reminders_are_emailed_by_xero_once_noted_in_history_and_the_risk_grouped(harness: Harness) -> None:
    payer, invoice, as_of = overdue_customer(harness)
    outcome = run_tenant(harness.runtime, harness.platform, default_policy(), as_of)
    assert outcome.delivery.delivered >= 1 and outcome.delivery.failed == 0
    emails = harness.fake.emails()
    assert [e["InvoiceID"] for e in emails] == [invoice["InvoiceID"]]
    notes = [h["Details"] for h in harness.fake.history(invoice["InvoiceID"]) if "[Collections]" in h["Details"]]
    assert len(notes) == outcome.delivery.delivered and "risk" in notes[0]
    groups = {g["Name"]: g["Contacts"] for g in harness.fake.contact_groups()}
    (name,) = [n for n, members in groups.items() if payer["ContactID"] in [str(m) for m in members]]
    assert name.startswith("Collections risk: ")
    assert outcome.pay_links[invoice["InvoiceID"]].startswith("http")  # the online invoice, for the worklist
    again = run_tenant(harness.runtime, harness.platform, default_policy(), as_of)
    assert again.new_action_keys == [] and again.delivery.delivered == 0 and len(harness.fake.emails()) == 1
    online = [c for c in harness.fake.calls if c["path"].lower().endswith("/onlineinvoice")]
    assert len(online) == 1 and again.pay_links == outcome.pay_links  # fetched once, then kept


def test_a_retried_delivery_is_a_no_op_at_xero(harness: Harness) -> None:
    _payer, invoice, as_of = overdue_customer(harness)
    harness.sync()
    run_tenant(harness.runtime, harness.platform, default_policy(), as_of - timedelta(days=1),
               options=RunOptions(sync=False, deliver=False))
    (entry,) = harness.store.outbox.claim_actions(harness.settings.tenant, due_by=as_of + timedelta(days=1))
    deliverer = harness.platform.deliverer(harness.runtime)
    deliverer.deliver(entry)
    harness.open().deliverer(harness.runtime).deliver({**entry, "reclaimed": True})  # a second worker
    assert len(harness.fake.emails()) == 1
    notes = [h for h in harness.fake.history(invoice["InvoiceID"]) if "[Collections]" in h["Details"]]
    assert len(notes) == 1


def test_a_dry_run_makes_no_write_request(harness: Harness) -> None:
    _payer, _invoice, as_of = overdue_customer(harness)
    preview = run_tenant(harness.runtime, harness.platform, default_policy(), as_of,
                         options=RunOptions(dry_run=True))
    assert preview.delivery.dry_run and preview.delivery.due >= 1
    assert harness.fake.writes == [] and harness.fake.emails() == []
    assert harness.store.outbox.outbox_counts(harness.settings.tenant) == {}


def test_foreign_currency_invoices_are_planned_at_the_rate_xero_used(harness: Harness) -> None:
    fake = harness.fake
    payer = fake.add_contact("Yankee Inc", email="ap@yankee.test", currency="USD")
    fake.add_invoice(payer["ContactID"], total=100, date=TODAY - timedelta(days=40),
                     due_date=TODAY - timedelta(days=10), currency="USD", rate="0.600000")
    harness.sync()
    assert harness.store.ledger.exchange_rates(harness.settings.tenant) == {"USD": Decimal("1.666667")}


def test_no_token_or_secret_reaches_the_logs(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    customer(harness.fake)
    harness.fake.storm(1, retry_after=1)
    harness.fake.expire_access_tokens()
    harness.sync()
    token, _version = harness.tokens.load(harness.settings.token_key)  # type: ignore[misc]
    text = caplog.text
    assert token.access_token not in text and token.refresh_token not in text
    assert harness.fake.client_secret not in text


def test_the_sync_request_options_are_the_contract_s(harness: Harness) -> None:
    customer(harness.fake)
    first = harness.platform.sync(harness.runtime, SyncRequest(today=TODAY))
    assert first.figures["contacts"]["records"] == 1
    before = len(harness.accounting_calls())
    again = harness.platform.sync(harness.runtime, SyncRequest(today=TODAY, full=True))
    assert again.figures["contacts"]["records"] == 1
    full_calls = harness.accounting_calls()[before:]
    assert full_calls and not any(c["if_modified_since"] for c in full_calls)  # a full sync asks for everything


def test_limits_are_per_organisation_and_reported(harness: Harness) -> None:
    customer(harness.fake)
    harness.sync()
    state = harness.platform.client.limit_state
    assert {"x-minlimit-remaining", "x-daylimit-remaining"} <= set(state)
    assert int(state["x-daylimit-remaining"]) == 5000 - len(harness.accounting_calls())  # the server's own count


def test_the_minute_limit_of_the_server_is_waited_for(store: Store, tmp_path: Path, clock: Clock) -> None:
    with FakeXero(clock=clock, limits=Limits(per_minute=3)) as fake:
        harness = Harness(fake, store, tmp_path)
        harness.sleeps = Waits(clock)
        harness.platform = harness.open()
        customer(fake)
        figures = harness.sync()
        assert figures["streams"]["contacts"]["records"] == 1 and figures["quarantined"] == 0
        throttled = [c for c in fake.calls if c["status"] == 429]
        assert throttled and sum(harness.sleeps) >= 60 * (6 // 3 - 1)  # six collections at three a minute


class Waits(list[float]):
    """Sleeps that move the server's clock instead of the test's time."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def append(self, seconds: float) -> None:
        super().append(seconds)
        self.clock.offset += timedelta(seconds=seconds)


# --------------------------------------------------------------------------------------
# Webhooks and the command line
# --------------------------------------------------------------------------------------

WEBHOOK_KEY = "xero-webhook-key-for-tests"


def deliver_webhook(app: Any, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    from tests.connectors.test_webhooks import call

    return call(app, "POST", "/webhooks/xero", body, headers)


def test_xero_webhooks_intent_to_receive_and_events(harness: Harness) -> None:
    from connectors.common.webhooks import WebhookApp
    from connectors.xero.webhooks import XeroWebhooks
    from tests.fakes.xero_server import intent_to_receive, webhook_delivery, webhook_event

    enqueued: list[str] = []
    app = WebhookApp(harness.store, {"/webhooks/xero": XeroWebhooks(WEBHOOK_KEY)}, enqueued.append)
    assert deliver_webhook(app, *intent_to_receive(WEBHOOK_KEY))[0] == 200
    assert deliver_webhook(app, *intent_to_receive(WEBHOOK_KEY, valid=False))[0] == 401
    events = [webhook_event(harness.fake.tenant_id, "inv-1"), webhook_event("not-connected", "inv-2")]
    status, counts = deliver_webhook(app, *webhook_delivery(WEBHOOK_KEY, events))
    assert (status, counts["new"], counts["ignored"], enqueued) == (200, 1, 1, [harness.settings.tenant])
    again = deliver_webhook(app, *webhook_delivery(WEBHOOK_KEY, events))[1]
    assert again["replayed"] == 2 and enqueued == [harness.settings.tenant]


def test_connect_xero_then_run_and_status_from_the_command_line(
    fake: FakeXero, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests
    from click.testing import CliRunner

    import connectors.xero.connect as module
    from connectors.cli import cli
    from tests.connectors.conftest import _free_port

    key = Cipher.generate_key()
    for name, value in {"ODOO_COLLECTIONS_HOME": str(tmp_path / "home"),
                        "ODOO_COLLECTIONS_STORE": f"sqlite:///{tmp_path / 'store.db'}",
                        "ODOO_COLLECTIONS_SECRET_KEY": key, "XERO_CLIENT_SECRET": fake.client_secret}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ODOO_COLLECTIONS_REDIS_URL", raising=False)
    payer = customer(fake)
    day, as_of = working_noon()
    issued = day - timedelta(days=35)
    fake.add_invoice(payer["ContactID"], total=500, date=issued, due_date=issued + timedelta(days=30))
    original = module.wait_for_callback

    def wait(port: int, state: str, timeout: float, ready: Any) -> dict[str, str]:
        def browser() -> None:
            ready()
            url = (f"{fake.url}/identity/connect/authorize?state={state}"
                   f"&redirect_uri=http://127.0.0.1:{port}/callback")
            threading.Thread(target=lambda: requests.get(url, timeout=5)).start()

        return original(port, state, timeout, browser)

    monkeypatch.setattr(module, "wait_for_callback", wait)
    runner = CliRunner()
    connected = runner.invoke(cli, [
        "connect", "xero", "--client-id", fake.client_id, "--port", str(_free_port()), "--no-browser",
        "--authorize-url", f"{fake.url}/identity/connect/authorize", "--token-url", fake.token_url,
        "--api-base", fake.accounting_url, "--connections-base", fake.url, "--timeout", "10", "--format", "json"])
    assert connected.exit_code == 0, connected.output
    tenants = json.loads(connected.stdout)["tenants"]
    assert tenants == [f"xero:{t}" for t in fake.tenant_ids]
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    records = {r["tenant"]: r["settings"] for r in store.tenants.connected_tenants("xero")}
    assert {r["home_currency"] for r in records.values()} == {"NZD", "USD"}
    assert len({r["connection"] for r in records.values()}) == 1  # one token set for both organisations
    tenant = tenants[0]
    dry = runner.invoke(cli, ["run", "--tenant", tenant, "--as-of", as_of.isoformat(), "--dry-run",
                              "--format", "json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["delivery"]["due"] >= 1 and fake.writes == []
    ran = runner.invoke(cli, ["run", "--tenant", tenant, "--as-of", as_of.isoformat(), "--format", "json"])
    outcome = json.loads(ran.stdout)
    assert outcome["delivery"]["delivered"] >= 1 and len(fake.emails()) == 1
    assert all(action["pay_links"] for action in outcome["actions"])  # the worklist carries the pay links
    status = json.loads(runner.invoke(cli, ["status", "--format", "json"]).stdout)
    assert {row["tenant"]: row["platform"] for row in status}[tenant] == "xero"
