"""Always-valid inference: mSPRT p-values and confidence sequences stay valid under peeking."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import integrate, stats

from steward.core.errors import InvalidArgument
from steward.experiments import (
    SequentialTest,
    always_valid_p_values,
    confidence_sequence,
    mixture_log_likelihood_ratio,
    mixture_tau,
)

ALPHA = 0.05


def test_mixture_tau_solves_the_optimality_equation() -> None:
    tau = mixture_tau(ALPHA, 0.04)
    r = tau**2 / 0.04
    assert r == pytest.approx(2 * math.log(1 / ALPHA) + math.log1p(r), rel=1e-12)


@pytest.mark.parametrize(
    ("d", "v", "tau", "null"), [(0.3, 0.01, 0.2, 0.0), (-1.0, 0.5, 1.5, 0.2), (0.0, 2.0, 0.1, 0.0)]
)
def test_log_likelihood_ratio_is_the_normal_mixture_integral(d: float, v: float, tau: float, null: float) -> None:
    # Lambda = integral of N(d; theta, V) / N(d; null, V) over theta ~ N(null, tau**2)
    def integrand(theta: float) -> float:
        ratio = stats.norm.pdf(d, theta, math.sqrt(v)) / stats.norm.pdf(d, null, math.sqrt(v))
        return float(ratio * stats.norm.pdf(theta, null, tau))

    expected, _ = integrate.quad(integrand, null - 12 * tau, null + 12 * tau, epsabs=1e-13, epsrel=1e-12)
    assert float(mixture_log_likelihood_ratio(d, v, tau, null)) == pytest.approx(math.log(expected), rel=1e-8)


@given(
    d=st.floats(-5, 5),
    v=st.floats(1e-4, 10),
    tau=st.floats(1e-2, 10),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
)
def test_interval_bounds_are_exactly_where_the_test_rejects(d: float, v: float, tau: float, alpha: float) -> None:
    low, high = confidence_sequence([d], [v], tau, alpha=alpha)
    for bound in (low[0], high[0]):
        llr = float(mixture_log_likelihood_ratio(d, v, tau, null_difference=float(bound)))
        assert llr == pytest.approx(math.log(1 / alpha), rel=1e-7)


def test_no_information_leaves_the_p_value_at_one_without_warnings() -> None:
    p = always_valid_p_values([[0.0, 0.5]], [[0.0, 0.0]], 1.0)
    low, high = confidence_sequence([[0.0, 0.5]], [[0.0, 0.0]], 1.0)
    assert p.tolist() == [[1.0, 1.0]]
    assert np.all(np.isinf(low)) and np.all(np.isinf(high))


def _cumulative(batches: np.ndarray, proportion: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Running mean and variance of each experiment after each look; batches: (E, looks, B)."""
    n = batches.shape[2] * np.arange(1, batches.shape[1] + 1)
    total = np.cumsum(batches.sum(axis=2), axis=1)
    mean = total / n
    if proportion:
        return mean, mean * (1 - mean), n
    squares = np.cumsum(((batches - batches[:, :1, :1]) ** 2).sum(axis=2), axis=1)
    shifted = mean - batches[:, :1, 0]
    return mean, (squares - n * shifted**2) / (n - 1), n


def _simulate(
    metric: str, effect: float, seed: int, experiments: int = 1000, looks: int = 50, batch: int = 20
) -> dict[str, float]:
    """Vectorised A/A (or A/B) experiments, each analysed after every batch."""
    rng = np.random.default_rng(seed)
    shape = (experiments, looks, batch)
    proportion = metric == "proportion"
    if proportion:
        base, sd = 0.2, math.sqrt(0.2 * 0.8)
        control = rng.binomial(1, base, shape).astype(np.float64)
        treatment = rng.binomial(1, base + effect, shape).astype(np.float64)
    else:
        sd = 1.0
        control = rng.normal(0.0, sd, shape)
        treatment = rng.normal(effect, sd, shape)
    m_c, s_c, n = _cumulative(control, proportion)
    m_t, s_t, _ = _cumulative(treatment, proportion)
    difference, variance = m_t - m_c, s_c / n + s_t / n
    # tau fixed before the first look: narrowest interval at the final planned size
    tau = mixture_tau(ALPHA, 2 * sd**2 / (looks * batch))
    p_sequential = always_valid_p_values(difference, variance, tau)
    low, high = confidence_sequence(difference, variance, tau, alpha=ALPHA)
    # the naive analyst: a Welch t-test at every look, stopping at the first p < alpha
    dof = variance**2 / ((s_c / n) ** 2 / (n - 1) + (s_t / n) ** 2 / (n - 1))
    p_naive = 2 * stats.t.sf(np.abs(difference / np.sqrt(variance)), dof)
    return {
        "sequential": float(np.mean(p_sequential[:, -1] <= ALPHA)),
        "naive_peeking": float(np.mean(np.any(p_naive <= ALPHA, axis=1))),
        "fixed_horizon": float(np.mean(p_naive[:, -1] <= ALPHA)),
        "interval_missed": float(np.mean(np.any((low > effect) | (high < effect), axis=1))),
    }


# 1000 experiments: the Monte-Carlo standard error of a 5% rate is 0.7%, so 3 SE is ~0.02
MARGIN = 0.02


