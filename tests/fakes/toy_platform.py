"""A platform that exists only in the tests: registered by an entry point at test time, it proves that a
new platform is one package and one registration, with no edit of shared code."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import click

from collections_engine.types import Customer, ReceivableItem
from connectors.common.contract import OutboxEntry, PlatformSpec, SyncOutcome, SyncRequest
from connectors.common.runtime import Runtime
from connectors.common.sync import Changes, Page, SyncSession, run_sync

DELIVERED: list[OutboxEntry] = []
INVOICES: list[dict[str, Any]] = []


@dataclass(frozen=True)
class ToySettings:
    company: str
    home_currency: str = "EUR"

    @property
    def tenant(self) -> str:
        return f"toy:{self.company}"


@dataclass
class InvoiceStream:
    name: str = "invoices"
    records: list[dict[str, Any]] = field(default_factory=list)

    def pages(self, bookmark: dict[str, Any] | None, started_at: datetime) -> Iterator[Page]:
        yield Page(list(self.records), {"since": started_at.isoformat()})

    def apply(self, record: dict[str, Any], changes: Changes) -> None:
        due = date.fromisoformat(record["due"])
        changes.customers.append(Customer(id=record["customer"], name=record["customer"], email="ap@example.com"))
        changes.items.append(ReceivableItem(
            id=record["id"], customer_id=record["customer"], invoice_ref=record["id"], currency="EUR",
            amount=Decimal(record["amount"]), residual=Decimal(record["amount"]),
            issue_date=due - timedelta(days=30), due_date=due))

    def record_ref(self, record: dict[str, Any]) -> str:
        return f"invoice {record.get('id')}"


class ToyDeliverer:
    def deliver(self, entry: OutboxEntry) -> str:
        DELIVERED.append(entry)
        return f"toy-{len(DELIVERED)}"

    def close(self) -> None:
        return None


class ToyPlatform:
    name = "toy"

    def __init__(self, settings: ToySettings) -> None:
        self.settings = settings
        self.calls = 0

    @property
    def api_calls(self) -> int:
        return self.calls

    def sync(self, runtime: Runtime, request: SyncRequest) -> SyncOutcome:
        def body(session: SyncSession) -> None:
            self.calls += 1
            session.run(InvoiceStream(records=list(INVOICES)))

        return run_sync(runtime, self.settings.tenant, lambda: self.calls, request, body)

    def deliverer(self, runtime: Runtime) -> ToyDeliverer:
        return ToyDeliverer()


@click.command("toy")
@click.option("--company", required=True)
@click.pass_context
def connect_toy(ctx: click.Context, company: str) -> None:
    """Connect a toy company."""
    from connectors.cli_common import open_runtime

    settings = ToySettings(company)
    open_runtime(ctx).store.tenants.save_tenant(settings.tenant, "toy", {"company": company})
    click.echo(settings.tenant)


def _open(runtime: Runtime, tenant: str, record: Mapping[str, Any]) -> ToyPlatform:
    return ToyPlatform(ToySettings(str(record["company"])))


SPEC = PlatformSpec(name="toy", title="Toy", open=_open, connect=connect_toy)
