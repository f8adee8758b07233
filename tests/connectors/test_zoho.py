"""The Zoho Books connector against a local server that speaks Zoho Books' wire format, over httpx."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("httpx", reason="httpx is not installed (pip install '.[zoho]')")

from collections_engine.defaults import default_policy
from connectors.common.contract import SyncRequest
from connectors.common.errors import AuthorizationError, QuotaExhaustedError, RateLimitedError, VendorError
from connectors.common.locks import FileLocks
from connectors.common.ratelimit import LocalRateLimiter
from connectors.common.runtime import Runtime
from connectors.common.secrets import Secret
from connectors.common.store import Store
from connectors.common.tokens import Cipher, OAuthToken, TokenStore
from connectors.pipeline import RunOptions, run_tenant, sync_tenant
from connectors.zoho.client import error_for
from connectors.zoho.platform import ZohoPlatform
from connectors.zoho.settings import ZohoSettings
from tests.fakes.zoho_server import FakeZoho, Fault, Limits, generate_ledger

UTC = timezone.utc
TODAY = datetime.now(UTC).date()


class Harness:
    """A fake Zoho with two organisations, a store, and the connector pointed at the first."""

    def __init__(self, fake: FakeZoho, store: Store, tmp_path: Path, per_minute: int = 100,
                 clock: Clock | None = None) -> None:
        self.fake = fake
        self.sleeps: list[float] = []
        limiter = LocalRateLimiter(lambda: clock().timestamp()) if clock else LocalRateLimiter()
        self.runtime = Runtime(store=store, locks=FileLocks(tmp_path / "locks"), limiter=limiter,
                               cipher_keys=Cipher.generate_key())
        self.settings = ZohoSettings(
            organization_id=fake.organization_id, connection="c1", client_id=fake.client_id,
            client_secret=Secret(fake.client_secret), home_currency="USD", accounts_server=fake.accounts_url,
            api_domain=fake.url, per_minute=per_minute)
        store.tenants.save_tenant(self.settings.tenant, "zoho", self.settings.to_record())
        issued = fake.token_set()
        self.tokens = TokenStore(store, self.runtime.cipher)
        self.tokens.save(self.settings.token_key, OAuthToken(
            issued["access_token"], issued["refresh_token"], datetime.now(UTC) + timedelta(minutes=60)))
        self.platform = self.open()

    def open(self, settings: ZohoSettings | None = None) -> ZohoPlatform:
        return ZohoPlatform(self.runtime, settings or self.settings, sleep=self.sleeps.append)

    @property
    def store(self) -> Store:
        return self.runtime.store

    def sync(self, **options: Any) -> dict[str, Any]:
        return sync_tenant(self.runtime, self.platform, **options)

    def portfolio(self) -> Any:
        return self.store.ledger.load_portfolio(self.settings.tenant, "USD", {})

    def api_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.fake.calls if c["path"].startswith("/books/v3/")]


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


@pytest.fixture
def harness(fake: FakeZoho, store: Store, tmp_path: Path) -> Harness:
    return Harness(fake, store, tmp_path)


def working_noon() -> tuple[date, datetime]:
    day = TODAY
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day, datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)


def customer(fake: FakeZoho, name: str = "Late Payer Ltd", **fields: Any) -> dict[str, Any]:
    return fake.add_contact(name, email=f"ap@{name.split()[0].lower()}.test", **fields)


# --------------------------------------------------------------------------------------
# Sync
# --------------------------------------------------------------------------------------


def test_a_full_sync_reads_every_list_in_pages_within_five_percent_of_the_minimum(
    harness: Harness, clock: Clock
) -> None:
    clock.offset = -timedelta(days=3)
    made = generate_ledger(harness.fake, contacts=150, invoices=900, seed=7, today=TODAY)
    clock.offset = timedelta(0)
    figures = harness.sync()
    minimum = sum(max(1, -(-len(ids) // 200)) for ids in made.values()) + 1  # and the currencies
    assert figures["api_calls"] <= minimum * 1.05 + 1, (figures["api_calls"], minimum)
    assert figures["quarantined"] == 0
    portfolio = harness.portfolio()
    invoices = {i.id: i for i in portfolio.items if not i.is_credit}
    wire = {i: harness.fake.record("invoices", i) for i in made["invoices"]}
    receivable = {i for i, r in wire.items() if r["status"] not in ("draft", "void")}
    assert set(invoices) == receivable
    for invoice_id in receivable:
        assert invoices[invoice_id].residual == Decimal(str(wire[invoice_id]["balance"])).quantize(Decimal("0.01"))
    assert {i.id for i in portfolio.items if i.is_credit} == {f"cn:{c}" for c in made["creditnotes"]}
    payments = {p.id: p for p in portfolio.payments}
    assert set(payments) == {f"pay:{p}" for p in made["customerpayments"]}
    assert all(p.allocations and p.allocations[0].item_id in invoices for p in payments.values())
    assert harness.store.ledger.exchange_rates(harness.settings.tenant)["EUR"] > 1


def test_an_incremental_sync_reads_only_what_changed_and_applies_payments_and_voids(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    first = fake.add_invoice(payer["contact_id"], total=500, date=TODAY - timedelta(days=40),
                             due_date=TODAY - timedelta(days=10))
    second = fake.add_invoice(payer["contact_id"], total=300, date=TODAY - timedelta(days=20),
                              due_date=TODAY + timedelta(days=10))
    harness.sync()
    before = len(harness.api_calls())
    fake.add_payment({first["invoice_id"]: 200}, TODAY)
    fake.void_invoice(second["invoice_id"])
    figures = harness.sync()
    calls = harness.api_calls()[before:]
    assert figures["api_calls"] == len(calls) == 5  # one page per list, and the currencies
    assert all(c["query"].get("last_modified_time") for c in calls if "currencies" not in c["path"])
    items = {i.id: i for i in harness.portfolio().items}
    assert items[first["invoice_id"]].residual == Decimal("300.00") and second["invoice_id"] not in items
    (paid,) = harness.portfolio().payments
    assert paid.allocations[0].item_id == first["invoice_id"] and paid.allocations[0].amount == Decimal("200.00")


def test_a_payment_applied_to_several_invoices_is_read_in_detail(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    one = fake.add_invoice(payer["contact_id"], total=100, date=TODAY, due_date=TODAY)
    two = fake.add_invoice(payer["contact_id"], total=100, date=TODAY, due_date=TODAY)
    payment = fake.add_payment({one["invoice_id"]: 100, two["invoice_id"]: 40}, TODAY)
    harness.sync()
    assert [c for c in harness.api_calls() if c["path"].endswith(payment["payment_id"])]
    (paid,) = harness.portfolio().payments
    assert {(a.item_id, a.amount) for a in paid.allocations} == {(one["invoice_id"], Decimal("100.00")),
                                                                 (two["invoice_id"], Decimal("40.00"))}


def test_an_invoice_is_settled_on_its_last_payment_or_the_day_a_credit_closed_it(harness: Harness,
                                                                                   clock: Clock) -> None:
    fake = harness.fake
    payer = customer(fake)
    issued = TODAY - timedelta(days=60)
    paid = fake.add_invoice(payer["contact_id"], total=100, date=issued, due_date=issued + timedelta(days=30))
    credited = fake.add_invoice(payer["contact_id"], total=70, date=issued, due_date=issued + timedelta(days=30))
    fake.add_payment({paid["invoice_id"]: 60}, TODAY - timedelta(days=40))
    fake.add_payment({paid["invoice_id"]: 40}, TODAY - timedelta(days=25))
    clock.offset = -timedelta(days=12)  # the credit note is applied twelve days ago
    fake.add_credit_note(payer["contact_id"], 70, TODAY - timedelta(days=12), apply_to={credited["invoice_id"]: 70})
    clock.offset = timedelta(0)
    harness.sync()
    items = {i.id: i for i in harness.portfolio().items}
    assert items[paid["invoice_id"]].settled_on == TODAY - timedelta(days=25)
    assert items[credited["invoice_id"]].settled_on == TODAY - timedelta(days=12)
    assert items[credited["invoice_id"]].residual == 0


def test_a_full_pass_finds_deletions_that_changes_never_show(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    kept = fake.add_invoice(payer["contact_id"], total=100, date=TODAY, due_date=TODAY)
    gone = fake.add_invoice(payer["contact_id"], total=100, date=TODAY, due_date=TODAY)
    harness.sync()
    fake.delete("invoices", gone["invoice_id"])
    harness.sync()
    assert gone["invoice_id"] in {i.id for i in harness.portfolio().items}  # incremental: Zoho shows nothing
    figures = harness.sync(full=True)
    assert {i.id for i in harness.portfolio().items} == {kept["invoice_id"]}
    assert figures["streams"]["invoices"]["written"] == 2  # the kept invoice and the deletion


def test_the_weekly_full_pass_comes_by_itself(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    gone = fake.add_invoice(payer["contact_id"], total=100, date=TODAY, due_date=TODAY)
    harness.platform.sync(harness.runtime, SyncRequest(today=TODAY))
    fake.delete("invoices", gone["invoice_id"])
    harness.platform.sync(harness.runtime, SyncRequest(today=TODAY + timedelta(days=3)))
    assert harness.portfolio().items
    harness.platform.sync(harness.runtime, SyncRequest(today=TODAY + timedelta(days=7)))
    assert not harness.portfolio().items


def test_a_worker_killed_mid_sync_resumes_after_the_last_page_it_stored(harness: Harness, clock: Clock) -> None:
    fake = harness.fake
    payer = customer(fake)
    for n in range(650):
        clock.offset = -timedelta(minutes=650 - n)
        fake.add_invoice(payer["contact_id"], total=10 + n, date=TODAY - timedelta(days=5), due_date=TODAY)
    clock.offset = timedelta(0)

    class Killed(Exception):
        pass

    def kill(stream: str, records: int, _total: int | None) -> None:
        if stream == "invoices" and records == 400:
            raise Killed

    with pytest.raises(Killed):
        harness.sync(on_progress=kill)
    assert len(harness.portfolio().items) == 400
    before = len(harness.api_calls())
    harness.platform = harness.open()
    harness.sync()
    pages = [c for c in harness.api_calls()[before:] if c["path"].endswith("/invoices")]
    assert len(pages) == 2  # the full pass goes on from its third page, not from the first again
    assert len(harness.portfolio().items) == 650
    fake.add_invoice(payer["contact_id"], total=1, date=TODAY, due_date=TODAY)
    before = len(harness.api_calls())
    harness.sync()  # and what follows is incremental, from the newest change stored
    pages = [c for c in harness.api_calls()[before:] if c["path"].endswith("/invoices")]
    assert len(pages) == 1 and pages[0]["query"]["last_modified_time"] and len(harness.portfolio().items) == 651


def test_a_malformed_record_is_quarantined_and_the_rest_synced(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    good = fake.add_invoice(payer["contact_id"], total=100, date=TODAY - timedelta(days=5), due_date=TODAY)
    bad = fake.add_invoice(payer["contact_id"], total=100, date=TODAY - timedelta(days=5), due_date=TODAY)
    fake.corrupt("invoices", bad["invoice_id"], {**fake.record("invoices", bad["invoice_id"]), "balance": "lots"})
    figures = harness.sync()
    assert figures["quarantined"] == 1
    (entry,) = harness.store.sync.quarantined(harness.settings.tenant)
    assert bad["invoice_id"] in entry["record"] and "balance" in entry["reason"]
    assert good["invoice_id"] in {i.id for i in harness.portfolio().items}


def test_a_429_storm_is_retried_after_retry_after_without_loss(harness: Harness) -> None:
    payer = customer(harness.fake)
    harness.fake.add_invoice(payer["contact_id"], total=100, date=TODAY - timedelta(days=5), due_date=TODAY)
    harness.fake.storm(4, retry_after=3)
    figures = harness.sync()
    assert harness.sleeps.count(3) == 4 and figures["api_calls"] == 5 + 4
    assert len(harness.portfolio().items) == 1


def test_a_failure_answered_with_http_200_is_an_error_of_the_retry_policy(harness: Harness) -> None:
    customer(harness.fake)
    harness.fake.inject(Fault(200, 1000, "Internal error"))
    figures = harness.sync()  # retried like a server error
    assert figures["api_calls"] == 6 and len(harness.portfolio().customers) == 1
    harness.fake.inject(Fault(200, 4, "Invalid value passed for page"))
    with pytest.raises(VendorError, match="code 4"):
        harness.sync()


def test_a_spent_daily_quota_is_not_waited_for_in_process(harness: Harness) -> None:
    harness.fake.inject(Fault(429, 45, "You have reached the maximum number of API calls allowed for the day."))
    with pytest.raises(QuotaExhaustedError) as raised:
        harness.sync()
    assert raised.value.retry_after and raised.value.retry_after > 3600
    assert not [s for s in harness.sleeps if s > 300]


@pytest.mark.parametrize(("code", "message", "remaining", "spent_day"), [
    (45, "You have reached the maximum number of API calls allowed for the day.", "812", True),
    (45, "Request Limit Exceeded", "812", False),  # a list that calls 45 the minute's limit
    (44, "You have made too many requests. Please try again after some time.", "812", False),
    (44, "Too many requests", "0", True),  # nothing left of the day, whatever the code
    (43, "Too many requests are being processed at once.", None, False),
])
def test_a_throttle_is_the_day_only_when_the_answer_says_so(code: int, message: str, remaining: str | None,
                                                            spent_day: bool) -> None:
    headers = {"retry-after": "7", **({"x-rate-limit-remaining": remaining} if remaining else {})}
    error = error_for(429, code, message, headers)
    assert isinstance(error, QuotaExhaustedError) is spent_day
    if not spent_day:
        assert isinstance(error, RateLimitedError) and error.retry_after == 7


def test_a_token_expiring_mid_sync_is_refreshed_once_and_the_refresh_token_kept(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    for n in range(250):
        fake.add_invoice(payer["contact_id"], total=10 + n, date=TODAY - timedelta(days=5), due_date=TODAY)
    stored_before, _ = harness.tokens.load(harness.settings.token_key)  # type: ignore[misc]
    fake.expire_access_tokens(after_calls=2)
    harness.sync()
    stored_after, version = harness.tokens.load(harness.settings.token_key)  # type: ignore[misc]
    assert stored_after.refresh_token == stored_before.refresh_token and version == 2  # Zoho's do not rotate
    assert stored_after.access_token != stored_before.access_token
    assert len(harness.portfolio().items) == 250
    assert [c["operation"] for c in fake.calls].count("token") == 1


def test_two_workers_refreshing_at_once_ask_zoho_for_one_token(harness: Harness) -> None:
    customer(harness.fake)
    harness.fake.expire_access_tokens()
    other = harness.open()
    errors: list[BaseException] = []

    def read(platform: ZohoPlatform) -> None:
        try:
            platform.client.list_page("contacts", 1)
        except BaseException as err:  # a failure must reach the test
            errors.append(err)

    threads = [threading.Thread(target=read, args=(p,)) for p in (harness.platform, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and [c["operation"] for c in harness.fake.calls].count("token") == 1


def test_zoho_s_token_limit_is_a_retry_later_and_a_revoked_token_asks_to_connect_again(harness: Harness) -> None:
    token, _version = harness.tokens.load(harness.settings.token_key)  # type: ignore[misc]
    for _ in range(9):  # the fake issued one: ten in ten minutes
        harness.fake._issue(token.refresh_token)
    harness.fake.expire_access_tokens()
    with pytest.raises(RateLimitedError, match="too many in 10 minutes"):
        harness.sync()
    harness.fake.revoke(token.refresh_token)
    with pytest.raises(AuthorizationError, match="connect the organisation again"):
        harness.open().client.list_page("contacts", 1)


def test_organisations_of_one_consent_share_one_token_and_keep_their_own_limits(
    store: Store, tmp_path: Path, clock: Clock
) -> None:
    with FakeZoho(clock=clock, limits=Limits(per_minute=5)) as fake:
        harness = Harness(fake, store, tmp_path, per_minute=5, clock=clock)
        harness.sleeps = Waits(clock)
        harness.platform = harness.open()
        second = ZohoSettings(**{**harness.settings.to_record(), "organization_id": fake.organization_ids[1],
                                 "home_currency": "EUR"}, client_secret=Secret(fake.client_secret))
        assert second.token_key == harness.settings.token_key
        store.tenants.save_tenant(second.tenant, "zoho", second.to_record())
        fake.add_contact("Other Org Customer", organization=fake.organization_ids[1])
        harness.sync()  # five calls: the first organisation's minute is spent
        sync_tenant(harness.runtime, harness.open(second))
        assert sum(harness.sleeps) == 0  # the second organisation never waited for the first one's minute
        names = {c.name for c in store.ledger.load_portfolio(second.tenant, "EUR", {}).customers}
        assert names == {"Other Org Customer"}
        harness.sync()  # the first organisation waits for its own minute
        assert sum(harness.sleeps) >= 55


class Waits(list[float]):
    """Sleeps that move the server's clock instead of the test's time."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def append(self, seconds: float) -> None:
        super().append(seconds)
        self.clock.offset += timedelta(seconds=seconds)


