"""Fixed-horizon tests of a two-arm experiment: Welch's t-test and the two-proportion z-test.

Every difference is ``treatment - control``; ``alternative`` is ``"two-sided"``, ``"greater"``
(the treatment raises the metric) or ``"less"``. One-sided tests give one-sided confidence
bounds (the other bound is infinite).

- :func:`welch_ttest` equals ``scipy.stats.ttest_ind(treatment, control, equal_var=False)``:
  statistic, Welch-Satterthwaite degrees of freedom, p-value and the t confidence interval of
  the difference in means.
- :func:`two_proportion_ztest` equals ``statsmodels.stats.proportion.proportions_ztest`` (pooled
  variance for the test) and ``confint_proportions_2indep(method="wald")`` (unpooled variance for
  the confidence interval of the difference).
- Both report the relative lift ``treatment / control - 1`` with a delta-method interval:
  ``Var(m_t / m_c) ~ v_t / m_c**2 + m_t**2 v_c / m_c**4`` with ``v`` the variance of each
  arm's mean. The lift is ``None`` when the control mean is 0.

Example:
    >>> result = two_proportion_ztest(successes_control=100, n_control=1000,
    ...                               successes_treatment=130, n_treatment=1000)
    >>> round(result.difference, 3), round(result.p_value, 4), result.significant
    (0.03, 0.0355, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from steward.core.errors import InvalidArgument
from steward.experiments._json import fields_dict
from steward.experiments._validation import (
    check_alpha,
    check_alternative,
    check_int,
    check_sample,
)


@dataclass(frozen=True)
class RelativeLift:
    """``treatment / control - 1`` with its delta-method standard error and confidence bounds."""

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return fields_dict(self)


@dataclass(frozen=True)
class MeanComparison:
    """Welch's t-test of the difference in means, ``treatment - control``."""

    n_control: int
    n_treatment: int
    mean_control: float
    mean_treatment: float
    std_control: float
    std_treatment: float
    difference: float
    std_error: float
    statistic: float
    dof: float
    p_value: float
    ci_low: float
    ci_high: float
    alpha: float
    alternative: str
    lift: RelativeLift | None
    test: str = "welch_t"

    @property
    def significant(self) -> bool:
        return self.p_value <= self.alpha

    def to_dict(self) -> dict[str, Any]:
        return {**fields_dict(self), "significant": self.significant}


@dataclass(frozen=True)
class ProportionComparison:
    """Two-proportion z-test of ``rate_treatment - rate_control``.

    ``statistic`` and ``p_value`` use the pooled standard error (``pooled_std_error``), the
    confidence interval the unpooled one (``std_error``).
    """

    n_control: int
    n_treatment: int
    successes_control: int
    successes_treatment: int
    rate_control: float
    rate_treatment: float
    difference: float
    std_error: float
    pooled_std_error: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    alpha: float
    alternative: str
    lift: RelativeLift | None
    test: str = "two_proportion_z"

    @property
    def mean_control(self) -> float:
        return self.rate_control

    @property
    def mean_treatment(self) -> float:
        return self.rate_treatment

    @property
    def significant(self) -> bool:
        return self.p_value <= self.alpha

    def to_dict(self) -> dict[str, Any]:
        return {**fields_dict(self), "significant": self.significant}


def _interval(estimate: float, std_error: float, quantile: float, alternative: str) -> tuple[float, float]:
    half = quantile * std_error
    low = -math.inf if alternative == "less" else estimate - half
    high = math.inf if alternative == "greater" else estimate + half
    return low, high


def _normal_quantile(alpha: float, alternative: str) -> float:
    return float(stats.norm.isf(alpha / 2.0 if alternative == "two-sided" else alpha))


