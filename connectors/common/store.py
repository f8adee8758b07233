"""The connectors' store: ledgers, contact history, promises, plans, outbox, bookmarks.

SQLite file by default, any SQLAlchemy URL (PostgreSQL) otherwise; the schema is owned
by the Alembic migrations in ``connectors/common/migrations``. Every row belongs to a
tenant (one connected company or one ledger file), so several ledgers share a store.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Integer, Text, create_engine, delete, event, func, insert, select, text, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from collections_engine.decisions import Action
from collections_engine.types import (
    ContactEvent,
    Customer,
    History,
    Payment,
    PaymentPlan,
    Portfolio,
    Promise,
    ReceivableItem,
)

from . import bulk
from .banking import BankAccount
from .contract import OutboxEntry
from .errors import StoreError
from .models import (
    BankAccountRow,
    Base,
    BookmarkRow,
    ContactEventRow,
    CustomerRow,
    ExchangeRateRow,
    ItemRow,
    NoteRow,
    OutboxRow,
    PayLinkRow,
    PaymentRow,
    PlanRow,
    PromiseRow,
    QuarantineRow,
    RunRow,
    StoreSettingRow,
    TenantRow,
    WebhookEventRow,
)
from .rows import ALLOCATIONS, IDS, INSTALMENTS, NAME_SET, WINDOW, RowMapping
from .serialize import to_jsonable
from .sync import Changes

_CHUNK = 500
_BULK = 5000  # rows per executemany
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_HEAD = "0008"
"""The newest migration's revision (a test checks it against the migrations): a store already there is not
migrated again, and Alembic (with Mako and Pygments) is not even imported: opening an existing store's
schema took 73-75 ms, now 1-2 ms."""



def alembic_config(url: str | None = None) -> Any:
    """The Alembic configuration of the store's migrations (and of the store at ``url``)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


CHANGED = "odoo_collections.changed"
"""Set in a connection's ``info`` by a write that can change a decision (see :meth:`Store.revision`)."""
_WRITE = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_BOOKKEEPING = frozenset(
    {"runs", "tenants", "store_settings", "tokens", "webhook_events", "bookmarks", "alembic_version"}
)
"""Tables whose writes change no decision: run records, a tenant's sync time and settings (a run names the
settings that matter in its fingerprint), store settings (the revision itself), tokens, webhook events, and
bookmarks (a cursor moves on every sync; the rows it brought are written beside it)."""
REVISION_SETTING = "revision"
STORE_ID_SETTING = "store_id"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class FullImport:
    """A complete new version of a ledger stream, written in one transaction with its bookmark."""

    customers: Sequence[Customer]
    items: Sequence[ReceivableItem]
    payments: Sequence[Payment]
    quarantined: Sequence[tuple[str, Any, str]]
    """(record reference, raw record, reason) of every rejected record; they replace the stream's older ones."""
    close_ids: Sequence[str]
    """Open items the new version no longer lists: closed (residual 0) on ``closed_on``."""
    closed_on: date
    bookmark: str


@dataclass(frozen=True)
class OpenItem:
    """What decides whether an open item may be closed by a new version of its ledger."""

    id: str
    customer_id: str
    invoice_ref: str


