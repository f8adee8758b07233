"""SQLAlchemy models of the store (the schema itself is owned by the Alembic migrations)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored as its exact text, so no database rounds money (SQLite has no decimal type)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC and read back aware."""

    impl = DateTime()
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes in the store must be timezone-aware")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    """Base of the store's models."""


class CustomerRow(Base):
    """A customer of a tenant."""

    __tablename__ = "customers"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    name: Mapped[str] = mapped_column(String(400))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    mobile: Mapped[str | None] = mapped_column(String(64))
    has_postal_address: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(16))
    credit_limit: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    collector: Mapped[str | None] = mapped_column(String(120))
    strategy: Mapped[str | None] = mapped_column(String(120))
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    opted_out_channels: Mapped[str] = mapped_column(Text, default="[]")
    contact_window: Mapped[str | None] = mapped_column(Text)
    do_not_dun: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_until: Mapped[date | None] = mapped_column(Date)


class ItemRow(Base):
    """A receivable item (one instalment) of a tenant."""

    __tablename__ = "items"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(120), index=True)
    invoice_ref: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    residual: Mapped[Decimal] = mapped_column(ExactDecimal)
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    settled_on: Mapped[date | None] = mapped_column(Date)
    is_credit: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery: Mapped[str] = mapped_column(String(16), default="")


class PaymentRow(Base):
    """A payment with its allocations (JSON list of [item id, amount])."""

    __tablename__ = "payments"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(120), index=True)
    date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    allocations: Mapped[str] = mapped_column(Text, default="[]")


class PromiseRow(Base):
    """A promise to pay."""

    __tablename__ = "promises"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(120), index=True)
    created_on: Mapped[date] = mapped_column(Date)
    promised_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    item_ids: Mapped[str] = mapped_column(Text, default="[]")
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class PlanRow(Base):
    """A payment plan; its schedule is a JSON list of [sequence, due date, amount]."""

    __tablename__ = "plans"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(120), index=True)
    created_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(ExactDecimal)
    installments: Mapped[str] = mapped_column(Text)
    frequency: Mapped[str] = mapped_column(String(16))
    grace_days: Mapped[int] = mapped_column(Integer, default=0)
    item_ids: Mapped[str] = mapped_column(Text, default="[]")
    payment_ids: Mapped[str] = mapped_column(Text, default="[]")
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class ContactEventRow(Base):
    """A contact event: an action sent or scheduled, with its outcome."""

    __tablename__ = "contact_events"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(120), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(120))
    strategy: Mapped[str | None] = mapped_column(String(120))
    variant: Mapped[str | None] = mapped_column(String(120))
    item_ids: Mapped[str] = mapped_column(Text, default="[]")
    outcome: Mapped[str] = mapped_column(String(16), default="sent")
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cost: Mapped[Decimal] = mapped_column(ExactDecimal)
    collector: Mapped[str | None] = mapped_column(String(120))
    planned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutboxRow(Base):
    """An action recorded under its unique business key before it is sent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "tenant", "status", "not_before", "key"),)
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    external_ref: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BookmarkRow(Base):
    """How far a stream of a tenant has been synced."""

    __tablename__ = "bookmarks"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class QuarantineRow(Base):
    """A record that could not be loaded, kept with the reason."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(120), index=True)
    stream: Mapped[str] = mapped_column(String(64))
    record_ref: Mapped[str] = mapped_column(String(200))
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RunRow(Base):
    """One run (import, plan, sync) with its figures."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    stats: Mapped[str] = mapped_column(Text, default="{}")


class TenantRow(Base):
    """A connected company (QuickBooks realm, Xero tenant, Zoho organisation) and its settings (no secrets)."""

    __tablename__ = "tenants"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    settings: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class TokenRow(Base):
    """A tenant's OAuth token, encrypted; ``version`` grows with every refresh."""

    __tablename__ = "tokens"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookEventRow(Base):
    """A verified webhook delivery, kept before anything is enqueued (replays are refused by event id)."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("platform", "event_id", name="uq_webhook_events_platform_event"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    tenant: Mapped[str | None] = mapped_column(String(120), index=True)
    entity: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(120))
    operation: Mapped[str | None] = mapped_column(String(32))
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="received")
    payload: Mapped[str] = mapped_column(Text)


class ExchangeRateRow(Base):
    """The newest rate a platform used for a currency: one unit in the company currency."""

    __tablename__ = "exchange_rates"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    on: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal)


class PayLinkRow(Base):
    """Where the customer pays an item online (Xero's online invoice, Zoho's payment link), as the platform gave it."""

    __tablename__ = "pay_links"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StoreSettingRow(Base):
    """A setting of the store itself (the default tenant of `run --ledger`), set once."""

    __tablename__ = "store_settings"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class NoteRow(Base):
    """What a collector wrote about a promise, a plan or a call (``kind``), by the record's id."""

    __tablename__ = "notes"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BankAccountRow(Base):
    """Where a tenant's customers pay by transfer, per currency ("" for any currency)."""

    __tablename__ = "bank_accounts"
    tenant: Mapped[str] = mapped_column(String(120), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    bank_name: Mapped[str] = mapped_column(String(200))
    iban: Mapped[str | None] = mapped_column(String(34))
    account_number: Mapped[str | None] = mapped_column(String(64))
    bic: Mapped[str | None] = mapped_column(String(11))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
