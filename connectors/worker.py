"""The Celery app and its thin tasks: tenant ids in, idempotent bodies in ``connectors.pipeline``.

Settings come from the environment:

- ``ODOO_COLLECTIONS_BROKER_URL`` (or ``ODOO_COLLECTIONS_REDIS_URL``): the broker, Redis for real
  deployments (the SQLAlchemy and filesystem transports can lose a message when a worker dies);
- ``ODOO_COLLECTIONS_QUEUE_SYNC`` / ``ODOO_COLLECTIONS_QUEUE_ACT`` / ``ODOO_COLLECTIONS_QUEUE_WEBHOOKS``:
  queue names (default ``collections.sync``, ``collections.act``, ``collections.webhooks``);
- ``ODOO_COLLECTIONS_VISIBILITY_TIMEOUT``: seconds before Redis hands an unacknowledged message of a
  dead worker to another one (default 3600; no countdown here is longer);
- ``ODOO_COLLECTIONS_SYNC_EVERY`` (minutes, default 15) and ``ODOO_COLLECTIONS_RUN_AT`` (UTC hour of the
  daily plan-and-act, default 6) for the beat schedule;
- ``ODOO_COLLECTIONS_POLICY``: the policy file (the default policy otherwise).

Tasks acknowledge late and are rejected back to the queue when their worker dies, so a killed
worker's task runs again elsewhere: every body is idempotent (bookmarks move after commit, actions
are recorded under their key and claimed before they are sent). A tenant busy in another worker
makes the task retry later instead of waiting.
"""

from __future__ import annotations

import logging
import os
import random
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from celery import Celery
from celery.schedules import crontab

from collections_engine.defaults import default_policy
from collections_engine.errors import InputError
from collections_engine.policy import Policy, policy_from_json

from .common.errors import FatalError, LockedError, QuotaExhaustedError, RetryableError
from .common.runtime import Runtime
from .files.platform import LedgerPlatform
from .files.settings import FileSettings
from .pipeline import RunOptions, run_tenant, sync_after_webhook
from .pipeline import sync_tenant as sync_step
from .registry import open_platform, platforms

_logger = logging.getLogger(__name__)


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _transport_options(visibility_timeout: int) -> dict[str, int]:
    """Redis hands a dead worker's unacknowledged task to another after ``visibility_timeout`` seconds."""
    short = visibility_timeout < 60
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 3)),
        "unacked_restore_throttle": 1 if short else 10,
    }


QUEUE_SYNC = _env("ODOO_COLLECTIONS_QUEUE_SYNC", "collections.sync")
QUEUE_ACT = _env("ODOO_COLLECTIONS_QUEUE_ACT", "collections.act")
QUEUE_WEBHOOKS = _env("ODOO_COLLECTIONS_QUEUE_WEBHOOKS", "collections.webhooks")
VISIBILITY_TIMEOUT = int(_env("ODOO_COLLECTIONS_VISIBILITY_TIMEOUT", "3600"))
BROKER_URL = os.environ.get("ODOO_COLLECTIONS_BROKER_URL") or os.environ.get("ODOO_COLLECTIONS_REDIS_URL")

app = Celery("odoo_collections", broker=BROKER_URL or "memory://", backend=BROKER_URL or None)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    result_expires=24 * 3600,
    task_default_queue=QUEUE_SYNC,
    task_routes={
        "odoo_collections.sync_tenant": {"queue": QUEUE_SYNC},
        "odoo_collections.plan_and_act": {"queue": QUEUE_ACT},
        "odoo_collections.run_ledger": {"queue": QUEUE_ACT},
        "odoo_collections.handle_webhook": {"queue": QUEUE_WEBHOOKS},
        "odoo_collections.dispatch": {"queue": QUEUE_SYNC},
    },
    broker_transport_options=_transport_options(VISIBILITY_TIMEOUT),
    broker_connection_retry_on_startup=True,
    beat_schedule={
        "sync-every-tenant": {
            "task": "odoo_collections.dispatch",
            "schedule": 60.0 * int(_env("ODOO_COLLECTIONS_SYNC_EVERY", "15")),
            "args": ("sync",),
        },
        "plan-and-act-every-tenant": {
            "task": "odoo_collections.dispatch",
            "schedule": crontab(minute="0", hour=_env("ODOO_COLLECTIONS_RUN_AT", "6")),
            "args": ("act",),
        },
    },
)

_runtime: Runtime | None = None