class Store:
    """Persistent state shared by every connector and by the CLI: one database, focused repositories
    (``ledger``, ``history``, ``outcomes``, ``outbox``, ``sync``, ``runs``, ``tenants``, ``webhooks``) over it."""

    def __init__(self, url: str) -> None:
        self.url = url
        sqlite_file = url.startswith("sqlite") and make_url(url).database not in (None, "", ":memory:")
        options: dict[str, Any] = {"connect_args": {"timeout": 30}} if sqlite_file else {}
        # hide_parameters: a database error never prints customer rows
        self.engine: Engine = create_engine(url, future=True, hide_parameters=True, **options)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.ledger = LedgerRepository(self)
        self.history = HistoryRepository(self)
        self.outcomes = OutcomesRepository(self)
        self.outbox = OutboxRepository(self)
        self.sync = SyncRepository(self)
        self.runs = RunsRepository(self)
        self.tenants = TenantsRepository(self)
        self.webhooks = WebhooksRepository(self)
        self.own_writes = 0
        """Revisions this process made (a run compares them with the revision's growth: no one else wrote)."""
        event.listen(self.engine, "before_cursor_execute", _note_write)

    def revision(self) -> tuple[str, int]:
        """The store's identity (random, made once) and its revision: a number that grows with every committed
        transaction that wrote rows a decision depends on (items, payments, promises, plans, contact events,
        outbox, notes, pay links, bank details, rates, rejected rows...), so an unchanged pair means unchanged
        inputs. One revision for the whole store: a write to any tenant changes it (never too little)."""
        with self.session() as session:
            if session.get(StoreSettingRow, STORE_ID_SETTING) is None:
                self._insert_ignore(session, StoreSettingRow, {"name": STORE_ID_SETTING, "value": uuid.uuid4().hex})
        with self.session() as session:
            identity = session.get(StoreSettingRow, STORE_ID_SETTING)
            revision = session.get(StoreSettingRow, REVISION_SETTING)
            return (identity.value if identity else ""), int(revision.value) if revision else 0

    def _bump_revision(self, session: Session) -> None:
        """Count one more revision in the transaction that wrote (atomic: concurrent writers each count)."""
        self._insert_ignore(session, StoreSettingRow, {"name": REVISION_SETTING, "value": "0"})
        session.execute(
            update(StoreSettingRow)
            .where(StoreSettingRow.name == REVISION_SETTING)
            .values(value=sql_cast(sql_cast(StoreSettingRow.value, Integer) + 1, Text))
        )
        self.own_writes += 1

    @staticmethod
    def default_url() -> str:
        """Return the SQLite URL under $ODOO_COLLECTIONS_HOME (or ~/.local/share/odoo-collections)."""
        home = Path(os.environ.get("ODOO_COLLECTIONS_HOME") or Path.home() / ".local" / "share" / "odoo-collections")
        home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{home / 'store.db'}"

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        if self._at_head():
            return
        from alembic import command

        config = alembic_config(self.url)
        with self._migration_lock(), self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":  # held until this transaction ends
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('odoo-collections:migrate'))"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def _at_head(self) -> bool:
        """Whether the store's schema is at ``SCHEMA_HEAD`` already (no: a new store, or one to upgrade)."""
        try:
            with self.engine.connect() as connection:
                versions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except DBAPIError:  # no such table (a new store), or no database: Alembic's path says which
            return False
        return versions == [SCHEMA_HEAD]

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """Serialise migrations of one SQLite file across processes (two first runs would both create tables)."""
        database = make_url(self.url).database if self.engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        try:
            descriptor = os.open(f"{database}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise StoreError(f"cannot create files beside {database} ({err.strerror})") from err
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # the OS releases it if this process dies
            yield
        finally:
            os.close(descriptor)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error."""
        session = self._sessions()
        try:
            yield session
            if session.get_transaction() is not None:
                session.flush()  # the ORM's pending writes, so that they are seen before the commit
                if session.connection().info.pop(CHANGED, False):
                    self._bump_revision(session)
            session.commit()
        except Exception:
            if session.get_transaction() is not None:
                session.connection().info.pop(CHANGED, None)  # the flag lives on the pooled connection
            session.rollback()
            raise
        finally:
            session.close()

    def _upsert(
        self, model: type[Base], rows: Sequence[dict[str, Any]], keys: tuple[str, ...], session: Session | None = None
    ) -> int:
        if session is None:
            with self.session() as own:
                return self._upsert(model, rows, keys, own)
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            insert_factory: Any = sqlite.insert
        elif dialect == "postgresql":
            insert_factory = postgresql.insert
        else:
            raise StoreError(f"the store supports SQLite and PostgreSQL, not {dialect}")
        for start in range(0, len(rows), _BULK):
            chunk = rows[start : start + _BULK]
            statement = insert_factory(model.__table__)
            updates = {c: statement.excluded[c] for c in chunk[0] if c not in keys}
            # on the connection: a Core executemany, without the ORM's per-row bulk bookkeeping
            session.connection().execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates),
                                         chunk)
        return len(rows)

    def _insert_ignore(self, session: Session, model: type[Base], values: dict[str, Any]) -> None:
        factory: Any = sqlite.insert if self.engine.dialect.name == "sqlite" else postgresql.insert
        session.execute(factory(model).values(**values).on_conflict_do_nothing())


class _Repository:
    """One concern of the store, over the store's sessions."""

    def __init__(self, store: Store) -> None:
        self._store = store


class LedgerRepository(_Repository):
    """A tenant's receivables: customers, items, payments, promises and plans, rates and pay links."""

    def write_full_import(self, tenant: str, stream: str, snapshot: FullImport) -> None:
        """Write a new version of a ledger - rows, rejected rows, closings, bookmark - in one transaction."""
        with self._store.session() as session:
            _write_records(session, tenant, CUSTOMERS, snapshot.customers)
            _write_records(session, tenant, ITEMS, snapshot.items)
            _write_records(session, tenant, PAYMENTS, snapshot.payments)
            _replace_quarantine(session, tenant, stream, snapshot.quarantined)
            _close_items(session, tenant, list(snapshot.close_ids), snapshot.closed_on)
            self._store.sync.set_bookmark(tenant, stream, snapshot.bookmark, session)

    def open_items(self, tenant: str) -> list[OpenItem]:
        """The items of a tenant that are still open (residual not zero)."""
        with self._store.session() as session:
            rows = session.execute(
                select(ItemRow.id, ItemRow.customer_id, ItemRow.invoice_ref, ItemRow.residual).where(
                    ItemRow.tenant == tenant
                )
            )
            return [OpenItem(item_id, customer, ref) for item_id, customer, ref, residual in rows if residual]

    def load_portfolio(self, tenant: str, company_currency: str, rates: Mapping[str, Decimal]) -> Portfolio:
        """Rebuild the engine's portfolio of a tenant."""
        with self._store.session() as session:
            customers = CUSTOMERS.load_all(session, tenant, CustomerRow.id)
            items = ITEMS.load_all(session, tenant, ItemRow.customer_id, ItemRow.due_date, ItemRow.id)
            payments = PAYMENTS.load_all(session, tenant, PaymentRow.date, PaymentRow.id)
            promises = PROMISES.load_all(session, tenant, PromiseRow.id)
            plans = PLANS.load_all(session, tenant, PlanRow.id)
        return Portfolio(company_currency, customers, items, payments, promises, plans, dict(rates))

    def derive_settlements(self, tenant: str) -> int:
        """Date fully paid items by the latest payment allocated to them (platforms give only balances)."""
        with self._store.session() as session:
            open_dates = {
                item_id
                for item_id, residual in session.execute(
                    select(ItemRow.id, ItemRow.residual).where(ItemRow.tenant == tenant, ItemRow.settled_on.is_(None))
                )
                if residual == 0
            }
            if not open_dates:
                return 0
            latest: dict[str, date] = {}
            for paid_on, allocations in session.execute(
                select(PaymentRow.date, PaymentRow.allocations).where(PaymentRow.tenant == tenant)
            ):
                for item_id, _amount in json.loads(allocations):
                    if item_id in open_dates and (item_id not in latest or paid_on > latest[item_id]):
                        latest[item_id] = paid_on
            for item_id, paid_on in latest.items():
                session.execute(
                    update(ItemRow).where(ItemRow.tenant == tenant, ItemRow.id == item_id).values(settled_on=paid_on)
                )
            return len(latest)

    def exchange_rates(self, tenant: str) -> dict[str, Decimal]:
        """The newest rate of each currency seen in a tenant's documents (one unit in company currency)."""
        with self._store.session() as session:
            rows = session.scalars(select(ExchangeRateRow).where(ExchangeRateRow.tenant == tenant))
            return {row.currency: row.rate for row in rows}

    def customer_emails(self, tenant: str) -> dict[str, str | None]:
        """Each customer's email, by id (what a push needs, without loading the whole portfolio)."""
        with self._store.session() as session:
            rows = session.execute(select(CustomerRow.id, CustomerRow.email).where(CustomerRow.tenant == tenant))
            return {customer_id: email for customer_id, email in rows}

    def pay_links(self, tenant: str, item_ids: Sequence[str]) -> dict[str, str]:
        """The stored pay link of each of these items that has one."""
        links: dict[str, str] = {}
        with self._store.session() as session:
            if len(item_ids) > 10 * _CHUNK:  # most of a ledger: one reading of the tenant's links, not hundreds
                asked = set(item_ids)
                rows = session.execute(select(PayLinkRow.item_id, PayLinkRow.url).where(PayLinkRow.tenant == tenant))
                return {item_id: url for item_id, url in rows if item_id in asked}
            for start in range(0, len(item_ids), _CHUNK):
                chunk = list(item_ids[start : start + _CHUNK])
                rows = session.execute(
                    select(PayLinkRow.item_id, PayLinkRow.url).where(
                        PayLinkRow.tenant == tenant, PayLinkRow.item_id.in_(chunk)
                    )
                )
                links.update({item_id: url for item_id, url in rows})
        return links

    def save_pay_links(self, tenant: str, links: Mapping[str, str]) -> None:
        """Keep the pay links a platform gave (a newer one replaces the older)."""
        rows = [{"tenant": tenant, "item_id": item_id, "url": url[:2000], "fetched_at": _now()}
                for item_id, url in links.items()]
        if rows:
            self._store._upsert(PayLinkRow, rows, ("tenant", "item_id"))

    def tenants(self) -> list[str]:
        """Return every tenant that has customers in the store."""
        with self._store.session() as session:
            return list(session.scalars(select(CustomerRow.tenant).distinct().order_by(CustomerRow.tenant)))

    def save_promise(self, tenant: str, promise: Promise) -> None:
        """Insert or update a promise to pay."""
        self._store._upsert(PromiseRow, [PROMISES.row(tenant, promise)], ("tenant", "id"))

    def save_plan(self, tenant: str, plan: PaymentPlan) -> None:
        """Insert or update a payment plan with its schedule."""
        self._store._upsert(PlanRow, [PLANS.row(tenant, plan)], ("tenant", "id"))

    def upsert_customers(self, tenant: str, customers: Iterable[Customer]) -> int:
        """Insert or update customers by (tenant, id)."""
        rows = [CUSTOMERS.row(tenant, c) for c in customers]
        return self._store._upsert(CustomerRow, rows, ("tenant", "id")) if rows else 0

    def upsert_items(self, tenant: str, items: Iterable[ReceivableItem]) -> int:
        """Insert or update receivable items by (tenant, id)."""
        rows = [ITEMS.row(tenant, i) for i in items]
        return self._store._upsert(ItemRow, rows, ("tenant", "id")) if rows else 0

    def upsert_payments(self, tenant: str, payments: Iterable[Payment]) -> int:
        """Insert or update payments (with their allocations) by (tenant, id)."""
        rows = [PAYMENTS.row(tenant, p) for p in payments]
        return self._store._upsert(PaymentRow, rows, ("tenant", "id")) if rows else 0


class HistoryRepository(_Repository):
    """The contact history the engine reads (every action recorded, as a contact event)."""

    def record_events(self, tenant: str, events: Iterable[ContactEvent]) -> int:
        """Insert or update contact events by (tenant, id)."""
        rows = [EVENTS.row(tenant, e) for e in events]
        return self._store._upsert(ContactEventRow, rows, ("tenant", "id")) if rows else 0

    def load_history(self, tenant: str) -> History:
        """Rebuild the contact history of a tenant, oldest first."""
        with self._store.session() as session:
            return History(events=EVENTS.load_all(session, tenant, ContactEventRow.at, ContactEventRow.id))


class OutcomesRepository(_Repository):
    """What happens outside the platform, as collectors record it: promises, plans and calls, with their notes."""

    def record_promise(self, tenant: str, promise: Promise, note: str | None = None) -> None:
        """Keep a promise to pay (and the collector's note) in one transaction."""
        with self._store.session() as session:
            self._store._upsert(PromiseRow, [PROMISES.row(tenant, promise)], ("tenant", "id"), session)
            _save_note(session, tenant, "promise", promise.id, promise.customer_id, note)

    def record_plan(self, tenant: str, plan: PaymentPlan, note: str | None = None) -> None:
        """Keep a payment plan with its schedule (and the collector's note) in one transaction."""
        with self._store.session() as session:
            self._store._upsert(PlanRow, [PLANS.row(tenant, plan)], ("tenant", "id"), session)
            _save_note(session, tenant, "plan", plan.id, plan.customer_id, note)

    def cancel(self, tenant: str, kind: str, record_id: str) -> bool:
        """Cancel a promise or a plan (``kind``); False when the tenant has no such record."""
        model: Any = PromiseRow if kind == "promise" else PlanRow
        with self._store.session() as session:
            row = session.get(model, (tenant, record_id))
            if row is None:
                return False
            row.cancelled = True
            return True

    def record_call(
        self,
        tenant: str,
        event: ContactEvent,
        *,
        answers: str | None = None,
        promise: Promise | None = None,
        note: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Keep a call as a contact event with its outcome - the call action it answers (``answers``, its outbox
        key) is then done and never handed over again - with the promise made in it and the note, in one
        transaction."""
        with self._store.session() as session:
            self._store._upsert(ContactEventRow, [EVENTS.row(tenant, event)], ("tenant", "id"), session)
            if answers is not None:
                session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.tenant == tenant, OutboxRow.key == answers, OutboxRow.status == "pending")
                    .values(status="sent", sent_at=at or event.at, external_ref="call log",
                            attempts=OutboxRow.attempts + 1)
                )
            if promise is not None:
                self._store._upsert(PromiseRow, [PROMISES.row(tenant, promise)], ("tenant", "id"), session)
                _save_note(session, tenant, "promise", promise.id, promise.customer_id, note)
            _save_note(session, tenant, "call", event.id, event.customer_id, note)

    def open_calls(
        self, tenant: str, customer_id: str, as_of: datetime, channel: str = "call"
    ) -> list[tuple[ContactEvent, str | None]]:
        """The customer's call (or ``channel``: visit) actions known by ``as_of`` that have no outcome yet, newest
        first, each with its outbox status (None for a call that is not in the outbox)."""
        with self._store.session() as session:
            rows = session.scalars(
                select(ContactEventRow).where(
                    ContactEventRow.tenant == tenant,
                    ContactEventRow.customer_id == customer_id,
                    ContactEventRow.channel == channel,
                    ContactEventRow.outcome == "sent",
                )
            )
            events = [event for event in (EVENTS.load(row) for row in rows) if event.known_at <= as_of]
            keys = [event.id for event in events]
            statuses = {
                key: status
                for key, status in session.execute(
                    select(OutboxRow.key, OutboxRow.status).where(OutboxRow.tenant == tenant, OutboxRow.key.in_(keys))
                )
            }
        events.sort(key=lambda event: (event.known_at, event.at, event.id), reverse=True)
        return [(event, statuses.get(event.id)) for event in events]

    def notes(self, tenant: str, kind: str) -> dict[str, str]:
        """The notes on a tenant's promises, plans or calls (``kind``), by record id."""
        with self._store.session() as session:
            rows = session.execute(
                select(NoteRow.record_id, NoteRow.text).where(NoteRow.tenant == tenant, NoteRow.kind == kind)
            )
            return {record_id: text for record_id, text in rows}


def _save_note(session: Session, tenant: str, kind: str, record_id: str, customer_id: str, text: str | None) -> None:
    if not text:
        return
    row = session.get(NoteRow, (tenant, kind, record_id))
    if row is None:
        session.add(NoteRow(tenant=tenant, kind=kind, record_id=record_id, customer_id=customer_id,
                            text=text[:4000], created_at=_now()))
    else:
        row.text = text[:4000]


class OutboxRepository(_Repository):
    """Actions recorded under their key, claimed, delivered or failed."""

    def enqueue_actions(
        self,
        tenant: str,
        run_id: int | None,
        actions: Iterable[Action],
        as_of: datetime,
        context: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[str]:
        """Record actions under their unique key, and as contact events planned at ``as_of``; return the new keys.

        ``context`` adds what a platform push shows beside the action, by customer (stage, risk, promises).
        """
        actions = list(actions)
        if not actions:
            return []
        with self._store.session() as session:
            existing = _recorded_keys(session, tenant, [a.key for a in actions])
            new = [a for a in actions if a.key not in existing]
            now = _now()
            contexts = {customer: to_jsonable(values) for customer, values in (context or {}).items()}
            outbox = [
                {
                    "tenant": tenant,
                    "key": action.key,
                    "run_id": run_id,
                    "customer_id": action.customer_id,
                    "channel": action.channel,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "not_before": action.not_before,
                    "payload": json.dumps({**to_jsonable(action), "context": contexts.get(action.customer_id, {})}),
                }
                for action in new
            ]
            events = [EVENTS.row(tenant, action.as_event(as_of)) for action in new]
            for start in range(0, len(outbox), _BULK):
                session.execute(insert(OutboxRow), outbox[start : start + _BULK])
                session.execute(insert(ContactEventRow), events[start : start + _BULK])
        return [a.key for a in new]

    def unrecorded_keys(self, tenant: str, keys: Sequence[str]) -> list[str]:
        """The keys (in their order) of actions not yet in the outbox."""
        with self._store.session() as session:
            recorded = _recorded_keys(session, tenant, keys)
        return [key for key in keys if key not in recorded]

    def pending_actions(self, tenant: str, limit: int = 1000, due_by: datetime | None = None) -> list[dict[str, Any]]:
        """Return pending outbox entries (optionally only those due by an instant), oldest first."""
        with self._store.session() as session:
            query = select(OutboxRow).where(OutboxRow.tenant == tenant, OutboxRow.status == "pending")
            if due_by is not None:
                query = query.where(OutboxRow.not_before <= due_by)
            rows = session.scalars(query.order_by(OutboxRow.not_before, OutboxRow.key).limit(limit))
            return [{"key": r.key, "attempts": r.attempts, **json.loads(r.payload)} for r in rows]

    def mark_sent_many(self, tenant: str, sent: Sequence[tuple[str, str | None]], at: datetime) -> None:
        """Mark claimed entries sent, each with its platform reference, in one transaction (one statement per
        reference and chunk of keys: a worklist's entries share one reference)."""
        if not sent:
            return
        by_reference: dict[str | None, list[str]] = {}
        for key, reference in sent:
            by_reference.setdefault(reference, []).append(key)
        with self._store.session() as session:
            for reference, keys in by_reference.items():
                for start in range(0, len(keys), _CHUNK):
                    session.execute(
                        update(OutboxRow)
                        .where(OutboxRow.tenant == tenant, OutboxRow.key.in_(keys[start : start + _CHUNK]))
                        .values(status="sent", sent_at=at, external_ref=reference, attempts=OutboxRow.attempts + 1)
                    )

    def mark_failed(self, tenant: str, key: str, error: str, retryable: bool, max_attempts: int = 8) -> None:
        """Record a failed attempt and release its claim: pending again if retryable (up to ``max_attempts``)."""
        with self._store.session() as session:
            row = _outbox_row(session, tenant, key)
            row.attempts += 1
            row.last_error = error[:2000]
            row.claimed_at = None
            row.status = "pending" if retryable and row.attempts < max_attempts else "failed"

    def count_due_actions(self, tenant: str, due_by: datetime) -> int:
        """How many recorded actions wait to be delivered by an instant."""
        with self._store.session() as session:
            return int(
                session.scalar(
                    select(func.count()).where(
                        OutboxRow.tenant == tenant, OutboxRow.status == "pending", OutboxRow.not_before <= due_by
                    )
                )
                or 0
            )

    def claim_actions(
        self,
        tenant: str,
        *,
        due_by: datetime,
        limit: int = 100,
        lease: timedelta = timedelta(minutes=15),
        exclude: Collection[str] = (),
    ) -> list[OutboxEntry]:
        """Claim due entries for sending (status ``sending``); an entry claimed longer than ``lease`` ago by a
        worker that died is claimed again with ``reclaimed`` set, so the sender checks before sending twice.
        Keys in ``exclude`` (tried already by this run) are left alone."""
        now = _now()
        columns = (OutboxRow.key, OutboxRow.attempts, OutboxRow.status, OutboxRow.payload)
        with self._store.session() as session:
            # two queries, each along the index (tenant, status, not_before, key): entries of a dead worker
            # first, then the pending ones in the order they fall due
            stale = (
                select(*columns)
                .where(OutboxRow.tenant == tenant, OutboxRow.status == "sending", OutboxRow.claimed_at < now - lease)
                .order_by(OutboxRow.not_before, OutboxRow.key)
                .limit(limit)
            )
            due = (
                select(*columns)
                .where(OutboxRow.tenant == tenant, OutboxRow.status == "pending", OutboxRow.not_before <= due_by)
                .order_by(OutboxRow.not_before, OutboxRow.key)
                .limit(limit)
            )
            if exclude:
                stale = stale.where(OutboxRow.key.not_in(list(exclude)))
                due = due.where(OutboxRow.key.not_in(list(exclude)))
            if self._store.engine.dialect.name == "postgresql":
                stale, due = stale.with_for_update(skip_locked=True), due.with_for_update(skip_locked=True)
            rows = list(session.execute(stale))
            if len(rows) < limit:
                rows += list(session.execute(due.limit(limit - len(rows))))
            claimed: list[OutboxEntry] = []
            for key, attempts, status, payload in rows:
                entry = {"key": key, "attempts": attempts, "reclaimed": status == "sending", **json.loads(payload)}
                claimed.append(cast(OutboxEntry, entry))
            keys = [entry["key"] for entry in claimed]
            for start in range(0, len(keys), _CHUNK):
                session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.tenant == tenant, OutboxRow.key.in_(keys[start : start + _CHUNK]))
                    .values(status="sending", claimed_at=now)
                )
            return claimed

    def outbox_counts(self, tenant: str) -> dict[str, int]:
        """Return how many outbox entries are in each status."""
        with self._store.session() as session:
            rows = session.execute(
                select(OutboxRow.status, func.count()).where(OutboxRow.tenant == tenant).group_by(OutboxRow.status)
            )
            return {status: count for status, count in rows}


class SyncRepository(_Repository):
    """What a sync writes beside the rows: pages with their bookmarks, and quarantined records."""

    def write_page(self, tenant: str, stream: str, changes: Changes, bookmark: str) -> None:
        """Write a synced page - rows, deletions, quarantined records - and its bookmark in one transaction."""
        with self._store.session() as session:
            _write_records(session, tenant, CUSTOMERS, changes.customers)
            _write_records(session, tenant, ITEMS, changes.items)
            _write_records(session, tenant, PAYMENTS, changes.payments)
            for model, ids in (
                (CustomerRow, changes.deleted_customers),
                (ItemRow, changes.deleted_items),
                (PaymentRow, changes.deleted_payments),
            ):
                for start in range(0, len(ids), _CHUNK):
                    chunk = ids[start : start + _CHUNK]
                    session.execute(delete(model).where(model.tenant == tenant, model.id.in_(chunk)))
            refs = [record_ref for record_ref, _raw, _reason in changes.quarantined]
            if refs:  # a record quarantined again (by this stream or another) replaces its older entry
                session.execute(
                    delete(QuarantineRow).where(QuarantineRow.tenant == tenant, QuarantineRow.record_ref.in_(refs))
                )
            for record_ref, raw, reason in changes.quarantined:
                session.add(_quarantine_row(tenant, stream, record_ref, raw, reason))
            links = [{"tenant": tenant, "item_id": item_id, "url": url[:2000], "fetched_at": _now()}
                     for item_id, url in changes.pay_links.items()]
            if links:
                self._store._upsert(PayLinkRow, links, ("tenant", "item_id"), session)
            for currency, (on, rate) in changes.rates.items():
                row = session.get(ExchangeRateRow, (tenant, currency))
                if row is None:
                    session.add(ExchangeRateRow(tenant=tenant, currency=currency, on=on, rate=rate))
                elif on >= row.on:
                    row.on, row.rate = on, rate
            self._store.sync.set_bookmark(tenant, stream, bookmark, session)

    def get_bookmark(self, tenant: str, stream: str) -> str | None:
        """Return the saved position of a stream, if any."""
        with self._store.session() as session:
            row = session.get(BookmarkRow, (tenant, stream))
            return row.value if row else None

    def set_bookmark(self, tenant: str, stream: str, value: str, session: Session | None = None) -> None:
        """Move a stream's bookmark (inside the caller's transaction when a session is given)."""
        if session is None:
            with self._store.session() as own:
                self._store.sync.set_bookmark(tenant, stream, value, own)
            return
        row = session.get(BookmarkRow, (tenant, stream))
        if row is None:
            session.add(BookmarkRow(tenant=tenant, stream=stream, value=value, updated_at=_now()))
        else:
            row.value, row.updated_at = value, _now()

    def delete_bookmark(self, tenant: str, stream: str) -> None:
        """Forget a stream's position (its next sync starts over)."""
        with self._store.session() as session:
            session.execute(delete(BookmarkRow).where(BookmarkRow.tenant == tenant, BookmarkRow.stream == stream))

    def bookmarks(self, tenant: str) -> dict[str, str]:
        """Every stream's bookmark of a tenant."""
        with self._store.session() as session:
            rows = session.execute(select(BookmarkRow.stream, BookmarkRow.value).where(BookmarkRow.tenant == tenant))
            return {name: value for name, value in rows}

    def quarantined(self, tenant: str) -> list[dict[str, Any]]:
        """Return the quarantined records of a tenant."""
        with self._store.session() as session:
            rows = session.scalars(
                select(QuarantineRow).where(QuarantineRow.tenant == tenant).order_by(QuarantineRow.id)
            )
            return [
                {"stream": r.stream, "record": r.record_ref, "reason": r.reason, "raw": json.loads(r.raw)} for r in rows
            ]


class RunsRepository(_Repository):
    """Runs of a tenant: started, finished, failed or abandoned."""

    def start_run(self, tenant: str, kind: str, as_of: datetime) -> int:
        """Record the start of a run and return its id."""
        with self._store.session() as session:
            row = RunRow(tenant=tenant, kind=kind, as_of=as_of, started_at=_now(), status="running", stats="{}")
            session.add(row)
            session.flush()
            return row.id

    def finish_run(self, run_id: int, status: str, stats: Mapping[str, Any]) -> None:
        """Record the end of a run with its figures."""
        with self._store.session() as session:
            row = session.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"no run {run_id}")
            row.status, row.finished_at, row.stats = status, _now(), json.dumps(to_jsonable(stats))

    def abandon_runs(self, tenant: str) -> int:
        """Mark the tenant's runs still 'running' as 'abandoned'; call it holding the tenant's lock (their
        process died: a live one would hold the lock)."""
        with self._store.session() as session:
            result = session.execute(
                update(RunRow)
                .where(RunRow.tenant == tenant, RunRow.status == "running")
                .values(status="abandoned", finished_at=_now())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def last_runs(self, tenant: str, count: int = 10) -> list[dict[str, Any]]:
        """Return the newest runs of a tenant."""
        with self._store.session() as session:
            rows = session.scalars(
                select(RunRow).where(RunRow.tenant == tenant).order_by(RunRow.id.desc()).limit(count)
            )
            return [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "as_of": r.as_of.isoformat(),
                    "status": r.status,
                    "started_at": r.started_at.isoformat(),
                    "stats": json.loads(r.stats),
                }
                for r in rows
            ]