def relative_lift(
    mean_control: float,
    var_mean_control: float,
    mean_treatment: float,
    var_mean_treatment: float,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> RelativeLift | None:
    """Delta-method interval of ``mean_treatment / mean_control - 1``; ``None`` if the control mean is 0.

    ``var_mean_*`` are the variances of the arm means (``s**2 / n``).

    >>> lift = relative_lift(10.0, 0.04, 11.0, 0.04)
    >>> round(lift.estimate, 3), round(lift.ci_low, 3), round(lift.ci_high, 3)
    (0.1, 0.042, 0.158)
    """
    alpha = check_alpha(alpha, owner="relative_lift")
    alternative = check_alternative(alternative, owner="relative_lift")
    if mean_control == 0.0:
        return None
    estimate = mean_treatment / mean_control - 1.0
    variance = var_mean_treatment / mean_control**2 + mean_treatment**2 * var_mean_control / mean_control**4
    se = math.sqrt(variance)
    low, high = _interval(estimate, se, _normal_quantile(alpha, alternative), alternative)
    return RelativeLift(estimate=estimate, std_error=se, ci_low=low, ci_high=high)


def _welch_from_stats(
    mean_control: float,
    var_control: float,
    n_control: int,
    mean_treatment: float,
    var_treatment: float,
    n_treatment: int,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> MeanComparison:
    """Welch's t-test from each arm's mean, sample variance (``ddof=1``) and size (``n >= 2``)."""
    v_c, v_t = var_control / n_control, var_treatment / n_treatment
    se = math.sqrt(v_c + v_t)
    if se == 0.0:
        raise InvalidArgument(
            "The 'treatment' and 'control' arms both have zero variance, so Welch's t statistic is "
            f"undefined (means {mean_treatment!r} and {mean_control!r}).",
            field="treatment",
        )
    dof = (v_c + v_t) ** 2 / (v_c**2 / (n_control - 1) + v_t**2 / (n_treatment - 1))
    difference = mean_treatment - mean_control
    statistic = difference / se
    if alternative == "two-sided":
        p_value = 2.0 * float(stats.t.sf(abs(statistic), dof))
        quantile = float(stats.t.isf(alpha / 2.0, dof))
    else:
        p_value = float(stats.t.sf(statistic, dof) if alternative == "greater" else stats.t.cdf(statistic, dof))
        quantile = float(stats.t.isf(alpha, dof))
    low, high = _interval(difference, se, quantile, alternative)
    return MeanComparison(
        n_control=n_control,
        n_treatment=n_treatment,
        mean_control=mean_control,
        mean_treatment=mean_treatment,
        std_control=math.sqrt(var_control),
        std_treatment=math.sqrt(var_treatment),
        difference=difference,
        std_error=se,
        statistic=statistic,
        dof=dof,
        p_value=min(p_value, 1.0),
        ci_low=low,
        ci_high=high,
        alpha=alpha,
        alternative=alternative,
        lift=relative_lift(mean_control, v_c, mean_treatment, v_t, alpha=alpha, alternative=alternative),
    )


def welch_ttest(
    control: ArrayLike,
    treatment: ArrayLike,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> MeanComparison:
    """Welch's unequal-variance t-test of ``mean(treatment) - mean(control)``.

    Each arm needs at least two finite values, and at least one arm must vary.

    >>> result = welch_ttest([4.1, 5.0, 5.2, 4.8], [5.5, 6.1, 5.9, 6.4])
    >>> round(result.difference, 3), round(result.ci_low, 3), round(result.ci_high, 3)
    (1.2, 0.444, 1.956)
    """
    owner = "welch_ttest"
    alpha_ = check_alpha(alpha, owner=owner)
    alt = check_alternative(alternative, owner=owner)
    c = check_sample(control, name="control", owner=owner, min_size=2)
    t = check_sample(treatment, name="treatment", owner=owner, min_size=2)
    return _welch_from_stats(
        float(np.mean(c)),
        float(np.var(c, ddof=1)),
        int(c.size),
        float(np.mean(t)),
        float(np.var(t, ddof=1)),
        int(t.size),
        alpha=alpha_,
        alternative=alt,
    )


def _check_counts(successes: object, n: object, arm: str, owner: str) -> tuple[int, int]:
    n_ = check_int(n, name=f"n_{arm}", owner=owner, low=1)
    s_ = check_int(successes, name=f"successes_{arm}", owner=owner, low=0)
    if s_ > n_:
        raise InvalidArgument(
            f"The 'successes_{arm}' parameter of {owner} must not exceed n_{arm}={n_}. Got {s_}.",
            field=f"successes_{arm}",
        )
    return s_, n_


def two_proportion_ztest(
    successes_control: int,
    n_control: int,
    successes_treatment: int,
    n_treatment: int,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> ProportionComparison:
    """Two-proportion z-test of ``rate_treatment - rate_control`` from success counts.

    The pooled rate must lie strictly between 0 and 1 (some successes and some failures), or
    the test statistic is undefined.
    """
    owner = "two_proportion_ztest"
    alpha_ = check_alpha(alpha, owner=owner)
    alt = check_alternative(alternative, owner=owner)
    x_c, n_c = _check_counts(successes_control, n_control, "control", owner)
    x_t, n_t = _check_counts(successes_treatment, n_treatment, "treatment", owner)
    pooled = (x_c + x_t) / (n_c + n_t)
    if pooled in (0.0, 1.0):
        raise InvalidArgument(
            f"The two-proportion z-test needs both successes and failures; 'successes_treatment' "
            f"and 'successes_control' give {x_t + x_c} successes in {n_t + n_c} units.",
            field="successes_treatment",
        )
    p_c, p_t = x_c / n_c, x_t / n_t
    pooled_se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_c + 1.0 / n_t))
    v_c, v_t = p_c * (1.0 - p_c) / n_c, p_t * (1.0 - p_t) / n_t
    se = math.sqrt(v_c + v_t)
    difference = p_t - p_c
    statistic = difference / pooled_se
    if alt == "two-sided":
        p_value = 2.0 * float(stats.norm.sf(abs(statistic)))
    elif alt == "greater":
        p_value = float(stats.norm.sf(statistic))
    else:
        p_value = float(stats.norm.cdf(statistic))
    low, high = _interval(difference, se, _normal_quantile(alpha_, alt), alt)
    return ProportionComparison(
        n_control=n_c,
        n_treatment=n_t,
        successes_control=x_c,
        successes_treatment=x_t,
        rate_control=p_c,
        rate_treatment=p_t,
        difference=difference,
        std_error=se,
        pooled_std_error=pooled_se,
        statistic=statistic,
        p_value=min(p_value, 1.0),
        ci_low=low,
        ci_high=high,
        alpha=alpha_,
        alternative=alt,
        lift=relative_lift(p_c, v_c, p_t, v_t, alpha=alpha_, alternative=alt),
    )
