"""One pipeline for every tenant and every command: sync -> plan -> deliver.

``odoo-collections run`` (a ledger file or a connected platform), ``act``, and the Celery tasks
all call :func:`run_tenant` with the same :class:`RunOptions`; only the platform differs. A dry
run takes the same path with two differences: nothing is recorded (the plan is not written to
the outbox, a file's import is previewed, not stored) and the deliverer is never opened, so a
dry run sends nothing and makes no write request to any platform.

A run keeps its outcome under the fingerprint of its inputs (``connectors.common.runcache``); the next run
with the same fingerprint - nothing written to the store since, same policy, ``as_of``, rates and options -
syncs and delivers as usual but takes the decisions, aging, KPIs and prediction from there instead of
loading, planning and recording again: they would be the same, and nothing would be new. A dry run neither
reads nor writes that cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from collections_engine.aging import AgingReport, age_items
from collections_engine.decisions import CreditHold, Decisions
from collections_engine.engine import local_today
from collections_engine.errors import InputError
from collections_engine.forecast import PaymentOutlook, payment_outlook
from collections_engine.kpis import KpiReport, compute_kpis
from collections_engine.policy import Policy
from collections_engine.prediction import PredictionSettings
from collections_engine.types import Customer, History, Portfolio

from .common.banking import BankAccount
from .common.contract import Platform, SyncOutcome, SyncRequest
from .common.errors import ConnectorError, RetryableError
from .common.locks import LOCK_TTL, Lease
from .common.planning import plan_tenant
from .common.runcache import fingerprint
from .common.runtime import Runtime

_logger = logging.getLogger(__name__)
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class RunOptions:
    """How a tenant is run; the same for every platform."""

    dry_run: bool = False
    sync: bool = True
    """Sync before planning (``act`` and the daily task plan what the last sync stored)."""
    full: bool = False
    deliver: bool = True
    group_by: str | None = None
    batch: int = 100
    on_progress: Progress | None = None
    predict: bool = False
    """Predict each open item's payment (probability late, expected date) and the weekly cash-in."""
    reuse: bool = True
    """Take the last run's outcome when nothing it was computed from changed (never under a dry run)."""


@dataclass(frozen=True)
class Delivery:
    """What the deliver step did (or, under a dry run, would have done)."""

    delivered: int = 0
    failed: int = 0
    due: int = 0
    """Actions due by the run's time that were not delivered before it (a dry run delivers none of them)."""
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutcomeDetail:
    """The bulky part of a run's outcome: one decision per customer, the customers, each open item's prediction."""

    decisions: Decisions
    customers: tuple[Customer, ...]
    pay_links: dict[str, str] = field(default_factory=dict)
    """Where the customer pays each item of today's actions online, when the platform gave a link."""
    invoice_numbers: dict[str, str] = field(default_factory=dict)
    """The invoice number of each item of today's actions: the reference a customer quotes with a transfer."""
    outlook: PaymentOutlook | None = None
    """Payment prediction for the open items and the cash-in by week (with ``RunOptions.predict``)."""


class DeferredDetail:
    """A reused outcome's detail, read from the last run's file only when something is printed from it (a rerun's
    worklist shows no new action, so the terminal needs none of it unless ``--all``, a report or JSON asks)."""

    def __init__(self, load: Callable[[], OutcomeDetail]) -> None:
        self._load = load
        self._detail: OutcomeDetail | None = None

    def loaded(self) -> OutcomeDetail:
        """The detail, read on the first call."""
        if self._detail is None:
            self._detail = self._load()
        return self._detail