def test_limits_headers_are_kept_for_status(harness: Harness) -> None:
    customer(harness.fake)
    harness.sync()
    state = harness.platform.client.limit_state
    assert {"x-rate-limit-limit", "x-rate-limit-remaining"} <= set(state)
    assert int(state["x-rate-limit-remaining"]) < int(state["x-rate-limit-limit"])  # the calls just made count


def test_foreign_currency_invoices_are_planned_at_the_rate_zoho_used(harness: Harness) -> None:
    fake = harness.fake
    payer = fake.add_contact("Euro GmbH", email="ap@euro.test", currency="EUR")
    fake.add_invoice(payer["contact_id"], total=100, date=TODAY - timedelta(days=40),
                     due_date=TODAY - timedelta(days=10), currency="EUR", exchange_rate="1.0825")
    harness.sync()
    assert harness.store.ledger.exchange_rates(harness.settings.tenant) == {"EUR": Decimal("1.082500")}


def test_an_emailed_invoice_is_electronic_for_payment_prediction(harness: Harness) -> None:
    fake = harness.fake
    payer = fake.add_contact("Mail Order Ltd", email="ap@mail.test")
    emailed = fake.add_invoice(payer["contact_id"], total=100, date=TODAY - timedelta(days=40),
                               due_date=TODAY - timedelta(days=10))
    marked = fake.add_invoice(payer["contact_id"], total=200, date=TODAY - timedelta(days=40),
                              due_date=TODAY - timedelta(days=10), emailed=False)
    harness.sync()
    delivery = {item.id: item.delivery for item in harness.portfolio().items}
    assert delivery == {emailed["invoice_id"]: "electronic", marked["invoice_id"]: ""}  # marked as sent: unknown


