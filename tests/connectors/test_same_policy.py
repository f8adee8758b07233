"""One policy document, five platforms: a ledger file, QuickBooks, Xero and Zoho Books give the same decisions for
the same receivables (levels, channels and the amount each reminder asks), through the same pipeline, and they are
the decisions the Odoo addon reaches on the same book under the same document (its test_same_policy.py reads the
same fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("xero_python", reason="xero-python is not installed (pip install '.[xero]')")
pytest.importorskip("quickbooks", reason="python-quickbooks is not installed (pip install '.[quickbooks]')")
pytest.importorskip("httpx", reason="httpx is not installed (pip install '.[zoho]')")

from collections_engine.policy import Policy, policy_from_json
from connectors.common.locks import FileLocks
from connectors.common.ratelimit import LocalRateLimiter
from connectors.common.runtime import Runtime
from connectors.common.secrets import Secret
from connectors.common.store import Store
from connectors.common.tokens import Cipher, OAuthToken, TokenStore
from connectors.files.platform import LedgerPlatform
from connectors.files.settings import FileSettings
from connectors.pipeline import RunOptions, RunOutcome, run_tenant
from connectors.quickbooks.platform import QuickBooksPlatform
from connectors.quickbooks.settings import QuickBooksSettings
from connectors.xero.platform import XeroPlatform
from connectors.xero.settings import XeroSettings
from connectors.zoho.platform import ZohoPlatform
from connectors.zoho.settings import ZohoSettings
from tests.fakes.quickbooks_server import FakeQuickBooks
from tests.fakes.xero_server import FakeXero
from tests.fakes.zoho_server import FakeZoho

UTC = timezone.utc
# The book and the decisions every platform must reach, shared with the addon's own test.
FIXTURE = json.loads((Path(__file__).resolve().parents[2] / "odoo_addon_collections" / "account_collections" / "tests"
                      / "data" / "same_policy.json").read_text(encoding="utf-8"))
AS_OF = datetime.fromisoformat(FIXTURE["as_of"])
TODAY = AS_OF.date()
BOOK: list[tuple[str, str, list[tuple[int, str, str]]]] = [
    (c["name"], c["email"], [(i["days_overdue"], i["amount"], i["open"]) for i in c["invoices"]])
    for c in FIXTURE["book"]
]
EXPECTED = {name: (d["level"], sorted(tuple(a) for a in d["actions"])) for name, d in FIXTURE["expected"].items()}


def policy() -> Policy:
    """The policy document Odoo's default configuration exports, read from its JSON text by every source."""
    return policy_from_json(json.dumps(FIXTURE["policy"]))


def due_and_issue(days_overdue: int) -> tuple[date, date]:
    due = TODAY - timedelta(days=days_overdue)
    return due, due - timedelta(days=30)


def decisions(outcome: RunOutcome, names: dict[str, str]) -> dict[str, Any]:
    """Per customer name: the level reached and each action's level, channel and amount asked."""
    actions: dict[str, list[tuple[str, str, str]]] = {}
    for action in outcome.decisions.actions():
        actions.setdefault(names[action.customer_id], []).append(
            (action.level, action.channel, f"{action.amount_due:.2f}"))
    return {
        names[d.customer_id]: (d.level, sorted(actions.get(names[d.customer_id], [])))
        for d in outcome.decisions.customers
    }


@pytest.fixture
def runtime(store: Store, tmp_path: Path) -> Runtime:
    return Runtime(store=store, locks=FileLocks(tmp_path / "locks"), limiter=LocalRateLimiter(),
                   cipher_keys=Cipher.generate_key())


@pytest.fixture
def qbo() -> Iterator[FakeQuickBooks]:
    with FakeQuickBooks() as server:
        yield server


@pytest.fixture
def xero() -> Iterator[FakeXero]:
    with FakeXero(organisations=("Same Policy Ltd (US)",)) as server:
        yield server


@pytest.fixture
def zoho() -> Iterator[FakeZoho]:
    with FakeZoho(organizations=(("Same Policy Inc", "USD"),)) as server:
        yield server


def from_ledger(runtime: Runtime, tmp_path: Path) -> tuple[RunOutcome, dict[str, str]]:
    path = tmp_path / "ledger.csv"
    rows = ["customer_id,customer_name,email,invoice_number,invoice_date,due_date,amount,open_amount,currency"]
    for n, (name, email, invoices) in enumerate(BOOK):
        for m, (days, amount, open_amount) in enumerate(invoices):
            due, issued = due_and_issue(days)
            rows.append(f"C{n},{name},{email},F-{n}-{m},{issued},{due},{amount},{open_amount},USD")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    platform = LedgerPlatform(FileSettings(path=path, tenant="files:same", company_currency="USD"))
    outcome = run_tenant(runtime, platform, policy(), AS_OF, options=RunOptions(dry_run=True))
    return outcome, {f"C{n}": name for n, (name, _e, _i) in enumerate(BOOK)}