@dataclass(frozen=True)
class RunOutcome:
    """What one run produced, ready to print."""

    tenant: str
    platform: str
    as_of: datetime
    detail: OutcomeDetail | DeferredDetail
    planned: int
    """How many actions the plan holds for today (new or recorded before)."""
    aging: AgingReport
    kpis: KpiReport
    sync: SyncOutcome | None
    delivery: Delivery
    bank_accounts: tuple[BankAccount, ...] = ()
    """Where the tenant's customers pay by transfer (``odoo-collections bank set``), by currency."""
    fresh_keys: frozenset[str] = frozenset()
    """The actions this run planned that no earlier run had (recorded now, or under a dry run, that would be)."""
    company: str = ""
    """The company's name, as the platform or the ledger gives it (the report's title)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each phase: sync, plan, kpis (with the aging), deliver, predict (or reuse)."""
    predicted: bool = False
    """Whether the outcome has a payment prediction (``outlook``)."""
    outlook_note: str | None = None
    """Why there is no prediction when it was asked for (a history that cannot teach the model)."""
    reused: bool = False
    """Nothing changed since the last run: its outcome was shown again instead of planning again."""
    credit_holds: tuple[tuple[str, CreditHold], ...] = ()
    """The customers on credit hold, largest overdue first, each with its name (kept: a rerun shows them
    without reading the detail)."""

    def _detail(self) -> OutcomeDetail:
        detail = self.detail
        return detail.loaded() if isinstance(detail, DeferredDetail) else detail

    @property
    def decisions(self) -> Decisions:
        """The engine's decisions, one per customer."""
        return self._detail().decisions

    @property
    def customers(self) -> tuple[Customer, ...]:
        """The tenant's customers (names for the worklist and the report)."""
        return self._detail().customers

    @property
    def pay_links(self) -> dict[str, str]:
        """Where the customer pays each item of today's actions online."""
        return self._detail().pay_links

    @property
    def invoice_numbers(self) -> dict[str, str]:
        """The invoice number of each item of today's actions."""
        return self._detail().invoice_numbers

    @property
    def outlook(self) -> PaymentOutlook | None:
        """Payment prediction for the open items and the cash-in by week (with ``RunOptions.predict``)."""
        return self._detail().outlook if self.predicted else None

    @property
    def new_action_keys(self) -> list[str]:
        """The actions this run recorded (none under a dry run, which records nothing)."""
        return [] if self.delivery.dry_run else sorted(self.fresh_keys)

    def summary(self) -> dict[str, Any]:
        """The figures a task returns and a run record keeps."""
        sync = self.sync
        return {
            "tenant": self.tenant,
            "as_of": self.as_of.isoformat(),
            "synced": sync is not None and not sync.skipped,
            "api_calls": sync.api_calls if sync else 0,
            "rejected": len(sync.problems) if sync else 0,
            "closed": len(sync.closed_items) if sync else 0,
            "actions_planned": self.planned,
            "actions_new": len(self.new_action_keys),
            "due": self.delivery.due,
            "delivered": self.delivery.delivered,
            "failed": self.delivery.failed,
            "dry_run": self.delivery.dry_run,
        }


def sync_tenant(
    runtime: Runtime, platform: Platform, *, full: bool = False, on_progress: Progress | None = None
) -> dict[str, Any]:
    """The sync step alone (the `sync` command, the 15-minute task, a webhook's follow-up), as figures."""
    outcome = platform.sync(runtime, SyncRequest(today=runtime.clock().date(), full=full, on_progress=on_progress))
    return {
        "tenant": platform.settings.tenant,
        "api_calls": outcome.api_calls,
        "skipped": outcome.skipped,
        "streams": outcome.figures,
        "quarantined": len(outcome.problems),
        **outcome.details,
    }


def sync_after_webhook(runtime: Runtime, platform: Platform) -> dict[str, Any]:
    """Sync what webhooks said changed (the incremental sync reads every change since the last one), then mark
    the events that were waiting handled; they stay 'received' when the sync fails, for the next try."""
    store, tenant = runtime.store, platform.settings.tenant
    pending = [event["id"] for event in store.webhooks.webhook_events(tenant=tenant, status="received")]
    result = sync_tenant(runtime, platform)
    store.webhooks.set_webhook_status(pending, "handled")
    return {**result, "webhook_events": len(pending)}


def run_tenant(
    runtime: Runtime,
    platform: Platform,
    policy: Policy,
    as_of: datetime,
    rates: Mapping[str, Decimal] | None = None,
    options: RunOptions = RunOptions(),
) -> RunOutcome:
    """Sync, plan and deliver one tenant under its lock (``LockedError`` when another run holds it), recorded
    as a run; a dry run takes no lock and records nothing."""
    if options.dry_run:
        return _execute(runtime, platform, policy, as_of, rates or {}, options, None)
    store, tenant = runtime.store, platform.settings.tenant
    with runtime.locks.hold(f"act:{tenant}", wait=1, ttl=LOCK_TTL) as lease:
        store.runs.abandon_runs(tenant)  # runs left 'running' by a process that died: it no longer holds the lock
        run_id = store.runs.start_run(tenant, "run", as_of)
        try:
            outcome = _execute(runtime, platform, policy, as_of, rates or {}, options, lease)
        except BaseException as err:
            store.runs.finish_run(run_id, "failed", {"error": str(err)[:500] or type(err).__name__})
            raise
        store.runs.finish_run(run_id, "done", outcome.summary())
        return outcome