def test_contact_persons_give_the_email_and_mobile(harness: Harness) -> None:
    contact = harness.fake.add_contact("Persons Inc", mobile="+15550100")
    harness.sync()
    (person,) = harness.portfolio().customers
    assert person.id == contact["contact_id"] and person.mobile == "+15550100" and person.email is None


# --------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------


def overdue_customer(harness: Harness) -> tuple[dict[str, Any], dict[str, Any], datetime]:
    payer = customer(harness.fake)
    day, as_of = working_noon()
    issued = day - timedelta(days=35)
    invoice = harness.fake.add_invoice(payer["contact_id"], total=500, date=issued,
                                       due_date=issued + timedelta(days=30))
    return payer, invoice, as_of


def collections_comments(fake: FakeZoho, invoice_id: str) -> list[str]:
    return [c["description"] for c in fake.comments(invoice_id) if "[Collections]" in c["description"]]


def test_reminders_are_sent_by_zoho_once_commented_and_the_status_set(harness: Harness) -> None:
    _payer, invoice, as_of = overdue_customer(harness)
    outcome = run_tenant(harness.runtime, harness.platform, default_policy(), as_of)
    assert outcome.delivery.delivered >= 1 and outcome.delivery.failed == 0
    assert [r["invoice_id"] for r in harness.fake.reminders()] == [invoice["invoice_id"]]
    notes = collections_comments(harness.fake, invoice["invoice_id"])
    assert len(notes) == outcome.delivery.delivered and "risk" in notes[0]
    (status,) = harness.fake.record("invoices", invoice["invoice_id"])["custom_fields"]
    assert status["api_name"] == "cf_collections_status" and "level" in status["value"]
    link = harness.fake.record("invoices", invoice["invoice_id"])["invoice_url"]
    assert outcome.pay_links == {invoice["invoice_id"]: link}  # the worklist carries Zoho's payment link
    again = run_tenant(harness.runtime, harness.platform, default_policy(), as_of)
    assert again.new_action_keys == [] and again.delivery.delivered == 0 and len(harness.fake.reminders()) == 1


