"""The sample-ratio-mismatch check agrees with scipy.stats.chisquare."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from steward.experiments import DEFAULT_SRM_THRESHOLD, sample_ratio_mismatch


@st.composite
def arms(draw: st.DrawFn) -> tuple[list[int], list[float]]:
    k = draw(st.integers(2, 5))
    raw = draw(st.lists(st.integers(1, 50), min_size=k, max_size=k))
    counts = draw(st.lists(st.integers(0, 100_000), min_size=k, max_size=k).filter(lambda c: sum(c) > 0))
    return counts, [w / sum(raw) for w in raw]


@given(arms())
def test_srm_equals_scipy_chisquare(case: tuple[list[int], list[float]]) -> None:
    observed, weights = case
    result = sample_ratio_mismatch(observed, weights)
    expected = sum(observed) * np.asarray(weights)
    ref = stats.chisquare(observed, expected)
    assert result.statistic == pytest.approx(ref.statistic, rel=1e-9, abs=1e-12)
    assert result.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    assert result.dof == len(observed) - 1
    assert result.mismatch == (result.p_value < DEFAULT_SRM_THRESHOLD)
    assert sum(result.observed_shares) == pytest.approx(1.0)


def test_a_healthy_split_passes_and_a_broken_one_is_flagged() -> None:
    assert not sample_ratio_mismatch([50_120, 49_880], [0.5, 0.5]).mismatch
    broken = sample_ratio_mismatch([50_000, 48_000], [0.5, 0.5])
    assert broken.mismatch
    assert broken.p_value < 1e-9


def test_srm_uses_the_configured_split() -> None:
    # 90/10 is exactly what a 90/10 split promises, and far from 50/50
    assert not sample_ratio_mismatch([9_000, 1_000], [0.9, 0.1]).mismatch
    assert sample_ratio_mismatch([9_000, 1_000], [0.5, 0.5]).mismatch


def test_threshold_is_configurable() -> None:
    observed = [5_100, 4_900]
    p = sample_ratio_mismatch(observed, [0.5, 0.5]).p_value
    assert 0.01 < p < 0.1
    assert sample_ratio_mismatch(observed, [0.5, 0.5], threshold=0.1).mismatch
    assert not sample_ratio_mismatch(observed, [0.5, 0.5]).mismatch


def test_srm_result_is_json_safe() -> None:
    as_dict = sample_ratio_mismatch([10, 12, 9], [0.3, 0.4, 0.3]).to_dict()
    assert as_dict["observed"] == [10, 12, 9]
    assert isinstance(as_dict["mismatch"], bool)