KEPT = ("planned", "aging", "kpis", "bank_accounts", "company", "predicted", "outlook_note", "credit_holds")
"""What a run keeps for a rerun with nothing changed beside its detail: all but sync, delivery and new actions."""


def _execute(
    runtime: Runtime,
    platform: Platform,
    policy: Policy,
    as_of: datetime,
    rates: Mapping[str, Decimal],
    options: RunOptions,
    lease: Lease | None,
) -> RunOutcome:
    store, tenant = runtime.store, platform.settings.tenant
    synced = None
    clock = _Phases()
    if options.sync:
        request = SyncRequest(today=as_of.date(), full=options.full, dry_run=options.dry_run,
                              on_progress=options.on_progress)
        synced = platform.sync(runtime, request)
    clock.lap("sync")
    known = {**store.ledger.exchange_rates(tenant), **rates}  # rates given by the caller win
    cache = runtime.run_cache if options.reuse and not options.dry_run else None
    if cache is None:
        return _planned(runtime, platform, policy, as_of, known, options, lease, synced, clock)
    before, own_writes = store.revision(), store.own_writes
    key = fingerprint(before, tenant, platform.name, policy, as_of, _run_parts(store, platform, known, options))
    kept = cache.load(before[0], tenant, key)
    if kept is not None:
        clock.lap("reuse")
        detail = DeferredDetail(lambda: cache.load_detail(before[0], tenant, key))
        delivery = _deliver(runtime, platform, as_of, options, lease, None, [])
        clock.lap("deliver")
        return RunOutcome(tenant=tenant, platform=platform.name, as_of=as_of, sync=synced, delivery=delivery,
                          detail=detail, timings=clock.laps, reused=True, **kept)
    outcome = _planned(runtime, platform, policy, as_of, known, options, lease, synced, clock)
    after = store.revision()
    if after[1] - before[1] == store.own_writes - own_writes:  # no other process wrote while this one ran
        key = fingerprint(after, tenant, platform.name, policy, as_of, _run_parts(store, platform, known, options))
        cache.save(after[0], tenant, key, {name: getattr(outcome, name) for name in KEPT}, outcome.detail)
    return outcome


def _run_parts(store: Any, platform: Platform, rates: Mapping[str, Decimal], options: RunOptions) -> dict[str, Any]:
    """What, beside the store, the policy and ``as_of``, a run's outcome depends on."""
    settings = platform.settings
    return {
        "rates": {code: str(rate) for code, rate in sorted(rates.items())},
        "currency": settings.home_currency,
        "company": str(getattr(settings, "tenant_name", "") or ""),
        "group_by": options.group_by,
        "predict": options.predict,
        "bookmarks": store.sync.bookmarks(settings.tenant),
    }


def _planned(
    runtime: Runtime,
    platform: Platform,
    policy: Policy,
    as_of: datetime,
    known: Mapping[str, Decimal],
    options: RunOptions,
    lease: Lease | None,
    synced: SyncOutcome | None,
    clock: _Phases,
) -> RunOutcome:
    """Plan (and record, unless a dry run), age, measure and deliver: a run that could not reuse the last one."""
    store, settings = runtime.store, platform.settings
    tenant = settings.tenant
    portfolio = None
    if synced is not None and synced.preview is not None:
        portfolio = synced.preview(store.ledger.load_portfolio(tenant, settings.home_currency, known))
    planned = plan_tenant(store, tenant, policy, as_of, settings.home_currency, known, dry_run=options.dry_run,
                          portfolio=portfolio)
    decisions, portfolio, history = planned.decisions, planned.portfolio, planned.history
    if planned.new_keys and not options.dry_run:
        # measured on the history as recorded now, with today's actions: as the next run measures it
        history = store.history.load_history(tenant)
    clock.lap("plan")
    kpis = compute_kpis(portfolio, policy, history, as_of, decisions, options.group_by)
    aging = age_items(portfolio.items, policy.aging_buckets, local_today(policy, as_of), portfolio.company_currency,
                      known)
    clock.lap("kpis")
    delivery = _deliver(runtime, platform, as_of, options, lease, decisions, planned.new_keys)
    clock.lap("deliver")
    outlook, outlook_note = _outlook(portfolio, history, policy, as_of) if options.predict else (None, None)
    if options.predict:
        clock.lap("predict")
    item_ids = sorted({item for action in decisions.actions() for item in action.item_ids})
    asked = set(item_ids)
    detail = OutcomeDetail(
        decisions=decisions,
        customers=portfolio.customers,
        invoice_numbers={item.id: item.invoice_ref for item in portfolio.items if item.id in asked},
        pay_links=store.ledger.pay_links(tenant, item_ids),
        outlook=outlook,
    )
    names = {customer.id: customer.name for customer in portfolio.customers}
    held = sorted((d.credit_hold for d in decisions.customers if d.credit_hold is not None),
                  key=lambda hold: (-hold.overdue, hold.customer_id))
    return RunOutcome(
        detail=detail,
        credit_holds=tuple((names.get(hold.customer_id, hold.customer_id), hold) for hold in held),
        planned=len(decisions.actions()),
        predicted=outlook is not None,
        bank_accounts=store.tenants.bank_accounts(tenant),
        timings=clock.laps,
        outlook_note=outlook_note,
        fresh_keys=frozenset(planned.new_keys),
        company=str(getattr(settings, "tenant_name", "") or "") or tenant.removeprefix("files:"),
        tenant=tenant,
        platform=platform.name,
        as_of=as_of,
        aging=aging,
        kpis=kpis,
        sync=synced,
        delivery=delivery,
    )


