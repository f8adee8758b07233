"""Back-test of the risk score on a real late-payment history (../shared/data/ar-late-payments).

Loads the ledger through the files connector and its column mapping, asks the engine for
decisions as of a date (so only what was settled before it is known), and measures how
well each customer's score ranks the invoices issued after that date by "paid late":
ROC AUC, next to a baseline that uses past lateness alone.

Usage: python benchmarks/risk_backtest.py [--as-of 2013-01-01] [--format json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import date, datetime, time, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collections_engine import plan  # noqa: E402
from collections_engine.defaults import default_policy  # noqa: E402
from collections_engine.stats import roc_auc  # noqa: E402
from collections_engine.types import History  # noqa: E402
from connectors.common.store import Store  # noqa: E402
from connectors.files.settings import FileSettings  # noqa: E402
from connectors.files.streams import import_ledger  # noqa: E402

DATA = Path(os.environ.get("ODOO_COLLECTIONS_DATA") or REPO.parent / "shared" / "data") / "ar-late-payments"
MAPPING = REPO / "docs" / "examples" / "mapping-ibm-late-payments.json"


def backtest(as_of_day: date, until: date | None = None) -> dict[str, float | int | str]:
    """Score customers as of a date and measure the AUC on the invoices issued from it (until a date)."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/store.db")
        store.migrate()
        settings = FileSettings(
            path=DATA / "late_payment_histories.csv", tenant="files:ibm", mapping_path=MAPPING, company_currency="USD"
        )
        result = import_ledger(settings, store, today=date(2014, 12, 31))
        portfolio = store.ledger.load_portfolio("files:ibm", "USD", {})
        store.engine.dispose()
    as_of = datetime.combine(as_of_day, time(0), timezone.utc)
    decisions = plan(portfolio, default_policy(), History(), as_of)
    score = {d.customer_id: d.risk.score for d in decisions.customers}
    past_late: dict[str, list[bool]] = {}
    for item in portfolio.items:
        if item.settled_on is not None and item.settled_on < as_of_day:
            past_late.setdefault(item.customer_id, []).append(item.settled_on > item.due_date)
    baseline = {c: sum(flags) / len(flags) for c, flags in past_late.items()}
    future = [
        i
        for i in portfolio.items
        if i.issue_date >= as_of_day and (until is None or i.issue_date < until) and i.settled_on is not None
    ]
    labels = [i.settled_on is not None and i.settled_on > i.due_date for i in future]
    return {
        "as_of": as_of_day.isoformat(),
        "invoices_until": until.isoformat() if until else "end of data",
        "rows_loaded": result.items,
        "rows_rejected": len(result.problems),
        "customers_scored": len(score),
        "invoices_after": len(future),
        "late_share_after": round(sum(labels) / len(labels), 3),
        "auc_engine_score": round(roc_auc([score.get(i.customer_id, 0.0) for i in future], labels), 4),
        "auc_past_lateness_baseline": round(roc_auc([baseline.get(i.customer_id, 0.0) for i in future], labels), 4),
    }


def main() -> int:
    """Run the back-test and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--as-of", type=date.fromisoformat, help="one split (default: 2012-07-01 and 2013-01-01)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    if not (DATA / "late_payment_histories.csv").exists():
        print(f"data set not found at {DATA}: set ODOO_COLLECTIONS_DATA to the folder holding ar-late-payments/")
        return 2
    # 2012-07-01 -> 2012-12-31 is the split the default weights were chosen on; 2013 is held out.
    splits = [(args.as_of, None)] if args.as_of else [(date(2012, 7, 1), date(2013, 1, 1)), (date(2013, 1, 1), None)]
    results = [backtest(day, until) for day, until in splits]
    if args.format == "json":
        print(json.dumps(results, indent=2))
        return 0
    for name in results[0]:
        print(f"{name:<28} " + " ".join(f"{r[name]!s:>14}" for r in results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
