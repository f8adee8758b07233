"""How many customers an A/B experiment on the recovery rate needs: fixed horizon and sequential."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from .experiments import MINIMUM_CUSTOMERS
from .stats import confidence_sequence, normal_ppf

SIMULATED_RUNS = 2000
HORIZON_FACTOR = 10
"""The sequential simulation follows each run up to this many times the fixed-horizon size."""
LOOKS_PER_FIXED_HORIZON = 50
_SEED = 15


@dataclass(frozen=True, slots=True)
class SampleSizePlan:
    """Customers per variant (and in all) to find a difference of ``mde`` in recovery rate.

    ``fixed_*``: one look at the end, at ``alpha_per_comparison`` with ``power``. ``sequential_*``:
    the always-valid test of ``experiment_results`` (tuned to the same ``mde``) looked at about
    50 times per fixed horizon, when the true difference is ``mde``: on average, in half of the
    runs (median), and in a share ``power`` of them. With no difference it runs on: stop it at
    ``sequential_for_power`` and read "no difference of ``mde`` or more".
    """

    baseline: float
    mde: float
    alpha: float
    power: float
    variants: int
    amount_cv: float
    alpha_per_comparison: float
    customer_variance: float
    fixed_per_variant: int
    fixed_total: int
    sequential_mean_per_variant: int
    sequential_median_per_variant: int
    sequential_for_power_per_variant: int
    sequential_for_power_total: int
    sequential_unfinished_share: float


def experiment_sample_size(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8, variants: int = 2, amount_cv: float = 0.0
) -> SampleSizePlan:
    """Customers needed to detect ``mde`` over a ``baseline`` recovery rate with each of ``variants - 1`` comparisons.

    A customer's recovery is taken as all or nothing (the largest spread a rate has), widened
    by ``amount_cv``, the coefficient of variation of the amounts due (a ratio weighted by
    unequal amounts varies more: variance x (1 + cv^2)). Bonferroni: each comparison with the
    control at alpha / (variants - 1). Deterministic (a seeded simulation).
    """
    _check(baseline, mde, alpha, power, variants, amount_cv)
    alpha_each = alpha / (variants - 1)
    target = baseline + mde
    variance = (baseline * (1 - baseline) + target * (1 - target)) * (1 + amount_cv * amount_cv)
    z = normal_ppf(1 - alpha_each / 2) + normal_ppf(power)
    fixed = max(MINIMUM_CUSTOMERS, math.ceil(z * z * variance / (mde * mde)))
    stops = _sequential_stops(mde, variance, alpha_each, fixed)
    horizon = stops[min(len(stops) - 1, math.ceil(power * len(stops)) - 1)]
    return SampleSizePlan(
        baseline=baseline,
        mde=mde,
        alpha=alpha,
        power=power,
        variants=variants,
        amount_cv=amount_cv,
        alpha_per_comparison=alpha_each,
        customer_variance=variance,
        fixed_per_variant=fixed,
        fixed_total=fixed * variants,
        sequential_mean_per_variant=math.ceil(sum(stops) / len(stops)),
        sequential_median_per_variant=stops[len(stops) // 2],
        sequential_for_power_per_variant=horizon,
        sequential_for_power_total=horizon * variants,
        sequential_unfinished_share=sum(1 for n in stops if n > HORIZON_FACTOR * fixed) / len(stops),
    )


def _check(baseline: float, mde: float, alpha: float, power: float, variants: int, amount_cv: float) -> None:
    if not 0.0 < baseline < 1.0:
        raise ValueError("baseline: a recovery rate between 0 and 1 (exclusive), e.g. 0.30")
    if not 0.0 < mde <= 1.0 - baseline:
        raise ValueError("mde: a difference in recovery rate above 0 that keeps baseline + mde at most 1, e.g. 0.05")
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError("alpha and power: between 0 and 1 (exclusive)")
    if variants < 2:
        raise ValueError("variants: at least 2 (the control and one variant)")
    if amount_cv < 0:
        raise ValueError("amount_cv: 0 or more")


def _sequential_stops(mde: float, variance: float, alpha: float, fixed: int) -> list[int]:
    """Customers per variant at which the always-valid test stops, in simulated runs (sorted; unfinished: beyond)."""
    step = max(1, math.ceil(fixed / LOOKS_PER_FIXED_HORIZON))
    looks = sorted({max(MINIMUM_CUSTOMERS, k * step) for k in range(1, HORIZON_FACTOR * LOOKS_PER_FIXED_HORIZON + 1)})
    bounds = [n * (confidence_sequence(0.0, variance / n, mde, alpha)[1]) for n in looks]
    rng = random.Random(_SEED)
    stops = []
    for _ in range(SIMULATED_RUNS):
        total, seen, stop = 0.0, 0, HORIZON_FACTOR * fixed + 1
        for n, bound in zip(looks, bounds):
            added = n - seen
            total += rng.gauss(mde * added, math.sqrt(variance * added))
            seen = n
            if abs(total) >= bound:
                stop = n
                break
        stops.append(stop)
    return sorted(stops)
