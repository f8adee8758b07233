"""False positives and power of A/B experiments read once or ten times, with and without the always-valid test.

    python benchmarks/experiment_peeking.py [--runs 2000] [--customers 100] [--check-plan] [--format json]

Each simulated experiment has two arms of ``--customers`` customers each, whose amounts due are
lognormal (coefficient of variation about 1.3) and who pay all (30 %), a random part (20 %) or
nothing of them; it is read at the end only, and ten times as its customers accrue. Three
readings of every look are counted "significant at 5 %":

- ``welch``: the test before the always-valid one, a Welch t-test on the unweighted per-customer
  ratios (a quantity other than the amount-weighted rate the report headlines);
- ``z``: a fixed-horizon z-test on the amount-weighted recovery rate (jackknife variance);
- ``sequential``: ``experiment_results``, the always-valid test (mixture tuned to ``--mde``).

A/A: both arms alike (false positives, which should stay at or below 5 %). A/B: the variant's
customers pay all 70 % of the time. ``--check-plan`` also runs experiments of all-or-nothing
customers sized by ``experiment_sample_size`` and compares when they stop with what it says.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from figures import print_figures  # noqa: E402  (a sibling module: the script's folder is on the path)

from collections_engine.experiments import ExperimentReport, VariantObservation, experiment_results  # noqa: E402
from collections_engine.sample_size import experiment_sample_size  # noqa: E402
from collections_engine.stats import welch_t_test  # noqa: E402

CENT, ZERO = Decimal("0.01"), Decimal(0)
PEEKS = 10
Reading = Callable[[Sequence[VariantObservation], ExperimentReport], bool]


def customers(rng: random.Random, variant: str, count: int, paid_in_full: float) -> list[VariantObservation]:
    """Customers who pay everything (share ``paid_in_full``), a random part (one in five) or nothing."""
    drawn = []
    for n in range(count):
        due = Decimal(rng.lognormvariate(6, 1)).quantize(CENT)
        draw = rng.random()
        share = 1.0 if draw < paid_in_full else rng.random() if draw < paid_in_full + 0.2 else 0.0
        collected = (due * Decimal(share)).quantize(CENT)
        drawn.append(VariantObservation(f"{variant}{n}", variant, due, collected, None, ZERO))
    return drawn


def welch(observations: Sequence[VariantObservation], _report: ExperimentReport) -> bool:
    """The former reading: Welch's t-test on unweighted per-customer ratios, p < 0.05."""
    ratios: dict[str, list[float]] = {}
    for o in observations:
        ratios.setdefault(o.variant, []).append(float(o.collected / o.amount_due))
    result = welch_t_test(ratios["b"], ratios["a"])
    return result is not None and result[2] < 0.05


def fixed_z(_observations: Sequence[VariantObservation], report: ExperimentReport) -> bool:
    """A fixed-horizon z-test on the amount-weighted difference the report shows."""
    b = report.variants[1]
    if b.recovery_difference is None or not b.difference_standard_error:
        return False
    return abs(b.recovery_difference) > 1.959964 * b.difference_standard_error


def sequential(_observations: Sequence[VariantObservation], report: ExperimentReport) -> bool:
    """The always-valid test."""
    return report.variants[1].significant


READINGS: dict[str, Reading] = {"welch": welch, "z": fixed_z, "sequential": sequential}


def simulate(runs: int, size: int, paid_in_full: float, mde: float, seed: int) -> dict[str, tuple[float, float]]:
    """Share of runs called significant per reading: (at the end only, at any of ten looks)."""
    at_end = dict.fromkeys(READINGS, 0)
    any_look = dict.fromkeys(READINGS, 0)
    for run in range(runs):
        rng = random.Random(seed + run)
        arms = (customers(rng, "a", size, 0.3), customers(rng, "b", size, paid_in_full))
        seen = dict.fromkeys(READINGS, False)
        for look in range(1, PEEKS + 1):
            observations = [o for arm in arms for o in arm[: size * look // PEEKS]]
            report = experiment_results(observations, mde=mde)
            for name, reading in READINGS.items():
                called = reading(observations, report)
                seen[name] = seen[name] or called
                at_end[name] += called and look == PEEKS
        for name in READINGS:
            any_look[name] += seen[name]
    return {name: (at_end[name] / runs, any_look[name] / runs) for name in READINGS}


def check_plan(runs: int, seed: int) -> dict[str, float | int]:
    """Experiments of all-or-nothing customers at 30 % vs 45 %: when the always-valid test stops, against the plan."""
    baseline, mde = 0.30, 0.15
    sizes = experiment_sample_size(baseline, mde)
    step = max(1, sizes.fixed_per_variant // 50)
    horizon = 3 * sizes.fixed_per_variant
    stops = []
    for run in range(runs):
        rng = random.Random(seed + run)
        arms = [
            [
                VariantObservation(f"{v}{n}", v, Decimal(100), Decimal(100 if rng.random() < rate else 0), None, ZERO)
                for n in range(horizon)
            ]
            for v, rate in (("a", baseline), ("b", baseline + mde))
        ]
        stop = horizon + 1
        for n in range(step, horizon + 1, step):
            if experiment_results(arms[0][:n] + arms[1][:n], mde=mde).stop:
                stop = n
                break
        stops.append(stop)
    stops.sort()
    return {
        "plan fixed per variant": sizes.fixed_per_variant,
        "plan sequential median / simulated": f"{sizes.sequential_median_per_variant} / {stops[len(stops) // 2]}",
        "plan sequential 80 % / simulated": f"{sizes.sequential_for_power_per_variant} / "
        f"{stops[int(0.8 * len(stops)) - 1]}",
    }


def main() -> int:
    """Simulate A/A and A/B experiments and print the share of runs called significant."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=100, help="per arm")
    parser.add_argument("--mde", type=float, default=0.25)
    parser.add_argument("--check-plan", action="store_true")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    started = time.perf_counter()
    figures: dict[str, str | float | int] = {"runs": args.runs, "customers per arm": args.customers, "mde": args.mde}
    for label, paid_in_full, seed in (("A/A false positives", 0.3, 0), ("A/B power", 0.7, 1_000_000)):
        for name, (end, peeking) in simulate(args.runs, args.customers, paid_in_full, args.mde, seed).items():
            figures[f"{label}, {name}: one look / ten looks"] = f"{end:.1%} / {peeking:.1%}"
    if args.check_plan:
        figures.update(check_plan(min(args.runs, 300), 2_000_000))
    figures["seconds"] = round(time.perf_counter() - started, 1)
    print_figures(figures, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
