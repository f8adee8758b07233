"""The store: migrations, exact round trips, upserts, outbox idempotency, bookmarks, quarantine."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from collections_engine import plan
from collections_engine.defaults import default_policy
from collections_engine.plans import make_plan
from collections_engine.types import (
    Allocation,
    ContactEvent,
    ContactWindow,
    Customer,
    Payment,
    Promise,
    ReceivableItem,
)
from connectors.common.errors import StoreError
from connectors.common.store import Store
from connectors.common.sync import Changes

UTC = timezone.utc
AS_OF = datetime(2026, 11, 24, 10, tzinfo=UTC)


def active(id: str = "c1") -> Customer:
    return replace(customer(id), paused_until=None)


def customer(id: str = "c1") -> Customer:
    return Customer(
        id=id,
        name="Ferretería del Norte S.A.",
        country="ES",
        timezone="Europe/Madrid",
        email="a@example.es",
        phone="+34 600",
        mobile=None,
        credit_limit=Decimal("2500.50"),
        collector="ana",
        preferred_channel="sms",
        opted_out_channels=frozenset({"letter", "whatsapp"}),
        contact_window=ContactWindow(hours=(("10:00", "12:30"),), weekdays=(2, 4)),
        paused_until=date(2026, 12, 1),
    )


def item(id: str, days_overdue: int = 10, customer_id: str = "c1", residual: str = "100.10") -> ReceivableItem:
    due = date(2026, 11, 24) - timedelta(days=days_overdue)
    return ReceivableItem(
        id=id,
        customer_id=customer_id,
        invoice_ref=f"F-{id}",
        currency="EUR",
        amount=Decimal("100.10"),
        residual=Decimal(residual),
        issue_date=due - timedelta(days=30),
        due_date=due,
    )


def test_migration_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.migrate()
    store.migrate()
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "customers",
        "items",
        "payments",
        "promises",
        "plans",
        "contact_events",
        "outbox",
        "bookmarks",
        "quarantine",
        "runs",
        "notes",
        "bank_accounts",
        "alembic_version",
    } <= tables


def test_every_type_round_trips_exactly(store: Store) -> None:
    c = customer()
    i = item("i1")
    p = Payment(
        id="p1",
        customer_id="c1",
        date=date(2026, 11, 1),
        amount=Decimal("0.000001"),
        currency="EUR",
        allocations=(Allocation("i1", Decimal("0.000001")),),
    )
    promise = Promise(
        id="pr",
        customer_id="c1",
        created_on=date(2026, 11, 2),
        promised_date=date(2026, 11, 30),
        amount=Decimal("50.05"),
        currency="EUR",
        item_ids=("i1",),
    )
    payment_plan = make_plan("pl", "c1", date(2026, 11, 3), "EUR", Decimal("100.10"), 3, "monthly", date(2026, 12, 1))
    event = ContactEvent(
        id="e1",
        customer_id="c1",
        at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        channel="email",
        level="first",
        strategy="standard",
        variant="a",
        item_ids=("i1",),
        outcome="responded",
        responded_at=datetime(2026, 11, 21, 8, tzinfo=UTC),
        cost=Decimal("0.02"),
        planned_at=datetime(2026, 11, 20, 8, tzinfo=UTC),
    )
    store.ledger.upsert_customers("t", [c])
    store.ledger.upsert_items("t", [i])
    store.ledger.upsert_payments("t", [p])
    store.ledger.save_promise("t", promise)
    store.ledger.save_plan("t", payment_plan)
    store.history.record_events("t", [event])
    portfolio = store.ledger.load_portfolio("t", "EUR", {"USD": Decimal("0.9")})
    assert portfolio.customers == (c,)
    assert portfolio.items == (i,)
    assert portfolio.payments == (p,)
    assert portfolio.promises == (promise,)
    assert portfolio.plans == (payment_plan,)
    assert store.history.load_history("t").events == (event,)
    assert store.ledger.load_portfolio("other", "EUR", {}).items == ()


def test_upsert_updates_in_place(store: Store) -> None:
    store.ledger.upsert_items("t", [item("i1"), item("i2")])
    store.ledger.upsert_items("t", [item("i1", residual="0.10")])
    assert {x.id: x.residual for x in store.ledger.load_portfolio("t", "EUR", {}).items} == {
        "i1": Decimal("0.10"),
        "i2": Decimal("100.10"),
    }


def test_outbox_records_once_and_feeds_the_history(store: Store) -> None:
    store.ledger.upsert_customers("t", [active()])
    store.ledger.upsert_items("t", [item("i1")])
    portfolio = store.ledger.load_portfolio("t", "EUR", {})
    actions = plan(portfolio, default_policy(), store.history.load_history("t"), AS_OF).actions()
    assert actions
    first = store.outbox.enqueue_actions("t", None, actions, AS_OF)
    assert first == [a.key for a in actions]
    assert store.outbox.enqueue_actions("t", None, actions, AS_OF) == []
    assert store.outbox.outbox_counts("t") == {"pending": len(actions)}
    again = plan(portfolio, default_policy(), store.history.load_history("t"), AS_OF + timedelta(hours=2))
    assert again.actions() == []
    # the same as_of does not see what it planned itself: old runs stay reproducible
    replay = plan(portfolio, default_policy(), store.history.load_history("t"), AS_OF)
    assert [a.key for a in replay.actions()] == [a.key for a in actions]
    assert store.outbox.enqueue_actions("t", None, replay.actions(), AS_OF) == []


def test_outbox_status_changes(store: Store) -> None:
    store.ledger.upsert_customers("t", [active()])
    store.ledger.upsert_items("t", [item("i1")])
    portfolio = store.ledger.load_portfolio("t", "EUR", {})
    actions = plan(portfolio, default_policy(), store.history.load_history("t"), AS_OF).actions()
    key = store.outbox.enqueue_actions("t", None, actions, AS_OF)[0]
    store.outbox.mark_failed("t", key, "smtp 451", retryable=True)
    assert store.outbox.pending_actions("t")[0]["attempts"] == 1
    store.outbox.mark_sent_many("t", [(key, "msg-1")], AS_OF)
    assert store.outbox.outbox_counts("t") == {"sent": 1}
    with pytest.raises(StoreError, match="no outbox entry 'nope'"):
        store.outbox.mark_failed("t", "nope", "timeout", retryable=True)


def test_bookmarks_quarantine_runs(store: Store) -> None:
    assert store.sync.get_bookmark("t", "ledger") is None
    store.sync.set_bookmark("t", "ledger", "abc")
    store.sync.set_bookmark("t", "ledger", "def")
    assert store.sync.get_bookmark("t", "ledger") == "def"
    quarantined = Changes(quarantined=[("line 3", {"amount": "x"}, "amount: 'x' is not an amount")])
    store.sync.write_page("t", "ledger", quarantined, "ghi")
    assert store.sync.quarantined("t") == [
        {"stream": "ledger", "record": "line 3", "reason": "amount: 'x' is not an amount", "raw": {"amount": "x"}}
    ]
    run_id = store.runs.start_run("t", "plan", AS_OF)
    store.runs.finish_run(run_id, "done", {"actions": 2})
    assert store.runs.last_runs("t")[0]["stats"] == {"actions": 2}


def test_naive_datetimes_are_refused(store: Store) -> None:
    event = ContactEvent(id="e", customer_id="c1", at=datetime(2026, 11, 20, 9), channel="email")
    with pytest.raises(Exception, match="timezone-aware"):
        store.history.record_events("t", [event])


def test_a_row_mapping_refuses_a_column_that_is_no_field_and_a_codec_of_no_column() -> None:
    from collections_engine.types import Payment, ReceivableItem
    from connectors.common.models import ItemRow, PaymentRow
    from connectors.common.rows import IDS, RowMapping

    with pytest.raises(TypeError, match="no field of Payment"):
        RowMapping(Payment, ItemRow)  # residual, due_date... are no fields of a payment
    with pytest.raises(TypeError, match="not stored"):
        RowMapping(ReceivableItem, ItemRow, {"kind": IDS})  # kind has no column
    assert RowMapping(Payment, PaymentRow).fields[:2] == ["id", "customer_id"]


def test_pay_links_are_the_asked_items_links_whether_few_or_most_items_are_asked(store: Store) -> None:
    """Past 5,000 asked items the links are read in one query, not in chunks: the same answer either way."""
    store.ledger.save_pay_links("t1", {f"i{n}": f"https://pay.example/{n}" for n in range(0, 12_000, 2)})
    store.ledger.save_pay_links("t2", {"i1": "https://other.example/1"})
    many = [f"i{n}" for n in range(1, 11_000)]  # 5,500 of them have a link
    few = ["i2", "i3", "i4", "i1"]
    assert store.ledger.pay_links("t1", many) == {f"i{n}": f"https://pay.example/{n}" for n in range(2, 11_000, 2)}
    assert store.ledger.pay_links("t1", few) == {"i2": "https://pay.example/2", "i4": "https://pay.example/4"}
    assert store.ledger.pay_links("t2", many) == {"i1": "https://other.example/1"}
    assert store.ledger.pay_links("t1", []) == {}


def test_schema_head_is_the_newest_migration_and_a_store_there_is_not_migrated_again(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    from connectors.common.store import SCHEMA_HEAD, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD
    url = f"sqlite:///{tmp_path / 's.db'}"
    Store(url).migrate()  # a new store: created by Alembic
    check = (
        "import sys; from connectors.common.store import Store; Store(sys.argv[1]).migrate(); "
        "print('alembic' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    at_head = subprocess.run([sys.executable, "-c", check, url], capture_output=True, text=True, cwd=root, check=True)
    assert at_head.stdout.strip() == "False"  # at the head: Alembic not even imported
    engine = Store(url).engine
    with engine.begin() as connection:  # a store one revision behind (before 0008) is brought to the head
        connection.execute(text("DROP TABLE bank_accounts"))
        connection.execute(text("DROP TABLE notes"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    behind = subprocess.run([sys.executable, "-c", check, url], capture_output=True, text=True, cwd=root, check=True)
    assert behind.stdout.strip() == "True"
    assert {"notes", "bank_accounts"} <= set(inspect(Store(url).engine).get_table_names())
