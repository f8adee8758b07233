"""Time one `plan()` call on synthetic portfolios of 10k, 100k and 1M items.

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
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

AS_OF = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def measure(items: int) -> dict[str, float]:
    """Build a portfolio of ``items`` items (10 per customer) and time one planning run."""
    from synthetic import synthetic

    from collections_engine import plan
    from collections_engine.defaults import default_policy

    started = time.perf_counter()
    portfolio, history = synthetic(max(1, items // 10), items, date(2026, 11, 24))
    built = time.perf_counter() - started
    policy = default_policy()
    started = time.perf_counter()
    decisions = plan(portfolio, policy, history, AS_OF)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "items": items,
        "customers": len(portfolio.customers),
        "build_s": round(built, 2),
        "plan_s": round(wall, 3),
        "us_per_item": round(wall / items * 1e6, 2),
        "actions": len(decisions.actions()),
        "peak_rss_mb": round(peak_mb, 1),
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
    print(f"{'items':>9} {'customers':>9} {'build s':>8} {'plan s':>8} {'µs/item':>8} {'actions':>8} {'peak MB':>8}")
    for row in results:
        print(
            f"{row['items']:>9} {row['customers']:>9} {row['build_s']:>8} {row['plan_s']:>8} "
            f"{row['us_per_item']:>8} {row['actions']:>8} {row['peak_rss_mb']:>8}"
        )
    base = results[0]
    for row in results[1:]:
        ratio = (row["plan_s"] / base["plan_s"]) / (row["items"] / base["items"])
        print(f"time per item at {row['items']} vs {base['items']}: x{ratio:.2f} (1.00 = linear)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