class TenantsRepository(_Repository):
    """Connected tenants with their settings and last sync, and the store's own settings."""

    def save_tenant(self, tenant: str, platform: str, settings: Mapping[str, Any]) -> None:
        """Register or update a connected company with its (non-secret) settings."""
        with self._store.session() as session:
            row = session.get(TenantRow, tenant)
            text = json.dumps(to_jsonable(settings), sort_keys=True)
            if row is None:
                session.add(TenantRow(tenant=tenant, platform=platform, settings=text, created_at=_now()))
            else:
                row.platform, row.settings = platform, text

    def tenant_record(self, tenant: str) -> dict[str, Any] | None:
        """A registered tenant with its platform and settings, or None."""
        with self._store.session() as session:
            row = session.get(TenantRow, tenant)
            return None if row is None else _tenant(row)

    def connected_tenants(self, platform: str | None = None) -> list[dict[str, Any]]:
        """Connected companies with their settings, last sync and last error."""
        with self._store.session() as session:
            query = select(TenantRow).order_by(TenantRow.tenant)
            if platform:
                query = query.where(TenantRow.platform == platform)
            return [_tenant(r) for r in session.scalars(query)]

    def mark_synced(self, tenant: str, at: datetime | None, error: str | None = None) -> None:
        """Record the end of a sync (its time when it succeeded, its error otherwise)."""
        with self._store.session() as session:
            row = session.get(TenantRow, tenant)
            if row is None:
                raise StoreError(f"no connected tenant {tenant!r}")
            if at is not None:
                row.last_sync_at = at
            row.last_error = error[:2000] if error else None

    def bank_accounts(self, tenant: str) -> tuple[BankAccount, ...]:
        """Where the tenant's customers pay by transfer, by currency (the one for any currency last)."""
        with self._store.session() as session:
            rows = session.scalars(select(BankAccountRow).where(BankAccountRow.tenant == tenant))
            accounts = [BankAccount(r.currency, r.holder, r.bank_name, r.iban, r.account_number, r.bic) for r in rows]
        return tuple(sorted(accounts, key=lambda a: (not a.currency, a.currency)))

    def save_bank_account(self, tenant: str, account: BankAccount) -> None:
        """Set the tenant's account for a currency (or for any currency), replacing the one it had."""
        values = {"tenant": tenant, "currency": account.currency, "holder": account.holder,
                  "bank_name": account.bank_name, "iban": account.iban, "account_number": account.account_number,
                  "bic": account.bic, "updated_at": _now()}
        self._store._upsert(BankAccountRow, [values], ("tenant", "currency"))

    def remove_bank_account(self, tenant: str, currency: str) -> bool:
        """Forget the tenant's account for a currency; False when it had none."""
        with self._store.session() as session:
            result = session.execute(
                delete(BankAccountRow).where(BankAccountRow.tenant == tenant, BankAccountRow.currency == currency)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def setting(self, name: str) -> str | None:
        """A setting of the store, if set."""
        with self._store.session() as session:
            row = session.get(StoreSettingRow, name)
            return row.value if row else None

    def set_setting_once(self, name: str, value: str) -> str:
        """Set a setting unless it is set already (by this or a concurrent process); return its value."""
        with self._store.session() as session:
            if session.get(StoreSettingRow, name) is None:
                self._store._insert_ignore(session, StoreSettingRow, {"name": name, "value": value})
        return self.setting(name) or value


class WebhooksRepository(_Repository):
    """Verified webhook events, replays refused by event id."""

    def record_webhook_events(self, platform: str, events: Sequence[Mapping[str, Any]]) -> set[str]:
        """Keep a delivery's verified events in one transaction (each a dict with ``event_id``, ``payload``,
        ``status`` and the columns of a webhook event); return the ids that were new (the rest are replays)."""
        if not events:
            return set()
        ids = [str(e["event_id"]) for e in events]
        factory: Any = sqlite.insert if self._store.engine.dialect.name == "sqlite" else postgresql.insert
        with self._store.session() as session:
            seen: set[str] = set()
            for start in range(0, len(ids), _CHUNK):
                seen.update(
                    session.scalars(
                        select(WebhookEventRow.event_id).where(
                            WebhookEventRow.platform == platform,
                            WebhookEventRow.event_id.in_(ids[start : start + _CHUNK]),
                        )
                    )
                )
            rows, new = [], set()
            for event in events:
                event_id = str(event["event_id"])
                if event_id in seen or event_id in new:
                    continue
                new.add(event_id)
                payload = json.dumps(to_jsonable(event["payload"]), ensure_ascii=False)
                rows.append({**event, "platform": platform, "event_id": event_id, "payload": payload,
                             "received_at": _now()})
            for start in range(0, len(rows), _CHUNK):
                session.execute(factory(WebhookEventRow).on_conflict_do_nothing(), rows[start : start + _CHUNK])
            return new

    def webhook_events(self, tenant: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Stored webhook events, oldest first."""
        with self._store.session() as session:
            query = select(WebhookEventRow).order_by(WebhookEventRow.id)
            if tenant:
                query = query.where(WebhookEventRow.tenant == tenant)
            if status:
                query = query.where(WebhookEventRow.status == status)
            return [
                {"id": r.id, "platform": r.platform, "event_id": r.event_id, "tenant": r.tenant, "entity": r.entity,
                 "entity_id": r.entity_id, "operation": r.operation, "status": r.status}
                for r in session.scalars(query)
            ]

    def set_webhook_status(self, ids: Iterable[int], status: str) -> None:
        """Mark webhook events handled (or failed)."""
        with self._store.session() as session:
            session.execute(update(WebhookEventRow).where(WebhookEventRow.id.in_(list(ids))).values(status=status))


# --------------------------------------------------------------------------------------
# Row <-> engine type
# --------------------------------------------------------------------------------------


def _note_write(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """Mark the connection changed when a statement writes a table that decisions depend on."""
    found = _WRITE.match(statement)
    if found is not None and found.group(1).lower() not in _BOOKKEEPING:
        connection.info[CHANGED] = True


def _recorded_keys(session: Session, tenant: str, keys: Sequence[str]) -> set[str]:
    recorded: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        query = select(OutboxRow.key).where(OutboxRow.tenant == tenant, OutboxRow.key.in_(chunk))
        recorded.update(session.scalars(query))
    return recorded


def _tenant(row: TenantRow) -> dict[str, Any]:
    return {
        "tenant": row.tenant,
        "platform": row.platform,
        "settings": json.loads(row.settings),
        "last_sync_at": row.last_sync_at,
        "last_error": row.last_error,
    }


def _outbox_row(session: Session, tenant: str, key: str) -> OutboxRow:
    row = session.get(OutboxRow, (tenant, key))
    if row is None:
        raise StoreError(f"no outbox entry {key!r} for tenant {tenant!r}")
    return row


def _replace_quarantine(session: Session, tenant: str, stream: str, entries: Sequence[tuple[str, Any, str]]) -> None:
    session.execute(delete(QuarantineRow).where(QuarantineRow.tenant == tenant, QuarantineRow.stream == stream))
    rows = [_quarantine_values(tenant, stream, ref, raw, reason) for ref, raw, reason in entries]
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(QuarantineRow), rows[start : start + _CHUNK])


def _close_items(session: Session, tenant: str, ids: list[str], on: date) -> None:
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            update(ItemRow)
            .where(ItemRow.tenant == tenant, ItemRow.id.in_(ids[start : start + _CHUNK]))
            .values(residual=Decimal(0), settled_on=on)
        )


def _quarantine_row(tenant: str, stream: str, record_ref: str, raw: Any, reason: str) -> QuarantineRow:
    return QuarantineRow(**_quarantine_values(tenant, stream, record_ref, raw, reason))


def _quarantine_values(tenant: str, stream: str, record_ref: str, raw: Any, reason: str) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "stream": stream,
        "record_ref": record_ref,
        "raw": json.dumps(to_jsonable(raw), ensure_ascii=False),
        "reason": reason,
        "created_at": _now(),
    }


def _write_records(session: Session, tenant: str, mapping: RowMapping[Any], records: Sequence[Any]) -> None:
    """Upsert a tenant's records of one kind (the last version of each id) in bulk."""
    latest = _last_by_id(records)
    if latest:
        rows = [mapping.values(tenant, record) for record in latest]
        bulk.upsert(session.connection(), mapping.model.__table__, mapping.columns, rows, ("tenant", "id"))


def _last_by_id(records: Sequence[Any]) -> list[Any]:
    """Keep the last version of each record (a page may carry one twice; an upsert takes each key once)."""
    return list({record.id: record for record in records}.values())


CUSTOMERS = RowMapping(Customer, CustomerRow, {"opted_out_channels": NAME_SET, "contact_window": WINDOW})
ITEMS = RowMapping(
    ReceivableItem,
    ItemRow,
    shared=("customer_id", "currency", "issue_date", "due_date", "settled_on", "delivery"),
    same_as={"residual": "amount", "invoice_ref": "id"},
)
PAYMENTS = RowMapping(
    Payment, PaymentRow, {"allocations": ALLOCATIONS}, shared=("customer_id", "currency", "date")
)
PROMISES = RowMapping(Promise, PromiseRow, {"item_ids": IDS})
PLANS = RowMapping(PaymentPlan, PlanRow, {"installments": INSTALMENTS, "item_ids": IDS, "payment_ids": IDS})
EVENTS = RowMapping(ContactEvent, ContactEventRow, {"item_ids": IDS})