def test_reminders_go_to_the_contact_persons_who_take_email_read_once_per_customer(harness: Harness) -> None:
    fake = harness.fake
    persons = [
        {"contact_person_id": "p-ar", "first_name": "Ana", "email": "ar@late.test", "is_primary_contact": False,
         "communication_preference": {"is_email_enabled": True}},
        {"contact_person_id": "p-ceo", "first_name": "Bo", "email": "ceo@late.test", "is_primary_contact": False,
         "communication_preference": {"is_email_enabled": False}},
        {"contact_person_id": "p-old", "first_name": "Cy", "email": "AP@late.test", "is_primary_contact": False},
    ]
    payer = fake.add_contact("Late Payer Ltd", email="ap@late.test", persons=persons)
    day, as_of = working_noon()
    issued = day - timedelta(days=35)
    first = fake.add_invoice(payer["contact_id"], total=500, date=issued, due_date=issued + timedelta(days=30))
    second = fake.add_invoice(payer["contact_id"], total=80, date=issued, due_date=issued + timedelta(days=30))
    outcome = run_tenant(harness.runtime, harness.platform, default_policy(), as_of)
    assert outcome.delivery.failed == 0
    sent = {r["invoice_id"]: r["to_mail_ids"] for r in fake.reminders()}
    # the primary person first, the person who opted out of email left out, an address once
    assert sent == {first["invoice_id"]: ["ap@late.test", "ar@late.test"],
                    second["invoice_id"]: ["ap@late.test", "ar@late.test"]}
    reads = [c for c in fake.calls if c["operation"] == "list contactpersons"]
    assert len(reads) == 1  # one read for the customer's two invoices


