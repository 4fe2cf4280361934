"""CUPED: variance reduction with a pre-experiment covariate (Deng, Xu, Kohavi, Walker 2013).

A metric ``Y`` measured during the experiment is often correlated with the same unit's value
``X`` before it (last month's spend, say). Since assignment is random, ``X`` is independent of
the arm, and

    Y_adj = Y - theta * (X - mean(X))

has the same expected difference between arms as ``Y`` but variance ``(1 - rho**2) Var(Y)``.
``theta`` is the pooled within-arm slope ``sum_arms sum (y - ybar_a)(x - xbar_a) /
sum_arms sum (x - xbar_a)**2``, robust to the treatment shifting ``Y``; the adjusted difference
in means then equals the treatment coefficient of the regression ``Y ~ 1 + treatment + X``
(ANCOVA). Welch's t-test on the adjusted values gives the test and interval; the variance
reduction reported is ``1 - se_adjusted**2 / se_unadjusted**2``, the share of the variance of
the difference removed.

Units without a pre-period value need one (0, the population mean, or a separate analysis):
the covariate must be finite.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x_c, x_t = rng.normal(10, 3, 2000), rng.normal(10, 3, 2000)
    >>> y_c, y_t = x_c + rng.normal(0, 1, 2000), x_t + 0.2 + rng.normal(0, 1, 2000)
    >>> result = cuped_ttest(y_c, y_t, x_c, x_t)
    >>> round(result.theta, 2), round(result.variance_reduction, 2)
    (1.0, 0.9)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike

from steward.core.errors import InvalidArgument
from steward.experiments._json import fields_dict
from steward.experiments._validation import FloatArray, check_alpha, check_alternative, check_sample
from steward.experiments.analysis import MeanComparison, welch_ttest


@dataclass(frozen=True)
class CupedResult:
    """The CUPED-adjusted comparison next to the unadjusted one."""

    theta: float
    covariate_mean: float
    correlation: float
    variance_reduction: float
    adjusted: MeanComparison
    unadjusted: MeanComparison

    def to_dict(self) -> dict[str, Any]:
        return fields_dict(self)


def _pair(
    metric: ArrayLike, covariate: ArrayLike, arm: str, owner: str, min_size: int
) -> tuple[FloatArray, FloatArray]:
    y = check_sample(metric, name=arm, owner=owner, min_size=min_size)
    x = check_sample(covariate, name=f"{arm}_covariate", owner=owner, min_size=min_size)
    if x.size != y.size:
        raise InvalidArgument(
            f"The '{arm}_covariate' parameter of {owner} must have one value per unit of '{arm}': "
            f"{y.size}. Got {x.size}.",
            field=f"{arm}_covariate",
        )
    return y, x


class Cuped:
    """Estimator for the CUPED adjustment: ``fit`` learns ``theta_``, ``transform`` applies it.

    Learned state: ``theta_`` (pooled within-arm slope of metric on covariate),
    ``covariate_mean_`` (mean of the covariate over both arms), ``correlation_`` (pooled
    within-arm correlation; ``correlation_**2`` is the expected variance reduction).
    """

    theta_: float
    covariate_mean_: float
    correlation_: float

    def get_params(self) -> dict[str, Any]:
        return {}

    def fit(
        self,
        control: ArrayLike,
        treatment: ArrayLike,
        control_covariate: ArrayLike,
        treatment_covariate: ArrayLike,
    ) -> Self:
        owner = type(self).__name__
        y_c, x_c = _pair(control, control_covariate, "control", owner, 1)
        y_t, x_t = _pair(treatment, treatment_covariate, "treatment", owner, 1)
        sxx = sxy = syy = 0.0
        for y, x in ((y_c, x_c), (y_t, x_t)):
            dx, dy = x - x.mean(), y - y.mean()
            sxx += float(dx @ dx)
            sxy += float(dx @ dy)
            syy += float(dy @ dy)
        if sxx == 0.0:
            raise InvalidArgument(
                f"The 'control_covariate' and 'treatment_covariate' parameters of {owner} do not vary "
                "within either arm, so they cannot explain any variance of the metric.",
                field="control_covariate",
            )
        self.theta_ = sxy / sxx
        self.covariate_mean_ = float(np.concatenate([x_c, x_t]).mean())
        self.correlation_ = sxy / math.sqrt(sxx * syy) if syy > 0.0 else 0.0
        return self

    def transform(self, metric: ArrayLike, covariate: ArrayLike) -> FloatArray:
        """``metric - theta_ * (covariate - covariate_mean_)`` for units of either arm."""
        if not hasattr(self, "theta_"):
            raise InvalidArgument("Cuped is not fitted; call fit() first.", field="fit")
        y, x = _pair(metric, covariate, "metric", type(self).__name__, 0)
        return y - self.theta_ * (x - self.covariate_mean_)


def cuped_ttest(
    control: ArrayLike,
    treatment: ArrayLike,
    control_covariate: ArrayLike,
    treatment_covariate: ArrayLike,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> CupedResult:
    """Welch's t-test on CUPED-adjusted values, with the unadjusted test beside it."""
    owner = "cuped_ttest"
    alpha_ = check_alpha(alpha, owner=owner)
    alt = check_alternative(alternative, owner=owner)
    y_c, x_c = _pair(control, control_covariate, "control", owner, 2)
    y_t, x_t = _pair(treatment, treatment_covariate, "treatment", owner, 2)
    unadjusted = welch_ttest(y_c, y_t, alpha=alpha_, alternative=alt)
    cuped = Cuped().fit(y_c, y_t, x_c, x_t)
    adjusted = welch_ttest(cuped.transform(y_c, x_c), cuped.transform(y_t, x_t), alpha=alpha_, alternative=alt)
    return CupedResult(
        theta=cuped.theta_,
        covariate_mean=cuped.covariate_mean_,
        correlation=cuped.correlation_,
        variance_reduction=1.0 - adjusted.std_error**2 / unadjusted.std_error**2,
        adjusted=adjusted,
        unadjusted=unadjusted,
    )
