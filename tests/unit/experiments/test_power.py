"""Sample size and power agree with statsmodels."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower, normal_sample_size_one_tail
from statsmodels.stats.proportion import (
    power_proportions_2indep,
    proportion_effectsize,
    samplesize_proportions_2indep_onetail,
)

from steward.experiments import (
    minimum_detectable_effect_means,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)

SM_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}
GRID = [
    # (alpha, ratio, alternative)
    (0.05, 1.0, "two-sided"),
    (0.01, 2.0, "two-sided"),
    (0.10, 0.5, "greater"),
    (0.05, 1.5, "less"),
]


@pytest.mark.parametrize(("alpha", "ratio", "alternative"), GRID)
@pytest.mark.parametrize(("mde", "std", "n"), [(0.5, 10.0, 3000), (-2.0, 7.5, 120), (0.1, 1.0, 10_000)])
def test_power_means_equals_normal_ind_power(
    alpha: float, ratio: float, alternative: str, mde: float, std: float, n: int
) -> None:
    expected = NormalIndPower().power(
        effect_size=mde / std, nobs1=n, alpha=alpha, ratio=ratio, alternative=SM_ALTERNATIVE[alternative]
    )
    assert power_means(mde, std, n, alpha=alpha, ratio=ratio, alternative=alternative) == pytest.approx(
        expected, rel=1e-12, abs=1e-15
    )


@pytest.mark.parametrize(("alpha", "ratio", "alternative"), GRID)
def test_sample_size_means_equals_statsmodels(alpha: float, ratio: float, alternative: str) -> None:
    mde = -0.4 if alternative == "less" else 0.4
    size = sample_size_means(mde, 5.0, alpha=alpha, power=0.8, ratio=ratio, alternative=alternative)
    tail_alpha = alpha / 2 if alternative == "two-sided" else alpha
    closed_form = normal_sample_size_one_tail(abs(mde) / 5.0, 0.8, tail_alpha, std_null=math.sqrt(1 + 1 / ratio))
    assert size.n_control_exact == pytest.approx(closed_form, rel=1e-12)
    # statsmodels' solver also counts the far tail of a two-sided test: a negligible difference
    solved = NormalIndPower().solve_power(
        effect_size=mde / 5.0, alpha=alpha, power=0.8, ratio=ratio, alternative=SM_ALTERNATIVE[alternative]
    )
    assert size.n_control_exact == pytest.approx(solved, rel=1e-4)
    assert size.n_control == math.ceil(size.n_control_exact)
    assert size.n_treatment == math.ceil(size.n_control_exact * ratio)
    assert size.n_total == size.n_control + size.n_treatment


@pytest.mark.parametrize(("alpha", "ratio", "alternative"), GRID)
@pytest.mark.parametrize(("baseline", "mde", "n"), [(0.10, 0.01, 15_000), (0.5, -0.05, 800), (0.02, 0.004, 40_000)])
def test_power_proportions_equals_power_proportions_2indep(
    alpha: float, ratio: float, alternative: str, baseline: float, mde: float, n: int
) -> None:
    # statsmodels' sample 1 is the treatment and its ratio is n_control / n_treatment
    expected = power_proportions_2indep(
        mde,
        baseline,
        nobs1=n * ratio,
        ratio=1 / ratio,
        alpha=alpha,
        alternative=SM_ALTERNATIVE[alternative],
        return_results=False,
    )
    ours = power_proportions(baseline, mde, n, alpha=alpha, ratio=ratio, alternative=alternative)
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("alpha", "ratio", "alternative"), GRID)
def test_sample_size_proportions_equals_samplesize_proportions_2indep(
    alpha: float, ratio: float, alternative: str
) -> None:
    mde = -0.02 if alternative == "less" else 0.02
    size = sample_size_proportions(0.2, mde, alpha=alpha, power=0.9, ratio=ratio, alternative=alternative)
    n_treatment = samplesize_proportions_2indep_onetail(
        mde, 0.2, 0.9, ratio=1 / ratio, alpha=alpha, alternative=SM_ALTERNATIVE[alternative]
    )
    assert size.n_control_exact * ratio == pytest.approx(n_treatment, rel=1e-12)


@pytest.mark.parametrize(("alpha", "ratio", "alternative"), GRID)
def test_arcsine_method_equals_proportion_effectsize_with_normal_ind_power(
    alpha: float, ratio: float, alternative: str
) -> None:
    mde = -0.03 if alternative == "less" else 0.03
    h = proportion_effectsize(0.3 + mde, 0.3)
    sm_alt = SM_ALTERNATIVE[alternative]
    expected_power = NormalIndPower().power(h, nobs1=2000, alpha=alpha, ratio=ratio, alternative=sm_alt)
    ours = power_proportions(0.3, mde, 2000, alpha=alpha, ratio=ratio, alternative=alternative, method="arcsine")
    assert ours == pytest.approx(expected_power, rel=1e-12)
    size = sample_size_proportions(0.3, mde, alpha=alpha, ratio=ratio, alternative=alternative, method="arcsine")
    assert size.effect_size == pytest.approx(h, rel=1e-12)
    solved = NormalIndPower().solve_power(h, alpha=alpha, power=0.8, ratio=ratio, alternative=sm_alt)
    assert size.n_control_exact == pytest.approx(solved, rel=1e-4)


def test_relative_mde_is_a_share_of_the_baseline() -> None:
    relative = sample_size_proportions(0.1, 0.1, relative=True)
    absolute = sample_size_proportions(0.1, 0.01)
    assert relative.n_control_exact == pytest.approx(absolute.n_control_exact, rel=1e-12)


def test_textbook_figure() -> None:
    # 10% -> 11% at alpha 0.05 and 80% power: the widely quoted ~14,750 per arm
    assert sample_size_proportions(0.10, 0.01).n_control == 14_751


@given(
    std=st.floats(0.1, 100.0),
    n=st.integers(4, 10**6),
    ratio=st.floats(0.2, 5.0),
    power=st.floats(0.55, 0.99),
)
def test_minimum_detectable_effect_inverts_the_sample_size(std: float, n: int, ratio: float, power: float) -> None:
    mde = minimum_detectable_effect_means(std, n, power=power, ratio=ratio)
    size = sample_size_means(mde, std, power=power, ratio=ratio)
    assert size.n_control_exact == pytest.approx(n, rel=1e-9)


@given(
    baseline=st.floats(0.01, 0.9),
    mde=st.floats(0.001, 0.09),
    n=st.integers(10, 10**6),
)
def test_power_grows_with_sample_size(baseline: float, mde: float, n: int) -> None:
    smaller = power_proportions(baseline, mde, n)
    larger = power_proportions(baseline, mde, 2 * n)
    assert 0.0 < smaller <= larger <= 1.0


@given(mde=st.floats(0.01, 5.0), std=st.floats(0.5, 50.0), power=st.floats(0.5, 0.99))
def test_the_planned_size_reaches_the_requested_power(mde: float, std: float, power: float) -> None:
    size = sample_size_means(mde, std, power=power)
    assert power_means(mde, std, size.n_control) >= power - 1e-9
    # the closed form ignores the far tail, worth at most Phi(-2 * 1.96) ~ 4.4e-5 of power
    assert power - 1e-9 <= power_means(mde, std, size.n_control_exact) <= power + 5e-5
