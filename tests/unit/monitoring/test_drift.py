"""Univariate detectors: scipy's numbers, Evidently's rules and defaults, the registry."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from steward.core.errors import InvalidArgument
from steward.monitoring import _stats
from steward.monitoring.drift import (
    DRIFT_METHODS,
    ChiSquareDrift,
    DriftDetector,
    JensenShannonDrift,
    KSDrift,
    PsiDrift,
    WassersteinDrift,
    ZTestDrift,
    default_method,
    make_detector,
)

TOL = 1e-9
rng = np.random.default_rng(7)
REF = rng.normal(0.0, 1.0, 1500)
CUR = rng.normal(0.2, 1.3, 1200)
CAT_REF = rng.choice(list("abcdefgh"), 900, p=np.linspace(1, 2, 8) / 12)
CAT_CUR = rng.choice(list("abcdefghi"), 700, p=np.r_[np.linspace(2, 1, 8), 0.3] / 12.3)


def _evidently_binned(ref: np.ndarray, cur: np.ndarray, numerical: bool) -> tuple[np.ndarray, np.ndarray]:
    """Evidently 0.7's get_binned_data (without its zero fill), written out plainly."""
    r, c = pd.Series(ref), pd.Series(cur)
    if numerical and r.nunique() > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        return np.histogram(ref, bins)[0] / len(ref), np.histogram(cur, bins)[0] / len(cur)
    keys = list(set(r.unique()) | set(c.unique()))
    rc, cc = r.value_counts(), c.value_counts()
    return (
        np.array([rc.get(k, 0) / len(r) for k in keys]),
        np.array([cc.get(k, 0) / len(c) for k in keys]),
    )


def test_ks_equals_scipy() -> None:
    res = KSDrift().fit(REF).score(CUR)
    ref = stats.ks_2samp(REF, CUR)
    assert res.statistic == pytest.approx(ref.statistic, abs=TOL)
    assert res.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert res.drifted == (ref.pvalue <= 0.05)
    assert res.effect_size == res.statistic


@settings(derandomize=True, max_examples=80, deadline=None)
@given(
    st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=60),
    st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=60),
)
def test_wasserstein_equals_scipy_on_any_data(u: list[float], v: list[float]) -> None:
    ours = _stats.wasserstein_sorted(np.sort(u), np.sort(v))
    assert ours == pytest.approx(stats.wasserstein_distance(u, v), rel=TOL, abs=TOL)


def test_wasserstein_normed_equals_evidently() -> None:
    res = WassersteinDrift().fit(REF).score(CUR)
    expected = stats.wasserstein_distance(REF, CUR) / max(np.std(REF), 0.001)
    assert res.statistic == pytest.approx(expected, rel=TOL)
    assert res.drifted and res.p_value is None
    constant = WassersteinDrift().fit(np.zeros(50)).score(np.full(50, 0.01))
    assert constant.statistic == pytest.approx(0.01 / 0.001, rel=TOL)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.integers(1, 200), st.integers(1, 200), st.floats(-5, 5), st.integers(0, 10_000))
def test_sturges_edges_equal_numpy(n_ref: int, n_cur: int, shift: float, seed: int) -> None:
    r = np.random.default_rng(seed)
    data = np.concatenate([r.normal(size=n_ref), r.normal(shift, 1, n_cur)])
    ours = _stats.sturges_edges(float(data.min()), float(data.max()), data.size)
    np.testing.assert_allclose(ours, np.histogram_bin_edges(data, bins="sturges"), rtol=0, atol=TOL)


@pytest.mark.parametrize(("ref", "cur", "numerical"), [(REF, CUR, True), (CAT_REF, CAT_CUR, False)])
def test_jensenshannon_equals_scipy_on_evidently_bins(ref: np.ndarray, cur: np.ndarray, numerical: bool) -> None:
    res = JensenShannonDrift().fit(ref).score(cur)
    p, q = _evidently_binned(ref, cur, numerical)
    assert res.statistic == pytest.approx(distance.jensenshannon(p, q), abs=TOL)


def test_jensenshannon_on_few_distinct_numbers_uses_value_counts() -> None:
    ref, cur = rng.integers(0, 4, 3000).astype(float), rng.integers(0, 5, 2000).astype(float)
    res = JensenShannonDrift().fit(ref).score(cur)
    p, q = _evidently_binned(ref, cur, True)
    assert res.statistic == pytest.approx(distance.jensenshannon(p, q), abs=TOL)


