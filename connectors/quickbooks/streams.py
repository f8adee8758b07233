"""What is synced from QuickBooks, and how far: full pages by Id, then changes through CDC.

Each entity has a full stream (``SELECT * FROM Invoice ORDERBY Id STARTPOSITION n MAXRESULTS
1000``) whose bookmark is the next start position, so a crash resumes on the page it was on.
Once every full stream is done, one ``changes`` stream asks the CDC endpoint for all entities
at once (one API call when fewer than 1,000 objects of each changed) from the start time of the
previous sync - never from a time the sync had not reached - less five minutes for clock skew
and second-precision stamps (re-reading an object is an upsert).
When 1,000 objects or more changed, they are read by query instead. CDC looks back 30 days at most:
an older bookmark starts full syncs again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..common.sync import Changes, Page
from .client import QuickBooksClient
from .mappers import apply_record

ENTITIES = ("Customer", "Invoice", "Payment", "CreditMemo")
STREAM_NAMES = {"Customer": "customers", "Invoice": "invoices", "Payment": "payments", "CreditMemo": "credit_memos"}
CHANGES = "changes"
CDC_LOOKBACK = timedelta(days=30)
CDC_CAP = 1000
# Changes are asked for from a little before the bookmark: QuickBooks' clock and ours may differ, and
# an object changed while the last sync ran must not fall between two windows (re-reading is an upsert).
CLOCK_MARGIN = timedelta(minutes=5)
# Invoices are read with the customer's pay-online link (QuickBooks gives one where QuickBooks Payments takes
# the invoice online): the worklist shows it, at no extra call.
ENTITY_PARAMS: dict[str, dict[str, str]] = {"Invoice": {"include": "invoiceLink"}}


@dataclass
class FullStream:
    """Every object of one entity, page by page in Id order."""

    client: QuickBooksClient
    entity: str

    @property
    def name(self) -> str:
        """Bookmark name."""
        return STREAM_NAMES[self.entity]

    def pages(self, bookmark: dict[str, Any] | None, started_at: datetime) -> Iterator[Page]:
        """Pages from the saved position; the last one marks the stream done as of the sync's start."""
        if bookmark and bookmark.get("done"):
            return
        position = int((bookmark or {}).get("position", 1))
        since = (bookmark or {}).get("since") or started_at.isoformat()
        size = self.client.settings.page_size
        while True:
            response = self.client.query(
                f"SELECT * FROM {self.entity} ORDERBY Id STARTPOSITION {position} MAXRESULTS {size}",
                ENTITY_PARAMS.get(self.entity),
            )
            records = list(response.get(self.entity) or [])
            position += len(records)
            done = len(records) < size
            yield Page(records, {"position": position, "since": since, "done": done})
            if done:
                return

    def apply(self, record: dict[str, Any], changes: Changes) -> None:
        """Map one object."""
        apply_record(self.entity, record, changes, self.client.settings.home_currency)

    def record_ref(self, record: dict[str, Any]) -> str:
        """Entity and id."""
        return f"{self.entity} {record.get('Id') if isinstance(record, dict) else '?'}"


@dataclass
class ChangeStream:
    """Changes and deletions of every entity since the last sync, through CDC."""

    client: QuickBooksClient
    name: str = CHANGES

    def pages(self, bookmark: dict[str, Any] | None, started_at: datetime) -> Iterator[Page]:
        """One CDC call for every entity; an entity that hit CDC's cap is read again by query."""
        if not bookmark:
            return
        since = datetime.fromisoformat(bookmark["since"]) - CLOCK_MARGIN
        changes = self.client.change_data_capture(list(ENTITIES), since)
        records = [{"_entity": entity, **row} for entity, rows in changes.items() for row in rows]
        if len(records) < CDC_CAP:
            yield Page(records, {"since": started_at.isoformat()})
            return
        # A CDC response holds 1,000 objects at most, in no promised order: read every object updated
        # since the bookmark by query instead (deletions beyond the cap wait for a --full sync).
        yield Page(records, {"since": since.isoformat()})
        for entity in ENTITIES:
            yield from self._updated_since(entity, since)
        yield Page([], {"since": started_at.isoformat()})

    def _updated_since(self, entity: str, since: datetime) -> Iterator[Page]:
        stamp = since.astimezone(timezone.utc).isoformat(timespec="seconds")
        position, size = 1, self.client.settings.page_size
        while True:
            response = self.client.query(
                f"SELECT * FROM {entity} WHERE MetaData.LastUpdatedTime >= '{stamp}' "
                f"ORDERBY Id STARTPOSITION {position} MAXRESULTS {size}",
                ENTITY_PARAMS.get(entity),
            )
            rows = list(response.get(entity) or [])
            yield Page([{"_entity": entity, **row} for row in rows], {"since": since.isoformat()})
            if len(rows) < size:
                return
            position += len(rows)

    def apply(self, record: dict[str, Any], changes: Changes) -> None:
        """Map one changed object."""
        entity = record.get("_entity", "")
        apply_record(entity, {k: v for k, v in record.items() if k != "_entity"}, changes,
                     self.client.settings.home_currency)

    def record_ref(self, record: dict[str, Any]) -> str:
        """Entity and id."""
        return f"{record.get('_entity')} {record.get('Id')}"


def plan_streams(
    client: QuickBooksClient, bookmarks: dict[str, dict[str, Any]], now: datetime, full: bool = False
) -> tuple[list[Any], dict[str, dict[str, Any] | None]]:
    """The streams to run, and bookmarks to reset first (a forced full sync, or CDC older than 30 days)."""
    resets: dict[str, dict[str, Any] | None] = {}
    changes = bookmarks.get(CHANGES)
    stale = changes is not None and now - datetime.fromisoformat(changes["since"]) > CDC_LOOKBACK - timedelta(hours=1)
    if full or stale:
        resets = {STREAM_NAMES[entity]: None for entity in ENTITIES}
        resets[CHANGES] = None
    full_streams = [FullStream(client, entity) for entity in ENTITIES]
    return [*full_streams, ChangeStream(client)], resets
