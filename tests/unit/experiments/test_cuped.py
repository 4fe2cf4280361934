"""CUPED: the ANCOVA estimate, a narrower interval, and no bias."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from steward.core.errors import InvalidArgument
from steward.experiments import Cuped, cuped_ttest, welch_ttest


def _experiment(rng: np.random.Generator, n: int, effect: float, rho: float) -> tuple[np.ndarray, ...]:
    """Metric y and pre-period covariate x with correlation rho in each arm."""
    x_c, x_t = rng.normal(50.0, 10.0, n), rng.normal(50.0, 10.0, n)
    noise = 10.0 * np.sqrt(1 - rho**2)
    y_c = 20.0 + rho * x_c + rng.normal(0.0, noise, n)
    y_t = 20.0 + effect + rho * x_t + rng.normal(0.0, noise, n)
    return y_c, y_t, x_c, x_t


def test_cuped_equals_the_ancova_regression() -> None:
    y_c, y_t, x_c, x_t = _experiment(np.random.default_rng(1), 500, 2.0, 0.7)
    result = cuped_ttest(y_c, y_t, x_c, x_t)
    design = np.column_stack([np.ones(1000), np.repeat([0.0, 1.0], 500), np.concatenate([x_c, x_t])])
    fit = sm.OLS(np.concatenate([y_c, y_t]), design).fit()
    assert result.theta == pytest.approx(fit.params[2], rel=1e-9)
    assert result.adjusted.difference == pytest.approx(fit.params[1], rel=1e-9)
    assert result.unadjusted.difference == pytest.approx(y_t.mean() - y_c.mean(), rel=1e-12)
    assert result.unadjusted == welch_ttest(y_c, y_t)


def test_cuped_shrinks_the_interval_by_the_explained_variance() -> None:
    y_c, y_t, x_c, x_t = _experiment(np.random.default_rng(2), 5000, 1.0, 0.8)
    result = cuped_ttest(y_c, y_t, x_c, x_t)
    raw_width = result.unadjusted.ci_high - result.unadjusted.ci_low
    adjusted_width = result.adjusted.ci_high - result.adjusted.ci_low
    assert result.variance_reduction == pytest.approx(0.64, abs=0.03)
    assert result.variance_reduction == pytest.approx(result.correlation**2, abs=0.01)
    assert adjusted_width == pytest.approx(raw_width * np.sqrt(1 - result.variance_reduction), rel=1e-3)
    assert adjusted_width < 0.7 * raw_width
    assert result.adjusted.ci_low <= 1.0 <= result.adjusted.ci_high


def test_cuped_is_unbiased_and_less_variable_over_many_experiments() -> None:
    rng = np.random.default_rng(20240603)
    effect, reps = 2.0, 400
    adjusted, raw = np.empty(reps), np.empty(reps)
    for i in range(reps):
        result = cuped_ttest(*_experiment(rng, 200, effect, 0.7))
        adjusted[i], raw[i] = result.adjusted.difference, result.unadjusted.difference
    standard_error = adjusted.std(ddof=1) / np.sqrt(reps)
    assert abs(adjusted.mean() - effect) < 3.5 * standard_error
    assert adjusted.var(ddof=1) / raw.var(ddof=1) == pytest.approx(1 - 0.7**2, abs=0.1)


def test_an_uncorrelated_covariate_does_no_harm() -> None:
    rng = np.random.default_rng(4)
    y_c, y_t = rng.normal(0, 1, 3000), rng.normal(0, 1, 3000)
    result = cuped_ttest(y_c, y_t, rng.normal(0, 1, 3000), rng.normal(0, 1, 3000))
    assert abs(result.variance_reduction) < 0.01


def test_the_estimator_transforms_with_what_it_learned() -> None:
    y_c, y_t, x_c, x_t = _experiment(np.random.default_rng(5), 300, 0.0, 0.5)
    cuped = Cuped().fit(y_c, y_t, x_c, x_t)
    assert cuped.get_params() == {}
    adjusted = cuped.transform(y_c, x_c)
    np.testing.assert_allclose(adjusted, y_c - cuped.theta_ * (x_c - cuped.covariate_mean_))
    assert cuped.covariate_mean_ == pytest.approx(np.concatenate([x_c, x_t]).mean())


def test_transform_before_fit_is_an_error() -> None:
    with pytest.raises(InvalidArgument):
        Cuped().transform([1.0], [2.0])


def test_cuped_result_is_json_safe() -> None:
    result = cuped_ttest(*_experiment(np.random.default_rng(6), 50, 1.0, 0.5))
    as_dict = result.to_dict()
    assert set(as_dict) == {"theta", "covariate_mean", "correlation", "variance_reduction", "adjusted", "unadjusted"}
    assert as_dict["adjusted"]["test"] == "welch_t"
