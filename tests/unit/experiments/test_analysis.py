"""Welch's t-test and the two-proportion z-test agree with scipy and statsmodels to 1e-9."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from steward.experiments import relative_lift, two_proportion_ztest, welch_ttest

ALTERNATIVES = ["two-sided", "greater", "less"]
SM_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}
TOL: dict[str, Any] = {"rel": 1e-9, "abs": 1e-12}

samples = arrays(
    np.float64,
    st.integers(2, 40),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 3)),
)


def scipy_welch(treatment: np.ndarray, control: np.ndarray, **kwargs: Any) -> Any:
    # scipy warns of "catastrophic cancellation" when an arm is constant; ours must not warn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return stats.ttest_ind(treatment, control, equal_var=False, **kwargs)


@pytest.fixture(scope="module")
def revenue() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    return rng.lognormal(3.0, 1.0, 700), rng.lognormal(3.05, 1.1, 900)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.2])
def test_welch_equals_scipy_and_statsmodels(
    revenue: tuple[np.ndarray, np.ndarray], alternative: str, alpha: float
) -> None:
    control, treatment = revenue
    ours = welch_ttest(control, treatment, alpha=alpha, alternative=alternative)
    ref = stats.ttest_ind(treatment, control, equal_var=False, alternative=alternative)
    ci = ref.confidence_interval(confidence_level=1 - alpha)
    assert ours.statistic == pytest.approx(ref.statistic, **TOL)
    assert ours.p_value == pytest.approx(ref.pvalue, **TOL)
    assert ours.dof == pytest.approx(ref.df, **TOL)
    np.testing.assert_allclose([ours.ci_low, ours.ci_high], [ci.low, ci.high], rtol=1e-9)
    compare = CompareMeans(DescrStatsW(treatment), DescrStatsW(control))
    sm_alt = SM_ALTERNATIVE[alternative]
    t, p, df = compare.ttest_ind(alternative=sm_alt, usevar="unequal")
    assert (ours.statistic, ours.p_value, ours.dof) == pytest.approx((t, p, df), **TOL)
    low, high = compare.tconfint_diff(alpha=alpha, alternative=sm_alt, usevar="unequal")
    np.testing.assert_allclose([ours.ci_low, ours.ci_high], [low, high], rtol=1e-9)


@settings(max_examples=30)
@given(control=samples, treatment=samples)
def test_welch_equals_scipy_on_any_data(control: np.ndarray, treatment: np.ndarray) -> None:
    assume(np.ptp(control) > 0.01 or np.ptp(treatment) > 0.01)
    ours = welch_ttest(control, treatment)
    ref = scipy_welch(treatment, control)
    ci = ref.confidence_interval()
    assert ours.statistic == pytest.approx(ref.statistic, **TOL)
    assert ours.p_value == pytest.approx(ref.pvalue, **TOL)
    assert ours.dof == pytest.approx(ref.df, **TOL)
    assert ours.ci_low == pytest.approx(ci.low, rel=1e-9, abs=1e-9)
    assert ours.ci_high == pytest.approx(ci.high, rel=1e-9, abs=1e-9)


@settings(max_examples=30)
@given(control=samples, treatment=samples)
def test_welch_is_antisymmetric_and_its_interval_matches_its_test(control: np.ndarray, treatment: np.ndarray) -> None:
    assume(np.ptp(control) > 0.01 or np.ptp(treatment) > 0.01)
    forward = welch_ttest(control, treatment)
    backward = welch_ttest(treatment, control)
    assert backward.difference == pytest.approx(-forward.difference)
    assert backward.p_value == pytest.approx(forward.p_value, rel=1e-12, abs=1e-15)
    assert forward.ci_low <= forward.difference <= forward.ci_high
    excludes_zero = forward.ci_low > 0 or forward.ci_high < 0
    if abs(forward.p_value - forward.alpha) > 1e-9:
        assert forward.significant == excludes_zero


def test_welch_works_when_only_one_arm_varies() -> None:
    result = welch_ttest([5.0, 5.0, 5.0], [4.0, 6.0, 7.0])
    ref = scipy_welch(np.array([4.0, 6.0, 7.0]), np.array([5.0, 5.0, 5.0]))
    assert result.p_value == pytest.approx(ref.pvalue, **TOL)


counts = st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(control=counts, treatment=counts, alternative=st.sampled_from(ALTERNATIVES))
def test_ztest_equals_statsmodels(control: tuple[int, int], treatment: tuple[int, int], alternative: str) -> None:
    (x_c, n_c), (x_t, n_t) = control, treatment
    assume(0 < x_c + x_t < n_c + n_t)
    ours = two_proportion_ztest(x_c, n_c, x_t, n_t, alternative=alternative)
    z, p = proportions_ztest([x_t, x_c], [n_t, n_c], alternative=SM_ALTERNATIVE[alternative])
    assert ours.statistic == pytest.approx(z, **TOL)
    assert ours.p_value == pytest.approx(p, **TOL)


@given(control=counts, treatment=counts, alpha=st.sampled_from([0.01, 0.05, 0.1]))
def test_ztest_interval_equals_statsmodels_wald(
    control: tuple[int, int], treatment: tuple[int, int], alpha: float
) -> None:
    (x_c, n_c), (x_t, n_t) = control, treatment
    assume(0 < x_c + x_t < n_c + n_t)
    ours = two_proportion_ztest(x_c, n_c, x_t, n_t, alpha=alpha)
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=alpha)
    assert ours.ci_low == pytest.approx(low, rel=1e-9, abs=1e-12)
    assert ours.ci_high == pytest.approx(high, rel=1e-9, abs=1e-12)
    assert ours.difference == pytest.approx(x_t / n_t - x_c / n_c)


def test_ztest_on_a_typical_conversion_experiment() -> None:
    result = two_proportion_ztest(1000, 10_000, 1100, 10_000)
    z, p = proportions_ztest([1100, 1000], [10_000, 10_000])
    assert (result.statistic, result.p_value) == pytest.approx((z, p), **TOL)
    assert result.significant
    assert result.lift is not None
    assert result.lift.estimate == pytest.approx(0.1)


def test_one_sided_intervals_are_open_on_one_side() -> None:
    greater = two_proportion_ztest(100, 1000, 130, 1000, alternative="greater")
    less = welch_ttest([1.0, 2.0, 3.0], [2.0, 3.0, 5.0], alternative="less")
    assert greater.ci_high == math.inf and math.isfinite(greater.ci_low)
    assert less.ci_low == -math.inf and math.isfinite(less.ci_high)
    assert greater.lift is not None and greater.lift.ci_high == math.inf


def test_relative_lift_is_the_delta_method() -> None:
    m_c, v_c, m_t, v_t = 20.0, 0.25, 22.0, 0.36
    lift = relative_lift(m_c, v_c, m_t, v_t, alpha=0.1)
    assert lift is not None
    se = math.sqrt(v_t / m_c**2 + m_t**2 * v_c / m_c**4)
    z = stats.norm.ppf(0.95)
    assert (lift.estimate, lift.std_error) == pytest.approx((0.1, se), rel=1e-12)
    assert (lift.ci_low, lift.ci_high) == pytest.approx((0.1 - z * se, 0.1 + z * se), rel=1e-12)


def test_relative_lift_is_undefined_for_a_zero_control_mean() -> None:
    assert relative_lift(0.0, 0.1, 1.0, 0.1) is None
    assert welch_ttest([-1.0, 1.0], [1.0, 2.0]).lift is None


def test_relative_lift_interval_covers_the_true_lift() -> None:
    rng = np.random.default_rng(5)
    reps, n = 1000, 400
    control = rng.normal(10.0, 3.0, (reps, n))
    treatment = rng.normal(11.0, 3.0, (reps, n))
    covered = 0
    for c, t in zip(control, treatment, strict=True):
        lift = relative_lift(c.mean(), c.var(ddof=1) / n, t.mean(), t.var(ddof=1) / n)
        assert lift is not None
        covered += lift.ci_low <= 0.1 <= lift.ci_high
    # 95% nominal; the Monte-Carlo standard error of the coverage is ~0.7%
    assert 0.93 <= covered / reps <= 0.97


def test_results_serialise_to_json_safe_dicts() -> None:
    result = welch_ttest([1.0, 2.0, 3.0], [2.0, 3.0, 5.0], alternative="greater")
    as_dict = result.to_dict()
    assert as_dict["ci_high"] is None
    assert as_dict["significant"] is False
    assert as_dict["lift"]["ci_high"] is None
