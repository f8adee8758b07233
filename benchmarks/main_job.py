"""Time the main job a user runs - `odoo-collections run --ledger FILE` - on generated ledgers.

    python benchmarks/main_job.py [--items 100000 1000000] [--store postgresql://...] [--xlsx 100000]
                                  [--floor] [--format json]

For each size it writes a CSV ledger (ten items per customer, five currencies, a fifth partly
paid), times a bare ``csv.reader`` pass over the file, then runs the real command in a new process
on a new store, four times: ``--dry-run``; the first run; a second run the same day with the
ledger unchanged (which shows the first run's kept outcome); the same with ``--recompute`` (planned
again). Each run prints its phases (``--timings``: sync, plan, kpis, deliver, output) and
the benchmark adds the process's wall time (Python's start and imports included) and peak RSS.
``--xlsx N`` also writes the same ledger as an XLSX workbook of N rows and times its first run.
Figures: seconds, the ratio of the first run to the bare read, microseconds per item, and the
growth of the time per item from the smallest size to the largest (1.0 is linear).
``--floor`` also measures, in this process, the least a first run does while the engine works on one
Python object per item: the rows read into items without checks, written with the bare sqlite3 driver,
and ``plan()`` on them; its ratio to the bare read is the best any first run of this design can reach.

With ``--store postgresql://user@host/db`` every run uses that database (its tables are emptied
first: give a database of its own). The default is a new SQLite file per run.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from figures import print_figures  # a sibling module: the script's folder is on the path

AS_OF = "2026-12-04"
RATES = ("USD=0.92", "GBP=1.17", "MXN=0.05", "COP=0.00023")
CURRENCIES = ("EUR", "USD", "GBP", "MXN", "COP")
HEADER = ["customer_id", "customer_name", "email", "country", "invoice_number", "invoice_date", "due_date",
          "amount", "open_amount", "currency"]
TIMINGS = re.compile(r"timings \(s\): (.*)")


def ledger_rows(items: int, seed: int = 7) -> Any:
    """The rows of a generated ledger: ten items per customer, issued over the last 18 months."""
    rng = random.Random(seed)
    today = date.fromisoformat(AS_OF)
    for number in range(items):
        customer = number // 10
        issued = today - timedelta(days=rng.randint(-30, 540))
        due = issued + timedelta(days=(30, 45, 60, 90)[number % 4])
        cents = rng.randint(1_000, 500_000)
        open_cents = cents if number % 5 else cents // 2
        yield [f"C{customer:07d}", f"Customer {customer}", f"ar{customer}@example.com" if customer % 10 else "",
               ("ES", "MX", "US", "FR", "CO")[customer % 5], f"INV-{number:08d}", issued.isoformat(),
               due.isoformat(), f"{cents / 100:.2f}", f"{open_cents / 100:.2f}", CURRENCIES[customer % 5]]


def write_csv(path: Path, items: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(ledger_rows(items))


def write_xlsx(path: Path, items: int) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Ledger")
    sheet.append(HEADER)
    for row in ledger_rows(items):
        sheet.append([*row[:5], date.fromisoformat(row[5]), date.fromisoformat(row[6]), float(row[7]),
                      float(row[8]), row[9]])
    workbook.save(path)


def bare_read(path: Path) -> float:
    """Seconds of one csv.reader pass over the file (the floor of any import)."""
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        for _row in csv.reader(handle):
            pass
    return time.perf_counter() - started


def floor(path: Path) -> dict[str, float]:
    """What the first run cannot go under while it is Python objects per item: the least each step must do,
    measured here - read the rows into engine items (no checks, each distinct date parsed once), write them
    with the bare sqlite3 driver (one transaction, no index but the key), and ``plan()`` them."""
    import sqlite3
    from decimal import Decimal

    from collections_engine import plan
    from collections_engine.defaults import default_policy
    from collections_engine.types import Customer, History, Portfolio, ReceivableItem

    started = time.perf_counter()
    days: dict[str, date] = {}
    items, customers = [], {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for cid, name, email, country, number, issued, due, amount, residual, currency in reader:
            issue_day = days.get(issued) or days.setdefault(issued, date.fromisoformat(issued))
            due_day = days.get(due) or days.setdefault(due, date.fromisoformat(due))
            if cid not in customers:
                customers[cid] = Customer(id=cid, name=name, email=email or None, country=country)
            items.append(ReceivableItem(number, cid, number, currency, Decimal(amount), Decimal(residual),
                                        issue_day, due_day))
    read = time.perf_counter() - started
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        connection = sqlite3.connect(Path(folder) / "floor.db")
        connection.execute("CREATE TABLE items (id TEXT PRIMARY KEY, customer_id TEXT, invoice_ref TEXT, "
                           "currency TEXT, amount TEXT, residual TEXT, issue_date TEXT, due_date TEXT)")
        with connection:
            connection.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
                (i.id, i.customer_id, i.invoice_ref, i.currency, str(i.amount), str(i.residual),
                 i.issue_date.isoformat(), i.due_date.isoformat()) for i in items))
        connection.close()
    write = time.perf_counter() - started
    portfolio = Portfolio("EUR", tuple(customers.values()), tuple(items),
                          rates={pair.split("=")[0]: Decimal(pair.split("=")[1]) for pair in RATES})
    started = time.perf_counter()
    plan(portfolio, default_policy(), History(), datetime.fromisoformat(f"{AS_OF}T10:00:00+00:00"))
    planned = time.perf_counter() - started
    return {"floor_read_items_s": round(read, 2), "floor_write_items_s": round(write, 2),
            "floor_plan_s": round(planned, 2), "floor_total_s": round(read + write + planned, 2)}


REPO = Path(__file__).resolve().parent.parent


def command() -> list[str]:
    """This checkout's command (an installed ``odoo-collections`` may be another version)."""
    code = f"import sys; sys.path.insert(0, {str(REPO)!r}); from connectors.cli import main; main()"
    return [sys.executable, "-c", code]