def test_a_customer_whose_persons_refuse_email_is_not_emailed_and_the_comment_says_so(harness: Harness) -> None:
    fake = harness.fake
    payer = fake.add_contact("Quiet Ltd", email="ap@quiet.test", email_enabled=False)
    day, as_of = working_noon()
    issued = day - timedelta(days=35)
    invoice = fake.add_invoice(payer["contact_id"], total=500, date=issued, due_date=issued + timedelta(days=30))
    outcome = run_tenant(harness.runtime, harness.platform, default_policy(), as_of)
    assert outcome.delivery.failed == 0
    assert fake.reminders() == []
    (note,) = collections_comments(fake, invoice["invoice_id"])
    assert "not emailed: no contact person takes email" in note


def test_a_contact_without_persons_is_left_to_zoho_to_address(harness: Harness) -> None:
    fake = harness.fake
    payer = customer(fake)
    fake.clear_persons(payer["contact_id"])  # a contact can have no person (an import can leave one so)
    day, as_of = working_noon()
    issued = day - timedelta(days=35)
    invoice = fake.add_invoice(payer["contact_id"], total=500, date=issued, due_date=issued + timedelta(days=30))
    run_tenant(harness.runtime, harness.platform, default_policy(), as_of)
    (reminder,) = [c for c in fake.writes if c["path"].endswith("/paymentreminder")]
    assert invoice["invoice_id"] in reminder["path"] and "to_mail_ids" not in reminder["body"]


