"""Always-valid comparisons of A/B variants: false positives stay at alpha however often one looks.

The simulations draw customers whose amounts due are skewed as receivables are (lognormal,
coefficient of variation about 1.3) and who pay all, part or nothing of them; each run is read
ten times as its customers accrue, as a credit manager opening the report every week would.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import Decimal

import pytest

from collections_engine.experiments import (
    MINIMUM_CUSTOMERS,
    ExperimentReport,
    VariantObservation,
    experiment_results,
)
from collections_engine.stats import always_valid_p_value, confidence_sequence, mixture_log_likelihood_ratio

ALPHA = 0.05
PEEKS = 10
CENT = Decimal("0.01")


def customers(rng: random.Random, variant: str, count: int, paid_in_full: float) -> list[VariantObservation]:
    """Customers who pay everything (share ``paid_in_full``), a random part (one in five) or nothing."""
    drawn = []
    for n in range(count):
        due = Decimal(rng.lognormvariate(6, 1)).quantize(CENT)
        draw = rng.random()
        share = 1.0 if draw < paid_in_full else rng.random() if draw < paid_in_full + 0.2 else 0.0
        collected = (due * Decimal(share)).quantize(CENT)
        drawn.append(VariantObservation(f"{variant}{n}", variant, due, collected, None, Decimal(0)))
    return drawn


def peeks(arms: Sequence[list[VariantObservation]], mde: float) -> list[ExperimentReport]:
    """The report at each of ten looks, every arm a tenth bigger each time."""
    size = len(arms[0])
    return [
        experiment_results([o for arm in arms for o in arm[: size * look // PEEKS]], mde=mde)
        for look in range(1, PEEKS + 1)
    ]


def tolerance(runs: int) -> float:
    """Two binomial standard errors of a rate of ``ALPHA`` over ``runs`` runs."""
    return 2 * math.sqrt(ALPHA * (1 - ALPHA) / runs)


def naive_z_significant(report: ExperimentReport) -> bool:
    """What a fixed-horizon z-test on the same difference would say at this look (wrong when peeking)."""
    return any(
        v.difference_standard_error is not None
        and v.recovery_difference is not None
        and abs(v.recovery_difference) > 1.959964 * v.difference_standard_error
        for v in report.variants
    )


# --------------------------------------------------------------------------------------
# Simulations
# --------------------------------------------------------------------------------------


def test_aa_false_positives_with_ten_peeks_stay_at_alpha() -> None:
    runs, sequential, naive = 2000, 0, 0
    for run in range(runs):
        rng = random.Random(run)
        looks = peeks([customers(rng, "a", 100, 0.3), customers(rng, "b", 100, 0.3)], mde=0.25)
        sequential += any(report.variants[1].significant for report in looks)
        naive += any(naive_z_significant(report) for report in looks)
    assert sequential / runs <= ALPHA + tolerance(runs)
    assert naive / runs > 2 * ALPHA  # the simulation has teeth: reading a fixed-horizon test ten times fails


def test_aa_with_three_arms_keeps_the_family_wise_rate_at_alpha() -> None:
    runs, any_significant = 800, 0
    for run in range(runs):
        rng = random.Random(10_000 + run)
        arms = [customers(rng, variant, 80, 0.3) for variant in "abc"]
        looks = peeks(arms, mde=0.25)
        assert looks[-1].alpha_per_comparison == pytest.approx(ALPHA / 2)  # Bonferroni over two comparisons
        any_significant += any(v.significant for report in looks for v in report.variants)
    assert any_significant / runs <= ALPHA + tolerance(runs)


def test_ab_a_real_difference_is_found_in_most_runs() -> None:
    runs, found, wrong = 400, 0, 0
    for run in range(runs):
        rng = random.Random(20_000 + run)
        looks = peeks([customers(rng, "a", 100, 0.3), customers(rng, "b", 100, 0.7)], mde=0.25)
        verdicts = [report.winner for report in looks if report.stop]
        found += bool(verdicts) and verdicts[0] == "b"
        wrong += bool(verdicts) and verdicts[0] == "a"
    assert found / runs >= 0.8
    assert wrong == 0


# --------------------------------------------------------------------------------------
# The statistics
# --------------------------------------------------------------------------------------


def test_confidence_sequence_excludes_zero_exactly_when_the_mixture_test_rejects() -> None:
    for difference in (0.0, 0.02, 0.05, 0.08, -0.1):
        for variance in (0.0004, 0.001, 0.01):
            low, high = confidence_sequence(difference, variance, 0.05, ALPHA)
            assert low < difference < high
            rejects = always_valid_p_value(difference, variance, 0.05) <= ALPHA
            assert rejects == (low > 0 or high < 0), (difference, variance)


def test_mixture_ratio_known_value_and_edges() -> None:
    # V = 0.0025 = tau^2: 0.5 log(1/2) + D^2 / (4 V); with D = 0.1: -0.3466 + 1.0
    assert mixture_log_likelihood_ratio(0.1, 0.0025, 0.05) == pytest.approx(1.0 - 0.5 * math.log(2))
    assert always_valid_p_value(0.0, 0.01, 0.05) == 1.0
    assert mixture_log_likelihood_ratio(0.0, 0.0, 0.05) == 0.0
    assert always_valid_p_value(0.1, 0.0, 0.05) == 0.0
    with pytest.raises(ValueError):
        confidence_sequence(0.1, 0.01, 0.0, ALPHA)


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------


def fixed(variant: str, count: int, ratios: Sequence[str], due: str = "100") -> list[VariantObservation]:
    """``count`` customers cycling through the given collected amounts out of ``due``."""
    return [
        VariantObservation(f"{variant}{n}", variant, Decimal(due), Decimal(ratios[n % len(ratios)]), None, Decimal(0))
        for n in range(count)
    ]


def test_the_test_is_about_the_amount_weighted_recovery_rate() -> None:
    # b's small customers pay everything and its large ones nothing: per customer it looks better,
    # by amount it is worse; the difference reported and the test agree on the amount-weighted rate.
    control = fixed("a", 200, ["50"])
    variant = [
        VariantObservation(
            f"b{n}", "b", Decimal("10" if n % 2 else "190"), Decimal("10" if n % 2 else "0"), None, Decimal(0)
        )
        for n in range(200)
    ]
    report = experiment_results(control + variant)
    b = report.variants[1]
    assert b.recovery_rate == pytest.approx(0.05) and b.recovery_difference == pytest.approx(-0.45)
    assert b.decision == "worse" and b.difference_interval is not None and b.difference_interval[1] < 0
    assert report.stop and report.winner == "a"  # every variant worse: the control wins


def test_report_says_keep_going_until_a_variant_is_decided() -> None:
    report = experiment_results(fixed("a", 60, ["100", "0"]) + fixed("b", 60, ["100", "0", "0", "100"]))
    b = report.variants[1]
    assert b.decision == "undecided" and not b.significant and not report.stop and report.winner is None
    assert b.difference_interval is not None and b.difference_interval[0] < 0 < b.difference_interval[1]
    assert report.mde == 0.05 and report.minimum_customers == MINIMUM_CUSTOMERS
    assert report.variants[0].decision is None  # the control is not compared with itself


def test_too_few_customers_are_not_tested() -> None:
    few = MINIMUM_CUSTOMERS - 1
    report = experiment_results(fixed("a", few, ["0"]) + fixed("b", few, ["100"]))
    b = report.variants[1]
    assert b.recovery_difference == pytest.approx(1.0)  # shown, but not judged
    assert b.decision == "undecided" and b.difference_interval is None and b.always_valid_p_value is None
    assert not report.stop


def test_several_variants_share_alpha_and_the_best_winner_is_named() -> None:
    report = experiment_results(
        fixed("a", 300, ["100", "0", "0", "0"])
        + fixed("b", 300, ["100", "100", "0", "0"])
        + fixed("c", 300, ["100", "100", "100", "0"])
        + fixed("d", 300, ["100", "0", "0", "0"]),
        confidence=0.9,
    )
    assert report.alpha_per_comparison == pytest.approx(0.1 / 3)
    assert [v.decision for v in report.variants] == [None, "better", "better", "undecided"]
    assert report.stop and report.winner == "c"
    assert report.variants[1].paid_share_difference == pytest.approx(0.25)
    assert report.variants[1].paid_share_always_valid_p_value is not None


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="mde"):
        experiment_results(fixed("a", 2, ["1"]), mde=0)
    with pytest.raises(ValueError, match="confidence"):
        experiment_results(fixed("a", 2, ["1"]), confidence=1.0)
