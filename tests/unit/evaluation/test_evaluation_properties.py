"""Properties every metric keeps (scikit-learn's metric test_common, with Hypothesis).

* shuffling rows changes nothing;
* unit sample weights equal no weights;
* an integer weight equals repeating the row;
* empty input raises InvalidArgument;
* ROC AUC lies in [0, 1] and reversing the scores gives 1 - AUC (ties included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from steward.core.errors import InvalidArgument
from steward.evaluation import (
    accuracy,
    average_precision,
    balanced_accuracy,
    brier_score,
    expected_calibration_error,
    log_loss,
    mae,
    mape,
    mse,
    r2,
    rmse,
    roc_auc,
    smape,
)

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)

LABEL_METRICS: dict[str, Callable[..., float]] = {"accuracy": accuracy, "balanced_accuracy": balanced_accuracy}
SCORE_METRICS: dict[str, Callable[..., float]] = {
    "roc_auc": roc_auc,
    "average_precision": average_precision,
    "log_loss": log_loss,
    "brier": brier_score,
    "expected_calibration_error": expected_calibration_error,
}
REGRESSION_METRICS: dict[str, Callable[..., float]] = {
    "mse": mse,
    "rmse": rmse,
    "mae": mae,
    "r2": r2,
    "mape": mape,
    "smape": smape,
}


@st.composite
def binary_case(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=2, max_value=40))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    labels[0], labels[1] = 0, 1  # both classes, so every metric is defined
    # Scores on a coarse grid produce many ties, the hard case for ranking metrics.
    scores = draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    weights = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    seed = draw(st.integers(0, 2**16))
    return np.array(labels), np.array(scores) / 10, np.array(weights), np.random.default_rng(seed).permutation(n)


@st.composite
def regression_case(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=2, max_value=40))
    values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
    truth = draw(st.lists(values, min_size=n, max_size=n))
    pred = draw(st.lists(values, min_size=n, max_size=n))
    weights = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    seed = draw(st.integers(0, 2**16))
    return np.array(truth), np.array(pred), np.array(weights), np.random.default_rng(seed).permutation(n)


def _all_binary(y: np.ndarray, s: np.ndarray, **kw: Any) -> dict[str, float]:
    pred = (s >= 0.5).astype(int)
    values = {name: f(y, pred, **kw) for name, f in LABEL_METRICS.items()}
    return values | {name: f(y, s, **kw) for name, f in SCORE_METRICS.items()}


@PROPERTY
@given(binary_case())
def test_classification_metrics_ignore_row_order(case: tuple[np.ndarray, ...]) -> None:
    y, s, w, perm = case
    before = _all_binary(y, s, sample_weight=w)
    after = _all_binary(y[perm], s[perm], sample_weight=w[perm])
    for name, value in before.items():
        assert after[name] == pytest.approx(value, abs=1e-12), name


@PROPERTY
@given(binary_case())
def test_unit_weights_equal_no_weights(case: tuple[np.ndarray, ...]) -> None:
    y, s, _, _ = case
    weighted = _all_binary(y, s, sample_weight=np.ones(y.size))
    for name, value in _all_binary(y, s).items():
        assert weighted[name] == pytest.approx(value, abs=1e-12), name


@PROPERTY
@given(binary_case())
def test_integer_weights_equal_repeated_rows(case: tuple[np.ndarray, ...]) -> None:
    y, s, w, _ = case
    repeated = _all_binary(np.repeat(y, w), np.repeat(s, w))
    for name, value in _all_binary(y, s, sample_weight=w).items():
        assert repeated[name] == pytest.approx(value, abs=1e-12), name


@PROPERTY
@given(binary_case())
def test_roc_auc_is_bounded_symmetric_and_equals_sklearn(case: tuple[np.ndarray, ...]) -> None:
    y, s, w, _ = case
    auc = roc_auc(y, s, sample_weight=w)
    assert 0.0 <= auc <= 1.0
    assert roc_auc(y, 1.0 - s, sample_weight=w) == pytest.approx(1.0 - auc, abs=1e-12)
    assert auc == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert average_precision(y, s, sample_weight=w) == pytest.approx(
        skm.average_precision_score(y, s, sample_weight=w), abs=1e-12
    )


@PROPERTY
@given(regression_case())
def test_regression_metrics_ignore_order_and_unit_weights(case: tuple[np.ndarray, ...]) -> None:
    t, p, w, perm = case
    for name, f in REGRESSION_METRICS.items():
        value = f(t, p, sample_weight=w)
        assert f(t[perm], p[perm], sample_weight=w[perm]) == pytest.approx(value, rel=1e-9, abs=1e-9), name
        assert f(t, p, sample_weight=np.ones(t.size)) == pytest.approx(f(t, p), rel=1e-9, abs=1e-9), name
        assert f(np.repeat(t, w), np.repeat(p, w)) == pytest.approx(value, rel=1e-9, abs=1e-9), name


@pytest.mark.parametrize(
    "metric",
    [*LABEL_METRICS.values(), *SCORE_METRICS.values(), *REGRESSION_METRICS.values()],
)
def test_empty_input_raises(metric: Callable[..., float]) -> None:
    with pytest.raises(InvalidArgument, match="non-empty") as info:
        metric([], [])
    assert info.value.field in {"y_true", "y_pred", "y_score", "y_proba", "y_prob"}