def test_a_retried_delivery_sends_nothing_twice(harness: Harness) -> None:
    _payer, invoice, as_of = overdue_customer(harness)
    harness.sync()
    run_tenant(harness.runtime, harness.platform, default_policy(), as_of - timedelta(days=1),
               options=RunOptions(sync=False, deliver=False))
    (entry,) = harness.store.outbox.claim_actions(harness.settings.tenant, due_by=as_of + timedelta(days=1))
    harness.platform.deliverer(harness.runtime).deliver(entry)
    harness.open().deliverer(harness.runtime).deliver({**entry, "reclaimed": True})
    assert len(harness.fake.reminders()) == 1
    assert len(collections_comments(harness.fake, invoice["invoice_id"])) == 1


def test_a_delivery_that_died_after_the_reminder_does_not_send_it_again(harness: Harness) -> None:
    _payer, invoice, as_of = overdue_customer(harness)
    harness.sync()
    run_tenant(harness.runtime, harness.platform, default_policy(), as_of - timedelta(days=1),
               options=RunOptions(sync=False, deliver=False))
    (entry,) = harness.store.outbox.claim_actions(harness.settings.tenant, due_by=as_of + timedelta(days=1))
    harness.fake.inject(Fault(200), Fault(200))  # the reminder goes, then the custom field and comment fail
    harness.platform.client.send_reminder(invoice["invoice_id"])
    harness.open().deliverer(harness.runtime).deliver({**entry, "reclaimed": True, "not_before": str(TODAY)})
    assert len(harness.fake.reminders()) == 1
    assert len(collections_comments(harness.fake, invoice["invoice_id"])) == 1


