"""The work of a tenant - sync, plan and act, webhook follow-up - free of Celery, so tasks stay thin.

Each function takes the tenant's lock (``LockedError`` when another worker has it: the task
retries later) and is idempotent: a page written twice is an upsert, an action is recorded once
under its key and claimed before it is sent.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from collections_engine.policy import Policy

from .errors import ConnectorError, RetryableError
from .planning import plan_tenant
from .runtime import Runtime
from .sync import StreamStats, sync_stream

_logger = logging.getLogger(__name__)
# Seconds a tenant's lock outlives a worker that died holding it (work in progress renews it).
LOCK_TTL = int(os.environ.get("ODOO_COLLECTIONS_LOCK_TTL") or 300)


def sync_tenant(
    runtime: Runtime,
    platform: Any,
    *,
    full: bool = False,
    on_page: Callable[[str, StreamStats], None] | None = None,
) -> dict[str, Any]:
    """Sync every stream of a tenant from its bookmarks; return figures per stream and the API calls made."""
    store, tenant = runtime.store, platform.settings.tenant
    started_at = runtime.clock()
    calls_before = platform.api_calls
    with runtime.locks.hold(f"sync:{tenant}", wait=1, ttl=LOCK_TTL) as lease:
        bookmarks = {name: json.loads(value) for name, value in store.bookmarks(tenant).items()}
        streams, resets = platform.streams(bookmarks, started_at, full)
        for name in resets:
            store.delete_bookmark(tenant, name)
            bookmarks.pop(name, None)
        figures: dict[str, Any] = {}
        try:
            for stream in streams:
                if stream.name == "changes":
                    if "changes" not in bookmarks:
                        _start_changes(store, tenant, streams)
                    if any(f["pages"] for f in figures.values()):
                        break  # a full sync ran: changes made meanwhile are read by the next sync, from its start

                def page_done(stats: StreamStats, name: str = stream.name) -> None:
                    lease.renew()  # a live sync keeps its lock; a killed worker's lock expires after LOCK_TTL
                    if on_page is not None:
                        on_page(name, stats)

                figures[stream.name] = asdict(sync_stream(store, tenant, stream, started_at, page_done))
        except ConnectorError as err:
            store.mark_synced(tenant, None, str(err))
            raise
        store.derive_settlements(tenant)
        store.mark_synced(tenant, started_at)
    return {"tenant": tenant, "started_at": started_at.isoformat(), "api_calls": platform.api_calls - calls_before,
            "streams": figures}


def _start_changes(store: Any, tenant: str, streams: list[Any]) -> None:
    """Once every full stream is done, changes are read from the earliest full sync's start."""
    saved = {name: json.loads(value) for name, value in store.bookmarks(tenant).items()}
    full = [saved.get(s.name) or {} for s in streams if s.name != "changes"]
    if all(b.get("done") for b in full):
        store.set_bookmark(tenant, "changes", json.dumps({"since": min(b["since"] for b in full)}))


def plan_and_act(
    runtime: Runtime,
    platform: Any,
    policy: Policy,
    as_of: datetime,
    rates: dict[str, Decimal] | None = None,
    *,
    batch: int = 100,
) -> dict[str, Any]:
    """Plan the tenant, record new actions, then push the due ones to the platform."""
    store, tenant = runtime.store, platform.settings.tenant
    with runtime.locks.hold(f"act:{tenant}", wait=1, ttl=LOCK_TTL) as lease:
        store.abandon_runs(tenant)  # left 'running' by a process that died holding this lock
        known = {**store.exchange_rates(tenant), **(rates or {})}  # rates given by the caller win
        outcome = plan_tenant(store, tenant, policy, as_of, platform.settings.home_currency, known)
        delivered = failed = 0
        deliverer = platform.actions()
        while entries := store.claim_actions(tenant, due_by=as_of, limit=batch):
            for entry in entries:
                try:
                    reference = deliverer.deliver(entry)
                except ConnectorError as err:
                    store.mark_failed(tenant, entry["key"], str(err), retryable=isinstance(err, RetryableError))
                    failed += 1
                    _logger.warning("%s: action %s failed: %s", tenant, entry["key"], err)
                    continue
                store.mark_sent(tenant, entry["key"], runtime.clock(), reference)
                delivered += 1
            lease.renew()
            if failed and delivered == 0:
                break  # everything fails: stop, the entries stay pending for the next run
    return {
        "tenant": tenant,
        "as_of": as_of.isoformat(),
        "actions_planned": len(outcome.decisions.actions()),
        "actions_new": len(outcome.new_keys),
        "delivered": delivered,
        "failed": failed,
    }
