"""The platform commands: connect (OAuth code flow with a local redirect), sync, run/act, status, exit codes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

pytest.importorskip("quickbooks", reason="python-quickbooks is not installed (pip install -e '.[test]')")

from connectors.cli import cli
from connectors.common.store import Store
from connectors.common.tokens import Cipher, TokenStore
from tests.connectors.conftest import _free_port
from tests.fakes.quickbooks_server import FakeQuickBooks

UTC = timezone.utc


@pytest.fixture
def qbo() -> Iterator[FakeQuickBooks]:
    with FakeQuickBooks(clock=lambda: datetime.now(UTC) - timedelta(days=1)) as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, qbo: FakeQuickBooks, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "ODOO_COLLECTIONS_STORE": f"sqlite:///{tmp_path / 'store.db'}",
        "ODOO_COLLECTIONS_HOME": str(tmp_path / "home"),
        "ODOO_COLLECTIONS_SECRET_KEY": Cipher.generate_key(),
        "QUICKBOOKS_CLIENT_ID": qbo.client_id,
        "QUICKBOOKS_CLIENT_SECRET": qbo.client_secret,
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ODOO_COLLECTIONS_REDIS_URL", raising=False)
    return values


def connect(qbo: FakeQuickBooks) -> tuple[int, dict[str, object]]:
    """Run `connect quickbooks`; a thread plays the user's browser following the authorization URL."""
    import connectors.quickbooks.connect as module

    port = _free_port()
    original = module.wait_for_callback

    def wait(port_: int, state: str, timeout: float, ready: Callable[[], None]) -> dict[str, str]:
        def browser() -> None:
            ready()
            url = f"{qbo.base_url}/connect/oauth2?state={state}&redirect_uri=http://127.0.0.1:{port_}/callback"
            threading.Thread(target=lambda: (time.sleep(0.2), requests.get(url, timeout=5))).start()

        return original(port_, state, timeout, browser)

    module.wait_for_callback = wait
    try:
        outcome = CliRunner().invoke(cli, ["connect", "quickbooks", "--environment", qbo.discovery_url, "--api-base",
                                           qbo.base_url, "--port", str(port), "--no-browser", "--timeout", "10",
                                           "--format", "json"])
    finally:
        module.wait_for_callback = original
    return outcome.exit_code, (json.loads(outcome.stdout) if outcome.exit_code == 0 else {"output": outcome.output})


def test_connect_sync_status_and_run(qbo: FakeQuickBooks, env: dict[str, str]) -> None:
    customer = qbo.add_customer(DisplayName="Late Payer", PrimaryEmailAddr={"Address": "ap@late.example.com"})
    day = datetime.now(UTC).date()
    while day.weekday() >= 5:  # a working day, inside the default contact window
        day += timedelta(days=1)
    issued = day - timedelta(days=35)  # due five days before: the first reminder, by email
    qbo.add_invoice(customer["Id"], amount=300, txn_date=issued, due_date=issued + timedelta(days=30),
                    AllowOnlineCreditCardPayment=True)  # QuickBooks Payments takes it online: it has a pay link
    code, connected = connect(qbo)
    assert code == 0, connected
    tenant = f"quickbooks:{qbo.realm_id}"
    assert connected == {"tenant": tenant, "connected": True}
    store = Store(env["ODOO_COLLECTIONS_STORE"])
    token, _version = TokenStore(store, Cipher(env["ODOO_COLLECTIONS_SECRET_KEY"])).load(tenant)  # type: ignore[misc]
    assert token.refresh_token == qbo.refresh_token()

    runner = CliRunner()
    synced = runner.invoke(cli, ["sync", "--format", "json"])
    assert synced.exit_code == 0, synced.output
    (result,) = json.loads(synced.stdout)
    assert result["streams"]["invoices"]["records"] == 1

    state = runner.invoke(cli, ["status", "--format", "json"])
    assert state.exit_code == 0, state.output
    (row,) = json.loads(state.stdout)
    assert row["tenant"] == tenant and row["last_sync_at"] and row["bookmarks"]["invoices"]["done"]
    assert set(row["rate_limit_left"]) == {"500/60s", "10/1s"}  # per process here; shared with a Redis URL

    as_of = day.isoformat() + "T12:00:00+00:00"
    report = Path(env["ODOO_COLLECTIONS_HOME"]) / "report.html"
    writes_before = [c for c in qbo.calls if c["operation"] in ("create", "update", "send")]
    dry = runner.invoke(cli, ["run", "--tenant", tenant, "--as-of", as_of, "--dry-run", "--rate", "EUR=1.1",
                              "--group-by", "risk_category", "--report", str(report), "--format", "json"])
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.stdout)
    assert preview["delivery"] == {"dry_run": True, "due": len(preview["actions"]), "delivered": 0, "failed": 0,
                                   "errors": []}
    assert preview["new_actions"] == 0 and preview["kpis"]["groups"] and report.read_text().startswith("<!")
    assert '<a href="https://' in report.read_text()  # the sync kept the pay link: the report's "How to pay"
    assert qbo.sent == [] and [c for c in qbo.calls if c["operation"] in ("create", "update", "send")] == writes_before
    ran = runner.invoke(cli, ["run", "--tenant", tenant, "--as-of", as_of, "--format", "json"])
    assert ran.exit_code == 0, ran.output
    first = json.loads(ran.stdout)
    assert first["tenant"] == tenant and first["new_actions"] == len(first["actions"]) == preview["delivery"]["due"] > 0
    assert first["delivery"]["delivered"] == len(first["actions"]) and len(qbo.sent) == 1
    (link,) = first["actions"][0]["pay_links"]  # the worklist carries the invoice's pay-online link
    assert link.startswith("https://") and first["actions"][0]["bank_transfer"] is None
    again = runner.invoke(cli, ["run", "--tenant", tenant, "--as-of", as_of, "--format", "json"])
    assert json.loads(again.stdout)["new_actions"] == 0  # the same day plans nothing twice
    shown = runner.invoke(cli, ["run", "--tenant", tenant, "--as-of", as_of, "--all", "--no-sync"])
    assert "How to pay" in shown.stdout and link[:60] in shown.stdout.replace("\n", "")
    table = runner.invoke(cli, ["status"])
    assert tenant in table.stdout


def test_commands_without_a_connection_exit_6(env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["sync"])
    assert result.exit_code == 6
    assert "odoo-collections connect" in result.output
    result = runner.invoke(cli, ["run", "--tenant", "quickbooks:404", "--format", "json"])
    assert result.exit_code == 6


def test_secret_key_prints_a_usable_key() -> None:
    result = CliRunner().invoke(cli, ["secret-key"])
    assert result.exit_code == 0
    Cipher(result.stdout.strip()).encrypt("x")
