"""Time the import of a ledger whose rows are all rejected (a date in another format), on SQLite.

    python benchmarks/ledger_rejected_rows.py [--rows 20000] [--format json]

The rejected rows are written with the import in one transaction; this prints how long it takes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from figures import print_figures  # a sibling module: the script's folder is on the path

from connectors.common.store import Store
from connectors.files.settings import FileSettings
from connectors.files.streams import import_ledger


def main() -> int:
    """Write the ledger, import it into a new store, print the time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    ledger = folder / "ledger.csv"
    rows = ["customer,invoice,due date,amount"]
    rows += [f"C{n % 500},F-{n},01/10/2026,100" for n in range(args.rows)]  # 01/10/2026: day or month first?
    ledger.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = Store(f"sqlite:///{folder / 'store.db'}")
    store.migrate()
    started = time.perf_counter()
    result = import_ledger(FileSettings(path=ledger, tenant="files:bench"), store)
    figures = {"rows": args.rows, "rejected": len(result.problems), "import_s": round(time.perf_counter() - started, 2)}
    print_figures(figures, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
