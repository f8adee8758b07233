"""Sync a Xero organisation of 5,000 contacts and 50,000 invoices from the local Xero server.

Prints the API calls of the full sync against the minimum number of pages (one call per
1,000-record page of each collection, at least one per collection), its wall time split into
the connector's own time, the local server's time (measured inside its request handler, so the
figure is the connector's, not the fake's) and the time spent waiting for Xero's 60 calls a
minute; then the calls and time of the incremental sync after 100 changes (payments, voids, new
invoices). The server is the one the tests use (tests/fakes/xero_server.py), reached over HTTP
on 127.0.0.1 through xero-python, with the store in a temporary SQLite file.

Usage: python benchmarks/xero_sync.py [--contacts 5000] [--invoices 50000] [--changes 100] [--format json]
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
    """Seed the server, run a full then an incremental sync, print the figures (the minimum counts the pages of
    what the connector asks for: sales invoices, customer payments and credits, every contact)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--invoices", type=int, default=50000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()

    from connectors.common.locks import FileLocks
    from connectors.common.ratelimit import LocalRateLimiter
    from connectors.common.runtime import Runtime
    from connectors.common.secrets import Secret
    from connectors.common.store import Store
    from connectors.common.tokens import Cipher, OAuthToken, TokenStore
    from connectors.pipeline import sync_tenant
    from connectors.xero.platform import XeroPlatform
    from connectors.xero.settings import XeroSettings
    from tests.fakes.xero_server import FakeXero, Limits, generate_ledger

    offset = [timedelta(days=-3)]  # the history is older than the first sync

    def clock() -> datetime:
        return datetime.now(UTC) + offset[0]

    # the server's own limits are Xero's; the connector's buckets keep it under them
    with tempfile.TemporaryDirectory() as folder, FakeXero(clock=clock, limits=Limits()) as fake:
        seeded = time.perf_counter()
        made = generate_ledger(fake, contacts=args.contacts, invoices=args.invoices, seed=1)
        fake.warm()
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

        waited = {"seconds": 0.0}

        def sleep(seconds: float) -> None:
            waited["seconds"] += seconds
            time.sleep(seconds)

        store = Store(f"sqlite:///{Path(folder) / 'store.db'}")
        store.migrate()
        runtime = Runtime(store, FileLocks(Path(folder) / "locks"), LocalRateLimiter(), Cipher.generate_key())
        settings = XeroSettings(tenant_id=fake.tenant_id, connection="bench", client_id=fake.client_id,
                                client_secret=Secret(fake.client_secret), home_currency="NZD",
                                api_base=fake.accounting_url, connections_base=fake.url, token_url=fake.token_url,
                                page_size=1000)
        store.tenants.save_tenant(settings.tenant, "xero", settings.to_record())
        issued = fake.token_set()
        TokenStore(store, runtime.cipher).save(settings.token_key, OAuthToken(
            issued["access_token"], issued["refresh_token"], datetime.now(UTC) + timedelta(minutes=30)))
        platform = XeroPlatform(runtime, settings, sleep=sleep)

        started = time.perf_counter()
        full = sync_tenant(runtime, platform)
        full_s = time.perf_counter() - started
        full_server_s, full_wait_s = server["seconds"], waited["seconds"]
        wanted = {"Invoices": ("Type", "ACCREC"), "CreditNotes": ("Type", "ACCRECCREDIT"),
                  "Payments": ("PaymentType", "ACCRECPAYMENT"), "Overpayments": ("Type", "RECEIVE-OVERPAYMENT"),
                  "Prepayments": ("Type", "RECEIVE-PREPAYMENT")}
        listed = {name: sum(1 for i in ids if name not in wanted
                            or fake.record(name, i).get(wanted[name][0]) == wanted[name][1])
                  for name, ids in made.items()}
        minimum = sum(max(1, math.ceil(count / 1000)) for count in listed.values())
        throttled = sum(1 for call in fake.calls if call["status"] == 429)

        today = datetime.now(UTC).date()
        invoices = [i for i in made["Invoices"] if fake.record("Invoices", i)["Status"] == "AUTHORISED"
                    and fake.record("Invoices", i)["Type"] == "ACCREC"]
        for n in range(args.changes):
            invoice = fake.record("Invoices", invoices[n * 7 % len(invoices)])
            kind = n % 3
            if kind == 0 and invoice["Status"] == "AUTHORISED" and invoice["AmountDue"] > 0:
                fake.add_payment(invoice["InvoiceID"], invoice["AmountDue"], today)
            elif (kind == 1 and invoice["Status"] == "AUTHORISED" and not invoice["Payments"]
                  and not invoice["CreditNotes"] and not invoice["Overpayments"] and not invoice["Prepayments"]):
                fake.void_invoice(invoice["InvoiceID"])
            else:
                fake.add_invoice(invoice["Contact"]["ContactID"], total=250, date=today,
                                 due_date=today + timedelta(days=30))
        server["seconds"], waited["seconds"] = 0.0, 0.0
        started = time.perf_counter()
        incremental = sync_tenant(runtime, platform)
        incremental_s = time.perf_counter() - started
        items = len(store.ledger.load_portfolio(settings.tenant, "NZD", {}).items)

    figures = {
        "contacts": args.contacts,
        "invoices": args.invoices,
        "seed_server_s": round(seed_s, 1),
        "full_sync_api_calls": full["api_calls"],
        "minimum_pages": minimum,
        "api_calls_over_minimum_pct": round(100 * (full["api_calls"] - minimum) / minimum, 1),
        "full_sync_throttled_calls": throttled,
        "full_sync_s": round(full_s, 2),
        "full_sync_server_s": round(full_server_s, 2),
        "full_sync_rate_limit_wait_s": round(full_wait_s, 2),
        "full_sync_connector_s": round(full_s - full_server_s - full_wait_s, 2),
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