@pytest.mark.parametrize(("ref", "cur", "numerical"), [(REF, CUR, True), (CAT_REF, CAT_CUR, False)])
def test_psi_equals_evidently_formula(ref: np.ndarray, cur: np.ndarray, numerical: bool) -> None:
    p, q = _evidently_binned(ref, cur, numerical)
    fill = [np.where(a == 0, (a[a > 0].min() / 1e6 if a[a > 0].min() <= 1e-4 else 1e-4), a) for a in (p, q)]
    expected = float(np.sum((fill[0] - fill[1]) * np.log(fill[0] / fill[1])))
    assert PsiDrift().fit(ref).score(cur).statistic == pytest.approx(expected, abs=TOL)


def test_psi_with_reference_quantile_bins() -> None:
    res = PsiDrift(bins=10).fit(REF).score(CUR)
    edges = np.r_[-np.inf, np.quantile(REF, np.linspace(0, 1, 11)[1:-1]), np.inf]
    r = np.histogram(REF, edges)[0] / REF.size
    c = np.histogram(CUR, edges)[0] / CUR.size
    assert res.statistic == pytest.approx(float(np.sum((r - c) * np.log(r / c))), abs=TOL)


def test_chisquare_equals_scipy_and_evidently_without_pooling() -> None:
    ref_c, cur_c = pd.Series(CAT_REF).value_counts(), pd.Series(CAT_CUR).value_counts()
    keys = sorted(set(ref_c.index) & set(cur_c.index))
    ref, cur = CAT_REF[np.isin(CAT_REF, keys)], CAT_CUR[np.isin(CAT_CUR, keys)]
    f_obs = np.array([np.sum(cur == k) for k in keys])
    f_exp = np.array([np.sum(ref == k) for k in keys]) * cur.size / ref.size
    expected = stats.chisquare(f_obs, f_exp)
    res = ChiSquareDrift(test="goodness_of_fit", min_expected=0).fit(ref).score(cur)
    assert res.statistic == pytest.approx(expected.statistic, abs=TOL)
    assert res.p_value == pytest.approx(expected.pvalue, abs=TOL)
    assert res.effect_size == pytest.approx(math.sqrt(expected.statistic / cur.size), abs=TOL)


def test_chisquare_homogeneity_equals_scipy_contingency() -> None:
    keys = sorted(set(CAT_REF) | set(CAT_CUR))
    table = np.array([[np.sum(k == CAT_REF) for k in keys], [np.sum(k == CAT_CUR) for k in keys]])
    expected = stats.chi2_contingency(table, correction=False)
    res = ChiSquareDrift(min_expected=0).fit(CAT_REF).score(CAT_CUR)
    assert res.statistic == pytest.approx(expected.statistic, abs=TOL)
    assert res.p_value == pytest.approx(expected.pvalue, abs=TOL)
    assert res.effect_size == pytest.approx(math.sqrt(expected.statistic / table.sum()), abs=TOL)


def test_chisquare_homogeneity_holds_its_level_where_goodness_of_fit_does_not() -> None:
    r = np.random.default_rng(5)
    p = 1 / np.arange(1, 31) ** 1.1
    p /= p.sum()
    hits = {"homogeneity": 0, "goodness_of_fit": 0}
    for _ in range(100):
        ref, cur = r.choice(30, 500, p=p).astype(str), r.choice(30, 500, p=p).astype(str)
        for test in hits:
            hits[test] += ChiSquareDrift(test=test).fit(ref).score(cur).drifted
    assert hits["homogeneity"] <= 10
    assert hits["goodness_of_fit"] >= 30


def test_chisquare_pools_rare_and_unseen_categories() -> None:
    res_raw = ChiSquareDrift(test="goodness_of_fit", min_expected=0).fit(CAT_REF).score(CAT_CUR)
    assert res_raw.p_value == 0.0 and math.isinf(res_raw.statistic)  # "i" never seen: Evidently's p = 0
    res = ChiSquareDrift(test="goodness_of_fit").fit(CAT_REF).score(CAT_CUR)
    obs, exp = _stats.pool_small_cells(
        *[np.array(a, dtype=float) for a in _counts_of(CAT_CUR, CAT_REF)], min_expected=5.0
    )
    expected = stats.chisquare(obs, exp)
    assert res.statistic == pytest.approx(expected.statistic, abs=TOL)
    assert res.p_value == pytest.approx(expected.pvalue, abs=TOL)


