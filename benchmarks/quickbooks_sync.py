"""Sync a QuickBooks company of 5,000 customers and 50,000 invoices from the local QuickBooks server.

Prints the API calls of the full sync against the minimum number of pages (one call per
1,000-object page of each entity, at least one per entity), its wall time, and the calls and time
of the incremental sync after 100 changes (payments, edits, deletions, new invoices). The server
is the one the tests use (tests/fakes/quickbooks_server.py), reached over HTTP on 127.0.0.1
through python-quickbooks and intuit-oauth, with the store in a temporary SQLite file.

Usage: python benchmarks/quickbooks_sync.py [--customers 5000] [--invoices 50000] [--format json]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


from figures import print_figures  # noqa: E402  (a sibling module: the script's folder is on the path)


def main() -> int:
    """Seed the server, run a full then an incremental sync, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--invoices", type=int, default=50000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

    from connectors.common.locks import FileLocks
    from connectors.common.ratelimit import LocalRateLimiter
    from connectors.common.runtime import Runtime
    from connectors.common.secrets import Secret
    from connectors.common.store import Store
    from connectors.common.tokens import Cipher, OAuthToken, TokenStore
    from connectors.pipeline import sync_tenant
    from connectors.quickbooks.platform import QuickBooksPlatform
    from connectors.quickbooks.settings import QuickBooksSettings
    from tests.fakes.quickbooks_server import FakeQuickBooks

    offset = [timedelta(days=-3)]  # the history is older than the first sync

    def clock() -> datetime:
        return datetime.now(UTC) + offset[0]

    with tempfile.TemporaryDirectory() as folder, FakeQuickBooks(clock=clock) as qbo:
        seeded = time.perf_counter()
        customers = [qbo.add_customer(DisplayName=f"Customer {n}", PrimaryEmailAddr={"Address": f"ap{n}@example.com"})
                     for n in range(args.customers)]
        today = datetime.now(UTC).date()
        invoices = []
        for n in range(args.invoices):
            issued = today - timedelta(days=n % 540)
            invoices.append(qbo.add_invoice(customers[n % args.customers]["Id"], amount=100 + n % 900,
                                            txn_date=issued, due_date=issued + timedelta(days=30)))
        seed_s = time.perf_counter() - seeded
        offset[0] = timedelta(0)

        store = Store(f"sqlite:///{Path(folder) / 'store.db'}")
        store.migrate()
        runtime = Runtime(store, FileLocks(Path(folder) / "locks"), LocalRateLimiter(), Cipher.generate_key())
        settings = QuickBooksSettings(realm_id=qbo.realm_id, client_id=qbo.client_id,
                                      client_secret=Secret(qbo.client_secret), environment=qbo.discovery_url,
                                      api_base=qbo.base_url)
        store.tenants.save_tenant(settings.tenant, "quickbooks", settings.to_record())
        TokenStore(store, runtime.cipher).save(
            settings.tenant, OAuthToken("expired", qbo.refresh_token(), datetime.now(UTC) - timedelta(hours=1)))
        platform = QuickBooksPlatform(runtime, settings)

        started = time.perf_counter()
        full = sync_tenant(runtime, platform)
        full_s = time.perf_counter() - started
        minimum = sum(max(1, math.ceil(n / 1000)) for n in (args.customers, args.invoices, 0, 0))

        for n in range(args.changes):
            invoice = invoices[n * 7 % len(invoices)]
            kind = n % 4
            if kind == 0:
                qbo.add_payment(invoice["CustomerRef"]["value"], invoice["TotalAmt"], today,
                                [(invoice["Id"], invoice["TotalAmt"])])
            elif kind == 1:
                qbo.update("Invoice", invoice["Id"], DueDate=str(today + timedelta(days=15)))
            elif kind == 2:
                qbo.delete("Invoice", invoice["Id"])
            else:
                qbo.add_invoice(invoice["CustomerRef"]["value"], amount=250, txn_date=today,
                                due_date=today + timedelta(days=30))
        started = time.perf_counter()
        incremental = sync_tenant(runtime, platform)
        incremental_s = time.perf_counter() - started
        items = len(store.ledger.load_portfolio(settings.tenant, "USD", {}).items)

    figures = {
        "customers": args.customers,
        "invoices": args.invoices,
        "seed_server_s": round(seed_s, 1),
        "full_sync_api_calls": full["api_calls"],
        "minimum_pages": minimum,
        "api_calls_over_minimum_pct": round(100 * (full["api_calls"] - minimum) / minimum, 1),
        "full_sync_s": round(full_s, 2),
        "changes": args.changes,
        "incremental_api_calls": incremental["api_calls"],
        "incremental_s": round(incremental_s, 2),
        "items_in_store": items,
    }
    print_figures(figures, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