def from_quickbooks(runtime: Runtime, qbo: FakeQuickBooks, monkeypatch: pytest.MonkeyPatch) -> tuple[
        RunOutcome, dict[str, str]]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    names = {}
    for name, email, invoices in BOOK:
        person = qbo.add_customer(DisplayName=name, PrimaryEmailAddr={"Address": email},
                                  BillAddr={"Line1": "1 Main St", "City": "Springfield"})
        names[str(person["Id"])] = name
        for days, amount, open_amount in invoices:
            due, issued = due_and_issue(days)
            qbo.add_invoice(person["Id"], amount=amount, balance=open_amount, txn_date=issued, due_date=due)
    settings = QuickBooksSettings(realm_id=qbo.realm_id, client_id=qbo.client_id,
                                  client_secret=Secret(qbo.client_secret), environment=qbo.discovery_url,
                                  api_base=qbo.base_url)
    runtime.store.tenants.save_tenant(settings.tenant, "quickbooks", settings.to_record())
    TokenStore(runtime.store, runtime.cipher).save(
        settings.tenant, OAuthToken("expired", qbo.refresh_token(), datetime.now(UTC) - timedelta(hours=1)))
    platform = QuickBooksPlatform(runtime, settings)
    outcome = run_tenant(runtime, platform, policy(), AS_OF, options=RunOptions(dry_run=True))
    assert not [c for c in qbo.calls if c["operation"] in ("create", "update", "send")]
    return outcome, names


def from_xero(runtime: Runtime, xero: FakeXero) -> tuple[RunOutcome, dict[str, str]]:
    names = {}
    for name, email, invoices in BOOK:
        contact = xero.add_contact(name, email=email, addresses=[
            {"AddressType": "POBOX", "AddressLine1": "1 Main St", "City": "Springfield"}])
        names[str(contact["ContactID"])] = name
        for days, amount, open_amount in invoices:
            due, issued = due_and_issue(days)
            invoice = xero.add_invoice(contact["ContactID"], total=amount, date=issued, due_date=due)
            paid = float(amount) - float(open_amount)
            if paid:
                xero.add_payment(invoice["InvoiceID"], paid, issued + timedelta(days=5))
    settings = XeroSettings(tenant_id=xero.tenant_id, connection="same", client_id=xero.client_id,
                            client_secret=Secret(xero.client_secret), home_currency="USD",
                            api_base=xero.accounting_url, connections_base=xero.url, token_url=xero.token_url)
    runtime.store.tenants.save_tenant(settings.tenant, "xero", settings.to_record())
    issued_token = xero.token_set()
    TokenStore(runtime.store, runtime.cipher).save(settings.token_key, OAuthToken(
        issued_token["access_token"], issued_token["refresh_token"], datetime.now(UTC) + timedelta(minutes=30)))
    outcome = run_tenant(runtime, XeroPlatform(runtime, settings), policy(), AS_OF, options=RunOptions(dry_run=True))
    assert xero.writes == []
    return outcome, names


def from_zoho(runtime: Runtime, zoho: FakeZoho) -> tuple[RunOutcome, dict[str, str]]:
    names = {}
    for name, email, invoices in BOOK:
        contact = zoho.add_contact(name, email=email)
        names[str(contact["contact_id"])] = name
        for days, amount, open_amount in invoices:
            due, issued = due_and_issue(days)
            invoice = zoho.add_invoice(contact["contact_id"], total=amount, date=issued, due_date=due)
            paid = float(amount) - float(open_amount)
            if paid:
                zoho.add_payment({invoice["invoice_id"]: paid}, issued + timedelta(days=5))
    settings = ZohoSettings(organization_id=zoho.organization_id, connection="same", client_id=zoho.client_id,
                            client_secret=Secret(zoho.client_secret), home_currency="USD",
                            accounts_server=zoho.accounts_url, api_domain=zoho.url)
    runtime.store.tenants.save_tenant(settings.tenant, "zoho", settings.to_record())
    issued_token = zoho.token_set()
    TokenStore(runtime.store, runtime.cipher).save(settings.token_key, OAuthToken(
        issued_token["access_token"], issued_token["refresh_token"], datetime.now(UTC) + timedelta(minutes=60)))
    outcome = run_tenant(runtime, ZohoPlatform(runtime, settings), policy(), AS_OF, options=RunOptions(dry_run=True))
    assert zoho.writes == []
    return outcome, names


def test_one_policy_gives_the_same_decisions_on_a_ledger_quickbooks_xero_and_zoho_as_in_odoo(
    runtime: Runtime, qbo: FakeQuickBooks, xero: FakeXero, zoho: FakeZoho, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger = decisions(*from_ledger(runtime, tmp_path))
    quickbooks = decisions(*from_quickbooks(runtime, qbo, monkeypatch))
    on_xero = decisions(*from_xero(runtime, xero))
    on_zoho = decisions(*from_zoho(runtime, zoho))
    assert ledger == quickbooks == on_xero == on_zoho == EXPECTED