def _deliver(
    runtime: Runtime,
    platform: Platform,
    as_of: datetime,
    options: RunOptions,
    lease: Lease | None,
    decisions: Decisions | None,
    new_keys: list[str],
) -> Delivery:
    if not options.deliver:
        return Delivery(dry_run=options.dry_run)
    if options.dry_run and decisions is not None:
        return _would_deliver(runtime, platform.settings.tenant, as_of, decisions, new_keys)
    return deliver_due(runtime, platform, as_of, batch=options.batch, lease=lease)


class _Phases:
    """Seconds per phase of a run, each lap from the end of the last."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._mark = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._mark, 3)
        self._mark = now


def _outlook(
    portfolio: Portfolio, history: History, policy: Policy, as_of: datetime
) -> tuple[PaymentOutlook | None, str | None]:
    """Payment prediction on the day items age against, or why there is none."""
    try:
        settings = PredictionSettings.from_policy(policy)
        outlook = payment_outlook(portfolio, history, local_today(policy, as_of), settings)
    except InputError as err:
        return None, str(err)
    return outlook, None


def _would_deliver(
    runtime: Runtime, tenant: str, as_of: datetime, decisions: Decisions, new_keys: list[str]
) -> Delivery:
    """Under a dry run: the recorded actions due now plus the new ones the plan would record, none delivered."""
    new = set(new_keys)
    waiting = runtime.store.outbox.count_due_actions(tenant, as_of)
    fresh = sum(1 for action in decisions.actions() if action.key in new and action.not_before <= as_of)
    return Delivery(due=waiting + fresh, dry_run=True)


def deliver_due(
    runtime: Runtime, platform: Platform, as_of: datetime, *, batch: int = 100, lease: Lease | None = None
) -> Delivery:
    """Claim the actions due by ``as_of`` batch by batch and push each through the platform's deliverer.

    A failed action is released (pending again when the failure is retryable) and not tried again in this
    run; when a whole batch fails the run stops there and the rest waits for the next run.
    """
    store, tenant = runtime.store, platform.settings.tenant
    delivered = failed = 0
    errors: list[str] = []
    failed_keys: set[str] = set()  # released as pending again: not tried twice in one run
    deliverer = platform.deliverer(runtime)
    batch = int(getattr(deliverer, "batch_size", batch))
    try:
        while entries := store.outbox.claim_actions(tenant, due_by=as_of, limit=batch, exclude=failed_keys):
            sent: list[tuple[str, str]] = []
            for entry in entries:
                try:
                    reference = deliverer.deliver(entry)
                except ConnectorError as err:
                    failed_keys.add(entry["key"])
                    store.outbox.mark_failed(tenant, entry["key"], str(err), retryable=isinstance(err, RetryableError))
                    failed += 1
                    if len(errors) < 20:
                        errors.append(f"{entry['key']}: {err}")
                    _logger.warning("%s: action %s failed: %s", tenant, entry["key"], err)
                    continue
                sent.append((entry["key"], reference))
            store.outbox.mark_sent_many(tenant, sent, runtime.clock())
            delivered += len(sent)
            if lease is not None:
                lease.renew()
            if not sent:
                break  # everything in this batch failed: the rest stays pending for the next run
    finally:
        deliverer.close()
    return Delivery(delivered=delivered, failed=failed, due=delivered + failed, errors=errors)
