"""The store on PostgreSQL: the same rows, decisions and deliveries as on SQLite, written in bulk with COPY."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from collections_engine.types import Customer, ReceivableItem
from connectors.cli import cli
from connectors.common import bulk
from connectors.common.store import FullImport, Store

TENANT = "files:bench"
AS_OF = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)


def _customers(count: int) -> list[Customer]:
    names = ['Müller, "Metall" KG', "Line\nbreak S.L.", "", "Ñandú; Cía", "back\\slash"]
    return [
        Customer(id=f"C{n:05d}", name=names[n % len(names)] or f"Customer {n}", email=None if n % 3 else "",
                 country="ES" if n % 2 else None, do_not_dun=n % 7 == 0,
                 credit_limit=Decimal("1000.10") if n % 4 else None,
                 opted_out_channels=frozenset({"sms"}) if n % 5 == 0 else frozenset())
        for n in range(count)
    ]


def _items(count: int, customers: int) -> list[ReceivableItem]:
    return [
        ReceivableItem(id=f"I{n:06d}", customer_id=f"C{n % customers:05d}", invoice_ref=f"INV,{n}", currency="EUR",
                       amount=Decimal("100.005") + n, residual=Decimal(0) if n % 9 == 0 else Decimal("40.50"),
                       issue_date=date(2026, 1, 1) + timedelta(days=n % 50),
                       due_date=date(2026, 2, 1) + timedelta(days=n % 50), disputed=n % 11 == 0,
                       settled_on=date(2026, 2, 20) if n % 9 == 0 else None, is_credit=n % 13 == 0)
        for n in range(count)
    ]


def _snapshot(customers: list[Customer], items: list[ReceivableItem]) -> FullImport:
    return FullImport(customers=customers, items=items, payments=[], quarantined=[], close_ids=[],
                      closed_on=AS_OF.date(), bookmark="{}")


def test_a_bulk_write_by_copy_reads_back_exactly_what_was_written(postgres_url: str) -> None:
    store = Store(postgres_url)
    store.migrate()
    customers, items = _customers(1500), _items(6000, 1500)  # above the COPY threshold
    assert len(items) >= bulk.COPY_THRESHOLD
    store.ledger.write_full_import(TENANT, "ledger", _snapshot(customers, items))
    portfolio = store.ledger.load_portfolio(TENANT, "EUR", {})
    assert sorted(portfolio.customers, key=lambda c: c.id) == customers  # quotes, commas, newlines, '', None
    assert sorted(portfolio.items, key=lambda i: i.id) == items  # exact decimals, dates, flags, None
    changed = [replace(i, residual=Decimal(0), settled_on=date(2026, 3, 1)) for i in items[:3000]]
    store.ledger.write_full_import(TENANT, "ledger", _snapshot(customers[:10], changed))
    again = {i.id: i for i in store.ledger.load_portfolio(TENANT, "EUR", {}).items}
    assert len(again) == 6000 and again["I000001"].settled_on == date(2026, 3, 1)
    assert again["I005999"] == items[5999]  # rows not in the second write are left as they were
    store.engine.dispose()


def _run_json(store_url: str, home: Path, *extra: str) -> dict[str, object]:
    runner = CliRunner(env={"ODOO_COLLECTIONS_HOME": str(home)})
    result = runner.invoke(cli, ["--store", store_url, "run", "--demo", "--format", "json", *extra],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_demo_run_decides_and_delivers_the_same_on_postgresql_as_on_sqlite(postgres_url: str,
                                                                                tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'store.db'}"
    runs = {url: [_run_json(url, tmp_path / "home"), _run_json(url, tmp_path / "home")]
            for url in (sqlite_url, postgres_url)}
    lite, postgres = runs[sqlite_url], runs[postgres_url]
    assert lite[0]["actions"] and postgres[0] == lite[0]  # first run: every figure, action and delivery
    assert postgres[1] == lite[1] and postgres[1]["new_actions"] == 0  # a rerun records nothing new


def test_two_workers_never_claim_the_same_action(postgres_url: str, tmp_path: Path) -> None:
    _run_json(postgres_url, tmp_path / "home", "--dry-run")
    store = Store(postgres_url)
    runner = CliRunner(env={"ODOO_COLLECTIONS_HOME": str(tmp_path / "home")})
    planned = runner.invoke(cli, ["--store", postgres_url, "run", "--demo", "--format", "json"],
                            catch_exceptions=False)
    assert planned.exit_code == 0
    tenant = json.loads(planned.output)["tenant"]
    later = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with store.session() as session:  # put every action back to pending, as if none was delivered
        from sqlalchemy import update

        from connectors.common.models import OutboxRow

        session.execute(update(OutboxRow).where(OutboxRow.tenant == tenant).values(status="pending"))
    pending = store.outbox.count_due_actions(tenant, later)
    assert pending > 10
    claimed: list[list[str]] = [[], []]
    start = threading.Barrier(2)

    def worker(index: int) -> None:
        own = Store(postgres_url)
        start.wait()
        while batch := own.outbox.claim_actions(tenant, due_by=later, limit=3):
            claimed[index].extend(entry["key"] for entry in batch)
        own.engine.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == pending
    store.engine.dispose()


@pytest.mark.parametrize("rows", [10, 2500])  # executemany below the threshold, COPY above
def test_an_upsert_updates_only_the_columns_it_names(postgres_url: str, rows: int) -> None:
    store = Store(postgres_url)
    store.migrate()
    customers = _customers(rows)
    store.ledger.write_full_import(TENANT, "ledger", _snapshot(customers, []))
    renamed = [Customer(id=c.id, name=f"{c.name} (renamed)") for c in customers]
    store.ledger.write_full_import(TENANT, "ledger", _snapshot(renamed, []))
    loaded = {c.id: c for c in store.ledger.load_portfolio(TENANT, "EUR", {}).customers}
    assert len(loaded) == rows and all(loaded[c.id].name == f"{c.name} (renamed)" for c in customers)
    store.engine.dispose()
