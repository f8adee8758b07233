"""Small statistics toolkit (stdlib only): distributions, intervals, tests, always-valid tests, ROC AUC."""

from __future__ import annotations

import math
from collections.abc import Sequence


def normal_cdf(x: float) -> float:
    """Standard normal cumulative distribution."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_ppf(p: float) -> float:
    """Inverse of the standard normal cdf (Acklam's rational approximation, refined once)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.3577518672690,
        -30.66479806614716,
        2.506628277459239,
    )
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572)
    c = (
        -0.007784894002430293,
        -0.3223964580411365,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    low = 0.02425
    if p < low:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    elif p > 1 - low:
        q = math.sqrt(-2 * math.log(1 - p))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    error = normal_cdf(x) - p
    u = error * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
    return x - u / (1 + x * u / 2)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-14:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1 - x) / b


def student_t_cdf(t: float, df: float) -> float:
    """Cumulative distribution of Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def student_t_ppf(p: float, df: float) -> float:
    """Inverse of Student's t cdf, by bisection (monotone, robust for any df > 0)."""
    low, high = -1e3, 1e3
    for _ in range(200):
        middle = (low + high) / 2
        if student_t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return (0.0, 1.0)
    z = normal_ppf(1 - (1 - confidence) / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_and_variance(values: Sequence[float]) -> tuple[float, float]:
    """Sample mean and unbiased variance (variance 0 for fewer than two values)."""
    n = len(values)
    if n == 0:
        return (0.0, 0.0)
    mean = sum(values) / n
    if n < 2:
        return (mean, 0.0)
    return (mean, sum((v - mean) ** 2 for v in values) / (n - 1))


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float] | None:
    """Welch's two-sample t-test: (t, degrees of freedom, two-sided p); None when undefined."""
    if len(a) < 2 or len(b) < 2:
        return None
    mean_a, var_a = mean_and_variance(a)
    mean_b, var_b = mean_and_variance(b)
    se_a, se_b = var_a / len(a), var_b / len(b)
    if se_a + se_b == 0:
        return None
    t = (mean_a - mean_b) / math.sqrt(se_a + se_b)
    df = (se_a + se_b) ** 2 / ((se_a**2 / (len(a) - 1) if se_a else 0.0) + (se_b**2 / (len(b) - 1) if se_b else 0.0))
    return (t, df, 2 * (1 - student_t_cdf(abs(t), df)))


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """Two-proportion z-test with pooled variance: (z, two-sided p); None when undefined."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return (z, 2 * (1 - normal_cdf(abs(z))))


def mixture_log_likelihood_ratio(difference: float, variance: float, mixture_sd: float) -> float:
    """Log of the normal-mixture SPRT statistic for "true difference = 0" (Johari et al., *Always valid inference*).

    ``difference`` is an estimate, normal with ``variance`` around the true difference; the
    alternative mixes true differences drawn from N(0, ``mixture_sd`` ** 2). Rejecting when the
    ratio reaches 1/alpha keeps the chance of ever rejecting a true null at alpha or less,
    however often it is looked at (Ville's inequality on the mixture martingale).
    """
    if mixture_sd <= 0:
        raise ValueError("mixture_sd must be more than 0")
    if variance <= 0:
        return math.inf if difference else 0.0
    mixture_variance = mixture_sd * mixture_sd
    total = variance + mixture_variance
    return 0.5 * math.log(variance / total) + difference * difference * mixture_variance / (2 * variance * total)


def always_valid_p_value(difference: float, variance: float, mixture_sd: float) -> float:
    """The mixture SPRT's p-value at this look: 1 / likelihood ratio, at most 1 (reject when <= alpha)."""
    log_ratio = mixture_log_likelihood_ratio(difference, variance, mixture_sd)
    return 1.0 if log_ratio <= 0 else math.exp(-log_ratio)


def confidence_sequence(difference: float, variance: float, mixture_sd: float, alpha: float) -> tuple[float, float]:
    """Always-valid interval of a difference: covers the truth at every look at once with probability 1 - alpha.

    The normal-mixture boundary (Howard et al., *Time-uniform, nonparametric, nonasymptotic
    confidence sequences*, the normal mixture); it excludes 0 exactly when the mixture SPRT rejects at ``alpha``.
    """
    if not 0.0 < alpha < 1.0 or mixture_sd <= 0:
        raise ValueError("alpha must be in (0, 1) and mixture_sd more than 0")
    if variance <= 0:
        return (difference, difference)
    mixture_variance = mixture_sd * mixture_sd
    total = variance + mixture_variance
    half = math.sqrt(variance * total / mixture_variance * (2 * math.log(1 / alpha) + math.log(total / variance)))
    return (difference - half, difference + half)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve (Mann-Whitney U; ties count one half)."""
    pairs = sorted(zip(scores, labels), key=lambda pair: pair[0])
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("roc_auc needs both positive and negative labels")
    rank_sum = 0.0
    index = 0
    while index < len(pairs):
        end = index
        while end < len(pairs) and pairs[end][0] == pairs[index][0]:
            end += 1
        average_rank = (index + 1 + end) / 2
        rank_sum += average_rank * sum(1 for _, label in pairs[index:end] if label)
        index = end
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
