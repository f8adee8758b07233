"""The sync runner shared by every platform: pages in, store rows out, bookmarks moved after commit.

A platform's stream yields :class:`Page` objects: the raw records of one API response and the
bookmark that is true once that page is stored. The runner maps each record (a record that
cannot be mapped is quarantined with the reason and the rest of the page still loads), then
writes the page's rows, deletions, quarantined records and the new bookmark in ONE transaction.
A crash at any point therefore resumes from the last committed page: nothing is lost, and a
page written twice is an idempotent upsert.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from collections_engine.types import Customer, Payment, ReceivableItem

from .contract import SyncOutcome, SyncRequest
from .errors import ConnectorError
from .locks import LOCK_TTL

if TYPE_CHECKING:
    from .locks import Lease
    from .runtime import Runtime
    from .store import Store

_logger = logging.getLogger(__name__)


class MappingError(ValueError):
    """A platform record that cannot become an engine record; the message says which field and why."""


@dataclass
class Changes:
    """What one page changes in the store."""

    customers: list[Customer] = field(default_factory=list)
    items: list[ReceivableItem] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    deleted_customers: list[str] = field(default_factory=list)
    deleted_items: list[str] = field(default_factory=list)
    deleted_payments: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, Any, str]] = field(default_factory=list)
    rates: dict[str, tuple[date, Decimal]] = field(default_factory=dict)
    pay_links: dict[str, str] = field(default_factory=dict)
    """Where the customer pays an item online, by item id, when the platform's record says."""

    def see_rate(self, currency: str, on: date, rate: Decimal) -> None:
        """Keep the newest rate of a currency seen in the page."""
        if currency not in self.rates or on >= self.rates[currency][0]:
            self.rates[currency] = (on, rate)

    def count(self) -> int:
        """Rows written or deleted."""
        return (
            len(self.customers)
            + len(self.items)
            + len(self.payments)
            + len(self.deleted_customers)
            + len(self.deleted_items)
            + len(self.deleted_payments)
        )


@dataclass(frozen=True)
class Page:
    """The raw records of one API response and the stream's bookmark once they are stored."""

    records: list[dict[str, Any]]
    bookmark: dict[str, Any]


class Stream(Protocol):
    """What a platform syncs: its name, its pages from a bookmark, and how a record maps."""

    @property
    def name(self) -> str:
        """The stream's bookmark name."""

    def pages(self, bookmark: dict[str, Any] | None, started_at: datetime) -> Iterator[Page]:
        """Yield pages from the bookmark on; never set a time bookmark past ``started_at``."""

    def apply(self, record: dict[str, Any], changes: Changes) -> None:
        """Add the record's rows or deletions to ``changes``; raise MappingError when it cannot."""

    def record_ref(self, record: dict[str, Any]) -> str:
        """A short reference of a record for the quarantine (entity and id)."""


@dataclass
class StreamStats:
    """Figures of one stream's sync."""

    pages: int = 0
    records: int = 0
    written: int = 0
    quarantined: int = 0


def map_page(stream: Stream, page: Page) -> Changes:
    """Map a page's records; quarantine those that fail with their reason."""
    changes = Changes()
    for record in page.records:
        try:
            stream.apply(record, changes)
        except (MappingError, KeyError, TypeError, ValueError, ArithmeticError) as err:
            reason = str(err) if isinstance(err, MappingError) else f"{type(err).__name__}: {err}"
            changes.quarantined.append((stream.record_ref(record), record, reason))
            _logger.warning("%s: quarantined %s: %s", stream.name, stream.record_ref(record), reason)
    return changes


def sync_stream(
    store: Store,
    tenant: str,
    stream: Stream,
    started_at: datetime,
    on_page: Callable[[StreamStats], None] | None = None,
) -> StreamStats:
    """Sync one stream from its bookmark to the end; each page and its bookmark commit together."""
    stats = StreamStats()
    saved = store.sync.get_bookmark(tenant, stream.name)
    bookmark = json.loads(saved) if saved else None
    for page in stream.pages(bookmark, started_at):
        changes = map_page(stream, page)
        store.sync.write_page(tenant, stream.name, changes, json.dumps(page.bookmark, sort_keys=True))
        stats.pages += 1
        stats.records += len(page.records)
        stats.written += changes.count()
        stats.quarantined += len(changes.quarantined)
        if on_page is not None:
            on_page(stats)
    return stats