def run(ledger: Path, store: str, *extra: str) -> dict[str, Any]:
    """One `run` in a new process: its phases, wall time and peak RSS."""
    args = [*command(), "--store", store, "run", "--ledger", str(ledger), "--as-of", AS_OF, "--timings",
            "--limit", "50", *(f"--rate={rate}" for rate in RATES), *extra]
    started = time.perf_counter()
    home = Path(store.removeprefix("sqlite:///")).parent if store.startswith("sqlite:") else Path(tempfile.gettempdir())
    # the run's local state (its kept outcome) beside the benchmark's files, removed with them
    env = {**os.environ, "ODOO_COLLECTIONS_HOME": str(home / "home")}
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"run failed ({os.waitstatus_to_exitcode(status)}): {' '.join(args)}\n{stderr[-2000:]}")
    found = TIMINGS.search(stderr)
    phases = dict(pair.split("=") for pair in found.group(1).split()) if found else {}
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            **{f"{name}_s": round(float(seconds), 2) for name, seconds in phases.items() if name != "total"}}


def fresh_store(folder: Path, postgres: str | None, name: str) -> str:
    if postgres is None:
        return f"sqlite:///{folder / f'{name}.db'}"
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return postgres


def measure(folder: Path, items: int, postgres: str | None, with_floor: bool = False) -> dict[str, Any]:
    ledger = folder / f"ledger-{items}.csv"
    write_csv(ledger, items)
    bare = min(bare_read(ledger) for _ in range(3))
    dry = run(ledger, fresh_store(folder, postgres, f"dry-{items}"), "--dry-run")
    store = fresh_store(folder, postgres, f"run-{items}")
    first = run(ledger, store, f"--worklist={folder / f'worklist-{items}.csv'}")
    second = run(ledger, store, f"--worklist={folder / f'worklist-{items}-again.csv'}")
    replanned = run(ledger, store, "--recompute", f"--worklist={folder / f'worklist-{items}-replanned.csv'}")
    figures: dict[str, Any] = {"bare_csv_read_s": round(bare, 3)}
    runs = (("dry_run", dry), ("first_run", first), ("second_run", second), ("second_run_recompute", replanned))
    for label, result in runs:
        figures.update({f"{label}_{name}": value for name, value in result.items()})
    figures["first_run_x_bare_read"] = round(first["wall_s"] / bare, 1)
    if with_floor:
        figures.update(floor(ledger))
        figures["floor_x_bare_read"] = round(figures["floor_total_s"] / bare, 1)
    figures["first_run_us_per_item"] = round(first["wall_s"] / items * 1e6, 1)
    ledger.unlink()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--store", help="a PostgreSQL URL (its public schema is emptied); default SQLite files")
    parser.add_argument("--xlsx", type=int, default=0, help="also time the first run of an XLSX ledger of N rows")
    parser.add_argument("--floor", action="store_true",
                        help="also measure the least a first run must do with an object per item (see floor())")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="main-job-"))
    figures: dict[str, Any] = {"store": "postgresql" if args.store else "sqlite"}
    try:
        per_item = {}
        for items in sorted(args.items):
            measured = measure(folder, items, args.store, args.floor)
            per_item[items] = measured["first_run_us_per_item"]
            figures.update({f"{items}_{name}": value for name, value in measured.items()})
        if len(per_item) > 1:
            smallest, largest = min(per_item), max(per_item)
            figures["time_per_item_growth"] = round(per_item[largest] / per_item[smallest], 2)
        if args.xlsx:
            workbook = folder / f"ledger-{args.xlsx}.xlsx"
            write_xlsx(workbook, args.xlsx)
            result = run(workbook, fresh_store(folder, args.store, "xlsx"), "--dry-run")
            figures.update({f"xlsx_{args.xlsx}_dry_run_{name}": value for name, value in result.items()})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print_figures(figures, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
