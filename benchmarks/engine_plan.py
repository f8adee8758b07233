"""Time one `plan()` call on synthetic portfolios of 10k, 100k and 1M open items.

The first run is the worst case: a backlog where almost every customer needs an action.
The next day's run, with those actions in the history, is the usual daily job.
Each size runs in its own process so the peak RSS printed is that size's own.
Usage: python benchmarks/engine_plan.py [--sizes 10000,100000,1000000] [--format json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

AS_OF = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def measure(items: int) -> dict[str, float]:
    """Build a portfolio of ``items`` items (10 per customer) and time one planning run."""
    from synthetic import synthetic

    from collections_engine import History, plan
    from collections_engine.defaults import default_policy

    started = time.perf_counter()
    portfolio, history = synthetic(max(1, items // 10), items, date(2026, 11, 24))
    built = time.perf_counter() - started
    policy = default_policy()
    started = time.perf_counter()
    decisions = plan(portfolio, policy, history, AS_OF)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the next day, with the first run's actions in the history: the usual daily run
    sent = tuple(action.as_event(AS_OF) for action in decisions.actions())
    next_history = History(events=history.events + sent)
    started = time.perf_counter()
    next_day = plan(portfolio, policy, next_history, AS_OF + timedelta(days=1))
    next_wall = time.perf_counter() - started
    return {
        "items": items,
        "customers": len(portfolio.customers),
        "build_s": round(built, 2),
        "plan_s": round(wall, 3),
        "us_per_item": round(wall / items * 1e6, 2),
        "actions": len(decisions.actions()),
        "next_day_plan_s": round(next_wall, 3),
        "next_day_actions": len(next_day.actions()),
        "peak_rss_mb": round(max(peak_mb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), 1),
    }


def main() -> int:
    """Run the benchmark and print a table or JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    context = multiprocessing.get_context("spawn")
    results = []
    for size in sizes:
        with context.Pool(1) as pool:
            results.append(pool.apply(measure, (size,)))
    if args.format == "json":
        print(json.dumps(results, indent=2))
        return 0
    columns = (
        "items",
        "customers",
        "build_s",
        "plan_s",
        "us_per_item",
        "actions",
        "next_day_plan_s",
        "next_day_actions",
        "peak_rss_mb",
    )
    print(" ".join(f"{name:>16}" for name in columns))
    for row in results:
        print(" ".join(f"{row[name]:>16}" for name in columns))
    base = results[0]
    for row in results[1:]:
        ratio = (row["plan_s"] / base["plan_s"]) / (row["items"] / base["items"])
        print(f"time per item at {row['items']} vs {base['items']}: x{ratio:.2f} (1.00 = linear)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