@pytest.mark.parametrize(("metric", "seed"), [("mean", 20240601), ("proportion", 20240602)])
def test_peeking_after_every_batch_keeps_the_sequential_false_positive_rate_below_alpha(metric: str, seed: int) -> None:
    rates = _simulate(metric, effect=0.0, seed=seed)
    # Seeded figures (mean / proportion): sequential 0.016 / 0.015, naive peeking 0.335 / 0.32,
    # a single t-test at the final look 0.057 / 0.049.
    assert rates["sequential"] <= ALPHA + MARGIN
    assert rates["interval_missed"] <= ALPHA + MARGIN
    assert rates["naive_peeking"] >= 4 * ALPHA  # repeated t-tests: several times alpha
    assert rates["fixed_horizon"] <= ALPHA + MARGIN  # one look at the planned size is fine


def test_the_sequential_test_finds_a_real_effect_and_covers_it() -> None:
    rates = _simulate("mean", effect=0.2, seed=7, experiments=400)
    assert rates["sequential"] >= 0.9  # power, while peeking 50 times
    assert rates["interval_missed"] <= ALPHA + 0.03


def test_the_estimator_follows_the_vectorised_path() -> None:
    rng = np.random.default_rng(3)
    control, treatment = rng.normal(0, 1, (12, 30)), rng.normal(0.4, 1, (12, 30))
    test = SequentialTest(alpha=ALPHA, tau=0.3)
    looks = []
    for c, t in zip(control, treatment, strict=True):
        test.update(c, t)
        looks.append((test.difference_, test.variance_, test.p_value_, test.ci_low_, test.ci_high_))
    d, v, p, low, high = (np.asarray(col) for col in zip(*looks, strict=True))
    np.testing.assert_allclose(p, always_valid_p_values(d, v, 0.3), rtol=1e-12)
    ref_low, ref_high = confidence_sequence(d, v, 0.3, alpha=ALPHA)
    np.testing.assert_allclose(low, ref_low, rtol=1e-12)
    np.testing.assert_allclose(high, ref_high, rtol=1e-12)
    assert d[-1] == pytest.approx(treatment.mean() - control.mean())
    assert v[-1] == pytest.approx(control.var(ddof=1) / control.size + treatment.var(ddof=1) / treatment.size)


batches = st.lists(
    st.tuples(
        arrays(np.float64, st.integers(0, 15), elements=st.floats(-100, 100)),
        arrays(np.float64, st.integers(0, 15), elements=st.floats(-100, 100)),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40)
@given(batches=batches)
def test_p_values_never_rise_and_intervals_only_shrink(batches: list[tuple[np.ndarray, np.ndarray]]) -> None:
    test = SequentialTest(alpha=ALPHA, tau=5.0)
    previous = (1.0, -math.inf, math.inf)
    for c, t in batches:
        test.update(c, t)
        p, low, high = test.p_value_, test.ci_low_, test.ci_high_
        assert p <= previous[0]
        current = confidence_sequence([test.difference_], [test.variance_], 5.0, alpha=ALPHA)
        nested = previous[1] <= low <= high <= previous[2]
        fallback = (low, high) == (current[0][0], current[1][0])  # empty intersection (misspecified)
        assert nested or fallback
        previous = (p, low, high)
    all_c = np.concatenate([c for c, _ in batches])
    all_t = np.concatenate([t for _, t in batches])
    assert test.n_control_ == all_c.size and test.n_treatment_ == all_t.size
    if all_c.size and all_t.size:
        assert test.difference_ == pytest.approx(all_t.mean() - all_c.mean(), abs=1e-9)
    if all_c.size >= 2 and all_t.size >= 2:
        expected = all_c.var(ddof=1) / all_c.size + all_t.var(ddof=1) / all_t.size
        assert test.variance_ == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_tau_from_the_planned_size_is_fixed_at_the_first_informative_look() -> None:
    rng = np.random.default_rng(0)
    test = SequentialTest(planned_n=2000).update([1.0], [2.0])
    assert test.tau_ is None and test.p_value_ == 1.0
    test.update(rng.normal(0, 2, 100), rng.normal(0, 2, 100))
    tau = test.tau_
    assert tau is not None
    test.update(rng.normal(0, 2, 100), rng.normal(0, 2, 100))
    assert test.tau_ == tau
    # about 2 * sigma**2 / 1000 per arm at the planned size
    assert tau == pytest.approx(mixture_tau(ALPHA, 2 * 4.0 / 1000), rel=0.3)


def test_proportions_use_the_binomial_variance() -> None:
    test = SequentialTest(metric="proportion", tau=0.05).update([0, 1, 0, 0], [1, 1, 0, 1])
    assert test.variance_ == pytest.approx(0.25 * 0.75 / 4 + 0.75 * 0.25 / 4)


def test_constant_data_gives_no_evidence_and_a_json_safe_result() -> None:
    result = SequentialTest(tau=1.0).update([3.0, 3.0, 3.0], [3.0, 3.0]).result()
    assert result.p_value == 1.0 and not result.significant
    as_dict = result.to_dict()
    assert as_dict["ci_low"] is None and as_dict["ci_high"] is None
    json.dumps(as_dict, allow_nan=False)


def test_params_rebuild_the_test() -> None:
    test = SequentialTest(alpha=0.01, metric="proportion", planned_n=500, null_difference=0.1)
    assert SequentialTest(**test.get_params()).get_params() == test.get_params()


def test_reading_a_result_before_any_look_is_an_error() -> None:
    with pytest.raises(InvalidArgument):
        SequentialTest(tau=1.0).result()