def newest_change(records: list[dict[str, Any]], changed_at: Callable[[Any], datetime | None]) -> datetime | None:
    """The newest change time of a page's records, to the second (a record whose time cannot be read is skipped)."""
    newest = None
    for record in records:
        try:
            moment = changed_at(record) if isinstance(record, dict) else None
        except ValueError:
            moment = None
        if moment is not None and (newest is None or moment > newest):
            newest = moment
    return newest.replace(microsecond=0) if newest else None


def keyset_next(since: datetime | None, page: int, newest: datetime | None) -> tuple[datetime | None, int]:
    """Where a "modified since" listing continues after a full page: from the page's newest change, or - when
    the whole page changed within one second - from the next page of the same second."""
    if newest is not None and (since is None or newest > since):
        return newest, 1
    return since, page + 1


class SyncSession:
    """One sync of a tenant under its lock: bookmarks, streams run page by page, figures per stream."""

    def __init__(self, store: Store, tenant: str, started_at: datetime, lease: Lease, request: SyncRequest) -> None:
        self.store = store
        self.tenant = tenant
        self.started_at = started_at
        self.request = request
        self.figures: dict[str, StreamStats] = {}
        self._lease = lease

    def bookmarks(self) -> dict[str, dict[str, Any]]:
        """Every stream's saved bookmark."""
        return {name: json.loads(value) for name, value in self.store.sync.bookmarks(self.tenant).items()}

    def reset(self, names: Iterable[str]) -> None:
        """Forget these streams' bookmarks (they start again from the beginning)."""
        for name in names:
            self.store.sync.delete_bookmark(self.tenant, name)

    def set_bookmark(self, name: str, value: dict[str, Any]) -> None:
        """Save a stream's bookmark."""
        self.store.sync.set_bookmark(self.tenant, name, json.dumps(value, sort_keys=True))

    def run(self, stream: Stream) -> StreamStats:
        """Sync one stream from its bookmark; the lease is renewed after every page."""
        progress = self.request.on_progress

        def page_done(stats: StreamStats) -> None:
            self._lease.renew()  # a live sync keeps its lock; a killed worker's lock expires after LOCK_TTL
            if progress is not None:
                progress(stream.name, stats.records, None)

        stats = sync_stream(self.store, self.tenant, stream, self.started_at, page_done)
        self.figures[stream.name] = stats
        return stats

    @property
    def pages_read(self) -> int:
        """Pages read so far by this sync."""
        return sum(stats.pages for stats in self.figures.values())


def run_sync(
    runtime: Runtime,
    tenant: str,
    api_calls: Callable[[], int],
    request: SyncRequest,
    body: Callable[[SyncSession], None],
) -> SyncOutcome:
    """Run a platform's sync ``body`` under the tenant's sync lock, then derive settlements and record the sync
    (its error when it fails). ``LockedError`` when another worker is syncing the tenant."""
    store = runtime.store
    started_at = runtime.clock()
    calls_before = api_calls()
    with runtime.locks.hold(f"sync:{tenant}", wait=1, ttl=LOCK_TTL) as lease:
        session = SyncSession(store, tenant, started_at, lease, request)
        try:
            body(session)
        except ConnectorError as err:
            store.tenants.mark_synced(tenant, None, str(err))
            raise
        store.ledger.derive_settlements(tenant)
        store.tenants.mark_synced(tenant, started_at)
    return SyncOutcome(
        figures={name: asdict(stats) for name, stats in session.figures.items()},
        api_calls=api_calls() - calls_before,
        problems=[{"record": ref, "reason": reason} for ref, reason in _quarantined(store, tenant, session)],
        details={"started_at": started_at.isoformat()},
    )


def _quarantined(store: Store, tenant: str, session: SyncSession) -> list[tuple[str, str]]:
    if not any(stats.quarantined for stats in session.figures.values()):
        return []
    return [(entry["record"], entry["reason"]) for entry in store.sync.quarantined(tenant)]
