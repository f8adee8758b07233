"""Payment prediction on a real late-payment history (../shared/data/ar-late-payments) and at scale.

For each split: train on what was settled before it, predict every invoice issued from it to the end of the
data (as `odoo-collections backtest` does) and print ROC AUC and Brier score of "paid late" (also with Platt
calibration), the payment date's mean absolute error in days, next to two baselines: the customer's past
share of late invoices (AUC) and the customer's median days to settle before the split (MAE); and the AUC of
the customer risk score that `run` prints, scored as of the split. The data set is loaded through the files
connector and its mapping (Disputed and PaperlessBill included).

Then the time to train and to predict the open items of 1,000,000 generated items (100,000 customers, two
years of history; benchmarks/synthetic.py), in a process of its own so the peak RSS printed is its own.

Usage: python benchmarks/payment_prediction.py [--splits 2013-01-01,...] [--items 1000000 | --items 0]
                                               [--months 2012-06-01,2013-09-01] [--format json]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from figures import print_figures  # noqa: E402

from collections_engine.prediction import PredictionSettings, backtest_payments  # noqa: E402
from collections_engine.stats import roc_auc  # noqa: E402
from collections_engine.types import History, Portfolio  # noqa: E402

DATA = Path(os.environ.get("ODOO_COLLECTIONS_DATA") or REPO.parent / "shared" / "data") / "ar-late-payments"
MAPPING = REPO / "docs" / "examples" / "mapping-ibm-late-payments.json"
SPLITS = "2012-07-01,2012-10-01,2013-01-01,2013-04-01,2013-07-01"
AS_OF = date(2026, 11, 24)


def load_history() -> Portfolio:
    """The shared history, imported through the files connector and the documented mapping."""
    from connectors.common.store import Store
    from connectors.files.settings import FileSettings
    from connectors.files.streams import import_ledger

    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/store.db")
        store.migrate()
        settings = FileSettings(
            path=DATA / "late_payment_histories.csv", tenant="files:ibm", mapping_path=MAPPING, company_currency="USD"
        )
        import_ledger(settings, store, today=date(2014, 12, 31))
        portfolio = store.ledger.load_portfolio("files:ibm", "USD", {})
        store.engine.dispose()
    return portfolio


def baselines(portfolio: Portfolio, split: date) -> tuple[float, float]:
    """AUC of the customer's past share late, and MAE of 'issue date + the customer's median days to settle'."""
    past: dict[str, list[Any]] = {}
    for item in portfolio.items:
        if item.settled_on is not None and item.settled_on < split:
            past.setdefault(item.customer_id, []).append(item)
    everyone = [(i.settled_on - i.issue_date).days for items in past.values() for i in items if i.settled_on]
    overall = statistics.median(everyone)
    future = [i for i in portfolio.items if i.issue_date >= split and i.settled_on is not None]
    shares, errors = [], []
    for item in future:
        history = past.get(item.customer_id, [])
        shares.append(sum(i.settled_on > i.due_date for i in history) / len(history) if history else 0.0)
        days = statistics.median((i.settled_on - i.issue_date).days for i in history) if history else overall
        errors.append(abs((item.settled_on - item.issue_date).days - days))  # type: ignore[operator]
    labels = [i.settled_on > i.due_date for i in future]  # type: ignore[operator]
    return roc_auc(shares, labels), sum(errors) / len(errors)


def risk_score_auc(portfolio: Portfolio, split: date, timing: bool = True) -> float:
    """AUC of the 0-100 customer risk score `run` prints, scored as of the split, on the invoices issued from it
    (``timing=False``: as it was before the ``payment_timing`` factor, that factor's weight set to 0)."""
    from datetime import datetime, time, timezone

    from collections_engine import plan
    from collections_engine.defaults import default_policy

    policy = default_policy()
    if not timing:
        policy = replace(policy, risk=replace(policy.risk, weights={**policy.risk.weights, "payment_timing": 0.0}))
    decisions = plan(portfolio, policy, History(), datetime.combine(split, time(0), timezone.utc))
    score = {d.customer_id: d.risk.score for d in decisions.customers}
    future = [i for i in portfolio.items if i.issue_date >= split and i.settled_on is not None]
    return roc_auc([score[i.customer_id] for i in future], [i.settled_on > i.due_date for i in future])  # type: ignore[operator]


def on_the_history(splits: list[date]) -> dict[str, Any]:
    """The figures of every split."""
    portfolio = load_history()
    figures: dict[str, Any] = {"invoices": len(portfolio.items)}
    plain, platt = PredictionSettings(), replace(PredictionSettings(), platt=True)
    for split in splits:
        result = backtest_payments(portfolio, History(), split, None, plain)
        calibrated = backtest_payments(portfolio, History(), split, None, platt)
        share_auc, median_mae = baselines(portfolio, split)
        mean_probability = sum(p.late_probability for p in result.predictions) / len(result.predictions)
        name = split.isoformat()
        figures |= {
            f"{name} invoices trained / predicted": f"{result.model.training_items} / {result.settled}",
            f"{name} late share / mean probability": f"{result.late_share:.3f} / {mean_probability:.3f}",
            f"{name} ROC AUC (baseline past share late)": f"{result.auc:.4f} ({share_auc:.4f})",
            f"{name} Brier (with Platt)": f"{result.brier:.4f} ({calibrated.brier:.4f})",
            f"{name} MAE days (baseline customer median)": f"{result.mae_days:.2f} ({median_mae:.2f})",
            f"{name} customer risk score AUC (without payment_timing)": f"{risk_score_auc(portfolio, split):.4f} "
            f"({risk_score_auc(portfolio, split, timing=False):.4f})",
        }
    return figures


def risk_score_by_month(first: date, last: date) -> dict[str, Any]:
    """The customer risk score's AUC at every month's first day from ``first`` to ``last``: mean and worst,
    with and without the ``payment_timing`` factor (splits nobody tuned on, beside the five above)."""
    portfolio = load_history()
    months = [date(year, month, 1) for year in range(first.year, last.year + 1) for month in range(1, 13)]
    splits = [split for split in months if first <= split <= last]
    new = [risk_score_auc(portfolio, split) for split in splits]
    old = [risk_score_auc(portfolio, split, timing=False) for split in splits]
    span = f"{splits[0]:%Y-%m}..{splits[-1]:%Y-%m} ({len(splits)} monthly splits)"
    worst = min(range(len(new)), key=new.__getitem__)
    return {
        f"{span} risk score AUC mean (without payment_timing)": f"{statistics.mean(new):.4f} "
        f"({statistics.mean(old):.4f})",
        f"{span} risk score AUC min (without payment_timing)": f"{min(new):.4f} at {splits[worst]} ({min(old):.4f})",
        f"{span} splits where payment_timing improves the score": f"{sum(n > o for n, o in zip(new, old))}",
    }


def at_scale(items: int) -> dict[str, Any]:
    """Generate ``items`` items (10 per customer), then time training and the prediction of the open ones."""
    from synthetic import synthetic_history

    from collections_engine.prediction import predict_payments, train_payment_model

    started = time.perf_counter()
    portfolio, history = synthetic_history(max(1, items // 10), items, AS_OF)
    built = time.perf_counter() - started
    started = time.perf_counter()
    model = train_payment_model(portfolio, history, AS_OF)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    predictions = predict_payments(model, portfolio, history)
    predicted = time.perf_counter() - started
    settled = sum(1 for item in portfolio.items if item.settled_on is not None)
    return {
        f"{items:,} items: customers / settled / open": f"{len(portfolio.customers):,} / {settled:,} / "
        f"{len(predictions):,}",
        f"{items:,} items: generated in": f"{built:.1f} s",
        f"{items:,} items: training (most recent {model.training_items:,} outcomes)": f"{trained:.2f} s",
        f"{items:,} items: predicting the open items": f"{predicted:.2f} s "
        f"({predicted / max(1, len(predictions)) * 1e6:.1f} µs each)",
        f"{items:,} items: training + prediction": f"{trained + predicted:.2f} s",
        f"{items:,} items: peak RSS": f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
    }


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", default=SPLITS, help="comma-separated split dates")
    parser.add_argument("--items", type=int, default=1_000_000, help="generated items for the timing (0: none)")
    parser.add_argument("--months", default="2012-06-01,2013-09-01",
                        help="first,last monthly split of the risk score's summary (empty: none)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    if (DATA / "late_payment_histories.csv").exists():
        figures |= on_the_history([date.fromisoformat(s) for s in args.splits.split(",")])
        if args.months:
            first, last = (date.fromisoformat(s) for s in args.months.split(","))
            figures |= risk_score_by_month(first, last)
    else:
        print(f"data set not found at {DATA}: skipping the real history "
              "(set ODOO_COLLECTIONS_DATA to the folder holding ar-late-payments/)", file=sys.stderr)
    if args.items:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            figures |= pool.apply(at_scale, (args.items,))
    print_figures(figures, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
