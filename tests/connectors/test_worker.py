"""Celery tasks on a real worker and a real Redis: sync, a worker killed mid-sync, duplicate deliveries.

The worker runs in a subprocess (``celery -A connectors.worker worker``) against the local
QuickBooks server of this test process, with the store in a shared SQLite file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("celery", reason="celery is not installed (pip install -e '.[test]')")
pytest.importorskip("quickbooks", reason="python-quickbooks is not installed (pip install -e '.[test]')")

from connectors import worker
from connectors.common.secrets import Secret
from connectors.common.store import Store
from connectors.common.tokens import Cipher, OAuthToken, TokenStore
from connectors.quickbooks.settings import QuickBooksSettings
from tests.fakes.quickbooks_server import FakeQuickBooks

REPO = Path(__file__).resolve().parents[2]
UTC = timezone.utc
QUEUES = f"{worker.QUEUE_SYNC},{worker.QUEUE_ACT},{worker.QUEUE_WEBHOOKS}"


class Cluster:
    """A store file, a fake QuickBooks company and Celery workers started on demand."""

    def __init__(self, tmp_path: Path, redis_url: str, qbo: FakeQuickBooks, page_size: int) -> None:
        self.tmp_path, self.qbo = tmp_path, qbo
        self.store_url = f"sqlite:///{tmp_path / 'store.db'}"
        key = Cipher.generate_key()
        self.env = {
            **os.environ,
            "ODOO_COLLECTIONS_BROKER_URL": redis_url,
            "ODOO_COLLECTIONS_REDIS_URL": redis_url,
            "ODOO_COLLECTIONS_STORE": self.store_url,
            "ODOO_COLLECTIONS_HOME": str(tmp_path / "home"),
            "ODOO_COLLECTIONS_SECRET_KEY": key,
            "ODOO_COLLECTIONS_VISIBILITY_TIMEOUT": "3",
            "ODOO_COLLECTIONS_LOCK_TTL": "4",
            "QUICKBOOKS_CLIENT_SECRET": qbo.client_secret,
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
            "PYTHONPATH": str(REPO),
        }
        self.store = Store(self.store_url)
        self.store.migrate()
        settings = QuickBooksSettings(
            realm_id=qbo.realm_id, client_id=qbo.client_id, client_secret=Secret(qbo.client_secret),
            environment=qbo.discovery_url, api_base=qbo.base_url, page_size=page_size,
        )
        self.tenant = settings.tenant
        self.store.tenants.save_tenant(self.tenant, "quickbooks", settings.to_record())
        TokenStore(self.store, Cipher(key)).save(
            self.tenant, OAuthToken("expired", qbo.refresh_token(), datetime.now(UTC) - timedelta(hours=1))
        )
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "connectors.worker", "worker", "--pool=solo", "-Q", QUEUES,
             "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )
        self.workers.append(process)
        return process

    def bookmark(self, stream: str) -> dict[str, Any]:
        value = self.store.sync.get_bookmark(self.tenant, stream)
        return json.loads(value) if value else {}

    def items(self) -> int:
        return len(self.store.ledger.load_portfolio(self.tenant, "USD", {}).items)

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str) -> Iterator[Cluster]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    worker.app.conf.broker_url = redis_url
    worker.app.conf.result_backend = redis_url
    worker.app.conf.broker_transport_options = {"visibility_timeout": 3}
    with FakeQuickBooks() as qbo:
        instance = Cluster(tmp_path, redis_url, qbo, page_size=100)
        yield instance
        instance.stop()


def seed(qbo: FakeQuickBooks, invoices: int) -> None:
    customers = [qbo.add_customer(DisplayName=f"Customer {n}") for n in range(5)]
    today = datetime.now(UTC).date()
    for n in range(invoices):
        issued = today - timedelta(days=60)
        qbo.add_invoice(customers[n % 5]["Id"], amount=10 + n, txn_date=issued, due_date=issued + timedelta(days=30))


def test_sync_runs_on_a_worker(cluster: Cluster) -> None:
    seed(cluster.qbo, 250)
    cluster.start_worker("w1")
    result = worker.sync_tenant.delay(cluster.tenant).get(timeout=60)
    assert result["streams"]["invoices"]["records"] == 250
    assert cluster.items() == 250


def test_a_worker_killed_mid_sync_is_replaced_and_nothing_is_lost_or_read_twice(cluster: Cluster) -> None:
    seed(cluster.qbo, 3000)
    first = cluster.start_worker("w1")
    pending = worker.sync_tenant.delay(cluster.tenant)
    deadline = time.monotonic() + 60
    while cluster.bookmark("invoices").get("position", 1) < 600:
        assert time.monotonic() < deadline, "the first worker made no progress"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = cluster.bookmark("invoices")["position"]
    assert killed_at < 3001 and not pending.ready()
    cluster.start_worker("w2")  # the unacknowledged task comes back to the queue for the new worker
    result = pending.get(timeout=90)
    assert cluster.items() == 3000
    starts = [int(c["sql"].split("STARTPOSITION")[1].split()[0]) for c in cluster.qbo.calls
              if "Invoice" in (c.get("sql") or "") and "STARTPOSITION" in (c.get("sql") or "")]
    assert len(starts) - len(set(starts)) <= 1  # at most the page in flight when the worker died is read again
    assert result["streams"]["invoices"]["pages"] <= 31


def test_duplicate_deliveries_and_two_workers_keep_one_sync_at_a_time(cluster: Cluster) -> None:
    seed(cluster.qbo, 500)
    cluster.start_worker("w1")
    cluster.start_worker("w2")
    results = [worker.sync_tenant.delay(cluster.tenant) for _ in range(3)]
    outcomes = [r.get(timeout=120) for r in results]
    assert cluster.items() == 500
    assert all("error" not in o for o in outcomes)
    full_pages = [o["streams"]["invoices"]["pages"] for o in outcomes if o["streams"].get("invoices", {}).get("pages")]
    assert full_pages == [6]  # one full sync (5 pages + the empty one that ends it); the others only asked for changes
    token_calls = [c for c in cluster.qbo.calls if c["path"].endswith("/tokens/bearer")]
    assert len(token_calls) == 1  # one refresh, shared through the store under the tenant's lock


def test_dispatch_enqueues_one_task_per_tenant(
    cluster: Cluster, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    from connectors.common.locks import FileLocks
    from connectors.common.ratelimit import LocalRateLimiter
    from connectors.common.runtime import Runtime

    cluster.store.tenants.save_tenant("quickbooks:222", "quickbooks", {})
    monkeypatch.setattr(worker, "_runtime", Runtime(cluster.store, FileLocks(tmp_path), LocalRateLimiter()))
    count = worker.dispatch.run("sync")  # the body, in this process: it only enqueues
    assert count == 2
    queued = [json.loads(m) for m in redis.Redis.from_url(redis_url).lrange(worker.QUEUE_SYNC, 0, -1)]
    tenants = sorted(json.loads(__import__("base64").b64decode(m["body"]))[0][0] for m in queued)
    assert tenants == ["quickbooks:222", cluster.tenant]


def test_ledger_files_of_several_companies_run_on_two_workers_and_wait_for_their_worklist(
    cluster: Cluster, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from connectors.cli import cli
    from connectors.files.demo import DEMO_LEDGER, DEMO_RATES

    tenants = [f"files:company{n}" for n in range(3)]
    cluster.start_worker("w1")
    cluster.start_worker("w2")
    rates = {code: str(rate) for code, rate in DEMO_RATES.items()}
    pending = [worker.run_ledger.delay(t, str(DEMO_LEDGER), "2026-11-24T10:00:00+00:00", "EUR", rates)
               for t in tenants]
    pending.append(worker.run_ledger.delay("files:broken", str(tmp_path / "missing.csv")))
    results = [p.get(timeout=120) for p in pending]
    assert [r.get("error") for r in results[:3]] == [None, None, None]
    assert "missing.csv" in results[3]["error"]  # a file the worker cannot read: said, not retried forever
    planned = {r["tenant"]: r["actions_new"] for r in results[:3]}
    assert len(set(planned.values())) == 1 and next(iter(planned.values())) > 0  # same file, same plan
    for tenant in tenants:  # recorded, not handed over: a worker has no one to give a worklist to
        assert cluster.store.outbox.outbox_counts(tenant) == {"pending": planned[tenant]}
    worklist = tmp_path / "worklist.csv"
    handed = CliRunner(env=cluster.env).invoke(
        cli, ["--store", cluster.store_url, "run", "--tenant", tenants[0], "--no-sync", "--as-of",
              "2026-11-24T10:00:00+00:00", "--worklist", str(worklist), "--format", "json",
              *(f"--rate={code}={rate}" for code, rate in rates.items())],
        catch_exceptions=False)
    assert handed.exit_code == 0, handed.output
    assert json.loads(handed.output)["delivery"]["delivered"] > 0
    assert len(worklist.read_text(encoding="utf-8").splitlines()) == json.loads(handed.output)["delivery"][
        "delivered"] + 1