def runtime() -> Runtime:
    """This worker process's runtime (store, locks, rate limits), built once from the environment."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_env()
    return _runtime


def load_policy() -> Policy:
    """The policy file named by ODOO_COLLECTIONS_POLICY, or the default policy."""
    path = os.environ.get("ODOO_COLLECTIONS_POLICY")
    return policy_from_json(Path(path).read_text(encoding="utf-8")) if path else default_policy()


def _retry_later(task: Any, err: Exception) -> Any:
    """Retry a busy or throttled tenant with a jittered delay well under the visibility timeout; a tenant whose
    daily quota is spent waits for its reset in steps under that timeout, as long as it takes."""
    if isinstance(err, QuotaExhaustedError):
        wait = min(err.retry_after or 3600.0, 0.8 * VISIBILITY_TIMEOUT)
        return task.retry(exc=err, countdown=wait + random.uniform(0, 30), max_retries=None)
    base = 30 if isinstance(err, LockedError) else min(600, 30 * 2 ** task.request.retries)
    return task.retry(exc=err, countdown=base + random.uniform(0, base / 2), max_retries=20)


@app.task(name="odoo_collections.sync_tenant", bind=True)
def sync_tenant(self: Any, tenant: str, full: bool = False) -> dict[str, Any]:
    """Sync one tenant from its bookmarks."""
    rt = runtime()
    try:
        return sync_step(rt, open_platform(rt, tenant), full=full)
    except (LockedError, RetryableError) as err:
        raise _retry_later(self, err) from err
    except FatalError as err:
        _logger.error("%s: sync failed: %s", tenant, err)
        return {"tenant": tenant, "error": str(err)}


@app.task(name="odoo_collections.plan_and_act", bind=True)
def plan_and_act(self: Any, tenant: str, as_of: str | None = None) -> dict[str, Any]:
    """Plan one tenant from what its syncs stored and push its due actions: ``run --no-sync``, on a worker."""
    rt = runtime()
    moment = datetime.fromisoformat(as_of) if as_of else datetime.now(timezone.utc).replace(microsecond=0)
    try:
        outcome = run_tenant(rt, open_platform(rt, tenant), load_policy(), moment, options=RunOptions(sync=False))
        return outcome.summary()
    except (LockedError, RetryableError) as err:
        raise _retry_later(self, err) from err
    except FatalError as err:
        _logger.error("%s: plan and act failed: %s", tenant, err)
        return {"tenant": tenant, "error": str(err)}


@app.task(name="odoo_collections.run_ledger", bind=True)
def run_ledger(self: Any, tenant: str, path: str, as_of: str | None = None, currency: str = "EUR",
               rates: dict[str, str] | None = None, mapping: str | None = None) -> dict[str, Any]:
    """Import one company's ledger file and plan it: ``run --ledger FILE --tenant files:NAME``, on a worker.

    The file must be readable by the worker (a shared folder). The new actions are recorded, not handed
    over: they wait in the outbox for ``run --tenant files:NAME --no-sync [--worklist FILE]``, whose output
    people read (a worker has no one to hand a worklist to). A file that would close too many open items
    is refused, as ``run`` refuses it without ``--allow-closing``."""
    rt = runtime()
    moment = datetime.fromisoformat(as_of) if as_of else datetime.now(timezone.utc).replace(microsecond=0)
    settings = FileSettings(path=Path(path), tenant=tenant, company_currency=currency.upper(),
                            mapping_path=Path(mapping) if mapping else None)
    known = {code: Decimal(rate) for code, rate in (rates or {}).items()}
    try:
        outcome = run_tenant(rt, LedgerPlatform(settings), load_policy(), moment, known,
                             options=RunOptions(deliver=False))
        return {**outcome.summary(), "timings": outcome.timings}
    except (LockedError, RetryableError) as err:
        raise _retry_later(self, err) from err
    except OSError as err:
        _logger.error("%s: cannot read %s: %s", tenant, path, err.strerror or err)
        return {"tenant": tenant, "error": f"cannot read {path}: {err.strerror or err}"}
    except (FatalError, InputError) as err:
        _logger.error("%s: ledger run failed: %s", tenant, err)
        return {"tenant": tenant, "error": str(err)}


@app.task(name="odoo_collections.handle_webhook", bind=True)
def handle_webhook(self: Any, tenant: str) -> dict[str, Any]:
    """Sync what a webhook said changed (CDC picks up every change since the last sync), then mark it handled."""
    rt = runtime()
    try:
        return sync_after_webhook(rt, open_platform(rt, tenant))
    except (LockedError, RetryableError) as err:
        raise _retry_later(self, err) from err


@app.task(name="odoo_collections.dispatch")
def dispatch(kind: str) -> int:
    """Fan out one task per connected tenant of a scheduled platform (beat calls this; new tenants need no
    restart; ledger files are run by hand)."""
    task = sync_tenant if kind == "sync" else plan_and_act
    scheduled = {name for name, spec in platforms().items() if spec.scheduled}
    tenants = [t["tenant"] for t in runtime().store.tenants.connected_tenants() if t["platform"] in scheduled]
    for tenant in tenants:
        task.delay(tenant)
    return len(tenants)
