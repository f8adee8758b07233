"""Small, deterministic model fitting in pure Python: ridge logistic regression and median regression by
Newton / IRLS on a handful of standardised inputs, and Platt calibration.

Rows are short (ten inputs at most), so each iteration accumulates one small normal matrix and solves it by
Gaussian elimination; the work per iteration is linear in the rows. No randomness: the same rows give the
same weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import repeat
from operator import add, mul, sub

_MAX_LOGIT = 35.0


def sigmoid(z: float) -> float:
    """The logistic function, safe for large arguments."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-min(z, _MAX_LOGIT)))
    odds = math.exp(max(z, -_MAX_LOGIT))
    return odds / (1.0 + odds)


def solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Solve ``matrix @ x = vector`` by Gaussian elimination with partial pivoting (the matrix is copied)."""
    size = len(vector)
    rows = [[*row, value] for row, value in zip(matrix, vector)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(rows[r][column]))
        rows[column], rows[pivot] = rows[pivot], rows[column]
        head = rows[column][column]
        if abs(head) < 1e-300:
            raise ValueError("singular system")
        for r in range(size):
            if r != column and rows[r][column]:
                factor = rows[r][column] / head
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column])]
    return [rows[i][size] / rows[i][i] for i in range(size)]


def _columns(rows: Sequence[Sequence[float]]) -> list[list[float]]:
    """The design matrix by column, the intercept's column of ones first."""
    return [[1.0] * len(rows), *([list(column) for column in zip(*rows)] if rows and rows[0] else [])]


def _pair_products(columns: Sequence[list[float]]) -> list[tuple[int, int, list[float]]]:
    """Each pair of columns' element-wise products (i <= j), computed once for every iteration."""
    return [
        (i, j, list(map(mul, columns[i], columns[j])))
        for i in range(len(columns))
        for j in range(i, len(columns))
    ]


def _weighted_normal_matrix(products: Sequence[tuple[int, int, list[float]]], weights: Sequence[float],
                            size: int) -> list[list[float]]:
    """X^T W X from the precomputed products (one C-level pass per pair of columns)."""
    matrix = [[0.0] * size for _ in range(size)]
    for i, j, product in products:
        matrix[i][j] = matrix[j][i] = sum(map(mul, product, weights))
    return matrix


def _linear(columns: Sequence[list[float]], coefficients: Sequence[float]) -> list[float]:
    """X @ coefficients."""
    total = [coefficients[0]] * len(columns[0])
    for column, coefficient in zip(columns[1:], coefficients[1:]):
        if coefficient:
            total = list(map(add, total, map(mul, column, repeat(coefficient))))
    return total


def fit_logistic(
    rows: Sequence[Sequence[float]], labels: Sequence[bool], l2: float = 1.0, iterations: int = 30
) -> list[float]:
    """Ridge logistic regression by Newton's method: ``[intercept, w1, ...]``; the intercept is not penalised.

    Rows should be standardised (mean 0, spread 1) so one penalty fits every input.
    """
    if not rows:
        raise ValueError("no rows to fit")
    columns = _columns(rows)
    products = _pair_products(columns)
    size = len(columns)
    weights = [0.0] * size
    targets = [1.0 if label else 0.0 for label in labels]
    for _ in range(iterations):
        probabilities = [sigmoid(z) for z in _linear(columns, weights)]
        residuals = list(map(sub, targets, probabilities))
        gradient = [sum(map(mul, column, residuals)) for column in columns]
        hessian = _weighted_normal_matrix(products, [p * (1.0 - p) for p in probabilities], size)
        for i in range(1, size):
            hessian[i][i] += l2
            gradient[i] -= l2 * weights[i]
        hessian[0][0] += 1e-9
        step = solve(hessian, gradient)
        weights = [w + s for w, s in zip(weights, step)]
        if max(abs(s) for s in step) < 1e-9:
            break
    return weights


def fit_platt(scores: Sequence[float], labels: Sequence[bool]) -> tuple[float, float]:
    """Platt scaling: ``(a, b)`` so that ``sigmoid(a * score + b)`` is a calibrated probability."""
    slope_and_intercept = fit_logistic([[score] for score in scores], labels, l2=1e-6)
    return slope_and_intercept[1], slope_and_intercept[0]


def fit_median_regression(
    rows: Sequence[Sequence[float]], targets: Sequence[float], l2: float = 1e-3, iterations: int = 40
) -> list[float]:
    """Least absolute deviations (the conditional median) by iteratively reweighted least squares:
    ``[intercept, w1, ...]``. Residuals below half a unit weigh as half a unit, so exact fits stay finite; it
    stops when no coefficient moves by more than 0.001."""
    if not rows:
        raise ValueError("no rows to fit")
    columns = _columns(rows)
    products = _pair_products(columns)
    size = len(columns)
    case_weights = [1.0] * len(targets)
    coefficients = [0.0] * size
    for _ in range(iterations):
        matrix = _weighted_normal_matrix(products, case_weights, size)
        for i in range(1, size):
            matrix[i][i] += l2
        weighted_targets = list(map(mul, case_weights, targets))
        updated = solve(matrix, [sum(map(mul, column, weighted_targets)) for column in columns])
        change = max(abs(a - b) for a, b in zip(updated, coefficients))
        coefficients = updated
        if change < 1e-3:
            break
        fitted = _linear(columns, coefficients)
        case_weights = [1.0 / max(0.5, abs(target - value)) for target, value in zip(targets, fitted)]
    return coefficients