def test_a_dry_run_makes_no_write_request(harness: Harness) -> None:
    _payer, _invoice, as_of = overdue_customer(harness)
    preview = run_tenant(harness.runtime, harness.platform, default_policy(), as_of, options=RunOptions(dry_run=True))
    assert preview.delivery.dry_run and preview.delivery.due >= 1
    assert harness.fake.writes == [] and harness.fake.reminders() == []
    assert harness.store.outbox.outbox_counts(harness.settings.tenant) == {}


def test_no_token_or_secret_reaches_the_logs(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    customer(harness.fake)
    harness.fake.storm(1, retry_after=1)
    harness.fake.expire_access_tokens()
    harness.sync()
    token, _version = harness.tokens.load(harness.settings.token_key)  # type: ignore[misc]
    assert token.access_token not in caplog.text and token.refresh_token not in caplog.text
    assert harness.fake.client_secret not in caplog.text


# --------------------------------------------------------------------------------------
# Webhooks and the command line
# --------------------------------------------------------------------------------------

WEBHOOK_KEY = "zoho-webhook-key-for-tests"


def test_zoho_webhooks_need_the_organisation_s_own_secret(harness: Harness) -> None:
    from connectors.common.webhooks import WebhookApp
    from connectors.zoho.webhooks import ZohoWebhooks
    from tests.connectors.test_webhooks import call

    receiver = ZohoWebhooks(WEBHOOK_KEY)
    enqueued: list[str] = []
    app = WebhookApp(harness.store, {"/webhooks/zoho": receiver}, enqueued.append)
    org = harness.fake.organization_id
    changed = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    body = json.dumps({"invoice": {"invoice_id": "1", "last_modified_time": changed}}).encode()
    good = {"X-Collections-Organization": org, "X-Collections-Secret": str(receiver.secret_for(org))}
    other = harness.fake.organization_ids[1]
    assert call(app, "POST", "/webhooks/zoho", body, {**good, "X-Collections-Secret": "guess"})[0] == 401
    borrowed = {**good, "X-Collections-Organization": other}  # one organisation's secret opens no other
    assert call(app, "POST", "/webhooks/zoho", body, borrowed)[0] == 401
    status, counts = call(app, "POST", "/webhooks/zoho", body, good)
    assert (status, counts["new"], enqueued) == (200, 1, [harness.settings.tenant])
    assert call(app, "POST", "/webhooks/zoho", body, good)[1]["replayed"] == 1 and len(enqueued) == 1
    assert harness.settings.webhook_secret() is None  # no key in these settings: nothing derived


def test_connect_zoho_then_run_and_status_from_the_command_line(
    fake: FakeZoho, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx
    from click.testing import CliRunner

    import connectors.zoho.connect as module
    from connectors.cli import cli
    from tests.connectors.conftest import _free_port
    from tests.connectors.test_contract import install

    install(tmp_path / "site", monkeypatch, "odoo_collections_zoho_test", "zoho = connectors.zoho.platform:SPEC")
    for name, value in {"ODOO_COLLECTIONS_HOME": str(tmp_path / "home"),
                        "ODOO_COLLECTIONS_STORE": f"sqlite:///{tmp_path / 'store.db'}",
                        "ODOO_COLLECTIONS_SECRET_KEY": Cipher.generate_key(), "ZOHO_CLIENT_SECRET": fake.client_secret,
                        "ZOHO_WEBHOOK_KEY": WEBHOOK_KEY}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ODOO_COLLECTIONS_REDIS_URL", raising=False)
    payer = customer(fake)
    day, as_of = working_noon()
    issued = day - timedelta(days=35)
    fake.add_invoice(payer["contact_id"], total=500, date=issued, due_date=issued + timedelta(days=30))
    original = module.wait_for_callback

    def wait(port: int, state: str, timeout: float, ready: Any) -> dict[str, str]:
        def browser() -> None:
            ready()
            url = f"{fake.accounts_url}/oauth/v2/auth?state={state}&redirect_uri=http://127.0.0.1:{port}/callback"
            threading.Thread(target=lambda: httpx.get(url, follow_redirects=True, timeout=5)).start()

        return original(port, state, timeout, browser)

    monkeypatch.setattr(module, "wait_for_callback", wait)
    runner = CliRunner()
    connected = runner.invoke(cli, ["connect", "zoho", "--client-id", fake.client_id, "--port", str(_free_port()),
                                    "--no-browser", "--accounts-url", fake.accounts_url, "--timeout", "10",
                                    "--format", "json"])
    assert connected.exit_code == 0, connected.output
    answer = json.loads(connected.stdout)
    tenants = answer["tenants"]
    assert tenants == [f"zoho:{o}" for o in fake.organization_ids] and set(answer["webhook_secrets"]) == set(tenants)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    records = {r["tenant"]: r["settings"] for r in store.tenants.connected_tenants("zoho")}
    assert {r["home_currency"] for r in records.values()} == {"USD", "EUR"}
    assert {r["api_domain"] for r in records.values()} == {fake.url} and len({r["connection"]
                                                                              for r in records.values()}) == 1
    tenant = tenants[0]
    dry = runner.invoke(cli, ["run", "--tenant", tenant, "--as-of", as_of.isoformat(), "--dry-run", "--format", "json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["delivery"]["due"] >= 1 and fake.writes == []
    ran = runner.invoke(cli, ["run", "--tenant", tenant, "--as-of", as_of.isoformat(), "--format", "json"])
    assert json.loads(ran.stdout)["delivery"]["delivered"] >= 1 and len(fake.reminders()) == 1
    status = json.loads(runner.invoke(cli, ["status", "--format", "json"]).stdout)
    assert {row["tenant"]: row["platform"] for row in status}[tenant] == "zoho"
