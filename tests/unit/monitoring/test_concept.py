"""Concept drift: realised performance and the error-rate z-test (closed form = scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from steward.core.errors import InvalidArgument
from steward.monitoring.concept import ConceptDrift, classification_metrics, two_proportion_z_test


@settings(derandomize=True, max_examples=100, deadline=None)
@given(st.integers(1, 500), st.integers(1, 500), st.data())
def test_z_test_equals_scipys_chi_square_of_the_two_by_two_table(n1: int, n2: int, data: st.DataObject) -> None:
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    z, p = two_proportion_z_test(x1, n1, x2, n2)
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    if (x1 + x2) in (0, n1 + n2):
        assert (z, p) == (0.0, 1.0)
        return
    res = stats.chi2_contingency(table, correction=False)
    assert z * z == pytest.approx(res.statistic, rel=1e-9, abs=1e-9)
    assert p == pytest.approx(res.pvalue, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9, abs=1e-12)


def test_error_rate_shift_is_detected_and_its_size_reported() -> None:
    rng = np.random.default_rng(0)
    y_ref, y_cur = rng.integers(0, 2, 5000), rng.integers(0, 2, 5000)
    pred_ref = np.where(rng.random(5000) < 0.85, y_ref, 1 - y_ref)
    pred_cur = np.where(rng.random(5000) < 0.80, y_cur, 1 - y_cur)
    result = ConceptDrift().fit(y_ref, pred_ref).score(y_cur, pred_cur)
    assert result.drifted and result.statistic > 0
    assert result.error_rate_current - result.error_rate_reference == pytest.approx(0.05, abs=0.015)
    assert result.effect_size == pytest.approx(
        2 * math.asin(math.sqrt(result.error_rate_current)) - 2 * math.asin(math.sqrt(result.error_rate_reference))
    )
    better = ConceptDrift(alternative="increase").fit(y_cur, pred_cur).score(y_ref, pred_ref)
    assert not better.drifted and better.p_value > 0.5


def test_no_alarm_when_the_error_rate_holds() -> None:
    rng = np.random.default_rng(1)
    errors = rng.binomial(1000, 0.2, size=(400, 2))
    alarms = sum(two_proportion_z_test(a, 1000, b, 1000)[1] < 0.05 for a, b in errors)
    assert alarms / 400 <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 400)
    y = rng.integers(0, 2, (2, 1000))
    pred = np.where(rng.random((2, 1000)) < 0.8, y, 1 - y)
    assert not ConceptDrift().fit(y[0], pred[0]).score(y[1], pred[1]).drifted


def test_metrics_equal_scikit_learn() -> None:
    from sklearn import metrics

    rng = np.random.default_rng(2)
    y, score = rng.integers(0, 2, 300), rng.random(300)
    pred = (score > 0.5).astype(int)
    out = classification_metrics(y, pred, score)
    assert out["f1"] == metrics.f1_score(y, pred)
    assert out["roc_auc"] == metrics.roc_auc_score(y, score)
    assert out["error_rate"] == pytest.approx(1 - metrics.accuracy_score(y, pred))


def test_bad_input() -> None:
    with pytest.raises(InvalidArgument, match="'alternative' parameter of ConceptDrift"):
        ConceptDrift(alternative="less").fit([1], [1])
    with pytest.raises(InvalidArgument, match="equal length"):
        ConceptDrift().fit([1, 0], [1])
    with pytest.raises(InvalidArgument, match="not fitted"):
        ConceptDrift().score([1], [1])
