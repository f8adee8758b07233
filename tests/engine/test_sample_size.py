"""How many customers an experiment needs, fixed horizon and sequential."""

from __future__ import annotations

import pytest

from collections_engine.sample_size import experiment_sample_size


def test_fixed_horizon_matches_the_textbook_formula() -> None:
    # (1.95996 + 0.84162)^2 x (0.30 x 0.70 + 0.35 x 0.65) / 0.05^2 = 1373.3
    sizes = experiment_sample_size(0.30, 0.05)
    assert sizes.fixed_per_variant == 1374 and sizes.fixed_total == 2748
    assert sizes.alpha_per_comparison == 0.05 and sizes.customer_variance == pytest.approx(0.4375)


def test_sequential_figures_are_deterministic_and_ordered() -> None:
    sizes = experiment_sample_size(0.30, 0.05)
    assert sizes == experiment_sample_size(0.30, 0.05)
    # looking all the time costs customers at the horizon; half of the experiments stop before the fixed one
    assert sizes.sequential_median_per_variant < sizes.fixed_per_variant < sizes.sequential_mean_per_variant
    assert sizes.fixed_per_variant < sizes.sequential_for_power_per_variant < 2 * sizes.fixed_per_variant
    assert sizes.sequential_for_power_total == 2 * sizes.sequential_for_power_per_variant
    assert sizes.sequential_unfinished_share == 0.0


def test_more_variants_unequal_amounts_and_smaller_differences_need_more_customers() -> None:
    base = experiment_sample_size(0.30, 0.05)
    three = experiment_sample_size(0.30, 0.05, variants=3)
    assert three.alpha_per_comparison == pytest.approx(0.025)
    assert three.fixed_per_variant > base.fixed_per_variant and three.fixed_total == 3 * three.fixed_per_variant
    unequal = experiment_sample_size(0.30, 0.05, amount_cv=1.0)
    assert unequal.fixed_per_variant == pytest.approx(2 * base.fixed_per_variant, abs=2)
    assert experiment_sample_size(0.30, 0.10).fixed_per_variant < base.fixed_per_variant / 3


def test_bad_inputs_name_the_parameter() -> None:
    for kwargs, name in (
        ({"baseline": 1.2, "mde": 0.05}, "baseline"),
        ({"baseline": 0.3, "mde": 0.0}, "mde"),
        ({"baseline": 0.9, "mde": 0.2}, "mde"),
        ({"baseline": 0.3, "mde": 0.05, "power": 1.0}, "power"),
        ({"baseline": 0.3, "mde": 0.05, "variants": 1}, "variants"),
        ({"baseline": 0.3, "mde": 0.05, "amount_cv": -1}, "amount_cv"),
    ):
        with pytest.raises(ValueError, match=name):
            experiment_sample_size(**kwargs)  # type: ignore[arg-type]
