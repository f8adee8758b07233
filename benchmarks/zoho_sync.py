"""Sync a Zoho Books organisation of 5,000 contacts and 50,000 invoices from the local Zoho Books server.

Prints the API calls of the full sync against the minimum number of pages (one call per 200-record
page of each list, at least one per list, and one for the currencies), its wall time split into the
connector's own time and the local server's time (measured inside its request handler), and the
time the organisation's 100 calls a minute make it wait; then the calls and time of the incremental
sync after 100 changes (payments, voids, new invoices). The server is the one the tests use
(tests/fakes/zoho_server.py), reached over HTTP on 127.0.0.1 with httpx, the store a temporary
SQLite file. By default the minute's waits are simulated (the server's and the limiter's clocks move
forward instead of sleeping) and reported apart; ``--real-wait`` sleeps them.

Usage: python benchmarks/zoho_sync.py [--contacts 5000] [--invoices 50000] [--changes 100] [--real-wait]
       [--format json]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


from figures import print_figures  # noqa: E402  (a sibling module: the script's folder is on the path)


def main() -> int:
    """Seed the server, run a full then an incremental sync, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--invoices", type=int, default=50000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--real-wait", action="store_true")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()

    from connectors.common.locks import FileLocks
    from connectors.common.ratelimit import LocalRateLimiter
    from connectors.common.runtime import Runtime
    from connectors.common.secrets import Secret
    from connectors.common.store import Store
    from connectors.common.tokens import Cipher, OAuthToken, TokenStore
    from connectors.pipeline import sync_tenant
    from connectors.zoho.platform import ZohoPlatform
    from connectors.zoho.settings import ZohoSettings
    from tests.fakes.zoho_server import FakeZoho, Limits, generate_ledger

    offset = [timedelta(days=-3)]  # the history is older than the first sync

    def clock() -> datetime:
        return datetime.now(UTC) + offset[0]

    waited = {"seconds": 0.0}

    def sleep(seconds: float) -> None:
        waited["seconds"] += seconds
        if args.real_wait:
            time.sleep(seconds)
        else:
            offset[0] += timedelta(seconds=seconds)

    with tempfile.TemporaryDirectory() as folder, FakeZoho(clock=clock, limits=Limits()) as fake:
        seeded = time.perf_counter()
        made = generate_ledger(fake, contacts=args.contacts, invoices=args.invoices, seed=1)
        seed_s = time.perf_counter() - seeded
        offset[0] = timedelta(0)
        server = {"seconds": 0.0}
        handle = fake._handle

        def timed(request: Any) -> Any:
            started = time.perf_counter()
            try:
                return handle(request)
            finally:
                server["seconds"] += time.perf_counter() - started

        fake._handle = timed  # type: ignore[method-assign]
        store = Store(f"sqlite:///{Path(folder) / 'store.db'}")
        store.migrate()
        limiter = LocalRateLimiter() if args.real_wait else LocalRateLimiter(lambda: clock().timestamp())
        runtime = Runtime(store, FileLocks(Path(folder) / "locks"), limiter, Cipher.generate_key())
        settings = ZohoSettings(organization_id=fake.organization_id, connection="bench", client_id=fake.client_id,
                                client_secret=Secret(fake.client_secret), home_currency="USD",
                                accounts_server=fake.accounts_url, api_domain=fake.url)
        store.tenants.save_tenant(settings.tenant, "zoho", settings.to_record())
        issued = fake.token_set()
        TokenStore(store, runtime.cipher).save(settings.token_key, OAuthToken(
            issued["access_token"], issued["refresh_token"], datetime.now(UTC) + timedelta(minutes=60)))
        platform = ZohoPlatform(runtime, settings, sleep=sleep)

        started = time.perf_counter()
        full = sync_tenant(runtime, platform)
        full_s = time.perf_counter() - started
        full_server_s, full_wait_s = server["seconds"], waited["seconds"]
        minimum = sum(max(1, math.ceil(len(ids) / 200)) for ids in made.values()) + 1
        throttled = sum(1 for c in fake.calls if c["status"] == 429)

        today = datetime.now(UTC).date()
        open_invoices = [i for i in made["invoices"]
                         if fake.record("invoices", i)["status"] in ("sent", "overdue")]
        for n in range(args.changes):
            invoice = fake.record("invoices", open_invoices[n * 7 % len(open_invoices)])
            kind = n % 3
            if kind == 0 and invoice["balance"] > 0:
                fake.add_payment({invoice["invoice_id"]: invoice["balance"]}, today)
            elif kind == 1 and invoice["status"] in ("sent", "overdue"):
                fake.void_invoice(invoice["invoice_id"])
            else:
                fake.add_invoice(invoice["customer_id"], total=250, date=today, due_date=today + timedelta(days=30))
        server["seconds"], waited["seconds"] = 0.0, 0.0
        started = time.perf_counter()
        incremental = sync_tenant(runtime, platform)
        incremental_s = time.perf_counter() - started
        items = len(store.ledger.load_portfolio(settings.tenant, "USD", {}).items)

    figures = {
        "contacts": args.contacts,
        "invoices": args.invoices,
        "seed_server_s": round(seed_s, 1),
        "full_sync_api_calls": full["api_calls"],
        "minimum_pages": minimum,
        "api_calls_over_minimum_pct": round(100 * (full["api_calls"] - minimum) / minimum, 1),
        "throttled_by_server": throttled,
        "full_sync_s": round(full_s, 2),
        "full_sync_server_s": round(full_server_s, 2),
        "full_sync_rate_limit_wait_s": round(full_wait_s, 2),
        "rate_limit_wait": "slept" if args.real_wait else "simulated (not in full_sync_s)",
        "full_sync_connector_s": round(full_s - full_server_s - (full_wait_s if args.real_wait else 0), 2),
        "quarantined": full["quarantined"],
        "changes": args.changes,
        "incremental_api_calls": incremental["api_calls"],
        "incremental_s": round(incremental_s, 2),
        "items_in_store": items,
    }
    print_figures(figures, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