def _counts_of(cur: np.ndarray, ref: np.ndarray) -> tuple[list[float], list[float]]:
    keys = list(pd.unique(ref)) + [k for k in pd.unique(cur) if k not in set(ref)]
    f_obs = [float(np.sum(cur == k)) for k in keys]
    f_exp = [float(np.sum(ref == k)) * cur.size / ref.size for k in keys]
    return f_obs, f_exp


def test_z_test_equals_closed_form_and_scipy() -> None:
    ref, cur = rng.choice(["y", "n"], 800, p=[0.3, 0.7]), rng.choice(["y", "n"], 600, p=[0.36, 0.64])
    res = ZTestDrift().fit(ref).score(cur)
    x1, x2 = np.sum(ref == "n"), np.sum(cur == "n")
    p1, p2, pooled = x1 / 800, x2 / 600, (x1 + x2) / 1400
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / 800 + 1 / 600))
    assert res.statistic == pytest.approx(z, abs=TOL)
    assert res.p_value == pytest.approx(2 * (1 - stats.norm.cdf(abs(z))), abs=TOL)
    table = np.array([[x1, 800 - x1], [x2, 600 - x2]])
    assert res.p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue, abs=TOL)
    same = ZTestDrift().fit(["a"] * 10).score(["a"] * 5)
    assert (same.p_value, same.drifted) == (1.0, False)


@pytest.mark.parametrize(
    ("kind", "n_ref", "n_unique", "method"),
    [
        ("numerical", 1000, 6, "ks"),
        ("numerical", 1000, 5, "chisquare"),
        ("numerical", 1000, 3, "chisquare"),
        ("numerical", 1000, 2, "z"),
        ("categorical", 1000, 3, "chisquare"),
        ("categorical", 1000, 2, "z"),
        ("numerical", 1001, 6, "wasserstein"),
        ("numerical", 1001, 5, "jensenshannon"),
        ("numerical", 1001, 2, "jensenshannon"),
        ("categorical", 1001, 40, "jensenshannon"),
        ("categorical", 1001, 2, "jensenshannon"),
    ],
)
def test_default_method_is_evidentlys(kind: str, n_ref: int, n_unique: int, method: str) -> None:
    assert default_method(kind, n_ref, n_unique) == method  # type: ignore[arg-type]


def test_verdict_rules_at_the_threshold() -> None:
    assert KSDrift().decide(0.3, 0.05, 0.05)  # KS: p <= threshold
    assert not ChiSquareDrift().decide(3.0, 0.05, 0.05)  # chi-square and z: p < threshold
    assert not ZTestDrift().decide(2.0, 0.05, 0.05)
    assert WassersteinDrift().decide(0.1, None, 0.1)  # distances: >= threshold


def test_registry_lists_every_builtin_and_builds_them() -> None:
    assert set(DRIFT_METHODS) == {"ks", "chisquare", "z", "wasserstein", "psi", "jensenshannon"}
    for name, cls in DRIFT_METHODS.items():
        assert issubclass(cls, DriftDetector) and cls.method == name
        detector = make_detector(name, threshold=0.07)
        assert detector.get_params()["threshold"] == 0.07
        assert type(detector)(**detector.get_params()).get_params() == detector.get_params()


def test_threshold_error_names_parameter_rule_and_value() -> None:
    with pytest.raises(InvalidArgument) as info:
        JensenShannonDrift(threshold=1.5).fit(REF)
    assert (
        str(info.value) == "The 'threshold' parameter of JensenShannonDrift must be a float in (0, 1]. Got 1.5 instead."
    )
    assert info.value.field == "threshold"
    with pytest.raises(InvalidArgument, match=r"KSDrift must be a float in \(0, 1\)"):
        KSDrift(threshold=1.0).fit(REF)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: KSDrift().score(REF), "reference"),
        (lambda: KSDrift().fit(CAT_REF), "reference"),
        (lambda: WassersteinDrift().fit(REF).score([np.nan]), "current"),
        (lambda: make_detector("nope"), "method"),
    ],
)
def test_bad_input_raises_invalid_argument(call: object, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        call()  # type: ignore[operator]
    assert info.value.field == field


def test_nulls_are_dropped_before_testing() -> None:
    with_nulls = np.r_[REF, [np.nan] * 30, [np.inf]]
    assert WassersteinDrift().fit(with_nulls).score(CUR).statistic == pytest.approx(
        WassersteinDrift().fit(REF).score(CUR).statistic, abs=TOL
    )
